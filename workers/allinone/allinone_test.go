package allinone_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/allinone"
	"stratus/workers/compute"
	"stratus/workers/hostdrivers"
	netfake "stratus/workers/net/fake"
	"stratus/workers/virt"
	"stratus/workers/virt/fake"
)

// bundle is a running in-process cloud with a tenant ready to launch.
type bundle struct {
	store   *models.Store
	cloud   *allinone.Cloud
	drivers map[string]*fake.Driver
	nets    map[string]*netfake.Driver
	member  models.Caller
	admin   models.Caller
}

// setup starts a scheduler and one fake agent per host (hosts sized by
// ramMB each) against a fresh database, with quotas lifted.
func setup(t testing.TB, s *models.Store, hosts []string, ramMB int64, tune func(*allinone.Config)) *bundle {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Bootstrap(ctx, models.BootstrapInput{AdminName: "admin", AdminProject: "admin", AdminPassword: "admin-password",
		DemoProject: "demo", DemoUser: "demo", DemoPassword: "demo-password"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SeedFlavors(ctx); err != nil {
		t.Fatal(err)
	}
	demo, _ := s.GetUser(ctx, "demo")
	project, _ := s.GetProject(ctx, "demo")
	member, _ := s.ResolveCaller(ctx, demo.ID, project.ID)
	admin, _ := s.GetUser(ctx, "admin")
	adminC, _ := s.ResolveCaller(ctx, admin.ID, "")
	if _, err := s.SetQuotas(ctx, adminC, "demo", map[string]int64{models.QuotaInstances: -1, models.QuotaVCPUs: -1, models.QuotaRAMMB: -1}); err != nil {
		t.Fatal(err)
	}
	im, _ := s.CreateImage(ctx, member, models.ImageInput{Name: "cirros"})
	if _, err := s.UploadImage(ctx, member, im.ID, bytes.NewReader([]byte("raw disk bytes"))); err != nil {
		t.Fatal(err)
	}
	b := &bundle{store: s, drivers: map[string]*fake.Driver{}, nets: map[string]*netfake.Driver{}, member: member, admin: adminC}
	var mu sync.Mutex
	cfg := allinone.Config{
		Store: s, Hosts: hosts, PollInterval: 20 * time.Millisecond,
		OpenHost: func(host string) (hostdrivers.Host, error) {
			d, n := fake.New(fake.Config{VCPUs: 64, RAMMB: ramMB, DiskGB: 10000}), netfake.New()
			mu.Lock()
			b.drivers[host], b.nets[host] = d, n
			mu.Unlock()
			return hostdrivers.Host{Virt: d, Net: n}, nil
		},
		Agent: compute.Config{HeartbeatInterval: 100 * time.Millisecond, PowerSyncInterval: 200 * time.Millisecond, Workers: 16},
		// Long enough that a heartbeat delayed on a busy machine (the race
		// detector, 100 concurrent boots on SQLite) does not send builds
		// away; the test that watches a host go down shortens it.
		ServiceDownTime: 20 * time.Second,
		BuildTimeout:    2 * time.Minute,
	}
	if tune != nil {
		tune(&cfg)
	}
	cloud, err := allinone.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.cloud = cloud
	t.Cleanup(func() {
		if err := cloud.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return b
}

// waitFor polls until cond holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last state: %s", within, what, last)
}

func (b *bundle) instance(t *testing.T, id string) models.Instance {
	t.Helper()
	inst, err := b.store.GetInstance(context.Background(), b.member, id)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestHundredConcurrentBootsNeverOvercommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		// 3 hosts with room for 40 m1.nano (128 MB) each: 120 slots for 100 boots.
		b := setup(t, s, []string{"h1", "h2", "h3"}, 40*128, nil)
		ctx := context.Background()
		ids := make([]string, 100)
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := range ids {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: fmt.Sprintf("vm%d", i), Flavor: "m1.nano", Image: "cirros"})
				if err != nil {
					errs <- err
					return
				}
				ids[i] = insts[0].ID
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		waitFor(t, 60*time.Second, "100 instances ACTIVE", func() (bool, string) {
			page, err := s.ListInstances(ctx, b.member, models.InstanceFilter{ListOptions: models.ListOptions{Limit: 1000}})
			if err != nil {
				return false, err.Error()
			}
			counts := map[string]int{}
			faults := map[string]int{}
			for _, i := range page.Items {
				counts[i.Status()]++
				if i.FaultMessage != "" {
					faults[i.FaultMessage]++
				}
			}
			return counts["ACTIVE"] == 100, fmt.Sprint(counts, " faults: ", faults)
		})
		hosts, _ := s.ListHosts(ctx)
		total := 0
		for _, h := range hosts {
			doms := len(b.drivers[h.Name].Domains())
			if h.UsedRAMMB > h.RAMMB || float64(h.UsedRAMMB) > h.CapacityRAMMB() {
				t.Errorf("host %s overcommitted: %d MB used of %d", h.Name, h.UsedRAMMB, h.RAMMB)
			}
			if doms != h.InstanceCount || int64(doms*128) != h.UsedRAMMB {
				t.Errorf("host %s: %d domains, counters say %d instances / %d MB", h.Name, doms, h.InstanceCount, h.UsedRAMMB)
			}
			total += doms
		}
		if total != 100 {
			t.Fatalf("%d domains in all, want 100", total)
		}
	})
}

func TestRescheduleAfterInjectedFailureThenError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s, []string{"h1", "h2", "h3"}, 8192, nil)
		ctx := context.Background()
		// h1 has the most free RAM, so the spread weigher tries it first.
		if _, err := s.RegisterHost(ctx, models.HostInventory{Name: "h1", Driver: "fake", HypervisorType: "fake", Arch: "x86_64",
			VCPUs: 64, RAMMB: 16384, DiskGB: 10000, CPURatio: 4, RAMRatio: 1, DiskRatio: 1}); err != nil {
			t.Fatal(err)
		}
		b.drivers["h1"].FailNextSpawns(1, "injected failure")
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "resched", Flavor: "m1.nano", Image: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		id := insts[0].ID
		waitFor(t, 10*time.Second, "rescheduled instance ACTIVE", func() (bool, string) {
			i := b.instance(t, id)
			return i.Status() == "ACTIVE", i.Status() + " " + i.FaultMessage
		})
		inst := b.instance(t, id)
		if inst.Host == "h1" || inst.BuildAttempts != 2 {
			t.Fatalf("instance on %s after %d attempts; want another host after 2", inst.Host, inst.BuildAttempts)
		}
		h1, _ := s.GetHost(ctx, "h1")
		if h1.FailedBuilds != 1 || h1.InstanceCount != 0 || h1.UsedRAMMB != 0 {
			t.Fatalf("h1 after the failed build: %+v", h1)
		}

		// Every host fails: three attempts, then ERROR with a fault a tenant can read.
		for _, d := range b.drivers {
			d.FailNextSpawns(1, "disk on fire")
		}
		insts, err = s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "doomed", Flavor: "m1.nano", Image: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "instance in ERROR", func() (bool, string) {
			i := b.instance(t, insts[0].ID)
			return i.Status() == "ERROR", i.Status()
		})
		inst = b.instance(t, insts[0].ID)
		if !strings.Contains(inst.FaultMessage, "build failed on 3 hosts") || !strings.Contains(inst.FaultMessage, "disk on fire") {
			t.Fatalf("fault %q", inst.FaultMessage)
		}
		hosts, _ := s.ListHosts(ctx)
		used := 0
		for _, h := range hosts {
			used += h.InstanceCount
		}
		if used != 1 {
			t.Fatalf("%d instances counted on hosts, want 1 (the failed one released its claim)", used)
		}
	})
}

func TestNoValidHostFault(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s, []string{"h1", "h2"}, 1024, nil)
		ctx := context.Background()
		if _, err := s.SetHostEnabled(ctx, b.admin, "h2", false, "maintenance"); err != nil {
			t.Fatal(err)
		}
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "big", Flavor: "m1.small", Image: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "instance in ERROR", func() (bool, string) {
			i := b.instance(t, insts[0].ID)
			return i.Status() == "ERROR", i.Status()
		})
		want := "No valid host was found: 2 hosts — 1 removed by ComputeFilter (disabled or down), 1 removed by RamFilter"
		if got := b.instance(t, insts[0].ID).FaultMessage; got != want {
			t.Fatalf("fault %q, want %q", got, want)
		}
	})
}

func TestPowerActionsAndOutOfBandChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s, []string{"h1"}, 8192, nil)
		ctx := context.Background()
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		id := insts[0].ID
		status := func(want string) func() (bool, string) {
			return func() (bool, string) { st := b.instance(t, id).Status(); return st == want, st }
		}
		waitFor(t, 10*time.Second, "ACTIVE", status("ACTIVE"))
		if _, err := s.PowerAction(ctx, b.member, id, models.PowerStop); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "SHUTOFF", status("SHUTOFF"))
		if st := b.drivers["h1"].Domains()[id]; st != virt.Shutdown {
			t.Fatalf("hypervisor says %s after stop", st)
		}
		if _, err := s.PowerAction(ctx, b.member, id, models.PowerStart); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "ACTIVE again", status("ACTIVE"))
		// Shut down behind Stratus' back: the lifecycle event stops it.
		if err := b.drivers["h1"].SetState(id, virt.Shutdown); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "SHUTOFF by event", status("SHUTOFF"))
		acts, _ := s.ListInstanceActions(ctx, b.member, id)
		if acts[0].UserName != "system" || !strings.Contains(acts[0].Message, "found shutdown") {
			t.Fatalf("latest action %+v", acts[0])
		}
		if _, err := s.DeleteInstance(ctx, b.member, id); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "deleted", func() (bool, string) {
			i, err := s.InstanceByID(ctx, id)
			return err == nil && i.VMState == models.VMDeleted, string(i.VMState)
		})
		if len(b.drivers["h1"].Domains()) != 0 {
			t.Fatal("domain left behind after delete")
		}
		h, _ := s.GetHost(ctx, "h1")
		if h.InstanceCount != 0 || h.UsedRAMMB != 0 {
			t.Fatalf("allocation leaked: %+v", h)
		}
	})
}

func TestKilledAgentAndDownHost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		// A healthy host with less room: builds go to "doomed" first. A
		// short service-down-time, so that the test sees "doomed" go down.
		b := setup(t, s, []string{"h2"}, 1024, func(c *allinone.Config) { c.ServiceDownTime = 3 * time.Second })
		ctx := context.Background()
		// A host whose agent we kill in the middle of a slow build.
		drv := fake.New(fake.Config{VCPUs: 8, RAMMB: 8192, DiskGB: 100, BootDelay: time.Hour})
		agent, err := compute.New(compute.Config{Store: s, Driver: drv, Network: netfake.New(), Host: "doomed", HeartbeatInterval: 100 * time.Millisecond,
			PollInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		agentCtx, kill := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- agent.Run(agentCtx) }()
		waitFor(t, 5*time.Second, "host registered", func() (bool, string) {
			_, err := s.GetHost(ctx, "doomed")
			return err == nil, fmt.Sprint(err)
		})
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "slow", Flavor: "m1.nano", Image: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		id := insts[0].ID
		waitFor(t, 5*time.Second, "spawning on the doomed host", func() (bool, string) {
			i := b.instance(t, id)
			return i.TaskState == models.TaskSpawning && i.Host == "doomed", string(i.TaskState) + " on " + i.Host
		})
		kill()
		<-done
		// The host stops heartbeating: it is marked down, and its build goes
		// to the healthy host — the dead one excluded, the attempt counted.
		waitFor(t, 30*time.Second, "the build ACTIVE on h2", func() (bool, string) {
			i := b.instance(t, id)
			return i.Status() == "ACTIVE" && i.Host == "h2", i.Status() + " on " + i.Host
		})
		if h, _ := s.GetHost(ctx, "doomed"); h.Up || h.InstanceCount != 0 || h.UsedRAMMB != 0 {
			t.Fatalf("the dead host after recovery: up %v, %d instances, %d MB claimed", h.Up, h.InstanceCount, h.UsedRAMMB)
		}
		if i := b.instance(t, id); i.BuildAttempts != 2 {
			t.Errorf("build attempts %d, want 2", i.BuildAttempts)
		}
		acts, _ := s.ListInstanceActions(ctx, b.member, id)
		found := false
		for _, a := range acts {
			found = found || (a.Action == "reschedule" && a.Message == "rescheduled: host doomed down" && a.UserName == "system")
		}
		if !found {
			t.Errorf("no \"rescheduled: host doomed down\" in the action log: %+v", acts)
		}
		jobs, _, err := s.ListJobs(ctx, models.JobFilter{Kind: models.SpawnInstance{}.Kind()})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.ResourceID == id && j.TargetHost == "doomed" && (j.State != models.JobCancelled || !strings.Contains(j.LastError, "host doomed down")) {
				t.Errorf("job %d (%s) for the dead host is %s: %q", j.ID, j.Kind, j.State, j.LastError)
			}
		}
	})
}

// A power job that runs again after its task ended (its first worker died
// after finishing) must not act on the instance: a stale stop leaves an
// idle ACTIVE instance running.
func TestStalePowerJobDoesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s, []string{"h1"}, 8192, nil)
		ctx := context.Background()
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		id := insts[0].ID
		waitFor(t, 10*time.Second, "ACTIVE", func() (bool, string) { st := b.instance(t, id).Status(); return st == "ACTIVE", st })
		job, err := s.EnqueueJob(ctx, models.PowerInstance{InstanceID: id, Action: models.PowerStop},
			models.JobOptions{TargetHost: "h1", ResourceType: "instance", ResourceID: id})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the stale job done", func() (bool, string) {
			j, err := s.GetJob(ctx, job.ID)
			return err == nil && j.State == models.JobSucceeded, string(j.State)
		})
		if st := b.drivers["h1"].Domains()[id]; st != virt.Running || b.instance(t, id).Status() != "ACTIVE" {
			t.Fatalf("stale stop acted: domain %s, instance %s", st, b.instance(t, id).Status())
		}
	})
}
