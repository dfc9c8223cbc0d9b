package linux

import (
	"context"
	"fmt"
	stdnet "net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	hostnet "stratus/workers/net"
)

// A network's DHCP server on this host lives in <state>/dhcp/<network id>/:
// ns (the bind-mounted network namespace dnsmasq runs in: overlapping
// CIDRs of different projects never meet in one routing table, and guests
// never reach the host), hosts and opts (dnsmasq's files, re-read on
// SIGHUP), leases and pid.

func (d *Driver) dhcpDir(networkID string) string {
	return filepath.Join(d.cfg.StateDir, "dhcp", networkID)
}

// ensureDHCP makes the network's DHCP namespace, its veth into the bridge
// and dnsmasq, or stops them when the network has no DHCP here.
func (d *Driver) ensureDHCP(ctx context.Context, n hostnet.Network) error {
	if n.DHCP == nil {
		return d.removeDHCP(ctx, n.ID)
	}
	dir := d.dhcpDir(n.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	nsPath := filepath.Join(dir, "ns")
	ns, made, err := openNS(ctx, nsPath)
	if err != nil {
		return fmt.Errorf("DHCP namespace: %w", err)
	}
	defer ns.Close()
	if pid := dnsmasqPID(dir); made && pid > 0 {
		// A dnsmasq left in the namespace that was lost serves nobody now:
		// stop it, so that one starts in the new namespace below.
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 50 && dnsmasqPID(dir) > 0; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	inner, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer inner.Close()
	tap, peer := hostnet.TapName(n.DHCP.PortID), "ns-"+n.DHCP.PortID[:11]
	br, err := d.h.LinkByName(hostnet.BridgeName(n.ID))
	if err != nil {
		return err
	}
	if _, err := inner.LinkByName(peer); err != nil {
		// A tap left from a namespace that is gone has no peer: replace it.
		if old, err := d.h.LinkByName(tap); err == nil {
			_ = d.h.LinkDel(old)
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU, attrs.MasterIndex = tap, n.MTU, br.Attrs().Index
		veth := &netlink.Veth{LinkAttrs: attrs, PeerName: peer, PeerNamespace: netlink.NsFd(int(ns))}
		if err := d.h.LinkAdd(veth); err != nil {
			return fmt.Errorf("DHCP veth: %w", err)
		}
	}
	hostEnd, err := d.h.LinkByName(tap)
	if err != nil {
		return err
	}
	if hostEnd.Attrs().MasterIndex != br.Attrs().Index {
		if err := d.h.LinkSetMasterByIndex(hostEnd, br.Attrs().Index); err != nil {
			return err
		}
	}
	if err := d.h.LinkSetUp(hostEnd); err != nil {
		return err
	}
	nsEnd, err := inner.LinkByName(peer)
	if err != nil {
		return err
	}
	if mac, err := stdnet.ParseMAC(n.DHCP.MAC); err == nil && nsEnd.Attrs().HardwareAddr.String() != mac.String() {
		if err := inner.LinkSetHardwareAddr(nsEnd, mac); err != nil {
			return err
		}
	}
	if nsEnd.Attrs().MTU != n.MTU {
		_ = inner.LinkSetMTU(nsEnd, n.MTU)
	}
	if _, err := syncAddrs(inner, nsEnd, n.DHCP.Addrs); err != nil {
		return err
	}
	if err := inner.LinkSetUp(nsEnd); err != nil {
		return err
	}
	if lo, err := inner.LinkByName("lo"); err == nil {
		_ = inner.LinkSetUp(lo)
	}
	changed, err := writeDHCPFiles(dir, n)
	if err != nil {
		return err
	}
	pid := dnsmasqPID(dir)
	args := dnsmasqArgs(dir, peer, n)
	if pid > 0 && !sameArgs(pid, args) {
		_ = syscall.Kill(pid, syscall.SIGTERM) // its subnets changed: start anew
		pid = 0
	}
	switch {
	case pid == 0:
		cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + nsPath, "--", "dnsmasq"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("start dnsmasq: %v: %s", err, strings.TrimSpace(string(out)))
		}
	case changed:
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			return fmt.Errorf("reload dnsmasq: %w", err)
		}
	}
	return nil
}

// syncAddrs makes link's IPv4 addresses exactly want, and says which it
// added (a router's leg announces those).
func syncAddrs(h *netlink.Handle, link netlink.Link, want []netip.Prefix) (added []netip.Addr, err error) {
	have, err := h.AddrList(link, unix.AF_INET)
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, p := range want {
		wanted[p.String()] = true
	}
	present := map[string]bool{}
	for _, a := range have {
		pfx, _ := a.IPNet.Mask.Size()
		key := fmt.Sprintf("%s/%d", a.IP, pfx)
		present[key] = true
		if !wanted[key] {
			_ = h.AddrDel(link, &a)
		}
	}
	for _, p := range want {
		if present[p.String()] {
			continue
		}
		addr, err := netlink.ParseAddr(p.String())
		if err != nil {
			return added, err
		}
		if err := h.AddrAdd(link, addr); err != nil {
			return added, fmt.Errorf("address %s: %w", p, err)
		}
		added = append(added, p.Addr())
	}
	return added, nil
}

// dnsmasqArgs starts a DHCP-only dnsmasq (no DNS: port 0) answering only
// the hosts in its hosts file (static ranges, unknown clients ignored, not
// authoritative: other hosts' servers on the same network answer for
// their own ports).
func dnsmasqArgs(dir, iface string, n hostnet.Network) []string {
	args := []string{"--conf-file=/dev/null", "--no-hosts", "--no-resolv", "--port=0", "--bind-interfaces",
		"--interface=" + iface, "--except-interface=lo", "--dhcp-ignore=tag:!known", "--leasefile-ro",
		"--dhcp-hostsfile=" + filepath.Join(dir, "hosts"), "--dhcp-optsfile=" + filepath.Join(dir, "opts"),
		"--pid-file=" + filepath.Join(dir, "pid"), "--user=root", "--group=root"}
	for i, sn := range n.DHCP.Subnets {
		mask := stdnet.CIDRMask(sn.CIDR.Bits(), 32)
		args = append(args, fmt.Sprintf("--dhcp-range=set:subnet%d,%s,static,%s,86400s", i, sn.CIDR.Addr(), stdnet.IP(mask).String()))
	}
	return args
}

// writeDHCPFiles writes the hosts and options files; changed says whether
// either differs from before.
func writeDHCPFiles(dir string, n hostnet.Network) (bool, error) {
	var hosts, opts strings.Builder
	for _, h := range n.DHCP.Hosts {
		fmt.Fprintf(&hosts, "%s,%s,%s\n", h.MAC, h.IP, h.Hostname)
	}
	for i, sn := range n.DHCP.Subnets {
		tag := "tag:subnet" + strconv.Itoa(i)
		if sn.Gateway != "" {
			fmt.Fprintf(&opts, "%s,option:router,%s\n", tag, sn.Gateway)
		} else {
			fmt.Fprintf(&opts, "%s,option:router\n", tag)
		}
		if len(sn.DNS) > 0 {
			fmt.Fprintf(&opts, "%s,option:dns-server,%s\n", tag, strings.Join(sn.DNS, ","))
		}
		if sn.MTU > 0 {
			fmt.Fprintf(&opts, "%s,option:mtu,%d\n", tag, sn.MTU)
		}
	}
	changed := false
	for name, content := range map[string]string{"hosts": hosts.String(), "opts": opts.String()} {
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil && string(old) == content {
			continue
		}
		changed = true
		if err := os.WriteFile(path+".tmp", []byte(content), 0o644); err != nil {
			return false, err
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			return false, err
		}
	}
	return changed, nil
}

// dnsmasqPID is the PID of the network's running dnsmasq, or 0.
func dnsmasqPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), dir) {
		return 0 // gone, or the PID is someone else's now
	}
	return pid
}

func sameArgs(pid int, args []string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	got := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(got) < 1 {
		return false
	}
	got = got[1:]
	if len(got) != len(args) {
		return false
	}
	for i := range got {
		if got[i] != args[i] {
			return false
		}
	}
	return true
}

// removeDHCP stops a network's DHCP server and removes its namespace,
// veth and files.
func (d *Driver) removeDHCP(ctx context.Context, networkID string) error {
	dir := d.dhcpDir(networkID)
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return nil
	}
	if pid := dnsmasqPID(dir); pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	nsPath := filepath.Join(dir, "ns")
	if ns, err := netns.GetFromPath(nsPath); err == nil {
		if inner, err := netlink.NewHandleAt(ns); err == nil {
			links, _ := inner.LinkList()
			for _, l := range links {
				if strings.HasPrefix(l.Attrs().Name, "ns-") {
					_ = inner.LinkDel(l) // its peer, the tap on the bridge, goes with it
				}
			}
			inner.Close()
		}
		ns.Close()
	}
	_ = unix.Unmount(nsPath, unix.MNT_DETACH)
	return os.RemoveAll(dir)
}

// DNSMasqRunning reports whether a network's DHCP server runs (tests).
func (d *Driver) DNSMasqRunning(networkID string) bool { return dnsmasqPID(d.dhcpDir(networkID)) > 0 }
