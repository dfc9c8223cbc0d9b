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
	// MarkerVolume starts the line a guest prints for each volume it sees:
	// "STRATUS-VOL vdb serial=<id[:20]> sectors=N mark=STRATUS-MARK-…|none".
	MarkerVolume = "STRATUS-VOL"
	// MarkerNet starts the line a guest prints for each NIC once DHCP
	// answered or not: "STRATUS-NET eth0 10.0.0.5/24 mtu=1450" or
	// "STRATUS-NET eth0 none".
	MarkerNet = "STRATUS-NET"
	// MarkerReach starts the line a guest prints whenever what it can reach
	// changes (asked for in its user-data): "STRATUS-REACH ping:10.0.0.6:ok
	// tcp:10.0.0.6:8080:closed".
	MarkerReach = "STRATUS-REACH"
	// MarkerUptime starts the line a guest whose user-data says
	// STRATUS-UPTIME prints every second: "STRATUS-UPTIME 12.34".
	MarkerUptime = "STRATUS-UPTIME"
)

// GuestModules are the kernel modules the initramfs loads, in order: virtio
// disks, then the IDE cdrom the config drive is on and its file system.
var GuestModules = []string{
	"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "virtio_blk",
	"scsi_common", "scsi_mod", "libata", "ata_piix", "cdrom", "sr_mod", "isofs",
	"failover", "net_failover", "virtio_net",
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
    # STRATUS-UPTIME in the user-data: print the guest's uptime every
    # second (a guest that moves live keeps counting; one that reboots
    # starts again).
    grep -q 'STRATUS-UPTIME' /mnt/openstack/latest/user_data && uptime=1
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
# The root disk (vda, no serial): the image's marker in its first bytes
# (STRATUS-IMAGE-…, written by ImageDisk) and one written on it by an
# earlier boot at 512 (STRATUS-ROOTMARK-…). STRATUS-WRITEROOT-x in the
# user-data writes STRATUS-ROOTMARK-x there when it has none.
if [ -b /dev/vda ] && [ ! -e /sys/block/vda/serial -o -z "$(cat /sys/block/vda/serial 2>/dev/null)" ]; then
  im=$(dd if=/dev/vda bs=64 count=1 2>/dev/null | tr -d '\000' | grep -o 'STRATUS-IMAGE-[A-Za-z0-9-]*' | head -n 1)
  rm=$(dd if=/dev/vda bs=512 skip=1 count=1 2>/dev/null | tr -d '\000' | grep -o 'STRATUS-ROOTMARK-[A-Za-z0-9-]*' | head -n 1)
  echo "STRATUS-ROOT image=${im:-none} mark=${rm:-none}"
  w=""
  [ -f /mnt/openstack/latest/user_data ] && w=$(grep -o 'STRATUS-WRITEROOT-[A-Za-z0-9]*' /mnt/openstack/latest/user_data | head -n 1 | cut -d- -f3)
  if [ -n "$w" ] && [ -z "$rm" ]; then
    printf 'STRATUS-ROOTMARK-%s' "$w" | dd of=/dev/vda bs=512 seek=1 count=1 conv=sync,notrunc 2>/dev/null
    sync
    echo "STRATUS-ROOT-WROTE $w"
  fi
fi
# STRATUS-TICK in the user-data: print the seconds since boot every two
# seconds (a paused guest stops counting; a resumed one goes on).
if [ -f /mnt/openstack/latest/user_data ] && grep -q 'STRATUS-TICK' /mnt/openstack/latest/user_data; then
  (while true; do echo "STRATUS-TICK $(cut -d. -f1 /proc/uptime)"; sleep 2; done) &
fi
echo "STRATUS-GUEST-READY"
# Networking, in the background: every NIC takes its address by DHCP
# (udhcpc, asking for the MTU too) and reports it. The user-data asks for
# the rest: STRATUS-LISTEN-<port> serves tcp/<port> (answering
# STRATUS-HELLO); STRATUS-PING-<ip> and STRATUS-TCP-<ip>-<port> are tried
# every second, and a STRATUS-REACH line says what is reachable whenever
# that changes; STRATUS-SPOOF-<ip> also pings the first STRATUS-PING
# address from <ip>, an address the guest was not given.
cat > /bin/dhcp-event <<'EOS'
#!/bin/sh
case "$1" in
bound|renew)
  ip addr flush dev $interface
  ip addr add $ip/$mask dev $interface
  [ -n "$mtu" ] && ip link set $interface mtu $mtu
  [ -n "$router" ] && ip route add default via ${router%% *} dev $interface 2>/dev/null
  ;;
esac
exit 0
EOS
chmod 755 /bin/dhcp-event
(
  ip link set lo up
  for n in /sys/class/net/eth*; do
    [ -e "$n" ] || continue
    i=${n##*/}
    ip link set $i up
    if udhcpc -i $i -n -q -t 15 -T 2 -O mtu -s /bin/dhcp-event >/dev/null 2>&1; then
      echo "STRATUS-NET $i $(ip -4 -o addr show dev $i | awk '{print $4}' | head -n 1) mtu=$(cat $n/mtu)"
    else
      echo "STRATUS-NET $i none"
    fi
  done
  ud=/mnt/openstack/latest/user_data
  [ -f $ud ] || exit 0
  for p in $(grep -o 'STRATUS-LISTEN-[0-9]*' $ud | cut -d- -f3); do
    nc -ll -p $p -e /bin/echo STRATUS-HELLO &
  done
  spoof=$(grep -o 'STRATUS-SPOOF-[0-9.]*' $ud | head -n 1 | cut -d- -f3)
  [ -n "$spoof" ] && ip addr add $spoof/32 dev eth0
  last=""
  while true; do
    now=""
    first=""
    for ip in $(grep -o 'STRATUS-PING-[0-9.]*' $ud | cut -d- -f3); do
      [ -n "$first" ] || first=$ip
      if ping -c 1 -W 1 $ip >/dev/null 2>&1; then now="$now ping:$ip:ok"; else now="$now ping:$ip:no"; fi
    done
    if [ -n "$spoof" ] && [ -n "$first" ]; then
      if ping -c 1 -W 1 -I $spoof $first >/dev/null 2>&1; then now="$now spoof:$spoof:ok"; else now="$now spoof:$spoof:no"; fi
    fi
    for t in $(grep -o 'STRATUS-TCP-[0-9.]*-[0-9]*' $ud); do
      ip=$(echo $t | cut -d- -f3); p=$(echo $t | cut -d- -f4)
      if nc -w 1 $ip $p </dev/null 2>/dev/null | grep -q STRATUS-HELLO; then now="$now tcp:$ip:$p:open"; else now="$now tcp:$ip:$p:closed"; fi
    done
    [ "$now" != "$last" ] && echo "STRATUS-REACH$now"
    last=$now
    sleep 1
  done
) &
# Volumes: every second, report each disk that has a serial (a volume; its
# serial is the volume ID's first 20 characters) when it appears or changes
# size, with the marker in its first bytes; write a marker on one that has
# none; report disks that went away.
seen=""
while true; do
  [ -n "$uptime" ] && echo "STRATUS-UPTIME $(cut -d' ' -f1 /proc/uptime)"
  for d in /sys/block/vd*; do
    [ -e "$d" ] || continue
    n=${d##*/}
    ser=$(cat $d/serial 2>/dev/null)
    [ -n "$ser" ] || continue
    key="$n:$ser:$(cat $d/size)"
    case " $seen " in *" $key "*) continue;; esac
    seen="$seen $key"
    m=$(dd if=/dev/$n bs=64 count=1 2>/dev/null | tr -d '\000' | grep -o 'STRATUS-MARK-[A-Za-z0-9-]*' | head -n 1)
    echo "STRATUS-VOL $n serial=$ser sectors=$(cat $d/size) mark=${m:-none}"
    if [ -z "$m" ]; then
      printf 'STRATUS-MARK-%s' "$ser" | dd of=/dev/$n bs=64 count=1 conv=sync,notrunc 2>/dev/null
      sync
      echo "STRATUS-VOL-WROTE $n serial=$ser"
    fi
  done
  kept=""
  for key in $seen; do
    n=${key%%:*}
    if [ -e /sys/block/$n ] && [ "$(cat /sys/block/$n/serial 2>/dev/null)" = "$(echo $key | cut -d: -f2)" ]; then
      kept="$kept $key"
    else
      echo "STRATUS-VOL-GONE $n serial=$(echo $key | cut -d: -f2)"
    fi
  done
  seen="$kept"
  sleep 1
done
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
	ImageDisk(t, g.Disk, "")
	return g
}

// ImageDisk writes a 1 MiB raw disk at path that starts with
// STRATUS-IMAGE-<marker> (nothing for ""): the guest reports the marker of
// the image it booted from.
func ImageDisk(t testing.TB, path, marker string) {
	t.Helper()
	b := bytes.Repeat([]byte{0}, 1<<20)
	if marker != "" {
		copy(b, "STRATUS-IMAGE-"+marker)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
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
