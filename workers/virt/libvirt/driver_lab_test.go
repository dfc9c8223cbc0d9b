package libvirt_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stratus/systest/lab"
	"stratus/workers/virt"
	"stratus/workers/virt/libvirt"
)

// TestDriverOnRealLibvirt drives a real libvirtd + qemu (TCG) with the
// driver alone: a three-part guest boots and reads its config drive, power
// actions and lifecycle events work, a libvirtd restart is survived, a
// domain without our metadata is left alone, and Destroy leaves nothing.
func TestDriverOnRealLibvirt(t *testing.T) {
	l := lab.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	g := lab.BuildGuest(t, t.TempDir())
	cache := filepath.Join(l.Dir, "image-cache")
	base := filepath.Join(cache, "disk")
	if err := libvirt.PrepareImage(ctx, "", "raw", g.Disk, base); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	d, err := libvirt.New(ctx, libvirt.Config{URI: l.URI, VirtType: "qemu", InstancesDir: filepath.Join(l.Dir, "instances"), Host: "hv1",
		VNCListen: l.GuestAddr, RebootTimeout: 2 * time.Second, Keepalive: time.Second, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	info, err := d.HostInfo(ctx)
	if err != nil || info.VCPUs < 1 || info.RAMMB < 512 || info.DiskGB < 1 || info.HypervisorType != d.VirtType() {
		t.Fatalf("HostInfo = %+v, %v", info, err)
	}

	evctx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	events, err := d.Events(evctx)
	if err != nil {
		t.Fatal(err)
	}

	// A domain someone else defined (no Stratus metadata) must be ignored.
	foreign := filepath.Join(l.Dir, "foreign.xml")
	if err := os.WriteFile(foreign, []byte(`<domain type="qemu"><name>stratus-00000000-0000-0000-0000-000000000000</name><memory unit="MiB">64</memory><os><type arch="x86_64">hvm</type></os></domain>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := l.Virsh("define", foreign); err != nil {
		t.Fatalf("virsh define: %v %s", err, out)
	}

	id := "5c0e7a52-3f5e-4a53-b0d4-8b5c3f6e9d01"
	spec := virt.InstanceSpec{ID: id, Name: "Lab Guest", ProjectID: "p1", FlavorName: "m1.lab", VCPUs: 1, RAMMB: 192,
		DiskGB: 1, EphemeralGB: 1, KeyName: "k1", KeyData: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG5vdGFyZWFsa2V5 t@lab",
		UserData: "#cloud-config\n# STRATUS-USERDATA-lab42\n# STRATUS-FLOOD-400\n",
		Image:    virt.ImageRef{ID: "img", Format: "raw", Path: base},
		Kernel:   &virt.ImageRef{ID: "k", Format: "aki", Path: g.Kernel},
		Ramdisk:  &virt.ImageRef{ID: "r", Format: "ari", Path: g.Ramdisk}}
	start := time.Now()
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatalf("Spawn: %v\n%s", err, l.Tail("log/libvirtd.log", 20))
	}
	t.Logf("Spawn took %s", time.Since(start).Round(time.Millisecond))
	waitEvent(t, events, id, virt.Running, 10*time.Second)
	if err := d.Spawn(ctx, spec); err != nil {
		t.Fatalf("Spawn of a running domain is not idempotent: %v", err)
	}

	logPath := d.ConsoleLogPath(id)
	start = time.Now()
	console := waitConsole(t, logPath, 120*time.Second, lab.MarkerReady)
	t.Logf("guest ready %s after Spawn", time.Since(start).Round(time.Millisecond))
	// The guest printed 400 KiB: virtlogd (max_size 256 KiB in the lab)
	// capped the file and rotated the rest to console.log.0.
	if fi, err := os.Stat(logPath); err != nil || fi.Size() > 256<<10 {
		t.Errorf("console log not capped: %v %v", fi.Size(), err)
	}
	if _, err := os.Stat(logPath + ".0"); err != nil {
		t.Errorf("console log not rotated: %v", err)
	}
	console = readRotated(logPath) + console
	for _, want := range []string{lab.MarkerBooted, lab.MarkerConfig, lab.MarkerHostname + " lab-guest", lab.MarkerKey + " k1",
		lab.MarkerUserData + " STRATUS-USERDATA-lab42", "STRATUS-DISK /dev/vda 2097152 sectors", "STRATUS-DISK /dev/vdb 2097152 sectors"} {
		if !strings.Contains(console, want) {
			t.Errorf("console lacks %q: %s", want, lab.Describe(console))
		}
	}

	doms, err := d.List(ctx)
	if err != nil || len(doms) != 1 || doms[0].ID != id || doms[0].State != virt.Running {
		t.Errorf("List = %+v, %v; want only our running domain (the foreign one ignored)", doms, err)
	}

	host, port, err := d.VNC(ctx, id)
	if err != nil || host != l.GuestAddr || port < 5900 {
		t.Fatalf("VNC = %s:%d, %v", host, port, err)
	}
	if greet := rfbGreeting(t, host, port); !strings.HasPrefix(greet, "RFB 003.00") {
		t.Errorf("VNC greeting = %q", greet)
	}

	// Behind Stratus' back: the event says so within seconds.
	if out, err := l.Virsh("destroy", libvirt.DomainName(id)); err != nil {
		t.Fatalf("virsh destroy: %v %s", err, out)
	}
	ev := waitEvent(t, events, id, virt.Shutdown, 10*time.Second)
	if !strings.Contains(ev.Reason, "destroyed") {
		t.Errorf("event reason = %q", ev.Reason)
	}

	if err := d.PowerOn(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, id, virt.Running, 10*time.Second)
	// The busybox guest ignores ACPI: PowerOff forces it after the timeout.
	start = time.Now()
	if err := d.PowerOff(ctx, id, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if st, err := d.State(ctx, id); err != nil || st != virt.Shutdown {
		t.Errorf("state after PowerOff = %s, %v", st, err)
	}
	if pids := l.QemuPIDs(); len(pids) != 0 {
		t.Errorf("qemu still running after PowerOff: %v", pids)
	}
	t.Logf("PowerOff (ACPI ignored, forced) took %s", time.Since(start).Round(time.Millisecond))
	if err := d.Reboot(ctx, id, false); err == nil {
		t.Error("soft reboot of a stopped domain succeeded")
	}
	if err := d.Reboot(ctx, id, true); err != nil {
		t.Fatalf("hard reboot of a stopped domain: %v", err)
	}
	if st, _ := d.State(ctx, id); st != virt.Running {
		t.Errorf("state after hard reboot = %s", st)
	}
	if err := d.Reboot(ctx, id, false); err != nil {
		t.Fatalf("soft reboot: %v", err)
	}
	if st, _ := d.State(ctx, id); st != virt.Running {
		t.Errorf("state after soft reboot = %s", st)
	}

	// libvirtd restarts: calls wait for it, events resume.
	l.StopLibvirtd()
	restarted := make(chan struct{})
	go func() { defer close(restarted); l.StartLibvirtd() }()
	st, err := d.State(ctx, id)
	<-restarted
	if err != nil || st != virt.Running {
		t.Fatalf("State across a libvirtd restart = %s, %v", st, err)
	}
	drain(events)
	if out, err := l.Virsh("destroy", libvirt.DomainName(id)); err != nil {
		t.Fatalf("virsh destroy: %v %s", err, out)
	}
	waitEvent(t, events, id, virt.Shutdown, 15*time.Second)

	if err := d.Destroy(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := d.Destroy(ctx, id); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
	if _, err := d.State(ctx, id); !errors.Is(err, virt.ErrNotFound) {
		t.Errorf("State after Destroy: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(logPath)); !os.IsNotExist(err) {
		t.Errorf("instance directory left behind: %v", err)
	}
	if names := l.Domains(); len(names) != 1 || names[0] != "stratus-00000000-0000-0000-0000-000000000000" {
		t.Errorf("domains left = %v, want only the foreign one (untouched)", names)
	}
}

func waitEvent(t *testing.T, events <-chan virt.Event, id string, want virt.PowerState, within time.Duration) virt.Event {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("event stream closed")
			}
			if ev.ID == id && ev.State == want {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event for %s within %s", want, id, within)
		}
	}
}

func drain(events <-chan virt.Event) {
	for {
		select {
		case <-events:
		default:
			return
		}
	}
}

// readRotated reads the rotated parts of a console log, oldest first.
func readRotated(path string) string {
	var sb strings.Builder
	for i := 2; i >= 0; i-- {
		b, _ := os.ReadFile(path + "." + strconv.Itoa(i))
		sb.Write(b)
	}
	return sb.String()
}

func waitConsole(t *testing.T, path string, within time.Duration, marker string) string {
	t.Helper()
	deadline := time.Now().Add(within)
	var b []byte
	for time.Now().Before(deadline) {
		b, _ = os.ReadFile(path)
		if strings.Contains(string(b), marker) {
			return string(b)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("console never showed %s within %s: %s", marker, within, lab.Describe(string(b)))
	return ""
}

func rfbGreeting(t *testing.T, host string, port int) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 5*time.Second)
	if err != nil {
		t.Fatalf("dial VNC: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 12)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read VNC greeting: %v", err)
	}
	return string(b)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
