package libvirt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// Under libvirtd's qemu:///system, qemu runs as an unprivileged user
// (Debian: libvirt-qemu) that must be able to search every directory above
// the files it opens — disks, their qcow2 backing images in the image cache,
// kernel, ramdisk, config drive. A 0700 home (/root) or a 0750 data
// directory above them fails every start with "Cannot access storage file
// … Permission denied". So the driver checks, at start, that qemu's user
// can reach the instances directory and the image cache:
//
//   - directories it creates get 0755, whatever the umask;
//   - directories in the state directory Stratus owns (StateDir: the dev
//     data directory) that qemu cannot search get o+x (search, not read):
//     the files beside them stay private by their own modes;
//   - any other directory in the way is not Stratus' to change: New fails
//     with an UnreachableError naming it and the fixes.

// QemuUser is the user and groups libvirt's qemu processes run as.
type QemuUser struct {
	UID, GID int
	Groups   []int  // supplementary groups of the user
	Name     string // the user's name, when the system knows it
}

func (u QemuUser) String() string {
	if u.Name != "" {
		return fmt.Sprintf("%s (uid %d)", u.Name, u.UID)
	}
	return fmt.Sprintf("uid %d", u.UID)
}

// qemuUser reads from libvirtd's capabilities the DAC base label qemu
// processes of this virt type get ("+999:+995"). ok is false when there is
// none (qemu runs as root, or DAC labelling is off): nothing to check.
func (c *Client) qemuUser(ctx context.Context, virtType string) (QemuUser, bool, error) {
	var caps string
	err := c.Call(ctx, func(l *golibvirt.Libvirt) error {
		var err error
		caps, err = l.ConnectGetCapabilities()
		return err
	})
	if err != nil {
		return QemuUser{}, false, fmt.Errorf("read libvirt capabilities: %w", err)
	}
	return parseQemuUser(caps, virtType)
}

func parseQemuUser(capsXML, virtType string) (QemuUser, bool, error) {
	var caps libvirtxml.Caps
	if err := caps.Unmarshal(capsXML); err != nil {
		return QemuUser{}, false, fmt.Errorf("parse libvirt capabilities: %w", err)
	}
	for _, m := range caps.Host.SecModel {
		if m.Name != "dac" {
			continue
		}
		for _, l := range m.Labels {
			if l.Type != virtType {
				continue
			}
			uid, gid, ok := parseDACLabel(l.Value)
			if !ok {
				return QemuUser{}, false, fmt.Errorf("libvirt's DAC label %q is not uid:gid", l.Value)
			}
			if uid == 0 {
				return QemuUser{}, false, nil
			}
			u := QemuUser{UID: uid, GID: gid}
			if pw, err := user.LookupId(strconv.Itoa(uid)); err == nil {
				u.Name = pw.Username
				if ids, err := pw.GroupIds(); err == nil {
					for _, id := range ids {
						if g, err := strconv.Atoi(id); err == nil {
							u.Groups = append(u.Groups, g)
						}
					}
				}
			}
			return u, true, nil
		}
	}
	return QemuUser{}, false, nil
}

// parseDACLabel reads "+999:+995" (or "999:995").
func parseDACLabel(s string) (uid, gid int, ok bool) {
	a, b, found := strings.Cut(strings.TrimSpace(s), ":")
	if !found {
		return 0, 0, false
	}
	uid, err1 := strconv.Atoi(strings.TrimPrefix(a, "+"))
	gid, err2 := strconv.Atoi(strings.TrimPrefix(b, "+"))
	return uid, gid, err1 == nil && err2 == nil
}

// canSearch says whether u may search (traverse) a directory with these
// mode bits and owner. ACLs are not read: a directory that grants qemu
// search only by an ACL is reported as unreachable.
func (u QemuUser) canSearch(mode fs.FileMode, uid, gid int) bool {
	switch {
	case uid == u.UID:
		return mode&0o100 != 0
	case gid == u.GID || slices.Contains(u.Groups, gid):
		return mode&0o010 != 0
	}
	return mode&0o001 != 0
}

// UnreachableError says qemu's user cannot reach a directory Stratus needs
// it to, because of a directory Stratus may not change.
type UnreachableError struct {
	User    QemuUser
	Dir     string // the directory qemu must reach
	Blocker string // the directory in the way
	Mode    fs.FileMode
	Owner   string
}

func (e *UnreachableError) Error() string {
	who := e.User.Name
	if who == "" {
		who = strconv.Itoa(e.User.UID)
	}
	return fmt.Sprintf("qemu runs as %s and cannot reach %s: %s is %s owned by %s. "+
		"Give qemu's user search permission there (chmod o+x %s, or setfacl -m u:%s:x %s), or keep the guests' files in a directory it can reach",
		e.User, e.Dir, e.Blocker, e.Mode, e.Owner, e.Blocker, who, e.Blocker)
}

// Short says what is in the way, without the advice.
func (e *UnreachableError) Short() string {
	return fmt.Sprintf("qemu (%s) cannot reach %s: %s is %s owned by %s", e.User, e.Dir, e.Blocker, e.Mode, e.Owner)
}

// prepareDirs creates dirs (absolute paths) and makes sure u can reach
// each: directories it creates get 0755, directories at or below stateDir
// get o+x if u cannot search them, and any other directory that stops u is
// an *UnreachableError.
func prepareDirs(u QemuUser, check bool, stateDir string, dirs ...string) error {
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		if !filepath.IsAbs(dir) {
			return fmt.Errorf("%s is not an absolute path", dir)
		}
		if err := mkdirAll(dir); err != nil {
			return err
		}
		if !check {
			continue
		}
		if err := reach(u, stateDir, dir); err != nil {
			return err
		}
	}
	return nil
}

// mkdirAll is os.MkdirAll, with every directory it creates 0755 whatever
// the process's umask.
func mkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return os.Chmod(dir, 0o755)
}

// reach checks every directory from / down to dir.
func reach(u QemuUser, stateDir, dir string) error {
	owned := func(p string) bool {
		if stateDir == "" {
			return false
		}
		rel, err := filepath.Rel(stateDir, p)
		return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
	}
	var chain []string
	for p := dir; ; p = filepath.Dir(p) {
		chain = append(chain, p)
		if p == filepath.Dir(p) {
			break
		}
	}
	slices.Reverse(chain)
	for _, p := range chain {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil // not a Unix file system: nothing we can check
		}
		if u.canSearch(fi.Mode().Perm(), int(st.Uid), int(st.Gid)) {
			continue
		}
		if owned(p) {
			if err := os.Chmod(p, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("give qemu search permission on %s: %w", p, err)
			}
			continue
		}
		owner := strconv.Itoa(int(st.Uid))
		if pw, err := user.LookupId(owner); err == nil {
			owner = pw.Username
		}
		return &UnreachableError{User: u, Dir: dir, Blocker: p, Mode: fi.Mode(), Owner: owner}
	}
	return nil
}

// CheckDirs asks the libvirtd at uri which user qemu runs as, creates dirs
// and checks that this user can reach them (see Config.StateDir). It
// returns an *UnreachableError when a directory Stratus may not change is
// in the way.
func CheckDirs(ctx context.Context, uri, virtType, stateDir string, dirs ...string) error {
	vt, _, err := pickVirtType(virtType, "")
	if err != nil {
		return err
	}
	c, err := Dial(ctx, uri, "", 0, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer c.Close()
	u, check, err := c.qemuUser(ctx, vt)
	if err != nil {
		return err
	}
	return prepareDirs(u, check, stateDir, dirs...)
}
