package systest

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"stratus/systest/lab"
)

// Moves between two libvirt hosts (two labs: each its own libvirtd in its
// own namespaces, joined by a link of their own; the instances directories
// are not shared, so every move copies the disks): live migration while
// the guest counts its uptime on the serial console, resize with revert
// and with confirm, cold migration, and evacuation after the host's agent,
// libvirtd and guests are killed.
func TestMovesOnLibvirt(t *testing.T) {
	a, b := lab.StartPair(t)
	c := startCloudOn(t, 200*time.Millisecond, []string{"--service-down-time", "8s"}, a, b)
	labs := map[string]*lab.Lab{"hv1": a, "hv2": b}
	other := map[string]string{"hv1": "hv2", "hv2": "hv1"}
	c.admin.must("POST", "/flavors", map[string]any{"name": "m1.lab2", "vcpus": 1, "ram_mb": 256, "disk_gb": 2, "ephemeral_gb": 0}, nil)

	id := c.launch("mover", "#!/bin/sh\n# STRATUS-UPTIME\n")
	c.waitStatus(id, "ACTIVE", 90*time.Second)
	host := c.host(id)
	console := func(h string) string {
		b, _ := os.ReadFile(filepath.Join(labs[h].Dir, "instances", id, "console.log"))
		return string(b)
	}
	waitFile := func(h, what string, within time.Duration, ok func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			if out := console(h); ok(out) {
				return out
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Fatalf("console of %s on %s never showed %s: %s", id, h, what, lab.Describe(console(h)))
		return ""
	}
	waitFile(host, "uptime lines", 120*time.Second, func(s string) bool { return strings.Contains(s, lab.MarkerUptime) })

	t.Run("live migration: the guest keeps counting on the other host", func(t *testing.T) {
		before := lastUptime(console(host))
		start := time.Now()
		c.admin.mustStatus(http.StatusAccepted, "POST", "/instances/"+id+"/actions", map[string]any{"action": "live_migrate", "block_migration": "auto"}, nil)
		if st := c.get(id).Status; st != "MIGRATING" && st != "ACTIVE" {
			t.Errorf("status during the live migration: %s", st)
		}
		c.waitStatus(id, "ACTIVE", 120*time.Second)
		took := time.Since(start)
		to := c.host(id)
		if to != other[host] {
			t.Fatalf("still on %s", to)
		}
		out := waitFile(to, "the uptime counting on", 30*time.Second, func(s string) bool { return lastUptime(s) > before+1 })
		if strings.Contains(out, lab.MarkerBooted) {
			t.Fatalf("the guest booted again on %s: %s", to, lab.Describe(out))
		}
		if first := firstUptime(out); first < before {
			t.Errorf("the uptime went back: %.2f on the source, %.2f first on the destination", before, first)
		}
		if doms := labs[host].Domains(); len(doms) != 0 {
			t.Errorf("the source's libvirtd still has %v", doms)
		}
		if _, err := os.Stat(filepath.Join(labs[host].Dir, "instances", id)); !os.IsNotExist(err) {
			t.Errorf("the source kept the instance's files: %v", err)
		}
		m := c.latestMigration(id)
		t.Logf("live migration %s → %s: %s; memory %d bytes, disk %d bytes copied, downtime %d ms", host, to, took.Round(time.Millisecond),
			m.MemoryProcessed, m.DiskProcessed, m.DowntimeMS)
		if m.Status != "completed" || m.MemoryTotal == 0 {
			t.Errorf("migration record: %+v", m)
		}
		host = to
	})

	t.Run("resize and revert: back on the old host with the old disk", func(t *testing.T) {
		boots := strings.Count(console(other[host]), lab.MarkerBooted)
		start := time.Now()
		c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances/"+id+"/actions", map[string]any{"action": "resize", "flavor": "m1.lab2"}, nil)
		c.waitStatus(id, "VERIFY_RESIZE", 120*time.Second)
		toVerify := time.Since(start)
		to := c.host(id)
		if to != other[host] {
			t.Fatalf("resized on %s", to)
		}
		waitFile(to, "the 2 GB disk", 90*time.Second, func(s string) bool {
			return strings.Count(s, lab.MarkerBooted) > boots && strings.Contains(s, "STRATUS-DISK /dev/vda 4194304 sectors")
		})
		if doms := labs[host].Domains(); len(doms) != 1 {
			t.Errorf("the source keeps a stopped copy for the revert: %v", doms)
		}
		srcBoots := strings.Count(console(host), lab.MarkerBooted)
		revert := time.Now()
		c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances/"+id+"/actions", map[string]any{"action": "revert_resize"}, nil)
		in := c.waitStatus(id, "ACTIVE", 120*time.Second)
		t.Logf("resize round trip: resize → VERIFY_RESIZE %s, revert → ACTIVE %s, whole %s",
			toVerify.Round(time.Millisecond), time.Since(revert).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		if h := c.host(id); h != host {
			t.Fatalf("reverted to %s, not %s", h, host)
		}
		out := waitFile(host, "a boot with the old 1 GB disk", 90*time.Second, func(s string) bool {
			return strings.Count(s, lab.MarkerBooted) > srcBoots && strings.HasSuffix(strings.TrimSpace(lastLine(s, "STRATUS-DISK /dev/vda")), "2097152 sectors")
		})
		_ = out
		if doms := labs[to].Domains(); len(doms) != 0 {
			t.Errorf("the destination kept %v after the revert", doms)
		}
		_ = in
	})

	t.Run("resize and confirm: the source's copy goes", func(t *testing.T) {
		c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances/"+id+"/actions", map[string]any{"action": "resize", "flavor": "m1.lab2"}, nil)
		c.waitStatus(id, "VERIFY_RESIZE", 120*time.Second)
		to := c.host(id)
		c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances/"+id+"/actions", map[string]any{"action": "confirm_resize"}, nil)
		c.waitStatus(id, "ACTIVE", 30*time.Second)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) && len(labs[host].Domains()) > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		if doms := labs[host].Domains(); len(doms) != 0 {
			t.Errorf("the source keeps %v after the confirm", doms)
		}
		waitFile(to, "the 2 GB disk", 90*time.Second, func(s string) bool { return strings.Contains(s, "STRATUS-DISK /dev/vda 4194304 sectors") })
		host = to
	})

	t.Run("cold migration to the other host", func(t *testing.T) {
		boots := strings.Count(console(other[host]), lab.MarkerBooted)
		c.admin.mustStatus(http.StatusAccepted, "POST", "/instances/"+id+"/actions", map[string]any{"action": "migrate", "host": other[host]}, nil)
		c.waitStatus(id, "VERIFY_RESIZE", 120*time.Second)
		c.admin.mustStatus(http.StatusAccepted, "POST", "/instances/"+id+"/actions", map[string]any{"action": "confirm_resize"}, nil)
		c.waitStatus(id, "ACTIVE", 30*time.Second)
		if h := c.host(id); h != other[host] {
			t.Fatalf("migrated to %s", h)
		}
		host = other[host]
		waitFile(host, "a boot there", 90*time.Second, func(s string) bool {
			return strings.Count(s, lab.MarkerBooted) > boots && strings.Contains(s, "STRATUS-DISK /dev/vda 4194304 sectors")
		})
	})

	t.Run("evacuate after the host's agent, libvirtd and guests die", func(t *testing.T) {
		name := map[string]string{"hv1": "compute", "hv2": "compute2"}[host]
		_ = c.procs[name].Process.Signal(syscall.SIGKILL)
		_ = c.procs[name].Wait()
		labs[host].StopLibvirtd()
		for _, pid := range labs[host].QemuPIDs() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		var in instance
		status, _ := c.admin.do("POST", "/instances/"+id+"/actions", map[string]any{"action": "evacuate"}, &in)
		if status != http.StatusConflict {
			t.Errorf("evacuate while the host still looks up: %d", status)
		}
		c.waitHostDown(host, 60*time.Second)
		down := time.Now()
		c.admin.mustStatus(http.StatusAccepted, "POST", "/instances/"+id+"/actions", map[string]any{"action": "evacuate"}, nil)
		c.waitStatus(id, "ACTIVE", 120*time.Second)
		to := c.host(id)
		if to != other[host] {
			t.Fatalf("evacuated to %s", to)
		}
		waitFile(to, "the rebuilt guest booting", 120*time.Second, func(s string) bool { return strings.Contains(s, lab.MarkerReady) })
		t.Logf("evacuated %s → %s: ACTIVE %s after the host was marked down", host, to, time.Since(down).Round(time.Millisecond))
	})
}

// host is an instance's host as operators see it.
func (c *cloud) host(id string) string {
	c.t.Helper()
	var in struct {
		Host string `json:"host"`
	}
	c.admin.must("GET", "/instances/"+id, nil, &in)
	return in.Host
}

// waitHostDown waits until the scheduler marks a host down.
func (c *cloud) waitHostDown(name string, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var h struct {
			State string `json:"state"`
		}
		if st, _ := c.admin.do("GET", "/hosts/"+name, nil, &h); st == http.StatusOK && h.State == "down" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("host %s never went down", name)
}

type migrationView struct {
	Status          string `json:"status"`
	MemoryTotal     int64  `json:"memory_total_bytes"`
	MemoryProcessed int64  `json:"memory_processed_bytes"`
	DiskProcessed   int64  `json:"disk_processed_bytes"`
	DowntimeMS      int64  `json:"downtime_ms"`
}

func (c *cloud) latestMigration(id string) migrationView {
	c.t.Helper()
	var out struct {
		Migrations []migrationView `json:"migrations"`
	}
	c.admin.must("GET", "/instances/"+id+"/migrations", nil, &out)
	if len(out.Migrations) == 0 {
		c.t.Fatal("no migrations")
	}
	return out.Migrations[0]
}

// uptimes are the guest's STRATUS-UPTIME values in a console log.
func uptimes(log string) []float64 {
	var out []float64
	for _, l := range strings.Split(log, "\n") {
		i := strings.Index(l, lab.MarkerUptime+" ")
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(l[i+len(lab.MarkerUptime)+1:]), 64); err == nil {
			out = append(out, v)
		}
	}
	return out
}

func lastUptime(log string) float64 {
	u := uptimes(log)
	if len(u) == 0 {
		return -1
	}
	return u[len(u)-1]
}

func firstUptime(log string) float64 {
	u := uptimes(log)
	if len(u) == 0 {
		return -1
	}
	return u[0]
}

// lastLine is the last line of log that contains s.
func lastLine(log, s string) string {
	last := ""
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			last = l
		}
	}
	return last
}
