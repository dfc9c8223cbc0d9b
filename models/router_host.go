package models

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"gorm.io/gorm"
)

// Where routers live. Each router is carried by one compute host whose
// agent registered an external interface (--external-interface): its
// namespace there routes between the router's subnets, SNATs them out on
// the gateway address and DNATs its floating IPs. Routers are spread over
// such hosts (the least loaded takes a new one), an agent that registers
// adopts routers that have no live host, and the conductor's host recovery
// moves the routers of a host marked down — so no single node carries
// every project's way out, and one that dies takes its routers' traffic
// away only until they move.

// HostRouter is a router as the host that carries it builds it.
type HostRouter struct {
	ID           string
	ProjectID    string
	AdminStateUp bool
	Gateway      *HostGateway // nil: no way out (east-west only)
	Interfaces   []HostRouterInterface
	FloatingIPs  []HostFloatingIP
	Routes       []Route
}

// HostGateway is the router's leg on an external network.
type HostGateway struct {
	NetworkID string
	PortID    string
	MAC       string
	Address   netip.Prefix // the router's address, with the external subnet's length
	NextHop   string       // the external subnet's gateway ("" = none: on-link only)
	SNAT      bool
}

// HostRouterInterface is one of the router's legs on a tenant subnet.
type HostRouterInterface struct {
	PortID    string
	NetworkID string
	SubnetID  string
	MAC       string
	Address   netip.Prefix // the subnet's gateway IP, with its length
}

// HostFloatingIP is a floating IP the router translates.
type HostFloatingIP struct {
	ID         string
	FloatingIP string
	FixedIP    string
	PortID     string
}

// hostRouters reads the routers host carries.
func hostRouters(db *gorm.DB, host string) ([]HostRouter, error) {
	var routers []Router
	if err := db.Where("host = ?", host).Order("id").Find(&routers).Error; err != nil {
		return nil, fmt.Errorf("host routers: %w", err)
	}
	out := []HostRouter{}
	if len(routers) == 0 {
		return out, nil
	}
	ids := make([]string, len(routers))
	at := map[string]int{}
	for i, r := range routers {
		ids[i], at[r.ID] = r.ID, i
		routes := r.Routes
		if routes == nil {
			routes = []Route{}
		}
		out = append(out, HostRouter{ID: r.ID, ProjectID: r.ProjectID, AdminStateUp: r.AdminStateUp, Routes: routes,
			Interfaces: []HostRouterInterface{}, FloatingIPs: []HostFloatingIP{}})
	}
	var legs []struct {
		PortID, DeviceID, DeviceOwner, NetworkID, MACAddress, SubnetID, IPAddress string
		CIDR                                                                      string `gorm:"column:cidr"`
		GatewayIP                                                                 string `gorm:"column:gateway_ip"`
	}
	err := db.Table("ports").Select(`ports.id AS port_id, ports.device_id, ports.device_owner, ports.network_id, ports.mac_address,
		ip_allocations.subnet_id, ip_allocations.ip_address, subnets.cidr, subnets.gateway_ip`).
		Joins("JOIN ip_allocations ON ip_allocations.port_id = ports.id").
		Joins("JOIN subnets ON subnets.id = ip_allocations.subnet_id").
		Where("ports.device_id IN ? AND ports.device_owner IN ?", ids, []string{DeviceOwnerRouterInterface, DeviceOwnerRouterGateway}).
		Order("ports.created_at, ports.id, ip_allocations.ip_address").Scan(&legs).Error
	if err != nil {
		return nil, fmt.Errorf("router ports: %w", err)
	}
	for _, l := range legs {
		pfx, err := netip.ParsePrefix(l.CIDR)
		if err != nil {
			continue
		}
		a, err := netip.ParseAddr(l.IPAddress)
		if err != nil {
			continue
		}
		hr := &out[at[l.DeviceID]]
		addr := netip.PrefixFrom(a, pfx.Bits())
		if l.DeviceOwner == DeviceOwnerRouterGateway {
			if hr.Gateway == nil { // the first address of the gateway port
				r := routers[at[l.DeviceID]]
				hr.Gateway = &HostGateway{NetworkID: l.NetworkID, PortID: l.PortID, MAC: l.MACAddress, Address: addr,
					NextHop: l.GatewayIP, SNAT: r.EnableSNAT}
			}
			continue
		}
		hr.Interfaces = append(hr.Interfaces, HostRouterInterface{PortID: l.PortID, NetworkID: l.NetworkID, SubnetID: l.SubnetID,
			MAC: l.MACAddress, Address: addr})
	}
	var fips []FloatingIP
	if err := db.Where("router_id IN ? AND port_id <> ''", ids).Order("floating_ip_address").Find(&fips).Error; err != nil {
		return nil, fmt.Errorf("router floating IPs: %w", err)
	}
	for _, f := range fips {
		if i, ok := at[f.RouterID]; ok {
			out[i].FloatingIPs = append(out[i].FloatingIPs, HostFloatingIP{ID: f.ID, FloatingIP: f.FloatingIPAddress, FixedIP: f.FixedIPAddress, PortID: f.PortID})
		}
	}
	for i := range out {
		sort.Slice(out[i].Interfaces, func(a, b int) bool { return out[i].Interfaces[a].PortID < out[i].Interfaces[b].PortID })
	}
	return out, nil
}

// placeRouters moves routers (their records and the binding of their
// ports) to host.
func placeRouters(tx *gorm.DB, routerIDs []string, host string, now time.Time) error {
	if len(routerIDs) == 0 {
		return nil
	}
	if err := tx.Model(&Router{}).Where("id IN ?", routerIDs).Updates(map[string]any{"host": host, "updated_at": now}).Error; err != nil {
		return fmt.Errorf("place router: %w", err)
	}
	status := PortActive
	if host == "" {
		status = PortDown
	}
	err := tx.Model(&Port{}).Where("device_id IN ? AND device_owner IN ?", routerIDs, []string{DeviceOwnerRouterInterface, DeviceOwnerRouterGateway}).
		Updates(map[string]any{"binding_host_id": host, "status": status, "updated_at": now}).Error
	if err != nil {
		return fmt.Errorf("bind router ports: %w", err)
	}
	return bumpNetworkRevision(tx)
}

// adoptRouters gives host (which just registered with an external
// interface) the routers that have no live host.
func (s *Store) adoptRouters(tx *gorm.DB, host string) error {
	var ids []string
	err := tx.Raw(`SELECT r.id FROM routers r WHERE r.host = '' OR NOT EXISTS
		(SELECT 1 FROM hosts h WHERE h.name = r.host AND h.up = ? AND h.external_interface <> '')`, true).Scan(&ids).Error
	if err != nil {
		return fmt.Errorf("orphan routers: %w", err)
	}
	return placeRouters(tx, ids, host, s.now())
}

// RehomeRouters moves the routers of hosts that are down to live hosts
// with an external interface (the least loaded first), or leaves them
// unplaced until one registers. It returns how many moved.
func (s *Store) RehomeRouters(ctx context.Context) (int, error) {
	moved := 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var routers []Router
		err := tx.Where(`host <> '' AND host NOT IN (SELECT name FROM hosts WHERE up = ? AND external_interface <> '')`, true).
			Order("id").Find(&routers).Error
		if err != nil {
			return fmt.Errorf("routers of down hosts: %w", err)
		}
		for _, r := range routers {
			host, err := pickRouterHost(tx, r.Host)
			if err != nil {
				return err
			}
			if err := placeRouters(tx, []string{r.ID}, host, s.now()); err != nil {
				return err
			}
			if host != "" {
				moved++
			}
		}
		return nil
	})
	return moved, err
}
