package openstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"stratus/handlers"
	"stratus/handlers/policy"
	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/allinone"
	"stratus/workers/compute"
	"stratus/workers/hostdrivers"
)

// The facade's overhead: the same rounds through /api/v1 and through the
// OpenStack APIs, over one database and one handler, reported side by side
// (ms per request or per round, and the facade's overhead in percent).
//
//	STRATUS_TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/test' go test ./handlers/openstack -run '^$' -bench . -benchtime 1x

type benchEnv struct {
	b    *testing.B
	s    *models.Store
	h    http.Handler
	api  string // demo's /api/v1 token
	os   string // demo's token through Keystone
	demo models.Caller
}

func newBenchEnv(b *testing.B, engine storetest.Engine, hosts int) *benchEnv {
	s := storetest.New(b, engine)
	ctx := context.Background()
	if _, err := s.Bootstrap(ctx, models.BootstrapInput{AdminName: "admin", AdminPassword: adminPassword, AdminProject: "admin",
		DemoProject: "demo", DemoUser: "demo", DemoPassword: demoPassword}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.SetQuotas(ctx, models.Caller{UserName: "bench"}, "demo", map[string]int64{
		models.QuotaInstances: -1, models.QuotaVCPUs: -1, models.QuotaRAMMB: -1}); err != nil {
		b.Fatal(err)
	}
	enf, _ := policy.New("")
	e := &benchEnv{b: b, s: s, h: handlers.New(handlers.Deps{Store: s, Policy: enf, Log: slog.New(slog.DiscardHandler),
		Registry: prometheus.NewRegistry(), Config: handlers.DefaultConfig()})}
	tok, err := s.IssueLoginToken(ctx, models.LoginInput{Username: "demo", Password: demoPassword}, "demo")
	if err != nil {
		b.Fatal(err)
	}
	e.api, e.demo = tok.Secret, tok.Caller
	e.os = e.keystoneToken()
	if hosts > 0 {
		names := make([]string, hosts)
		for i := range names {
			names[i] = fmt.Sprintf("bench-%d", i+1)
		}
		cl, err := allinone.Start(ctx, allinone.Config{
			Store: s, Hosts: names, PollInterval: 20 * time.Millisecond,
			OpenHost:        hostdrivers.FakeHosts(hostdrivers.FakeConfig{VCPUs: 1024, RAMMB: 1 << 22, DiskGB: 100000}),
			Agent:           compute.Config{HeartbeatInterval: time.Second, PowerSyncInterval: time.Hour, Workers: 16},
			ServiceDownTime: time.Minute, BuildTimeout: 5 * time.Minute,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = cl.Stop() })
	}
	return e
}

func (e *benchEnv) do(method, path string, hdr map[string]string, body any) (int, []byte, http.Header) {
	var r io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes(), rec.Header()
}

func (e *benchEnv) keystoneToken() string {
	code, body, hdr := e.do(http.MethodPost, "/identity/v3/auth/tokens", nil, keystoneAuth())
	if code != http.StatusCreated {
		e.b.Fatalf("keystone token: %d %s", code, body)
	}
	return hdr.Get("X-Subject-Token")
}

func keystoneAuth() map[string]any {
	return map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
			"user": map[string]any{"name": "demo", "password": demoPassword, "domain": map[string]string{"name": "Default"}}}},
		"scope": map[string]any{"project": map[string]any{"name": "demo", "domain": map[string]string{"name": "Default"}}},
	}}
}

// interleaved times fn a and fn b in alternating chunks (so that drift —
// a growing table, a warming cache, a neighbour's load — falls on both
// alike). It returns each one's mean and p95 wall time and its mean CPU
// time (this process's user+system time per call: what the handler costs,
// which other processes on a busy machine do not inflate), in ms.
func interleaved(n, chunks int, a, b func()) (am, ap, acpu, bm, bp, bcpu float64) {
	var ta, tb []time.Duration
	var ca, cb time.Duration
	for c := range chunks {
		first, second, t1, t2, c1, c2 := a, b, &ta, &tb, &ca, &cb
		if c%2 == 1 {
			first, second, t1, t2, c1, c2 = b, a, &tb, &ta, &cb, &ca
		}
		for _, step := range []struct {
			fn  func()
			to  *[]time.Duration
			cpu *time.Duration
		}{{first, t1, c1}, {second, t2, c2}} {
			runtime.GC() // each chunk pays for its own garbage, not the other's
			before := cpuTime()
			for range n / chunks {
				start := time.Now()
				step.fn()
				*step.to = append(*step.to, time.Since(start))
			}
			*step.cpu += cpuTime() - before
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	stats := func(t []time.Duration) (float64, float64) {
		slices.Sort(t)
		var sum time.Duration
		for _, d := range t {
			sum += d
		}
		return ms(sum) / float64(len(t)), ms(t[len(t)*95/100])
	}
	am, ap = stats(ta)
	bm, bp = stats(tb)
	return am, ap, ms(ca) / float64(len(ta)), bm, bp, ms(cb) / float64(len(tb))
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(b *testing.B, what string, api, facade float64) {
	b.ReportMetric(api, what+"-api-ms")
	b.ReportMetric(facade, what+"-openstack-ms")
	b.ReportMetric(100*(facade-api)/api, what+"-overhead-%")
}

// BenchmarkTokenIssue: POST /api/v1/auth/tokens against POST
// /identity/v3/auth/tokens (the test stores' cheapest bcrypt cost, so the
// HTTP and database path is what is measured).
func BenchmarkTokenIssue(b *testing.B) {
	for _, engine := range storetest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			e := newBenchEnv(b, engine, 0)
			api := func() {
				if code, body, _ := e.do(http.MethodPost, "/api/v1/auth/tokens", nil,
					map[string]string{"username": "demo", "password": demoPassword, "project": "demo"}); code != http.StatusCreated {
					b.Fatalf("%d %s", code, body)
				}
			}
			for b.Loop() {
				am, _, acpu, fm, _, fcpu := interleaved(400, 8, api, func() { e.keystoneToken() })
				report(b, "token", am, fm)
				report(b, "token-cpu", acpu, fcpu)
			}
		})
	}
}

// BenchmarkServersDetail: GET /api/v1/instances?limit=100 against GET
// /compute/v2.1/servers/detail (microversion 2.79) in a project of 100
// servers.
func BenchmarkServersDetail(b *testing.B) {
	for _, engine := range storetest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			e := newBenchEnv(b, engine, 0)
			ctx := context.Background()
			f, err := e.s.GetFlavor(ctx, e.demo, "m1.small")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.s.SeedInstancesForBench(ctx, e.demo, 100, f, models.Image{ID: uuid.NewString(), Name: "cirros"}); err != nil {
				b.Fatal(err)
			}
			list := func(path string, hdr map[string]string, key string) func() {
				return func() {
					code, body, _ := e.do(http.MethodGet, path, hdr, nil)
					if code != http.StatusOK || !bytes.Contains(body, []byte(key)) {
						b.Fatalf("%s: %d %.200s", path, code, body)
					}
				}
			}
			api := list("/api/v1/instances?limit=100", map[string]string{"Authorization": "Bearer " + e.api}, `"instances"`)
			facade := list("/compute/v2.1/servers/detail", map[string]string{"X-Auth-Token": e.os, "OpenStack-API-Version": "compute 2.79"}, `"servers"`)
			api()
			facade() // warm both
			count := e.s.CountQueries()
			queries := func(fn func()) float64 {
				before := count()
				for range 10 {
					fn()
				}
				return float64(count()-before) / 10
			}
			qa, qf := queries(api), queries(facade)
			size := func(path string, hdr map[string]string) float64 {
				_, body, _ := e.do(http.MethodGet, path, hdr, nil)
				return float64(len(body))
			}
			sa := size("/api/v1/instances?limit=100", map[string]string{"Authorization": "Bearer " + e.api})
			sf := size("/compute/v2.1/servers/detail", map[string]string{"X-Auth-Token": e.os, "OpenStack-API-Version": "compute 2.79"})
			for b.Loop() {
				b.ReportMetric(sa, "detail100-api-bytes")
				b.ReportMetric(sf, "detail100-openstack-bytes")
				b.ReportMetric(qa, "detail100-api-queries/req")
				b.ReportMetric(qf, "detail100-openstack-queries/req")
				am, ap, acpu, fm, fp, fcpu := interleaved(960, 16, api, facade)
				report(b, "detail100", am, fm)
				report(b, "detail100-cpu", acpu, fcpu)
				b.ReportMetric(ap, "detail100-api-p95-ms")
				b.ReportMetric(fp, "detail100-openstack-p95-ms")
			}
		})
	}
}

// BenchmarkConcurrentCreates: 20 and 100 concurrent single-server creates,
// each to ACTIVE on fake hosts, through /api/v1 and through the compute
// API; the round's wall time from the first request to the last ACTIVE.
func BenchmarkConcurrentCreates(b *testing.B) {
	for _, engine := range storetest.Engines() {
		for _, n := range []int{20, 100} {
			b.Run(fmt.Sprintf("%s/%d", engine, n), func(b *testing.B) {
				e := newBenchEnv(b, engine, 4)
				ctx := context.Background()
				im, err := e.s.CreateImage(ctx, e.demo, models.ImageInput{Name: "cirros"})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.s.UploadImage(ctx, e.demo, im.ID, strings.NewReader(strings.Repeat("x", 4096))); err != nil {
					b.Fatal(err)
				}
				apiHdr := map[string]string{"Authorization": "Bearer " + e.api}
				osHdr := map[string]string{"X-Auth-Token": e.os, "OpenStack-API-Version": "compute 2.79"}
				apiCreate := func(i int) string {
					code, body, _ := e.do(http.MethodPost, "/api/v1/instances", apiHdr,
						map[string]any{"name": fmt.Sprintf("api-%d", i), "flavor": "m1.nano", "image": im.ID})
					var out struct{ Instances []struct{ ID string } }
					if code != http.StatusAccepted || json.Unmarshal(body, &out) != nil {
						b.Fatalf("api create: %d %s", code, body)
					}
					return out.Instances[0].ID
				}
				apiStatus := func(id string) string {
					_, body, _ := e.do(http.MethodGet, "/api/v1/instances/"+id, apiHdr, nil)
					var out struct{ Status string }
					_ = json.Unmarshal(body, &out)
					return out.Status
				}
				osCreate := func(i int) string {
					code, body, _ := e.do(http.MethodPost, "/compute/v2.1/servers", osHdr, map[string]any{"server": map[string]any{
						"name": fmt.Sprintf("os-%d", i), "flavorRef": "m1.nano", "imageRef": im.ID, "networks": "none"}})
					var out struct{ Server struct{ ID string } }
					if code != http.StatusAccepted || json.Unmarshal(body, &out) != nil {
						b.Fatalf("compute create: %d %s", code, body)
					}
					return out.Server.ID
				}
				osStatus := func(id string) string {
					_, body, _ := e.do(http.MethodGet, "/compute/v2.1/servers/"+id, osHdr, nil)
					var out struct{ Server struct{ Status string } }
					_ = json.Unmarshal(body, &out)
					return out.Server.Status
				}
				round := func(create func(int) string, status func(string) string) (float64, float64) {
					start, cpu := time.Now(), cpuTime()
					var wg sync.WaitGroup
					for i := range n {
						wg.Go(func() {
							id := create(i)
							deadline := time.Now().Add(2 * time.Minute)
							for st := status(id); st != "ACTIVE"; st = status(id) {
								if st == "ERROR" {
									inst, _ := e.s.InstanceByID(ctx, id)
									b.Errorf("%s went to ERROR: %s", id, inst.FaultMessage)
									return
								}
								if time.Now().After(deadline) {
									b.Errorf("%s not ACTIVE after 2 min", id)
									return
								}
								time.Sleep(20 * time.Millisecond)
							}
						})
					}
					wg.Wait()
					return float64(time.Since(start).Microseconds()) / 1000, float64((cpuTime() - cpu).Microseconds()) / 1000
				}
				for b.Loop() {
					// Three rounds each, alternating; the medians of the wall
					// time and of the process's CPU time (API, scheduler and
					// agents: all in this process).
					var api, facade, apiCPU, facadeCPU []float64
					add := func(wall, cpu *[]float64, w, c float64) { *wall, *cpu = append(*wall, w), append(*cpu, c) }
					for i := range 3 {
						if i%2 == 0 {
							w, c := round(apiCreate, apiStatus)
							add(&api, &apiCPU, w, c)
							w, c = round(osCreate, osStatus)
							add(&facade, &facadeCPU, w, c)
						} else {
							w, c := round(osCreate, osStatus)
							add(&facade, &facadeCPU, w, c)
							w, c = round(apiCreate, apiStatus)
							add(&api, &apiCPU, w, c)
						}
					}
					for _, l := range [][]float64{api, facade, apiCPU, facadeCPU} {
						slices.Sort(l)
					}
					report(b, fmt.Sprintf("create%d", n), api[1], facade[1])
					report(b, fmt.Sprintf("create%d-cpu", n), apiCPU[1], facadeCPU[1])
				}
			})
		}
	}
}
