package lab

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Serial console markers the guest prints.
const (
	MarkerBooted   = "STRATUS-GUEST-BOOTED"
	MarkerConfig   = "STRATUS-CONFIG-DRIVE"
	MarkerHostname = "STRATUS-HOSTNAME"
	MarkerKey      = "STRATUS-KEY"
	MarkerUserData = "STRATUS-USERDATA-FOUND"
	MarkerReady    = "STRATUS-GUEST-READY"
)

// GuestModules are the kernel modules the initramfs loads, in order: virtio
// disks, then the IDE cdrom the config drive is on and its file system.
var GuestModules = []string{
	"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "virtio_blk",
	"scsi_common", "scsi_mod", "libata", "ata_piix", "cdrom", "sr_mod", "isofs",
}

// guestInit is the guest's /init: it reports on ttyS0 that it booted, what
// the config drive told it (hostname, key name) and whether the user-data
// carries a STRATUS-USERDATA-… marker, then idles.
const guestInit = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "STRATUS-GUEST-BOOTED"
for m in ` + "MODULES" + `; do insmod /lib/modules/$m.ko 2>/dev/null; done
found=""
for try in 1 2 3 4 5 6 7 8 9 10; do
  for d in /dev/sr0 /dev/sr1 /dev/hdc /dev/hdd; do
    [ -b $d ] || continue
    if mount -t iso9660 -o ro $d /mnt 2>/dev/null; then
      if [ -f /mnt/openstack/latest/meta_data.json ]; then found=$d; break 2; fi
      umount /mnt
    fi
  done
  sleep 1
done
if [ -n "$found" ]; then
  echo "STRATUS-CONFIG-DRIVE $found"
  md=/mnt/openstack/latest/meta_data.json
  h=$(sed -n 's/.*"hostname": *"\([^"]*\)".*/\1/p' $md | head -n 1)
  hostname "$h"
  echo "STRATUS-HOSTNAME $(hostname)"
  k=$(sed -n 's/.*"name": *"\([^"]*\)".*/\1/p' $md | tail -n 1)
  grep -q '"public_keys"' $md && echo "STRATUS-KEY $k"
  if [ -f /mnt/openstack/latest/user_data ]; then
    u=$(grep -o 'STRATUS-USERDATA-[A-Za-z0-9]*' /mnt/openstack/latest/user_data | head -n 1)
    echo "STRATUS-USERDATA-FOUND $u"
    # STRATUS-FLOOD-N in the user-data: print N KiB to the console (to
    # see the host cap and rotate the log).
    n=$(grep -o 'STRATUS-FLOOD-[0-9]*' /mnt/openstack/latest/user_data | head -n 1 | cut -d- -f3)
    if [ -n "$n" ]; then
      i=0; while [ $i -lt $((n * 16)) ]; do echo "STRATUS-FLOOD $i ................................................"; i=$((i+1)); done
    fi
  fi
else
  echo "STRATUS-NO-CONFIG-DRIVE"
fi
for d in /dev/vd?; do [ -b $d ] && echo "STRATUS-DISK $d $(cat /sys/block/${d#/dev/}/size) sectors"; done
echo "STRATUS-GUEST-READY"
while true; do sleep 3600; done
`

// Guest is a three-part guest image built for the test.
type Guest struct {
	Kernel  string // the Debian kernel (aki)
	Ramdisk string // the busybox initramfs (ari)
	Disk    string // a small raw disk image that names them (ami)
}

// BuildGuest packs the busybox initramfs with the kernel's modules and
// makes a 1 MiB disk, in dir.
func BuildGuest(t testing.TB, dir string) Guest {
	t.Helper()
	src := guestDir()
	root := filepath.Join(dir, "initramfs")
	for _, d := range []string{"bin", "lib/modules", "proc", "sys", "dev", "mnt"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	copyTo(t, busybox, filepath.Join(root, "bin", "busybox"), 0o755)
	for _, m := range GuestModules {
		copyTo(t, filepath.Join(src, "modules", m+".ko"), filepath.Join(root, "lib", "modules", m+".ko"), 0o644)
	}
	init := strings.Replace(guestInit, "MODULES", strings.Join(GuestModules, " "), 1)
	if err := os.WriteFile(filepath.Join(root, "init"), []byte(init), 0o755); err != nil {
		t.Fatal(err)
	}
	g := Guest{Kernel: filepath.Join(dir, "vmlinuz"), Ramdisk: filepath.Join(dir, "initramfs.gz"), Disk: filepath.Join(dir, "disk.raw")}
	copyTo(t, filepath.Join(src, "vmlinuz"), g.Kernel, 0o644)
	cmd := exec.Command("sh", "-c", "find . | cpio -o -H newc --quiet | gzip -1 > "+g.Ramdisk)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pack initramfs: %v\n%s", err, out)
	}
	if err := os.WriteFile(g.Disk, bytes.Repeat([]byte{0}, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	return g
}

func copyTo(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("guest: %v", err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// ConsoleHas reports whether a serial console log shows every marker.
func ConsoleHas(log string, markers ...string) bool {
	for _, m := range markers {
		if !strings.Contains(log, m) {
			return false
		}
	}
	return true
}

// Describe summarises a console log for a failure message.
func Describe(log string) string {
	var lines []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "STRATUS-") || strings.Contains(strings.ToLower(l), "panic") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return fmt.Sprintf("%d bytes; markers: %q", len(log), lines)
}
