package linux

import (
	"errors"
	"fmt"
	stdnet "net"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	hostnet "stratus/workers/net"
)

// ensureNetwork makes the network's bridge and VXLAN device, with a flood
// entry toward every peer host (Neutron's l2population does the same; the
// device learns the guests' MACs from the traffic).
func (d *Driver) ensureNetwork(tunnel string, n hostnet.Network) error {
	brName := hostnet.BridgeName(n.ID)
	br, err := d.h.LinkByName(brName)
	if err != nil {
		if !isNotFound(err) {
			return err
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU = brName, n.MTU
		if err := d.h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
			return fmt.Errorf("add bridge %s: %w", brName, err)
		}
		if br, err = d.h.LinkByName(brName); err != nil {
			return err
		}
	}
	if br.Attrs().MTU != n.MTU {
		if err := d.h.LinkSetMTU(br, n.MTU); err != nil {
			return fmt.Errorf("bridge MTU: %w", err)
		}
	}
	if br.Attrs().Flags&stdnet.FlagUp == 0 {
		if err := d.h.LinkSetUp(br); err != nil {
			return fmt.Errorf("bridge up: %w", err)
		}
	}
	if tunnel == "" {
		return nil // a single host: no tunnels
	}
	src := stdnet.ParseIP(tunnel)
	if src == nil {
		return fmt.Errorf("tunnel address %q is not an IP address", tunnel)
	}
	vxName := hostnet.VXLANName(n.VNI)
	vx, err := d.h.LinkByName(vxName)
	if err != nil {
		if !isNotFound(err) {
			return err
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU, attrs.MasterIndex = vxName, n.MTU, br.Attrs().Index
		dev := &netlink.Vxlan{LinkAttrs: attrs, VxlanId: n.VNI, SrcAddr: src, Port: d.cfg.VXLANPort, Learning: true}
		if err := d.h.LinkAdd(dev); err != nil {
			return fmt.Errorf("add %s: %w", vxName, err)
		}
		if vx, err = d.h.LinkByName(vxName); err != nil {
			return err
		}
	}
	if vx.Attrs().MasterIndex != br.Attrs().Index {
		if err := d.h.LinkSetMasterByIndex(vx, br.Attrs().Index); err != nil {
			return fmt.Errorf("enslave %s: %w", vxName, err)
		}
	}
	if vx.Attrs().Flags&stdnet.FlagUp == 0 {
		if err := d.h.LinkSetUp(vx); err != nil {
			return fmt.Errorf("%s up: %w", vxName, err)
		}
	}
	return d.syncFlood(vx, n.Peers)
}

// syncFlood makes the all-zeros FDB entries of a VXLAN device (where
// broadcast and unknown frames go) exactly the peers.
func (d *Driver) syncFlood(vx netlink.Link, peers []string) error {
	neighs, err := d.h.NeighList(vx.Attrs().Index, unix.AF_BRIDGE)
	if err != nil {
		return fmt.Errorf("FDB of %s: %w", vx.Attrs().Name, err)
	}
	zero := stdnet.HardwareAddr{0, 0, 0, 0, 0, 0}
	have := map[string]netlink.Neigh{}
	for _, n := range neighs {
		if n.HardwareAddr.String() == zero.String() && n.IP != nil {
			have[n.IP.String()] = n
		}
	}
	want := map[string]bool{}
	var errs []error
	for _, p := range peers {
		ip := stdnet.ParseIP(p)
		if ip == nil {
			continue
		}
		want[ip.String()] = true
		if _, ok := have[ip.String()]; ok {
			continue
		}
		err := d.h.NeighAppend(&netlink.Neigh{LinkIndex: vx.Attrs().Index, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT,
			Flags: netlink.NTF_SELF, IP: ip, HardwareAddr: zero})
		if err != nil {
			errs = append(errs, fmt.Errorf("flood entry to %s: %w", ip, err))
		}
	}
	for ip, n := range have {
		if !want[ip] {
			if err := d.h.NeighDel(&n); err != nil {
				errs = append(errs, fmt.Errorf("remove flood entry to %s: %w", ip, err))
			}
		}
	}
	return errors.Join(errs...)
}

// FloodPeers lists a VXLAN device's flood entries (for tests).
func (d *Driver) FloodPeers(vni int) ([]string, error) {
	vx, err := d.h.LinkByName(hostnet.VXLANName(vni))
	if err != nil {
		return nil, err
	}
	neighs, err := d.h.NeighList(vx.Attrs().Index, unix.AF_BRIDGE)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range neighs {
		if n.HardwareAddr.String() == "00:00:00:00:00:00" && n.IP != nil {
			out = append(out, n.IP.String())
		}
	}
	sort.Strings(out)
	return out, nil
}

// ours reports whether a link is one Stratus makes for networks.
func ours(name string) bool {
	return (strings.HasPrefix(name, "brq") && len(name) == 14) || strings.HasPrefix(name, "vxlan-")
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}
