package systest

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"stratus/systest/lab"
)

// act posts an instance action and expects 202.
func (c *cloud) act(id string, body map[string]any) {
	c.t.Helper()
	c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances/"+id+"/actions", body, nil)
}

// domState is what the lab's libvirtd says of an instance's domain.
func (c *cloud) domState(id string) string {
	c.t.Helper()
	out, err := c.lab.Virsh("domstate", "stratus-"+id)
	if err != nil {
		c.t.Fatalf("virsh domstate: %v\n%s", err, out)
	}
	return strings.TrimSpace(out)
}

var tickLine = regexp.MustCompile(`STRATUS-TICK (\d+)`)

// lastTick is the guest's last uptime tick on its console (-1: none yet).
func (c *cloud) lastTick(id string) int {
	c.t.Helper()
	m := tickLine.FindAllStringSubmatch(c.consoleLog(id, 0), -1)
	if len(m) == 0 {
		return -1
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

// waitTickPast waits until the guest counts past n seconds of uptime.
func (c *cloud) waitTickPast(id string, n int, within time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if t := c.lastTick(id); t > n {
			return t
		}
		time.Sleep(500 * time.Millisecond)
	}
	c.t.Fatalf("the guest's uptime never went past %d s: %s", n, lab.Describe(c.consoleLog(id, 0)))
	return 0
}

// TestPauseSuspendOnLibvirt: pause stops the guest's vCPUs (its uptime
// counter stands still) and unpause lets it go on; suspend saves its
// memory to disk (libvirt managed save: the domain is shut off with a
// saved image) and resume brings the same guest back, not a new boot.
func TestPauseSuspendOnLibvirt(t *testing.T) {
	c := startCloud(t, 200*time.Millisecond)
	vm := c.launch("pausy", "STRATUS-TICK")
	c.waitStatus(vm, "ACTIVE", 3*time.Minute)
	c.waitConsole(vm, 3*time.Minute, lab.MarkerReady, "STRATUS-TICK")
	if st, body := c.tenant.do("POST", "/instances/"+vm+"/actions", map[string]any{"action": "resume"}, nil); st != http.StatusConflict || !strings.Contains(body, "ACTIVE") {
		t.Fatalf("resume an ACTIVE instance: %d %s, want 409 naming ACTIVE", st, body)
	}

	c.act(vm, map[string]any{"action": "pause"})
	in := c.waitStatus(vm, "PAUSED", time.Minute)
	if in.PowerState != "paused" || c.domState(vm) != "paused" {
		t.Fatalf("paused: power_state %s, libvirt %q", in.PowerState, c.domState(vm))
	}
	// Ticks the guest printed just before the pause still arrive with the
	// next console shipment (every 2 s): wait for the log to settle first.
	before := c.lastTick(vm)
	for settled := time.Now().Add(30 * time.Second); ; before = c.lastTick(vm) {
		time.Sleep(2500 * time.Millisecond)
		if c.lastTick(vm) == before {
			break
		}
		if time.Now().After(settled) {
			t.Fatalf("the console of a paused guest never stopped counting (at %d)", c.lastTick(vm))
		}
	}
	time.Sleep(5 * time.Second) // a running guest would tick about five times
	if after := c.lastTick(vm); after != before {
		t.Fatalf("a paused guest counted from %d to %d", before, after)
	}
	c.act(vm, map[string]any{"action": "unpause"})
	c.waitStatus(vm, "ACTIVE", time.Minute)
	tick := c.waitTickPast(vm, before, time.Minute)

	start := time.Now()
	c.act(vm, map[string]any{"action": "suspend"})
	in = c.waitStatus(vm, "SUSPENDED", 2*time.Minute)
	t.Logf("suspend (managed save of a %d MB guest): %s", 192, time.Since(start).Round(10*time.Millisecond))
	if in.PowerState != "suspended" || c.domState(vm) != "shut off" {
		t.Fatalf("suspended: power_state %s, libvirt %q", in.PowerState, c.domState(vm))
	}
	if out, _ := c.lab.Virsh("dominfo", "stratus-"+vm); !regexp.MustCompile(`Managed save:\s+yes`).MatchString(out) {
		t.Fatalf("no managed save image:\n%s", out)
	}
	start = time.Now()
	c.act(vm, map[string]any{"action": "resume"})
	c.waitStatus(vm, "ACTIVE", 2*time.Minute)
	t.Logf("resume: %s", time.Since(start).Round(10*time.Millisecond))
	if c.domState(vm) != "running" {
		t.Fatalf("resumed: libvirt %q", c.domState(vm))
	}
	// The same guest goes on counting: it did not boot again.
	c.waitTickPast(vm, tick, time.Minute)
	if n := strings.Count(c.consoleLog(vm, 0), lab.MarkerBooted); n != 1 {
		t.Fatalf("the guest booted %d times", n)
	}
	var log struct {
		Actions []struct {
			Action string `json:"action"`
			Result string `json:"result"`
		} `json:"actions"`
	}
	c.tenant.must("GET", "/instances/"+vm+"/actions", nil, &log)
	var got []string
	for _, a := range log.Actions {
		got = append(got, a.Action+":"+a.Result)
	}
	if strings.Join(got[:4], " ") != "resume:success suspend:success unpause:success pause:success" {
		t.Fatalf("action log %v", got)
	}
}

// waitImage polls an image until it is active, failing when it is killed;
// it returns the highest progress it saw while the image was saving.
func (c *cloud) waitImage(id string, within time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(within)
	seen := -1
	for time.Now().Before(deadline) {
		var im struct {
			Status   string `json:"status"`
			Progress int    `json:"progress"`
		}
		c.tenant.must("GET", "/images/"+id, nil, &im)
		switch im.Status {
		case "active":
			return seen
		case "killed":
			c.t.Fatalf("image %s was killed:\n%s", id, tail(c.logs["compute"], 20))
		case "saving":
			seen = max(seen, im.Progress)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("image %s never became active:\n%s", id, tail(c.logs["compute"], 20))
	return seen
}

// TestSnapshotOnLibvirt: a guest writes a marker on its root disk; a
// snapshot of it (the instance in image_snapshot while the disk is
// copied, then ACTIVE while the image uploads) boots another instance
// whose guest finds the marker.
func TestSnapshotOnLibvirt(t *testing.T) {
	c := startCloud(t, 200*time.Millisecond)
	vm := c.launch("snappy", "STRATUS-WRITEROOT-snap1")
	c.waitStatus(vm, "ACTIVE", 3*time.Minute)
	c.waitConsole(vm, 3*time.Minute, "STRATUS-ROOT image=none mark=none", "STRATUS-ROOT-WROTE snap1", lab.MarkerReady)

	var res struct {
		TaskState       *string `json:"task_state"`
		SnapshotImageID string  `json:"snapshot_image_id"`
	}
	start := time.Now()
	c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances/"+vm+"/actions", map[string]any{"action": "snapshot", "name": "lab-snap"}, &res)
	if res.TaskState == nil || *res.TaskState != "image_snapshot" || res.SnapshotImageID == "" {
		t.Fatalf("snapshot answered task %v image %q", res.TaskState, res.SnapshotImageID)
	}
	if st, body := c.tenant.do("POST", "/instances/"+vm+"/actions", map[string]any{"action": "pause"}, nil); st != http.StatusConflict || !strings.Contains(body, "image_snapshot") {
		t.Fatalf("pause during the snapshot: %d %s", st, body)
	}
	c.waitStatus(vm, "ACTIVE", 2*time.Minute)
	copied := time.Since(start)
	c.waitImage(res.SnapshotImageID, 3*time.Minute)
	t.Logf("snapshot of a 1 GB root disk: copied in %s, image active after %s", copied.Round(10*time.Millisecond), time.Since(start).Round(10*time.Millisecond))
	if c.domState(vm) != "running" {
		t.Fatalf("after the snapshot the guest is %q", c.domState(vm))
	}
	// It boots, and its guest finds the marker written before the snapshot.
	vm2 := c.launchFrom("from-snap", res.SnapshotImageID, "")
	c.waitStatus(vm2, "ACTIVE", 3*time.Minute)
	c.waitConsole(vm2, 3*time.Minute, "STRATUS-ROOT image=none mark=STRATUS-ROOTMARK-snap1", lab.MarkerReady)
}
