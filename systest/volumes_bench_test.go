package systest

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkVolumesOnLibvirt measures block storage on real parts (make
// bench, as root): attach → the guest sees the disk (API call to the
// guest's console log on the host — read every 50 ms — reporting the new
// virtio disk, which the guest checks every second, so the figure carries up
// to 1 s of the guest's own polling), detach →
// available (the guest released the disk), and a forced snapshot of an
// in-use 10 GB volume (a libvirt external snapshot) → available. The
// volume service and the agent poll every 50 ms. Figures, not assertions.
func BenchmarkVolumesOnLibvirt(b *testing.B) {
	poll := 50 * time.Millisecond
	c := startCloud(b, poll)
	c.startVolumeService(poll)
	vm := c.launch("vol-bench", "")
	c.waitStatus(vm, "ACTIVE", 3*time.Minute)
	c.waitConsole(vm, 3*time.Minute, "STRATUS-GUEST-READY")
	big := c.createVolume(map[string]any{"name": "big", "size_gb": 10})
	c.waitVolume(big, "available", time.Minute)

	b.ResetTimer()
	for range b.N {
		for i := range 3 {
			v := c.createVolume(map[string]any{"size_gb": 1})
			c.waitVolume(v, "available", time.Minute)
			start := time.Now()
			c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances/"+vm+"/volume-attachments", map[string]any{"volume_id": v}, nil)
			c.waitVolume(v, "in-use", time.Minute)
			inUse := time.Since(start)
			c.waitConsoleFile(vm, "STRATUS-VOL vdb serial="+serial(v))
			seen := time.Since(start)
			start = time.Now()
			c.detach(vm, v)
			detached := time.Since(start)
			c.waitConsole(vm, time.Minute, "STRATUS-VOL-GONE vdb serial="+serial(v))
			c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/volumes/"+v, nil, nil)
			c.waitVolume(v, "gone", time.Minute)
			b.Logf("#%d attach → in-use %5.0f ms, → guest sees the disk %5.0f ms; detach → available %5.0f ms",
				i+1, ms(inUse), ms(seen), ms(detached))
		}
		c.attach(vm, big)
		start := time.Now()
		var snap struct{ ID string }
		c.tenant.mustStatus(http.StatusAccepted, "POST", "/volume-snapshots", map[string]any{"volume_id": big, "force": true}, &snap)
		waitSnapshot(c, snap.ID, "available")
		b.Logf("snapshot of the in-use 10 GB volume → available %5.0f ms", ms(time.Since(start)))
		c.detach(vm, big)
		c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/volume-snapshots/"+snap.ID, nil, nil)
		waitSnapshot(c, snap.ID, "gone")
	}
	b.StopTimer()
	if strings.Contains(tail(c.logs["volume"], 50), `"level":"ERROR"`) {
		b.Fatalf("the volume service logged errors:\n%s", tail(c.logs["volume"], 50))
	}
	b.ReportMetric(0, "ns/op")
}

// waitConsoleFile polls the guest's serial console log file on the host
// (the API's copy is shipped every 2 s: too coarse to time with).
func (c *cloud) waitConsoleFile(id, marker string) {
	c.t.Helper()
	path := filepath.Join(c.lab.Dir, "instances", id, "console.log")
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), marker) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("%s never showed %q", path, marker)
}
