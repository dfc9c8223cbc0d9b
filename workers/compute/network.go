package compute

import (
	"context"
	"fmt"
	stdnet "net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"stratus/models"
	hostnet "stratus/workers/net"
	"stratus/workers/virt"
)

// The agent's networking (Neutron's Linux-bridge agent, in the compute
// agent): the host's whole desired networking is read from the database
// and handed to the host network driver's Apply, which converges bridges,
// VXLAN tunnels, DHCP servers and firewall chains to it. It runs at start
// (before any job: OSSN-0022, a restart never leaves a guest unfiltered),
// before a domain starts (its NICs' bridges, DHCP entries and chains exist
// before its taps do), after a delete, and whenever the cloud's network
// revision moved — one cheap read per tick when nothing changed.

// netSync serialises applies and lets concurrent callers share one: a
// caller whose request came before an apply started is covered by it.
type netSync struct {
	run sync.Mutex // held while an apply runs

	mu        sync.Mutex
	requested uint64 // requests made
	done      uint64 // requests covered by the last finished apply
	err       error  // its outcome
	revision  int64  // the network revision last applied whole
	applied   time.Time
}

// SyncNetwork converges the host's networking to the database's desired
// state now, sharing an apply with concurrent callers.
func (a *Agent) SyncNetwork(ctx context.Context) error {
	n := &a.net
	n.mu.Lock()
	n.requested++
	mine := n.requested
	n.mu.Unlock()
	n.run.Lock()
	defer n.run.Unlock()
	n.mu.Lock()
	if n.done >= mine {
		err := n.err
		n.mu.Unlock()
		return err
	}
	covers := n.requested
	n.mu.Unlock()
	rev, err := a.applyNetwork(ctx)
	n.mu.Lock()
	// An apply cut short by its own caller's context (the periodic
	// check's deadline, a stopping job) says nothing about the others it
	// would have covered: they run their own instead of failing with it
	// (a build then went to another host for "context deadline exceeded").
	if err == nil || ctx.Err() == nil {
		n.done, n.err = covers, err
	}
	if err == nil {
		n.revision, n.applied = rev, time.Now()
	}
	n.mu.Unlock()
	return err
}

// followNetwork is the periodic check: an apply when the cloud's network
// revision moved since the last one (or a full reconcile every
// NetworkResyncInterval), else nothing but the revision's read.
func (a *Agent) followNetwork(ctx context.Context) error {
	rev, err := a.cfg.Store.NetworkRevision(ctx)
	if err != nil {
		return err
	}
	a.net.mu.Lock()
	same := rev == a.net.revision && time.Since(a.net.applied) < a.cfg.NetworkResyncInterval
	a.net.mu.Unlock()
	if same {
		return nil
	}
	return a.SyncNetwork(ctx)
}

// applyNetwork reads the host's desired networking and applies it, then
// marks the ports it plugged ACTIVE. It returns the revision applied.
func (a *Agent) applyNetwork(ctx context.Context) (int64, error) {
	store, host := a.cfg.Store, a.cfg.Host
	if err := store.EnsureDHCPPorts(ctx, host); err != nil {
		return 0, fmt.Errorf("DHCP ports: %w", err)
	}
	desired, err := store.HostNetworkState(ctx, host)
	if err != nil {
		return 0, err
	}
	st := HostState(desired, a.cfg.TunnelAddress)
	st.ExternalInterface = a.cfg.ExternalInterface
	t0 := time.Now()
	stats, err := a.cfg.Network.Apply(ctx, st)
	if err != nil {
		return 0, fmt.Errorf("network driver %s: %w", a.cfg.Network.Name(), err)
	}
	var plugged []string
	for _, p := range desired.Ports {
		if p.DeviceOwner != models.DeviceOwnerDHCP && p.Status != models.PortActive {
			plugged = append(plugged, p.ID)
		}
	}
	if err := store.SetPortsStatus(ctx, host, plugged, models.PortActive); err != nil {
		return 0, err
	}
	if stats.ChainsWritten > 0 || len(plugged) > 0 || stats.RoutersWritten > 0 {
		a.log.Info("host networking applied", "revision", desired.Revision, "networks", stats.Networks, "ports", stats.Ports,
			"chains_written", stats.ChainsWritten, "rules", stats.Rules, "ports_activated", len(plugged),
			"routers", stats.Routers, "routers_written", stats.RoutersWritten, "floating_ips", stats.FloatingIPs, "ms", time.Since(t0).Milliseconds())
	}
	return desired.Revision, nil
}

// HostState turns the database's view of a host's networking into what the
// host network driver applies.
func HostState(d models.HostNetworkState, tunnel string) hostnet.HostState {
	st := hostnet.HostState{TunnelAddress: tunnel, Rules: map[string][]hostnet.Rule{}, Groups: map[string][]string{}}
	subnets := map[string]models.Subnet{}
	for _, n := range d.Networks {
		for _, sn := range n.Subnets {
			subnets[sn.ID] = sn
		}
	}
	dhcpPort := map[string]models.Port{}
	hosts := map[string][]hostnet.DHCPHost{}
	for _, p := range d.Ports {
		if p.DeviceOwner == models.DeviceOwnerDHCP {
			dhcpPort[p.NetworkID] = p
			continue
		}
		port := hostnet.Port{ID: p.ID, NetworkID: p.NetworkID, MAC: p.MACAddress, PortSecurity: p.PortSecurityEnabled,
			Groups: append([]string(nil), p.SecurityGroups...)}
		for _, ip := range p.FixedIPs {
			port.IPs = append(port.IPs, ip.IPAddress)
			if subnets[ip.SubnetID].EnableDHCP {
				hosts[p.NetworkID] = append(hosts[p.NetworkID], hostnet.DHCPHost{MAC: p.MACAddress, IP: ip.IPAddress, Hostname: dhcpHostname(ip.IPAddress)})
			}
		}
		st.Ports = append(st.Ports, port)
	}
	for _, n := range d.Networks {
		hn := hostnet.Network{ID: n.Network.ID, VNI: n.Network.SegmentationID, MTU: n.Network.MTU, Peers: n.Peers}
		if dp, ok := dhcpPort[n.Network.ID]; ok {
			dhcp := &hostnet.DHCP{PortID: dp.ID, MAC: dp.MACAddress, Hosts: hosts[n.Network.ID]}
			for _, ip := range dp.FixedIPs {
				sn, ok := subnets[ip.SubnetID]
				pfx, err := netip.ParsePrefix(sn.CIDR)
				addr, aerr := netip.ParseAddr(ip.IPAddress)
				if !ok || err != nil || aerr != nil {
					continue
				}
				dhcp.Addrs = append(dhcp.Addrs, netip.PrefixFrom(addr, pfx.Bits()))
				dhcp.Subnets = append(dhcp.Subnets, hostnet.DHCPSubnet{CIDR: pfx, Gateway: sn.Gateway, DNS: sn.DNSNameservers, MTU: n.Network.MTU})
			}
			if len(dhcp.Subnets) > 0 {
				hn.DHCP = dhcp
			}
		}
		st.Networks = append(st.Networks, hn)
	}
	for g, rules := range d.Rules {
		out := make([]hostnet.Rule, 0, len(rules))
		for _, r := range rules {
			if r.Ethertype != "" && r.Ethertype != models.EthertypeIPv4 {
				continue // IPv6 rules have no IPv6 addresses to match yet
			}
			hr := hostnet.Rule{Group: g, Direction: r.Direction, Protocol: r.Protocol, RemoteIP: r.RemoteIPPrefix, RemoteGroup: r.RemoteGroupID}
			if r.PortRangeMin != nil {
				hr.PortMin = *r.PortRangeMin
				hr.PortMax = hr.PortMin
			}
			if r.PortRangeMax != nil {
				hr.PortMax = *r.PortRangeMax
			}
			out = append(out, hr)
		}
		st.Rules[g] = out
	}
	for g, members := range d.Members {
		st.Groups[g] = append([]string(nil), members...)
	}
	sort.Slice(st.Ports, func(i, j int) bool { return st.Ports[i].ID < st.Ports[j].ID })
	mtu := map[string]int{}
	for _, n := range d.Networks {
		mtu[n.Network.ID] = n.Network.MTU
	}
	for _, r := range d.Routers {
		if !r.AdminStateUp {
			continue // Neutron's way: a router set down has no namespace
		}
		hr := hostnet.Router{ID: r.ID}
		if g := r.Gateway; g != nil {
			hr.Gateway = &hostnet.RouterGateway{PortID: g.PortID, NetworkID: g.NetworkID, MAC: g.MAC, Address: g.Address,
				NextHop: g.NextHop, SNAT: g.SNAT}
			for _, f := range r.FloatingIPs {
				hr.FloatingIPs = append(hr.FloatingIPs, hostnet.FloatingIP{FloatingIP: f.FloatingIP, FixedIP: f.FixedIP})
			}
		}
		at := map[string]int{} // an interface port with addresses on several subnets is one leg
		for _, i := range r.Interfaces {
			k, ok := at[i.PortID]
			if !ok {
				k = len(hr.Interfaces)
				at[i.PortID] = k
				hr.Interfaces = append(hr.Interfaces, hostnet.RouterInterface{PortID: i.PortID, NetworkID: i.NetworkID, MAC: i.MAC, MTU: mtu[i.NetworkID]})
			}
			hr.Interfaces[k].Addrs = append(hr.Interfaces[k].Addrs, i.Address)
		}
		for _, x := range r.Routes {
			hr.Routes = append(hr.Routes, hostnet.RouterRoute{Destination: x.Destination, NextHop: x.Nexthop})
		}
		st.Routers = append(st.Routers, hr)
	}
	return st
}

// dhcpHostname is the name DHCP gives a port's address, Neutron's way:
// host-10-0-0-5.
func dhcpHostname(ip string) string { return "host-" + strings.ReplaceAll(ip, ".", "-") }

// instanceNICs binds the instance's ports to this host, has the network
// driver plug them (bridges, DHCP entries, chains), and returns the NICs
// the hypervisor gives the domain.
func (a *Agent) instanceNICs(ctx context.Context, instanceID string) ([]virt.NIC, error) {
	bound, err := a.cfg.Store.BindInstancePorts(ctx, instanceID, a.cfg.Host)
	if err != nil {
		return nil, fmt.Errorf("bind ports: %w", err)
	}
	if len(bound) == 0 {
		return nil, nil
	}
	if err := a.SyncNetwork(ctx); err != nil {
		return nil, fmt.Errorf("plug ports: %w", err)
	}
	return a.virtNICs(bound), nil
}

// incomingNICs plugs the ports of an instance moving here while they are
// still bound to the source (the database counts them in this host's
// networking during the move: Nova's pre_live_migration), and returns the
// NICs for the domain being prepared. The binding moves when the guest
// runs here (finishMove).
func (a *Agent) incomingNICs(ctx context.Context, instanceID string) ([]virt.NIC, error) {
	nics, err := a.cfg.Store.InstanceNICs(ctx, instanceID)
	if err != nil {
		return nil, fmt.Errorf("instance ports: %w", err)
	}
	if len(nics) == 0 {
		return nil, nil
	}
	if err := a.SyncNetwork(ctx); err != nil {
		return nil, fmt.Errorf("plug ports: %w", err)
	}
	return a.virtNICs(nics), nil
}

// virtNICs are the NICs the hypervisor gives a domain for its ports.
func (a *Agent) virtNICs(bound []models.InstanceNIC) []virt.NIC {
	if a.cfg.WithoutNICs {
		return nil
	}
	nics := make([]virt.NIC, 0, len(bound))
	for _, b := range bound {
		nic := virt.NIC{PortID: b.Port.ID, NetworkID: b.Network.ID, MAC: b.Port.MACAddress, Bridge: hostnet.BridgeName(b.Network.ID),
			Tap: hostnet.TapName(b.Port.ID), MTU: b.Network.MTU}
		for i, ip := range b.Port.FixedIPs {
			if i >= len(b.Subnets) {
				break
			}
			sn := b.Subnets[i]
			nic.Subnets = append(nic.Subnets, virt.NICSubnet{IP: ip.IPAddress, CIDR: sn.CIDR, Gateway: sn.Gateway,
				DNS: sn.DNSNameservers, DHCP: sn.EnableDHCP})
		}
		nics = append(nics, nic)
	}
	return nics
}

// unplugLeft converges this host's networking after a domain left it (a
// move's source or an abandoned destination), so that its chains, DHCP
// entries and tunnels go now rather than at the next network poll.
func (a *Agent) unplugLeft(ctx context.Context, instanceID string) {
	if err := a.SyncNetwork(ctx); err != nil {
		a.log.Warn("unplug the ports of an instance that left; the network sync retries", "instance", instanceID, "err", err)
	}
}

// TunnelAddressToward is the local address this host reaches addr
// ("host:port") from — its VXLAN underlay address when --tunnel-address is
// auto — or "" when that is a loopback address (a single host: no
// tunnels). No packet is sent: this asks the routing table.
func TunnelAddressToward(addr string) string {
	if addr == "" {
		return ""
	}
	c, err := stdnet.Dial("udp", addr)
	if err != nil {
		return ""
	}
	defer c.Close()
	host, _, err := stdnet.SplitHostPort(c.LocalAddr().String())
	if err != nil {
		return ""
	}
	if ip := stdnet.ParseIP(host); ip == nil || ip.IsLoopback() || ip.To4() == nil {
		return ""
	}
	return host
}
