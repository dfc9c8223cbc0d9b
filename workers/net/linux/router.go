package linux

import (
	"context"
	"errors"
	"fmt"
	stdnet "net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	hostnet "stratus/workers/net"
)

// A router's namespace is the bind-mounted file
// <state>/routers/qrouter-<router id> (not /run/netns: several agents of
// the system tests share one machine, and each removes only its own
// leftovers); `nsenter --net=<that file>` enters it.

func (d *Driver) routersDir() string { return filepath.Join(d.cfg.StateDir, "routers") }

// RouterNS is the path of a router's namespace on this host.
func (d *Driver) RouterNS(routerID string) string {
	return filepath.Join(d.routersDir(), hostnet.RouterNamespace(routerID))
}

// openNS opens the namespace bound at path, making it first if need be —
// also when the file is there but no namespace is bound on it any more
// (after a reboot, or from another mount namespace).
// made says it is new.
func openNS(ctx context.Context, path string) (ns netns.NsHandle, made bool, err error) {
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err == nil && fs.Type == unix.NSFS_MAGIC {
		if ns, err := netns.GetFromPath(path); err == nil {
			return ns, false, nil
		}
	}
	_ = os.Remove(path)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return netns.None(), false, err
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		return netns.None(), false, err
	}
	if out, err := exec.CommandContext(ctx, "unshare", "--net="+path, "true").CombinedOutput(); err != nil {
		return netns.None(), false, fmt.Errorf("namespace %s: %v: %s", path, err, out)
	}
	ns, err = netns.GetFromPath(path)
	return ns, true, err
}

// externalBridge is the bridge the routers' gateways plug into: the
// external interface itself when it is a bridge, else the external
// network's bridge brq<network id[:11]> with the interface enslaved to it
// (Neutron's physical_interface_mappings).
func (d *Driver) externalBridge(ext, networkID string) (netlink.Link, error) {
	if ext == "" {
		return nil, errors.New("this host has no external interface (--external-interface) for the router's gateway")
	}
	l, err := d.h.LinkByName(ext)
	if err != nil {
		return nil, fmt.Errorf("external interface %s: %w", ext, err)
	}
	if l.Type() == "bridge" {
		return l, nil
	}
	brName := hostnet.BridgeName(networkID)
	br, err := d.h.LinkByName(brName)
	if err != nil {
		if !isNotFound(err) {
			return nil, err
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU = brName, l.Attrs().MTU
		if err := d.h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
			return nil, fmt.Errorf("add external bridge %s: %w", brName, err)
		}
		if br, err = d.h.LinkByName(brName); err != nil {
			return nil, err
		}
	}
	if l.Attrs().MasterIndex != br.Attrs().Index {
		if err := d.h.LinkSetMasterByIndex(l, br.Attrs().Index); err != nil {
			return nil, fmt.Errorf("put %s on %s: %w", ext, brName, err)
		}
	}
	for _, x := range []netlink.Link{l, br} {
		if x.Attrs().Flags&stdnet.FlagUp == 0 {
			if err := d.h.LinkSetUp(x); err != nil {
				return nil, err
			}
		}
	}
	return br, nil
}

// ensureVeth makes a veth whose host end (tap) is on bridge br and whose
// other end (inner) is in the namespace, with the port's MAC and the MTU,
// both ends up.
func (d *Driver) ensureVeth(inner *netlink.Handle, ns netns.NsHandle, tap, name, mac string, mtu int, br netlink.Link) (netlink.Link, error) {
	if _, err := inner.LinkByName(name); err != nil {
		if old, err := d.h.LinkByName(tap); err == nil {
			_ = d.h.LinkDel(old) // a host end whose peer is gone
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MasterIndex = tap, br.Attrs().Index
		if mtu > 0 {
			attrs.MTU = mtu
		}
		veth := &netlink.Veth{LinkAttrs: attrs, PeerName: name, PeerNamespace: netlink.NsFd(int(ns))}
		if err := d.h.LinkAdd(veth); err != nil {
			return nil, fmt.Errorf("veth %s/%s: %w", tap, name, err)
		}
	}
	host, err := d.h.LinkByName(tap)
	if err != nil {
		return nil, err
	}
	if host.Attrs().MasterIndex != br.Attrs().Index {
		if err := d.h.LinkSetMasterByIndex(host, br.Attrs().Index); err != nil {
			return nil, err
		}
	}
	if host.Attrs().Flags&stdnet.FlagUp == 0 {
		if err := d.h.LinkSetUp(host); err != nil {
			return nil, err
		}
	}
	dev, err := inner.LinkByName(name)
	if err != nil {
		return nil, err
	}
	if m, err := stdnet.ParseMAC(mac); err == nil && dev.Attrs().HardwareAddr.String() != m.String() {
		if err := inner.LinkSetHardwareAddr(dev, m); err != nil {
			return nil, err
		}
	}
	if mtu > 0 && dev.Attrs().MTU != mtu {
		_ = inner.LinkSetMTU(dev, mtu)
		_ = d.h.LinkSetMTU(host, mtu)
	}
	if dev.Attrs().Flags&stdnet.FlagUp == 0 {
		if err := inner.LinkSetUp(dev); err != nil {
			return nil, err
		}
	}
	return dev, nil
}

// ensureRouter converges one router's namespace: its legs, addresses (the
// new ones announced by gratuitous ARP), routes, forwarding and NAT.
func (d *Driver) ensureRouter(ctx context.Context, st hostnet.HostState, r hostnet.Router) error {
	path := d.RouterNS(r.ID)
	ns, made, err := openNS(ctx, path)
	if err != nil {
		return err
	}
	defer ns.Close()
	if made {
		delete(d.routers, r.ID) // no rules in it yet, whatever this driver wrote before
		d.stopAnnouncing(r.ID)  // from legs in the namespace it replaces
	}
	inner, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer inner.Close()
	if lo, err := inner.LinkByName("lo"); err == nil && lo.Attrs().Flags&stdnet.FlagUp == 0 {
		_ = inner.LinkSetUp(lo)
	}
	mtu := map[string]int{}
	for _, n := range st.Networks {
		mtu[n.ID] = n.MTU
	}
	want := map[string]bool{}
	var errs []error
	for _, i := range r.Interfaces {
		name := hostnet.RouterInterfaceName(i.PortID)
		want[name] = true
		br, err := d.h.LinkByName(hostnet.BridgeName(i.NetworkID))
		if err != nil {
			errs = append(errs, fmt.Errorf("interface %s: bridge of network %s: %w", i.PortID, i.NetworkID, err))
			continue
		}
		m := i.MTU
		if m == 0 {
			m = mtu[i.NetworkID]
		}
		dev, err := d.ensureVeth(inner, ns, hostnet.TapName(i.PortID), name, i.MAC, m, br)
		if err != nil {
			errs = append(errs, fmt.Errorf("interface %s: %w", i.PortID, err))
			continue
		}
		added, err := syncAddrs(inner, dev, i.Addrs)
		d.announce(r.ID, ns, inner, dev, added)
		if err != nil {
			errs = append(errs, fmt.Errorf("interface %s: %w", i.PortID, err))
		}
	}
	var qg netlink.Link
	if g := r.Gateway; g != nil {
		name := hostnet.RouterGatewayName(g.PortID)
		want[name] = true
		br, err := d.externalBridge(st.ExternalInterface, g.NetworkID)
		if err == nil {
			qg, err = d.ensureVeth(inner, ns, hostnet.TapName(g.PortID), name, g.MAC, br.Attrs().MTU, br)
		}
		if err == nil {
			var added []netip.Addr
			added, err = syncAddrs(inner, qg, hostnet.RouterGatewayAddrs(*g, r.FloatingIPs))
			d.announce(r.ID, ns, inner, qg, added)
		}
		if err != nil {
			qg = nil
			errs = append(errs, fmt.Errorf("gateway %s: %w", g.PortID, err))
		}
	}
	links, err := inner.LinkList()
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, l := range links {
		n := l.Attrs().Name
		if (strings.HasPrefix(n, "qr-") || strings.HasPrefix(n, "qg-")) && !want[n] {
			if err := inner.LinkDel(l); err != nil { // its peer on the bridge goes with it
				errs = append(errs, fmt.Errorf("remove %s: %w", n, err))
			}
		}
	}
	if err := d.syncRouterRoutes(inner, r, qg); err != nil {
		errs = append(errs, err)
	}
	if h := hostnet.RouterRulesHash(r); d.routers[r.ID] != h {
		if err := d.writeRouterRules(ctx, path, r); err != nil {
			delete(d.routers, r.ID)
			errs = append(errs, err)
		} else {
			d.routers[r.ID] = h
			d.routersWritten++
		}
	}
	return errors.Join(errs...)
}

// syncRouterRoutes makes the routes through a next hop exactly the default
// route via the external subnet's gateway and the extra routes (the
// connected routes come with the addresses).
func (d *Driver) syncRouterRoutes(inner *netlink.Handle, r hostnet.Router, qg netlink.Link) error {
	type route struct{ dst, gw string }
	var want []route
	if r.Gateway != nil && r.Gateway.NextHop != "" && qg != nil {
		want = append(want, route{"0.0.0.0/0", r.Gateway.NextHop})
	}
	for _, x := range r.Routes {
		if p, err := netip.ParsePrefix(x.Destination); err == nil && p.Addr().Is4() {
			want = append(want, route{p.Masked().String(), x.NextHop})
		}
	}
	have, err := inner.RouteList(nil, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("router routes: %w", err)
	}
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w.dst+" "+w.gw] = true
	}
	present := map[string]bool{}
	var errs []error
	for _, h := range have {
		if h.Gw == nil {
			continue
		}
		dst := "0.0.0.0/0"
		if h.Dst != nil {
			dst = h.Dst.String()
		}
		key := dst + " " + h.Gw.String()
		if wanted[key] {
			present[key] = true
			continue
		}
		if err := inner.RouteDel(&h); err != nil {
			errs = append(errs, fmt.Errorf("remove route %s: %w", key, err))
		}
	}
	for _, w := range want {
		if present[w.dst+" "+w.gw] {
			continue
		}
		_, dst, err := stdnet.ParseCIDR(w.dst)
		gw := stdnet.ParseIP(w.gw)
		if err != nil || gw == nil {
			continue
		}
		if err := inner.RouteReplace(&netlink.Route{Dst: dst, Gw: gw}); err != nil {
			errs = append(errs, fmt.Errorf("route %s via %s: %w", w.dst, w.gw, err))
		}
	}
	return errors.Join(errs...)
}

// writeRouterRules turns forwarding on and writes the namespace's nat and
// filter tables in one iptables-restore.
func (d *Driver) writeRouterRules(ctx context.Context, path string, r hostnet.Router) error {
	if out, err := exec.CommandContext(ctx, "nsenter", "--net="+path, "--", "sysctl", "-qw", "net.ipv4.ip_forward=1").CombinedOutput(); err != nil {
		return fmt.Errorf("router %s forwarding: %v: %s", r.ID, err, strings.TrimSpace(string(out)))
	}
	cmd := exec.CommandContext(ctx, "nsenter", "--net="+path, "--", "iptables-restore", "-w", "10")
	cmd.Stdin = strings.NewReader(hostnet.RouterRules(r))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("router %s rules: %v: %s", r.ID, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// removeStaleRouters removes the namespaces (and so the legs) of the
// routers this host no longer carries.
func (d *Driver) removeStaleRouters(want map[string]bool) error {
	entries, err := os.ReadDir(d.routersDir())
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	var errs []error
	for _, e := range entries {
		id, ok := strings.CutPrefix(e.Name(), "qrouter-")
		if !ok || want[id] {
			continue
		}
		if err := d.removeRouter(id); err != nil {
			errs = append(errs, fmt.Errorf("remove router %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

func (d *Driver) removeRouter(id string) error {
	path := d.RouterNS(id)
	if ns, err := netns.GetFromPath(path); err == nil {
		if inner, err := netlink.NewHandleAt(ns); err == nil {
			links, _ := inner.LinkList()
			for _, l := range links {
				n := l.Attrs().Name
				if strings.HasPrefix(n, "qr-") || strings.HasPrefix(n, "qg-") {
					_ = inner.LinkDel(l) // its peer on the bridge goes with it now, not when the namespace is freed
				}
			}
			inner.Close()
		}
		ns.Close()
	}
	delete(d.routers, id)
	d.stopAnnouncing(id)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return os.Remove(path)
}

// RouterNamespaces lists the routers that have a namespace here (tests).
func (d *Driver) RouterNamespaces() []string {
	entries, _ := os.ReadDir(d.routersDir())
	var out []string
	for _, e := range entries {
		if id, ok := strings.CutPrefix(e.Name(), "qrouter-"); ok {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// RouterSave is a router namespace's nat and filter tables as
// iptables-save prints them, without counters (tests compare them).
func (d *Driver) RouterSave(ctx context.Context, routerID string) (string, error) {
	out, err := exec.CommandContext(ctx, "nsenter", "--net="+d.RouterNS(routerID), "--", "iptables-save").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("iptables-save in router %s: %v: %s", routerID, err, out)
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "#") || l == "" {
			continue
		}
		if strings.HasPrefix(l, ":") {
			if i := strings.LastIndex(l, " ["); i > 0 {
				l = l[:i]
			}
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n"), nil
}

// EnsureExternalBridge makes a bridge in the process's namespace with addr
// on it, for `stratus dev`: the machine itself plays the external network's
// gateway, so that it reaches the floating IPs. It touches nothing else.
func EnsureExternalBridge(name string, addr netip.Prefix) error {
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	defer h.Close()
	br, err := h.LinkByName(name)
	if err != nil {
		if !isNotFound(err) {
			return err
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = name
		if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
			return fmt.Errorf("add external bridge %s: %w", name, err)
		}
		if br, err = h.LinkByName(name); err != nil {
			return err
		}
	}
	if br.Type() != "bridge" {
		return fmt.Errorf("%s exists and is not a bridge", name)
	}
	have, err := h.AddrList(br, unix.AF_INET)
	if err != nil {
		return err
	}
	found := false
	for _, a := range have {
		found = found || a.IPNet.String() == addr.String()
	}
	if !found {
		a, err := netlink.ParseAddr(addr.String())
		if err != nil {
			return err
		}
		if err := h.AddrAdd(br, a); err != nil {
			return fmt.Errorf("address %s on %s: %w", addr, name, err)
		}
	}
	return h.LinkSetUp(br)
}
