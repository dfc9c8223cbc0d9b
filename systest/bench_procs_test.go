package systest

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// BenchmarkProcessesBootToActive is BenchmarkBootToActive (workers/allinone,
// `stratus dev`'s shape) in the production shape: `stratus serve`, `stratus
// scheduler` and two `stratus compute --driver fake` as separate processes
// on MariaDB, with the default poll interval — so every hop is a wake-up
// hint between processes. For 20 and 100 concurrent launches through the
// API: the median and 95th percentile POST→ACTIVE, the slowest, when all
// were ACTIVE, and the slowest over the median (stragglers). Figures, not
// assertions.
//
//	make bench   # or: STRATUS_TEST_MYSQL_DSN=… go test ./systest -run '^$' -bench ProcessesBootToActive -benchtime 1x
func BenchmarkProcessesBootToActive(b *testing.B) {
	if os.Getenv(storetest.EnvMySQL) == "" {
		b.Skip("needs MariaDB: set " + storetest.EnvMySQL)
	}
	c := startProcCloud(b, procOptions{Engine: storetest.MySQL})
	for _, h := range []string{"h1", "h2"} {
		c.startCompute(h, "--compute-workers", "32", "--fake-vcpus", "1024", "--fake-ram-mb", "1048576")
	}
	warm, _ := c.launch("warm", 2) // connections, caches, the listener registry
	c.waitAll(warm, 30*time.Second, "ACTIVE", func(i procInstance) bool { return i.Status == "ACTIVE" })
	for _, n := range []int{20, 100} {
		b.Run(fmt.Sprintf("%d-concurrent", n), func(b *testing.B) {
			var p50, p95, worst, wall time.Duration
			for range b.N {
				p50, p95, worst, wall = c.bootWave(n)
			}
			b.Logf("%3d boots: median %5.0f ms, p95 %5.0f ms, slowest %5.0f ms (%.1f× the median), all ACTIVE after %5.0f ms",
				n, ms(p50), ms(p95), ms(worst), float64(worst)/float64(p50), ms(wall))
			b.ReportMetric(ms(p50), "p50-ms")
			b.ReportMetric(ms(p95), "p95-ms")
			b.ReportMetric(ms(worst), "max-ms")
			b.ReportMetric(ms(wall), "all-active-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// bootWave launches n instances at once and waits until all are ACTIVE;
// then it deletes them. Latencies run from each POST to its instance's
// launched_at.
func (c *procCloud) bootWave(n int) (p50, p95, worst, wall time.Duration) {
	ids, sent := c.launch("wave", n)
	begin := sent[0]
	for _, t := range sent {
		if t.Before(begin) {
			begin = t
		}
	}
	all := c.waitAll(ids, 2*time.Minute, "ACTIVE", func(i procInstance) bool { return i.Status == "ACTIVE" && i.LaunchedAt != nil })
	lat := make([]time.Duration, n)
	var last time.Time
	for i, in := range all {
		lat[i] = in.LaunchedAt.Sub(sent[i])
		if in.LaunchedAt.After(last) {
			last = *in.LaunchedAt
		}
	}
	for _, id := range ids {
		c.admin.mustStatus(http.StatusAccepted, "DELETE", "/instances/"+id, nil, nil)
	}
	c.waitAll(ids, 2*time.Minute, "DELETED", func(i procInstance) bool { return i.Status == "DELETED" })
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[n/2], lat[(n*95+99)/100-1], lat[n-1], last.Sub(begin)
}

// BenchmarkAgentRestartRecovery measures issue 7 §3: an agent killed -9
// with four builds in flight (fake boot time 1 s) and restarted at once.
// Kill → every build ACTIVE, minus the boot time the builds need anyway, is
// what the restart costs; before, the restarted agent waited out its
// predecessor's 30 s leases and the rescue's 10 s period.
func BenchmarkAgentRestartRecovery(b *testing.B) {
	if os.Getenv(storetest.EnvMySQL) == "" {
		b.Skip("needs MariaDB: set " + storetest.EnvMySQL)
	}
	const boot = time.Second
	c := startProcCloud(b, procOptions{Engine: storetest.MySQL})
	c.startCompute("h1", "--fake-boot-delay", boot.String(), "--compute-workers", "4")
	var recovery time.Duration
	for i := range b.N {
		ids, _ := c.launch(fmt.Sprintf("restart-%d", i), 4)
		c.waitJobsRunning(ids)
		c.kill9("h1")
		killed := time.Now()
		c.restart("h1")
		c.waitAll(ids, 2*time.Minute, "ACTIVE", func(in procInstance) bool { return in.Status == "ACTIVE" })
		recovery = time.Since(killed) - boot
		b.Logf("kill -9 and restart of the agent with 4 builds in flight: all ACTIVE %5.0f ms after the kill, %5.0f ms beyond their 1 s boot",
			ms(time.Since(killed)), ms(recovery))
		for _, id := range ids {
			c.admin.mustStatus(http.StatusAccepted, "DELETE", "/instances/"+id, nil, nil)
		}
		c.waitAll(ids, time.Minute, "DELETED", func(in procInstance) bool { return in.Status == "DELETED" })
	}
	b.ReportMetric(ms(recovery), "recovery-ms")
	b.ReportMetric(0, "ns/op")
}

// waitJobsRunning waits until the spawn jobs of these instances are leased
// by their agent.
func (c *procCloud) waitJobsRunning(ids []string) {
	c.t.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		running := 0
		for _, j := range c.jobs(models.SpawnInstance{}.Kind()) {
			if want[j.ResourceID] && j.State == "running" {
				running++
			}
		}
		if running == len(ids) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%d of %d spawn jobs running", running, len(ids))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
