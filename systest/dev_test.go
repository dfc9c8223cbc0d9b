package systest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stratus/systest/lab"
)

// TestDevOnLibvirtUnderPrivateHome is `make run` as a newcomer runs it on
// a machine whose libvirtd answers: `stratus dev` from a checkout under a
// 0700 home (like /root), with the default relative data directory, boots a
// real guest to ACTIVE and shows its console log. qemu runs as libvirt's
// unprivileged user, so the guests' files cannot stay under the home: dev
// says where it put them instead, and every path it hands qemu is absolute.
func TestDevOnLibvirtUnderPrivateHome(t *testing.T) {
	l := lab.Start(t)
	bin := stratusBinary(t)
	home, err := os.MkdirTemp("", "stratus-home-") // 0700, as /root
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	checkout := filepath.Join(home, "stratus")
	if err := os.Mkdir(checkout, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat("/var/lib/stratus")
	createdVarLib := os.IsNotExist(err)
	port := freePort(t)
	cmd := exec.Command(bin, "dev", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--bcrypt-cost", "4",
		"--admin-password", "admin-secret-1", "--demo-password", "demo-secret-1", "--virt-type", "qemu",
		"--host-address", l.GuestAddr, "--reserved-ram-mb", "0", "--poll-interval", "200ms")
	cmd.Dir = checkout // --data-dir is ./data, relative to it
	cmd.Env = append(os.Environ(), "STRATUS_LIBVIRT_URI="+l.URI)
	logPath := filepath.Join(home, "dev.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &cloud{t: t, lab: l, dir: home, bin: bin, url: fmt.Sprintf("http://127.0.0.1:%d", port),
		procs: map[string]*exec.Cmd{"serve": cmd}, logs: map[string]string{"serve": logPath, "scheduler": logPath, "compute": logPath}}
	t.Cleanup(c.stop)

	// The start-up message: the driver chosen, and where the guests' files went.
	banner := readBanner(t, stdout)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if !strings.Contains(banner, "× libvirt driver") {
		t.Fatalf("dev did not choose libvirt:\n%s\n%s", banner, tail(logPath, 20))
	}
	var files string
	for _, line := range strings.Split(banner, "\n") {
		if f, ok := strings.CutPrefix(strings.TrimSpace(line), "guest files: "); ok {
			files = f
		}
	}
	moved, _, _ := strings.Cut(files, ",")
	if !strings.HasPrefix(moved, "/var/lib/stratus/dev-") || !strings.Contains(files, home+" is drwx------") {
		t.Fatalf("guest files: %q; want them moved out of the 0700 home, saying why", files)
	}
	t.Cleanup(func() {
		os.RemoveAll(moved)
		if createdVarLib {
			_ = os.Remove("/var/lib/stratus") // only if empty
		}
	})
	c.waitHTTP()

	c.admin = login(t, c.url, "admin", "admin-secret-1", "admin")
	c.tenant = login(t, c.url, "demo", "demo-secret-1", "demo")
	c.admin.must("POST", "/flavors", map[string]any{"name": "m1.lab", "vcpus": 1, "ram_mb": 192, "disk_gb": 1}, nil)
	g := lab.BuildGuest(t, filepath.Join(home, "guest"))
	kernel := c.tenant.uploadImage("lab-kernel", "aki", g.Kernel, nil)
	ramdisk := c.tenant.uploadImage("lab-ramdisk", "ari", g.Ramdisk, nil)
	image := c.tenant.uploadImage("lab-guest", "raw", g.Disk, map[string]string{"kernel_id": kernel, "ramdisk_id": ramdisk})

	var out struct {
		Instances []instance `json:"instances"`
	}
	c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances", map[string]any{"name": "first-vm", "flavor": "m1.lab", "image": image}, &out)
	id := out.Instances[0].ID
	c.waitStatus(id, "ACTIVE", 90*time.Second)
	c.waitConsole(id, 90*time.Second, lab.MarkerBooted, lab.MarkerConfig, lab.MarkerReady)

	// Nothing of the guest is under the private home; the data directory
	// there keeps the database, private.
	if _, err := os.Stat(filepath.Join(moved, "instances", id, "disk")); err != nil {
		t.Errorf("the guest's disk is not where dev said: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(checkout, "data", "stratus.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database file: %v %v, want mode 0600", fi, err)
	}
	c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/instances/"+id, nil, nil)
	c.waitStatus(id, "DELETED", 60*time.Second)
	if _, err := os.Stat(filepath.Join(moved, "instances", id)); !os.IsNotExist(err) {
		t.Errorf("instance directory left behind (%v)", err)
	}
}

// readBanner reads dev's start-up message up to "Stop with Ctrl-C."
func readBanner(t *testing.T, r io.Reader) string {
	t.Helper()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
			if strings.Contains(sc.Text(), "Stop with Ctrl-C") {
				return
			}
		}
	}()
	var b strings.Builder
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("dev ended before it was ready:\n%s", b.String())
			}
			b.WriteString(line + "\n")
			if strings.Contains(line, "Stop with Ctrl-C") {
				return b.String()
			}
		case <-timeout:
			t.Fatalf("dev not ready within 60 s:\n%s", b.String())
		}
	}
}
