package libvirt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestParseQemuUser(t *testing.T) {
	caps := `<capabilities><host><uuid>x</uuid>
  <secmodel><model>none</model><doi>0</doi></secmodel>
  <secmodel><model>dac</model><doi>0</doi><baselabel type='kvm'>+64055:+994</baselabel><baselabel type='qemu'>+64055:+995</baselabel></secmodel>
</host></capabilities>`
	u, ok, err := parseQemuUser(caps, "qemu")
	if err != nil || !ok || u.UID != 64055 || u.GID != 995 {
		t.Fatalf("parseQemuUser = %+v %v %v", u, ok, err)
	}
	root := strings.ReplaceAll(caps, "+64055:+995", "+0:+0")
	if _, ok, err := parseQemuUser(root, "qemu"); ok || err != nil {
		t.Fatalf("qemu as root: ok %v err %v, want nothing to check", ok, err)
	}
	if _, ok, err := parseQemuUser(`<capabilities><host></host></capabilities>`, "kvm"); ok || err != nil {
		t.Fatalf("no DAC model: ok %v err %v", ok, err)
	}
}

func TestCanSearch(t *testing.T) {
	u := QemuUser{UID: 999, GID: 995, Groups: []int{995, 42}}
	for _, c := range []struct {
		mode     os.FileMode
		uid, gid int
		want     bool
	}{
		{0o700, 0, 0, false},
		{0o755, 0, 0, true},
		{0o750, 0, 0, false},
		{0o751, 0, 0, true},
		{0o750, 0, 42, true}, // a supplementary group
		{0o700, 999, 0, true},
		{0o670, 999, 995, false}, // the owner's bits decide for the owner
	} {
		if got := u.canSearch(c.mode, c.uid, c.gid); got != c.want {
			t.Errorf("canSearch(%s, %d:%d) = %v", c.mode, c.uid, c.gid, got)
		}
	}
}

// prepareDirs creates what is missing 0755 whatever the umask, gives o+x
// to Stratus' own state directory, and names a foreign directory in the
// way instead of changing it.
func TestPrepareDirs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: directories are checked as another user")
	}
	u := QemuUser{UID: 64000, GID: 64000, Name: "qemu-test"}
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	base, err := os.MkdirTemp("", "stratus-qemu-access-") // t.TempDir's parent is 0700
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(base, "data")
	if err := os.Mkdir(state, 0o750); err != nil || os.Chmod(state, 0o750) != nil {
		t.Fatal(err)
	}
	inst := filepath.Join(state, "instances")
	if err := prepareDirs(u, true, state, inst); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]os.FileMode{state: 0o751, inst: 0o755} {
		if fi, _ := os.Stat(dir); fi.Mode().Perm() != want {
			t.Errorf("%s is %s, want %s", dir, fi.Mode().Perm(), want)
		}
	}

	home := filepath.Join(base, "home") // like /root: 0700, not Stratus'
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	state = filepath.Join(home, "checkout", "data")
	err = prepareDirs(u, true, state, filepath.Join(state, "instances"))
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Blocker != home {
		t.Fatalf("err = %v, want the 0700 home named", err)
	}
	for _, want := range []string{"qemu-test (uid 64000)", "chmod o+x " + home, "setfacl -m u:qemu-test:x " + home} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if fi, _ := os.Stat(home); fi.Mode().Perm() != 0o700 {
		t.Errorf("a directory that is not Stratus' was changed to %s", fi.Mode().Perm())
	}
	if err := prepareDirs(u, true, "", "relative/dir"); err == nil {
		t.Error("a relative directory was accepted")
	}
}

// TestPickVirtTypeSaysWhereItCameFrom: a kvm or qemu domain type is
// "chosen with" where it was given — the flag, or STRATUS_VIRT_TYPE.
func TestPickVirtTypeSaysWhereItCameFrom(t *testing.T) {
	for _, c := range []struct{ want, from, why string }{
		{"qemu", "STRATUS_VIRT_TYPE", "chosen with STRATUS_VIRT_TYPE"},
		{"kvm", "--virt-type", "chosen with --virt-type"},
		{"kvm", "", "chosen with --virt-type"},
	} {
		vt, why, err := pickVirtType(c.want, c.from)
		if err != nil || vt != c.want || why != c.why {
			t.Errorf("pickVirtType(%q, %q) = %q, %q, %v; want %q", c.want, c.from, vt, why, err, c.why)
		}
	}
}
