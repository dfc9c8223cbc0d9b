package systest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"stratus/systest/lab"
)

// TestCloudOnLibvirt runs the real binary's processes (serve, scheduler,
// compute --driver libvirt) on a real libvirtd + qemu and drives them
// through the JSON API as a tenant would: launch with a key pair and
// user-data, the guest's own account of its config drive on the console-log
// API, VNC through the websocket proxy, power actions, a domain destroyed
// behind Stratus' back, libvirtd restarting during a build, and a delete
// that leaves nothing behind.
func TestCloudOnLibvirt(t *testing.T) {
	c := startCloud(t, 200*time.Millisecond)
	id := c.launch("lab-vm", "#!/bin/sh\n# STRATUS-USERDATA-e2e42\n")

	t.Run("launch becomes ACTIVE and the guest read its config drive", func(t *testing.T) {
		c.waitStatus(id, "ACTIVE", 60*time.Second)
		out := c.waitConsole(id, 90*time.Second, lab.MarkerReady)
		for _, want := range []string{lab.MarkerBooted, lab.MarkerConfig, lab.MarkerHostname + " lab-vm", lab.MarkerKey + " labkey",
			lab.MarkerUserData + " STRATUS-USERDATA-e2e42", "STRATUS-DISK /dev/vda"} {
			if !strings.Contains(out, want) {
				t.Errorf("console log lacks %q: %s", want, lab.Describe(out))
			}
		}
		// The tail: two lines of the log, its last ones. The guest's
		// kernel may still print (a loaded host's clocksource warnings)
		// after its ready marker, so the tail is compared with the whole
		// log read right after, not with the marker.
		last := c.consoleLog(id, 2)
		whole := c.consoleLog(id, 0)
		tail := strings.TrimRight(last, "\n")
		if strings.Count(tail, "\n") != 1 || !strings.Contains(whole, tail) || strings.HasPrefix(whole, tail) {
			t.Errorf("console-log?lines=2 = %q; the whole log ends %q", last, whole[max(0, len(whole)-300):])
		}
	})

	t.Run("a VNC console token opens a websocket to the guest's VNC server, once, for its user only", func(t *testing.T) {
		var rc struct {
			URL string `json:"url"`
		}
		c.tenant.mustStatus(http.StatusCreated, "POST", "/instances/"+id+"/remote-console", map[string]any{"protocol": "vnc", "type": "novnc"}, &rc)
		if !strings.HasPrefix(rc.URL, "/console/vnc?token=") {
			t.Fatalf("console url = %q", rc.URL)
		}
		wsURL := strings.Replace(c.url, "http://", "ws://", 1) + rc.URL
		if _, status := dialVNC(t, wsURL, c.other.token); status != http.StatusForbidden {
			t.Errorf("another member of the project opened alice's console: status %d", status)
		}
		if _, status := dialVNC(t, wsURL, ""); status != http.StatusUnauthorized {
			t.Errorf("an anonymous client opened the console: status %d", status)
		}
		greeting, status := dialVNC(t, wsURL, c.tenant.token)
		if status != http.StatusSwitchingProtocols || !strings.HasPrefix(greeting, "RFB 003.00") {
			t.Errorf("owner's console: status %d, greeting %q", status, greeting)
		}
		if _, status := dialVNC(t, wsURL, c.tenant.token); status != http.StatusForbidden {
			t.Errorf("a used token opened the console again: status %d", status)
		}
	})

	t.Run("a domain destroyed behind Stratus' back shows as SHUTOFF within seconds, with an action log entry", func(t *testing.T) {
		if out, err := c.lab.Virsh("destroy", "stratus-"+id); err != nil {
			t.Fatalf("virsh destroy: %v %s", err, out)
		}
		start := time.Now()
		c.waitStatus(id, "SHUTOFF", 10*time.Second)
		t.Logf("SHUTOFF %s after virsh destroy", time.Since(start).Round(time.Millisecond))
		var log struct {
			Actions []struct{ Action, Message, Result string } `json:"actions"`
		}
		c.tenant.must("GET", "/instances/"+id+"/actions", nil, &log)
		if len(log.Actions) == 0 || log.Actions[0].Action != "stop" || !strings.Contains(log.Actions[0].Message, "lifecycle event") {
			t.Errorf("newest action = %+v, want a stop found by a lifecycle event", log.Actions)
		}
	})

	t.Run("start, stop (qemu gone), start, hard reboot", func(t *testing.T) {
		action := func(a string) {
			c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances/"+id+"/actions", map[string]any{"action": a}, nil)
		}
		action("start")
		c.waitStatus(id, "ACTIVE", 30*time.Second)
		action("stop") // the busybox guest ignores ACPI: forced after --shutdown-timeout
		c.waitStatus(id, "SHUTOFF", 30*time.Second)
		if pids := c.lab.QemuPIDs(); len(pids) != 0 {
			t.Errorf("qemu still running after stop: %v", pids)
		}
		action("start")
		c.waitStatus(id, "ACTIVE", 30*time.Second)
		boots := strings.Count(c.consoleLog(id, 0), lab.MarkerBooted)
		action("reboot_hard")
		c.waitStatus(id, "ACTIVE", 30*time.Second)
		c.waitConsoleCount(id, lab.MarkerBooted, boots+1, 60*time.Second)
	})

	t.Run("libvirtd restarting during a build: the build ends ACTIVE or ERROR, never stuck", func(t *testing.T) {
		// Stop libvirtd right after the launch, so that the build meets a
		// daemon that is away and comes back: the restart happens during
		// the build, whatever its pace.
		id2 := c.launch("lab-restart", "")
		c.lab.StopLibvirtd()
		if in := c.get(id2); in.Status != "BUILD" {
			t.Fatalf("the build finished (%s) before libvirtd stopped: the restart would not happen during it", in.Status)
		}
		time.Sleep(time.Second)
		c.lab.StartLibvirtd()
		end := time.Now().Add(90 * time.Second)
		var in instance
		for time.Now().Before(end) {
			if in = c.get(id2); (in.Status == "ACTIVE" || in.Status == "ERROR") && in.TaskState == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("build across a libvirtd restart ended %s", in.Status)
		if in.Status != "ACTIVE" && in.Status != "ERROR" {
			t.Fatalf("instance stuck in %s (task %v)", in.Status, in.TaskState)
		}
		c.deleteAndCheck(t, id2)
	})

	t.Run("delete leaves no domain, disk or file behind", func(t *testing.T) {
		c.deleteAndCheck(t, id)
	})
}

// deleteAndCheck deletes an instance and checks that libvirt and the host
// keep nothing of it.
func (c *cloud) deleteAndCheck(t *testing.T, id string) {
	t.Helper()
	c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/instances/"+id, nil, nil)
	c.waitStatus(id, "DELETED", 60*time.Second)
	for _, name := range c.lab.Domains() {
		if strings.Contains(name, id) {
			t.Errorf("domain %s left behind", name)
		}
	}
	if _, err := os.Stat(filepath.Join(c.lab.Dir, "instances", id)); !os.IsNotExist(err) {
		t.Errorf("instance directory left behind (%v)", err)
	}
}

func (c *cloud) waitConsoleCount(id, marker string, n int, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if strings.Count(c.consoleLog(id, 0), marker) >= n {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	c.t.Fatalf("console of %s never showed %s %d times", id, marker, n)
}

// dialVNC opens the console websocket with a bearer token and returns the
// first message (the RFB greeting) and the HTTP status of the handshake.
func dialVNC(t *testing.T, url, token string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{"binary"}})
	if err != nil {
		if resp != nil {
			return "", resp.StatusCode
		}
		t.Fatalf("dial %s: %v", url, err)
	}
	defer ws.CloseNow()
	_, msg, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read the RFB greeting: %v", err)
	}
	return string(msg), resp.StatusCode
}
