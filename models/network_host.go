package models

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"gorm.io/gorm"
)

// The compute agents' side of networking: each agent binds its instances'
// ports to its host, keeps one DHCP port per network it serves, and reads
// its host's desired networking (networks, peers, ports, rules) to
// converge the bridges, VXLAN tunnels, dnsmasq and iptables on it. Like the
// other worker operations they act for the system, not a project.

// InstanceNIC is one NIC of an instance as the agent plugs it.
type InstanceNIC struct {
	Port    Port
	Network Network
	Subnets []Subnet // the subnets of its fixed IPs, in the order of FixedIPs
}

// BindInstancePorts binds the instance's ports to host (Neutron's
// binding:host_id) and returns them with their networks and subnets, in
// the order the launch created them. A port whose binding changes is DOWN
// until the host's agent has plugged it.
func (s *Store) BindInstancePorts(ctx context.Context, instanceID, host string) ([]InstanceNIC, error) {
	return s.instanceNICs(ctx, instanceID, host)
}

// InstanceNICs returns the instance's ports with their networks and
// subnets, binding none: what a move's destination gives the domain it
// prepares while the ports are still bound to the source.
func (s *Store) InstanceNICs(ctx context.Context, instanceID string) ([]InstanceNIC, error) {
	return s.instanceNICs(ctx, instanceID, "")
}

// instanceNICs reads the instance's NICs, binding them to host unless
// host is "".
func (s *Store) instanceNICs(ctx context.Context, instanceID, host string) ([]InstanceNIC, error) {
	// Most builds of a cloud without networks have no port: one read, no
	// transaction.
	var n int64
	if err := s.db.WithContext(ctx).Model(&Port{}).Where("device_id = ?", instanceID).Count(&n).Error; err != nil {
		return nil, fmt.Errorf("instance ports: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	var nics []InstanceNIC
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var ports []Port
		if err := tx.Where("device_id = ?", instanceID).Order("created_at, id").Find(&ports).Error; err != nil {
			return fmt.Errorf("instance ports: %w", err)
		}
		if len(ports) == 0 {
			return nil
		}
		var moved []string
		for i, p := range ports {
			if host != "" && p.BindingHostID != host {
				moved = append(moved, p.ID)
				ports[i].BindingHostID, ports[i].Status = host, PortDown
			}
		}
		if len(moved) > 0 {
			if err := tx.Model(&Port{}).Where("id IN ?", moved).
				Updates(map[string]any{"binding_host_id": host, "status": PortDown, "updated_at": s.now()}).Error; err != nil {
				return fmt.Errorf("bind ports: %w", err)
			}
			if err := bumpNetworkRevision(tx); err != nil {
				return err
			}
		}
		if err := fillPorts(tx, ports); err != nil {
			return err
		}
		nets, subnets, err := networksOf(tx, ports)
		if err != nil {
			return err
		}
		for _, p := range ports {
			nic := InstanceNIC{Port: p, Network: nets[p.NetworkID]}
			for _, ip := range p.FixedIPs {
				nic.Subnets = append(nic.Subnets, subnets[ip.SubnetID])
			}
			nics = append(nics, nic)
		}
		return nil
	})
	return nics, err
}

// networksOf reads the networks and subnets the ports are on.
func networksOf(tx *gorm.DB, ports []Port) (map[string]Network, map[string]Subnet, error) {
	netIDs := map[string]bool{}
	for _, p := range ports {
		netIDs[p.NetworkID] = true
	}
	ids := make([]string, 0, len(netIDs))
	for id := range netIDs {
		ids = append(ids, id)
	}
	var nets []Network
	if err := tx.Where("id IN ?", ids).Find(&nets).Error; err != nil {
		return nil, nil, fmt.Errorf("port networks: %w", err)
	}
	var subnets []Subnet
	if err := tx.Where("network_id IN ?", ids).Order("created_at, id").Find(&subnets).Error; err != nil {
		return nil, nil, fmt.Errorf("port subnets: %w", err)
	}
	nm := make(map[string]Network, len(nets))
	for _, n := range nets {
		n.Subnets = []string{}
		nm[n.ID] = n
	}
	sm := make(map[string]Subnet, len(subnets))
	for _, sn := range subnets {
		sm[sn.ID] = sn
		n := nm[sn.NetworkID]
		n.Subnets = append(n.Subnets, sn.ID)
		nm[sn.NetworkID] = n
	}
	return nm, sm, nil
}

// SetPortsStatus records that the agent plugged (ACTIVE) or unplugged
// (DOWN) ports on its host.
func (s *Store) SetPortsStatus(ctx context.Context, host string, portIDs []string, status string) error {
	if len(portIDs) == 0 {
		return nil
	}
	err := s.db.WithContext(ctx).Model(&Port{}).Where("id IN ? AND binding_host_id = ? AND status <> ?", portIDs, host, status).
		Updates(map[string]any{"status": status, "updated_at": s.now()}).Error
	if err != nil {
		return fmt.Errorf("set port status: %w", err)
	}
	return nil
}

// dhcpDeviceID is the device_id of a host's DHCP port (Neutron's is
// "dhcp<host uuid>-<network id>"; one port per network and host).
func dhcpDeviceID(host string) string { return "dhcp-" + host }

// dhcpNetworksSQL selects the networks host's DHCP serves: those where it
// has ports other than the network's own (DHCP, router) and a subnet with
// DHCP enabled. EnsureDHCPPorts and its read-only check share it, so that
// the check cannot want what the write never makes.
const dhcpNetworksSQL = `SELECT DISTINCT p.network_id FROM ports p JOIN subnets sn ON sn.network_id = p.network_id
	WHERE p.binding_host_id = ? AND p.device_owner NOT LIKE 'network:%' AND sn.enable_dhcp = ?`

// EnsureDHCPPorts gives host one DHCP port on each network where it has
// instance ports and a subnet with DHCP enabled (with an address on every
// such subnet), and removes its DHCP ports from networks it no longer
// serves. DHCP runs on every host that has ports on a network — there is no
// network node to lose.
func (s *Store) EnsureDHCPPorts(ctx context.Context, host string) error {
	// Most calls change nothing: find out with reads, so that an agent
	// following the network revision takes no write lock for nothing.
	if ok, err := s.dhcpPortsInPlace(ctx, host); err != nil || ok {
		return err
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		var want []string
		err := tx.Raw(dhcpNetworksSQL, host, true).Scan(&want).Error
		if err != nil {
			return fmt.Errorf("networks served: %w", err)
		}
		var have []Port
		if err := tx.Where("device_owner = ? AND device_id = ?", DeviceOwnerDHCP, dhcpDeviceID(host)).Find(&have).Error; err != nil {
			return fmt.Errorf("DHCP ports: %w", err)
		}
		wanted := map[string]bool{}
		for _, id := range want {
			wanted[id] = true
		}
		var gone []string
		existing := map[string]Port{}
		for _, p := range have {
			if wanted[p.NetworkID] {
				existing[p.NetworkID] = p
			} else {
				gone = append(gone, p.ID)
			}
		}
		if err := deletePorts(tx, gone); err != nil {
			return err
		}
		sort.Strings(want)
		for _, netID := range want {
			var n Network
			if err := tx.Where("id = ?", netID).Take(&n).Error; err != nil {
				if errors.Is(err, gorm.ErrRecordNotFound) {
					continue
				}
				return fmt.Errorf("network: %w", err)
			}
			p, ok := existing[netID]
			if !ok {
				now := s.now()
				p = Port{ID: newID(), ProjectID: n.ProjectID, NetworkID: n.ID, MACAddress: newMAC(), DeviceID: dhcpDeviceID(host),
					DeviceOwner: DeviceOwnerDHCP, Status: PortActive, AdminStateUp: true, BindingHostID: host, CreatedAt: now, UpdatedAt: now}
				if err := tx.Create(&p).Error; err != nil {
					return fmt.Errorf("create DHCP port: %w", err)
				}
				if err := bumpNetworkRevision(tx); err != nil {
					return err
				}
			}
			// An address on each DHCP subnet the port lacks one on.
			var missing []string
			err := tx.Raw(`SELECT sn.id FROM subnets sn WHERE sn.network_id = ? AND sn.enable_dhcp = ?
				AND NOT EXISTS (SELECT 1 FROM ip_allocations a WHERE a.subnet_id = sn.id AND a.port_id = ?) ORDER BY sn.created_at, sn.id`,
				n.ID, true, p.ID).Scan(&missing).Error
			if err != nil {
				return fmt.Errorf("DHCP port subnets: %w", err)
			}
			for _, sid := range missing {
				if _, err := s.allocateIPs(tx, n, p.ID, []FixedIPRequest{{SubnetID: sid}}, "fixed_ips"); err != nil {
					return fmt.Errorf("DHCP address on subnet %s: %w", sid, err)
				}
				if err := bumpNetworkRevision(tx); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// dhcpPortsInPlace reports whether host has exactly one DHCP port on each
// network that needs one, with an address on each of its DHCP subnets.
func (s *Store) dhcpPortsInPlace(ctx context.Context, host string) (bool, error) {
	db := s.db.WithContext(ctx)
	var want []string
	err := db.Raw(dhcpNetworksSQL, host, true).Scan(&want).Error
	if err != nil {
		return false, fmt.Errorf("networks served: %w", err)
	}
	var have []Port
	if err := db.Where("device_owner = ? AND device_id = ?", DeviceOwnerDHCP, dhcpDeviceID(host)).Find(&have).Error; err != nil {
		return false, fmt.Errorf("DHCP ports: %w", err)
	}
	if len(want) != len(have) {
		return false, nil
	}
	if len(have) == 0 {
		return true, nil
	}
	wanted := map[string]bool{}
	for _, id := range want {
		wanted[id] = true
	}
	ids := make([]string, len(have))
	for i, p := range have {
		if !wanted[p.NetworkID] {
			return false, nil
		}
		ids[i] = p.ID
	}
	var missing int64
	err = db.Raw(`SELECT COUNT(*) FROM subnets sn JOIN ports p ON p.network_id = sn.network_id
		WHERE p.id IN ? AND sn.enable_dhcp = ? AND NOT EXISTS (SELECT 1 FROM ip_allocations a WHERE a.subnet_id = sn.id AND a.port_id = p.id)`,
		ids, true).Scan(&missing).Error
	if err != nil {
		return false, fmt.Errorf("DHCP port subnets: %w", err)
	}
	return missing == 0, nil
}

// HostNetworkState is what one host's networking should be.
type HostNetworkState struct {
	Revision int64
	Networks []HostNetwork
	// Ports bound to the host: the instances' and the host's DHCP ports.
	Ports []Port
	// Routers that live on this host (see router.go), with their
	// interfaces, gateway and floating IPs. Their internal networks are in
	// Networks; external networks never are (they are the host's
	// external interface, not a VXLAN segment).
	Routers []HostRouter
	// Rules of every group a port here is in.
	Rules map[string][]SecurityGroupRule
	// Members' addresses of every group a rule here names as remote.
	Members map[string][]string
}

// HostNetwork is a network present on the host, with its subnets and the
// tunnel addresses of the other hosts that have ports on it.
type HostNetwork struct {
	Network Network
	Subnets []Subnet
	Peers   []string
}

// HostNetworkState reads what host's networking should be. Revision is
// read first: a change committed while the rest is read moves the
// revision again, so the agent's next poll catches it.
func (s *Store) HostNetworkState(ctx context.Context, host string) (HostNetworkState, error) {
	db := s.db.WithContext(ctx)
	var st HostNetworkState
	var err error
	if st.Revision, err = s.NetworkRevision(ctx); err != nil {
		return st, err
	}
	// The ports bound here, and those of instances moving here whose
	// binding is still the source's: the destination plugs them before the
	// domain arrives (a live migration's domain names their bridges).
	var bound []Port
	if err := db.Where("(binding_host_id = ? OR (binding_host_id <> '' AND device_id IN (?))) AND device_owner NOT IN ?", host,
		db.Model(&InstanceMigration{}).Select("instance_id").Where("dest_compute = ? AND status IN ?", host, migrationPlugging),
		[]string{DeviceOwnerRouterGateway, DeviceOwnerFloatingIP}).
		Order("created_at, id").Find(&bound).Error; err != nil {
		return st, fmt.Errorf("host ports: %w", err)
	}
	if err := fillPorts(db, bound); err != nil {
		return st, err
	}
	st.Ports = []Port{}
	for _, p := range bound {
		if p.DeviceOwner != DeviceOwnerRouterInterface {
			st.Ports = append(st.Ports, p)
		}
	}
	st.Rules, st.Members = map[string][]SecurityGroupRule{}, map[string][]string{}
	if st.Routers, err = hostRouters(db, host); err != nil {
		return st, err
	}
	if len(bound) == 0 {
		return st, nil
	}
	nets, subnets, err := networksOf(db, bound)
	if err != nil {
		return st, err
	}
	netIDs := make([]string, 0, len(nets))
	for id, n := range nets {
		if !n.RouterExternal {
			netIDs = append(netIDs, id)
		}
	}
	sort.Strings(netIDs)
	// Peers: the hosts with ports bound on the network, and the
	// destinations of moves of instances with ports on it.
	var peers []struct{ NetworkID, TunnelAddress string }
	err = db.Raw(`SELECT p.network_id, h.tunnel_address FROM ports p JOIN hosts h ON h.name = p.binding_host_id
		WHERE p.network_id IN ? AND p.binding_host_id <> ? AND h.tunnel_address <> ''
		UNION SELECT p.network_id, h.tunnel_address FROM ports p JOIN migrations m ON m.instance_id = p.device_id
		JOIN hosts h ON h.name = m.dest_compute
		WHERE p.network_id IN ? AND p.binding_host_id <> '' AND m.status IN ? AND m.dest_compute <> ? AND h.tunnel_address <> ''`,
		netIDs, host, netIDs, migrationPlugging, host).Scan(&peers).Error
	if err != nil {
		return st, fmt.Errorf("network peers: %w", err)
	}
	peerOf := map[string][]string{}
	for _, p := range peers {
		peerOf[p.NetworkID] = append(peerOf[p.NetworkID], p.TunnelAddress)
	}
	for _, id := range netIDs {
		var sns []Subnet // in the network's order: created_at, id
		for _, sid := range nets[id].Subnets {
			sns = append(sns, subnets[sid])
		}
		ps := peerOf[id]
		sort.Strings(ps)
		st.Networks = append(st.Networks, HostNetwork{Network: nets[id], Subnets: sns, Peers: ps})
	}
	groupSet := map[string]bool{}
	for _, p := range st.Ports {
		for _, g := range p.SecurityGroups {
			groupSet[g] = true
		}
	}
	if len(groupSet) == 0 {
		return st, nil
	}
	groups := make([]string, 0, len(groupSet))
	for g := range groupSet {
		groups = append(groups, g)
		st.Rules[g] = []SecurityGroupRule{}
	}
	var rules []SecurityGroupRule
	if err := db.Where("security_group_id IN ?", groups).Order("created_at, id").Find(&rules).Error; err != nil {
		return st, fmt.Errorf("host rules: %w", err)
	}
	remote := map[string]bool{}
	for _, r := range rules {
		st.Rules[r.SecurityGroupID] = append(st.Rules[r.SecurityGroupID], r.view())
		if r.RemoteGroupID != "" {
			remote[r.RemoteGroupID] = true
		}
	}
	if len(remote) == 0 {
		return st, nil
	}
	remoteIDs := make([]string, 0, len(remote))
	for g := range remote {
		remoteIDs = append(remoteIDs, g)
		st.Members[g] = []string{}
	}
	var members []struct{ SecurityGroupID, IPAddress string }
	err = db.Raw(`SELECT DISTINCT psg.security_group_id, a.ip_address FROM port_security_groups psg
		JOIN ip_allocations a ON a.port_id = psg.port_id WHERE psg.security_group_id IN ?`, remoteIDs).Scan(&members).Error
	if err != nil {
		return st, fmt.Errorf("group members: %w", err)
	}
	for _, m := range members {
		st.Members[m.SecurityGroupID] = append(st.Members[m.SecurityGroupID], m.IPAddress)
	}
	for g := range st.Members {
		sort.Strings(st.Members[g])
	}
	return st, nil
}
