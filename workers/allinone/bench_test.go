package allinone_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/handlers"
	"stratus/handlers/policy"
	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/allinone"
	"stratus/workers/compute"
	"stratus/workers/hostdrivers"
	netfake "stratus/workers/net/fake"
	"stratus/workers/virt/fake"
)

// BenchmarkBootToActive measures API→ACTIVE: from the moment a client sends
// POST /api/v1/instances to the moment the instance is ACTIVE (its
// launched_at), for 1, 20 and 100 concurrent boots, on 3 fake hosts with
// zero boot delay — the control plane's own overhead. Jobs enqueued by the
// API wake the in-process pools as in `stratus dev`; the pools' poll
// interval is left at its 1 s default so that it cannot hide in the figure.
//
//	STRATUS_TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/test' go test ./workers/allinone -run '^$' -bench BootToActive -benchtime 1x
func BenchmarkBootToActive(b *testing.B) {
	for _, engine := range storetest.Engines() {
		for _, n := range []int{1, 20, 100} {
			b.Run(fmt.Sprintf("%s/%d-concurrent", engine, n), func(b *testing.B) {
				s := storetest.New(b, engine)
				srv, token := benchCloud(b, s)
				var p50, p95, wall time.Duration
				for i := 0; i < b.N; i++ {
					p50, p95, wall = bootWave(b, s, srv.URL, token, n, "")
				}
				b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
				b.ReportMetric(float64(wall.Microseconds())/1000, "all-active-ms")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// BenchmarkBootToActiveWithNetwork is BenchmarkBootToActive for 20
// concurrent boots with one NIC each on a tenant network: the ports are
// created in the launch, bound and plugged by the hosts' (fake) network
// drivers before the domains start, and ACTIVE when the instances are.
func BenchmarkBootToActiveWithNetwork(b *testing.B) {
	for _, engine := range storetest.Engines() {
		b.Run(fmt.Sprintf("%s/20-concurrent", engine), func(b *testing.B) {
			s := storetest.New(b, engine)
			srv, token := benchCloud(b, s)
			caller, err := s.AuthenticateToken(context.Background(), token)
			if err != nil {
				b.Fatal(err)
			}
			n, err := s.CreateNetwork(context.Background(), caller, models.NetworkInput{Name: "bench-net"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.CreateSubnet(context.Background(), caller, models.SubnetInput{NetworkID: n.ID, CIDR: "10.40.0.0/22"}); err != nil {
				b.Fatal(err)
			}
			var p50, p95, wall time.Duration
			for i := 0; i < b.N; i++ {
				p50, p95, wall = bootWave(b, s, srv.URL, token, 20, n.ID)
			}
			ports, err := s.ListPorts(context.Background(), caller, models.PortFilter{NetworkID: []string{n.ID}})
			if err != nil {
				b.Fatal(err)
			}
			active := 0
			for _, p := range ports.Items {
				if p.DeviceOwner != models.DeviceOwnerDHCP && p.Status == models.PortActive {
					active++
				}
			}
			if active != 20*b.N {
				b.Fatalf("%d instance ports ACTIVE, want %d", active, 20*b.N)
			}
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
			b.ReportMetric(float64(wall.Microseconds())/1000, "all-active-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// benchCloud starts the API and a 3-host fake cloud on s and returns the
// server and a member's token.
func benchCloud(b *testing.B, s *models.Store) (*httptest.Server, string) {
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
	tok, err := s.IssueLoginToken(ctx, models.LoginInput{Username: "demo", Password: "demo-password"}, "demo")
	if err != nil {
		b.Fatal(err)
	}
	im, _ := s.CreateImage(ctx, tok.Caller, models.ImageInput{Name: "cirros"})
	if _, err := s.UploadImage(ctx, tok.Caller, im.ID, bytes.NewReader([]byte("raw disk bytes"))); err != nil {
		b.Fatal(err)
	}
	cloud, err := allinone.Start(ctx, allinone.Config{
		Store: s, Hosts: []string{"h1", "h2", "h3"},
		OpenHost: func(string) (hostdrivers.Host, error) {
			return hostdrivers.Host{Virt: fake.New(fake.Config{VCPUs: 1024, RAMMB: 1 << 20, DiskGB: 1 << 20}), Net: netfake.New()}, nil
		},
		Agent: compute.Config{Workers: 32},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cloud.Stop() })
	enf, _ := policy.New("")
	srv := httptest.NewServer(handlers.New(handlers.Deps{Store: s, Policy: enf, Registry: prometheus.NewRegistry(), Config: handlers.DefaultConfig()}))
	b.Cleanup(srv.Close)
	return srv, tok.Secret
}

// bootWave launches n instances at once through the API and waits until
// all are ACTIVE; it returns the median and 95th percentile API→ACTIVE
// latency and the time until the last was ACTIVE.
func bootWave(b *testing.B, s *models.Store, url, token string, n int, network string) (p50, p95, wall time.Duration) {
	ctx := context.Background()
	type launch struct {
		id    string
		start time.Time
	}
	launches := make([]launch, n)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range launches {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			in := map[string]any{"name": fmt.Sprintf("bench-%d", i), "flavor": "m1.nano", "image": "cirros"}
			if network != "" {
				in["networks"] = []map[string]string{{"network": network}}
			}
			body, _ := json.Marshal(in)
			req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/instances", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			defer resp.Body.Close()
			var out struct {
				Instances []struct{ ID string } `json:"instances"`
			}
			if resp.StatusCode != http.StatusAccepted || json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Instances) != 1 {
				b.Errorf("launch: status %d", resp.StatusCode)
				return
			}
			launches[i] = launch{id: out.Instances[0].ID, start: start}
		}(i)
	}
	wg.Wait()
	caller, err := s.AuthenticateToken(ctx, token)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, n)
	for i, l := range launches {
		ids[i] = l.id
	}
	deadline := time.Now().Add(2 * time.Minute)
	var active map[string]time.Time
	for {
		page, err := s.ListInstances(ctx, caller, models.InstanceFilter{IDs: ids, ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
		if err != nil {
			b.Fatal(err)
		}
		active = map[string]time.Time{}
		for _, i := range page.Items {
			if i.Status() == "ACTIVE" && i.LaunchedAt != nil {
				active[i.ID] = *i.LaunchedAt
			}
		}
		if len(active) == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d instances ACTIVE after 2 minutes", len(active), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	lat := make([]time.Duration, n)
	var last time.Time
	for i, l := range launches {
		lat[i] = active[l.id].Sub(l.start)
		if active[l.id].After(last) {
			last = active[l.id]
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[n/2], lat[(n*95+99)/100-1], last.Sub(begin)
}
