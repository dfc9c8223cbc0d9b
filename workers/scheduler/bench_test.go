package scheduler_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers"
	"stratus/workers/scheduler"
)

// BenchmarkSchedulingDecisions measures placement throughput: 2,000
// instances waiting to be scheduled over 1,000 hosts (of varied free
// capacity) in a project that already holds 10,000 instances, placed by 1
// and by 4 schedulers racing (separate pools with separate host caches, as
// separate processes would be). Every decision ends in a committed claim
// and a spawn job; afterwards no host may be overcommitted.
//
//	STRATUS_TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/test' go test ./workers/scheduler -run '^$' -bench Decisions -benchtime 1x
func BenchmarkSchedulingDecisions(b *testing.B) {
	const hosts, existing, pending = 1000, 10000, 2000
	for _, engine := range storetest.Engines() {
		for _, schedulers := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/%d-schedulers", engine, schedulers), func(b *testing.B) {
				ctx := context.Background()
				s := storetest.New(b, engine)
				member := benchSetup(b, s, hosts, existing)
				var elapsed time.Duration
				for i := 0; i < b.N; i++ {
					for made := 0; made < pending; made += models.MaxInstancesPerRequest {
						if _, err := s.CreateInstances(ctx, member, models.InstanceCreate{Name: "wave", Flavor: "m1.tiny", Image: "cirros", Count: models.MaxInstancesPerRequest}); err != nil {
							b.Fatal(err)
						}
					}
					elapsed = runSchedulers(b, s, schedulers, pending*(i+1))
				}
				b.ReportMetric(float64(pending)/elapsed.Seconds(), "decisions/s")
				b.ReportMetric(0, "ns/op")
				list, err := s.ListHosts(ctx)
				if err != nil {
					b.Fatal(err)
				}
				placed := 0
				for _, h := range list {
					placed += h.InstanceCount
					if float64(h.UsedRAMMB) > h.CapacityRAMMB() || float64(h.UsedVCPUs) > h.CapacityVCPUs() {
						b.Fatalf("host %s overcommitted: %+v", h.Name, h)
					}
				}
				if placed != pending*b.N {
					b.Fatalf("%d instances placed, want %d", placed, pending*b.N)
				}
			})
		}
	}
}

func benchSetup(b *testing.B, s *models.Store, hosts, existing int) models.Caller {
	ctx := context.Background()
	if _, err := s.Bootstrap(ctx, models.BootstrapInput{AdminName: "admin", AdminProject: "admin", AdminPassword: "admin-password",
		DemoProject: "demo", DemoUser: "demo", DemoPassword: "demo-password"}); err != nil {
		b.Fatal(err)
	}
	admin, _ := s.GetUser(ctx, "admin")
	adminC, _ := s.ResolveCaller(ctx, admin.ID, "")
	if _, err := s.SetQuotas(ctx, adminC, "demo", map[string]int64{models.QuotaInstances: -1, models.QuotaVCPUs: -1, models.QuotaRAMMB: -1}); err != nil {
		b.Fatal(err)
	}
	demo, _ := s.GetUser(ctx, "demo")
	project, _ := s.GetProject(ctx, "demo")
	member, _ := s.ResolveCaller(ctx, demo.ID, project.ID)
	im, _ := s.CreateImage(ctx, member, models.ImageInput{Name: "cirros"})
	im, err := s.UploadImage(ctx, member, im.ID, bytes.NewReader([]byte("raw disk bytes")))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < hosts; i++ {
		// Free capacity varies from host to host, so weighing matters.
		if _, err := s.RegisterHost(ctx, models.HostInventory{Name: fmt.Sprintf("host-%04d", i), Driver: "fake",
			HypervisorType: "fake", Arch: "x86_64", VCPUs: 64, RAMMB: 262144, DiskGB: 4000,
			ReservedRAMMB: int64(i%97) * 1024, CPURatio: 4, RAMRatio: 1, DiskRatio: 1}); err != nil {
			b.Fatal(err)
		}
	}
	flavor, err := s.GetFlavor(ctx, member, "m1.tiny")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.SeedInstancesForBench(ctx, member, existing, flavor, im); err != nil {
		b.Fatal(err)
	}
	return member
}

// runSchedulers starts n scheduler pools and returns how long they took to
// place want instances.
func runSchedulers(b *testing.B, s *models.Store, n, want int) time.Duration {
	ctx := context.Background()
	pools := make([]*workers.Pool, n)
	for i := range pools {
		reg := workers.NewRegistry()
		scheduler.New(scheduler.Config{Store: s, HostSubsetSize: n}).Register(reg)
		p, err := workers.NewPool(workers.Config{Store: s, Registry: reg, Owner: fmt.Sprintf("scheduler-%d", i),
			Workers: 32 / n, PollInterval: 5 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		pools[i] = p
	}
	start := time.Now()
	for _, p := range pools {
		if err := p.Start(context.WithoutCancel(ctx)); err != nil {
			b.Fatal(err)
		}
	}
	// Every decision completes its schedule job and enqueues a spawn job
	// (no agent runs here, so those stay available).
	for {
		counts, err := s.JobCounts(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if counts[models.JobSucceeded] >= int64(want) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	for _, p := range pools {
		stop, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = p.Stop(stop)
		cancel()
	}
	return elapsed
}
