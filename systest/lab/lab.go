// Package lab runs the real parts Stratus' system tests need: a libvirtd of
// their own (with its virtlogd) inside a network namespace and a mount
// namespace that the test creates, so that it never touches a libvirtd the
// machine runs nor the machine's network, and a tiny guest (the Debian
// kernel and a busybox initramfs) whose /init reports on the serial console
// what it found on the config drive.
//
// Prerequisites are checked, never installed: .ci/deps installs the Debian
// packages and fetches the kernel. When they are missing a test is skipped
// with the reason — except under CI=true, where it fails.
package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// GuestDir is where .ci/deps leaves the guest kernel and its modules
// (override with STRATUS_TEST_GUEST_DIR).
const GuestDir = "/var/cache/stratus-test/guest"

// Require skips (or under CI=true fails) the test unless everything a lab
// needs is on the machine.
func Require(t testing.TB) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (the lab creates namespaces and runs libvirtd)")
	}
	for _, bin := range []string{"libvirtd", "virtlogd", "virsh", "qemu-system-x86_64", "qemu-img", "busybox", "cpio", "gzip", "ip", "unshare", "nsenter"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err := os.Stat(filepath.Join("/usr/sbin", bin)); err != nil {
				missing = append(missing, bin)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(guestDir(), "vmlinuz")); err != nil {
		missing = append(missing, "the guest kernel in "+guestDir()+" (.ci/deps fetches it)")
	} else if _, err := os.Stat(filepath.Join(guestDir(), "modules", "virtio_net.ko")); err != nil {
		missing = append(missing, "the guest kernel's virtio_net module in "+guestDir()+" (.ci/deps fetches it)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "system test prerequisites missing: " + strings.Join(missing, ", ") + " — run `make deps` as root"
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func guestDir() string {
	if d := os.Getenv("STRATUS_TEST_GUEST_DIR"); d != "" {
		return d
	}
	return GuestDir
}

// Lab is a running libvirtd in namespaces of the test's own.
type Lab struct {
	Dir       string // everything of the lab lives here
	Socket    string // libvirtd's read-write socket
	URI       string // qemu:///system?socket=… for virsh and Stratus
	NetNS     string // the network namespace libvirtd and qemu run in
	HostAddr  string // this side of the veth into the namespace
	GuestAddr string // the namespace's side: VNC servers listen here
	// MigrationAddr is, in a pair, this lab's end of the link between the
	// two: its libvirtd listens for the other's there (see StartPair).
	MigrationAddr string
	veth          string
	lockFile      *os.File
	t             testing.TB
}

// Start starts a lab; t.Cleanup stops it and removes everything it made.
// Labs of concurrently running test packages take turns (a lock file), so
// the machine never boots more guests at once than one test allows.
func Start(t testing.TB) *Lab {
	t.Helper()
	Require(t)
	return start(t, takeTurn(t))
}

// StartPair starts two labs — two hypervisor hosts, each its own libvirtd
// in its own namespaces — joined by a veth link of their own, over which
// each libvirtd reaches the other's (qemu+tcp, no auth: the link exists
// only between the two namespaces) and qemu streams migrations. Each Lab's
// MigrationAddr is its end of that link.
func StartPair(t testing.TB) (*Lab, *Lab) {
	t.Helper()
	Require(t)
	a := start(t, takeTurn(t))
	b := start(t, nil) // a's turn covers both
	third := 1 + int(randBytes(1)[0])%250
	a.MigrationAddr, b.MigrationAddr = fmt.Sprintf("172.31.%d.1", third), fmt.Sprintf("172.31.%d.2", third)
	ea, eb := "stmig"+randHex(3), "stmig"+randHex(3)
	a.run("ip", "link", "add", ea, "netns", a.NetNS, "type", "veth", "peer", "name", eb, "netns", b.NetNS)
	for _, side := range []struct {
		l   *Lab
		dev string
	}{{a, ea}, {b, eb}} {
		side.l.run("ip", "-n", side.l.NetNS, "addr", "add", side.l.MigrationAddr+"/30", "dev", side.dev)
		side.l.run("ip", "-n", side.l.NetNS, "link", "set", side.dev, "up")
	}
	return a, b
}

// StartMany starts n labs at once — n compute "hosts", each with its own
// libvirtd in its own namespaces — taking one turn for them all.
func StartMany(t testing.TB, n int) []*Lab {
	t.Helper()
	Require(t)
	lock := takeTurn(t)
	labs := make([]*Lab, n)
	for i := range labs {
		// The first one's cleanup runs last (t.Cleanup is LIFO): it ends
		// the turn.
		labs[i] = start(t, lock)
		lock = nil
	}
	return labs
}

// takeTurn waits for the labs of other test packages to finish.
func takeTurn(t testing.TB) *os.File {
	t.Helper()
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "stratus-lab.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return lock
}

// start starts one lab; lock (if not nil) is released when it stops.
func start(t testing.TB, lock *os.File) *Lab {
	t.Helper()
	suffix := randHex(3)
	dir, err := os.MkdirTemp("", "stratus-lab-")
	if err != nil {
		t.Fatal(err)
	}
	// qemu runs as libvirt-qemu: it must reach the disks below.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l := &Lab{Dir: dir, Socket: filepath.Join(dir, "sock", "libvirt-sock"), NetNS: "stratus-lab-" + suffix,
		veth: "stlab" + suffix, lockFile: lock, t: t}
	l.URI = "qemu:///system?socket=" + l.Socket
	// A /30 in the link-local range, different for every lab.
	b := randBytes(1)
	third := 100 + int(b[0])%100
	for i := 0; i < 100; i++ { // not one another lab of this machine has
		if out, _ := exec.Command("ip", "-o", "addr", "show", "to", fmt.Sprintf("169.254.%d.0/30", third)).Output(); len(out) == 0 {
			break
		}
		third = 100 + (third-100+1)%100
	}
	l.HostAddr, l.GuestAddr = fmt.Sprintf("169.254.%d.1", third), fmt.Sprintf("169.254.%d.2", third)
	t.Cleanup(l.stop)
	if err := ensureQemuUser(); err != nil {
		t.Fatal(err)
	}
	l.run("ip", "netns", "add", l.NetNS)
	l.run("ip", "link", "add", l.veth, "type", "veth", "peer", "name", "eth0", "netns", l.NetNS)
	l.run("ip", "addr", "add", l.HostAddr+"/30", "dev", l.veth)
	l.run("ip", "link", "set", l.veth, "up")
	l.run("ip", "-n", l.NetNS, "addr", "add", l.GuestAddr+"/30", "dev", "eth0")
	l.run("ip", "-n", l.NetNS, "link", "set", "eth0", "up")
	l.run("ip", "-n", l.NetNS, "link", "set", "lo", "up")
	for _, d := range []string{"etc/qemu", "lib", "log/qemu", "cache", "sock", "instances", "image-cache"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l.write("etc/libvirtd.conf", fmt.Sprintf("unix_sock_dir = %q\nunix_sock_ro_perms = \"0777\"\nunix_sock_rw_perms = \"0700\"\nauth_unix_ro = \"none\"\nauth_unix_rw = \"none\"\nlisten_tls = 0\nlisten_tcp = 1\nauth_tcp = \"none\"\nlog_outputs = \"3:file:/var/log/libvirt/libvirtd.log\"\n", filepath.Dir(l.Socket)))
	l.write("etc/qemu.conf", "# the lab's qemu driver: Debian's defaults\n")
	// Small caps so that the tests see virtlogd's rotation work.
	l.write("etc/virtlogd.conf", "max_size = 262144\nmax_backups = 2\n")
	// The mount namespace hides the machine's libvirt state: /run (sockets,
	// pid files), /etc/libvirt (configs, persistent domains), /var/lib,
	// /var/log and /var/cache/libvirt become the lab's own directories.
	script := fmt.Sprintf(`set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /etc/libvirt
mount --bind %[1]s/etc /etc/libvirt
mount --bind %[1]s/lib /var/lib/libvirt
mount --bind %[1]s/log /var/log/libvirt
mount --bind %[1]s/cache /var/cache/libvirt
if [ -e /dev/kvm ]; then
	# A /dev/kvm the unprivileged qemu cannot open makes libvirt re-probe
	# qemu on every define (~50 s); the lab's is usable, as udev sets it up.
	mknod %[1]s/kvm c 10 232 && chgrp libvirt-qemu %[1]s/kvm && chmod 0660 %[1]s/kvm
	mount --bind %[1]s/kvm /dev/kvm
fi
virtlogd -d -p %[1]s/virtlogd.pid -f /etc/libvirt/virtlogd.conf
`, dir)
	l.run("ip", "netns", "exec", l.NetNS, "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	l.StartLibvirtd()
	return l
}

// StartLibvirtd starts libvirtd in the lab's namespaces and waits until it
// answers.
func (l *Lab) StartLibvirtd() {
	l.t.Helper()
	vpid := l.pid("virtlogd.pid")
	if vpid == 0 {
		l.t.Fatal("virtlogd is not running")
	}
	_ = os.Remove(l.Socket)
	// --listen: libvirtd also takes TCP connections (qemu+tcp, for the
	// other lab's migrations), reachable only inside the namespace.
	l.run("nsenter", "-t", strconv.Itoa(vpid), "-m", "-n", "libvirtd", "-d", "--listen", "-p", filepath.Join(l.Dir, "libvirtd.pid"),
		"-f", "/etc/libvirt/libvirtd.conf")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if out, err := l.Virsh("version"); err == nil && strings.Contains(out, "hypervisor") {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	l.t.Fatalf("libvirtd did not answer within 30 s:\n%s", l.Tail("log/libvirtd.log", 20))
}

// StopLibvirtd stops libvirtd (its guests keep running, as when an operator
// restarts it) and waits for it to exit.
func (l *Lab) StopLibvirtd() {
	l.t.Helper()
	pid := l.pid("libvirtd.pid")
	if pid == 0 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && syscall.Kill(pid, 0) == nil {
		time.Sleep(100 * time.Millisecond)
	}
	if syscall.Kill(pid, 0) == nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// Virsh runs virsh against the lab's libvirtd.
func (l *Lab) Virsh(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "virsh", append([]string{"-c", l.URI}, args...)...).CombinedOutput()
	return string(out), err
}

// Domains lists the names of every domain the lab's libvirtd has.
func (l *Lab) Domains() []string {
	out, err := l.Virsh("list", "--all", "--name")
	if err != nil {
		l.t.Fatalf("virsh list: %v\n%s", err, out)
	}
	return strings.Fields(out)
}

// QemuPIDs are the qemu processes running in the lab.
func (l *Lab) QemuPIDs() []int {
	var pids []int
	for _, pid := range l.nsPIDs() {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.HasPrefix(string(comm), "qemu") {
			pids = append(pids, pid)
		}
	}
	return pids
}

func (l *Lab) nsPIDs() []int {
	out, err := exec.Command("ip", "netns", "pids", l.NetNS).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// Tail returns the last n lines of a file under the lab's directory.
func (l *Lab) Tail(rel string, n int) string {
	b, err := os.ReadFile(filepath.Join(l.Dir, rel))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (l *Lab) stop() {
	// Every process in the namespace is the lab's: libvirtd, virtlogd and
	// the qemu guests they started.
	for _, name := range l.domainsQuiet() {
		_, _ = l.Virsh("destroy", name)
	}
	for _, pid := range l.nsPIDs() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && len(l.nsPIDs()) > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	for _, pid := range l.nsPIDs() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = exec.Command("ip", "link", "del", l.veth).Run()
	_ = exec.Command("ip", "netns", "del", l.NetNS).Run()
	if os.Getenv("STRATUS_KEEP_LAB") == "" {
		_ = os.RemoveAll(l.Dir)
	} else {
		l.t.Logf("lab kept in %s (STRATUS_KEEP_LAB)", l.Dir)
	}
	if l.lockFile != nil {
		_ = syscall.Flock(int(l.lockFile.Fd()), syscall.LOCK_UN)
		_ = l.lockFile.Close()
	}
}

func (l *Lab) domainsQuiet() []string {
	out, err := l.Virsh("list", "--name")
	if err != nil {
		return nil
	}
	return strings.Fields(out)
}

func (l *Lab) pid(file string) int {
	b, err := os.ReadFile(filepath.Join(l.Dir, file))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func (l *Lab) run(name string, args ...string) {
	l.t.Helper()
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		l.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
}

func (l *Lab) write(rel, content string) {
	l.t.Helper()
	if err := os.WriteFile(filepath.Join(l.Dir, rel), []byte(content), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

// ensureQemuUser creates the system user Debian's qemu driver runs guests
// as, when the machine lacks it (its package's postinst does this under
// systemd; without systemd nobody does).
func ensureQemuUser() error {
	if exec.Command("id", "libvirt-qemu").Run() == nil {
		return nil
	}
	out, err := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", "/var/lib/libvirt",
		"--shell", "/usr/sbin/nologin", "libvirt-qemu").CombinedOutput()
	if err != nil {
		return fmt.Errorf("useradd libvirt-qemu: %v: %s", err, out)
	}
	return nil
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func randHex(n int) string { return hex.EncodeToString(randBytes(n)) }
