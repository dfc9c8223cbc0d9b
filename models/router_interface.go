package models

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// AddRouterInterface attaches a subnet to the router: by subnet_id the
// router takes the subnet's gateway IP on a port of its own; by port_id it
// takes an unused port of the project with its address. The subnet's
// guests then route through the router (east-west to its other subnets,
// out through its gateway).
func (s *Store) AddRouterInterface(ctx context.Context, c Caller, ref string, in RouterInterfaceInput) (RouterInterfaceInfo, error) {
	in.SubnetID, in.PortID = strings.TrimSpace(in.SubnetID), strings.TrimSpace(in.PortID)
	var info RouterInterfaceInfo
	err := s.tx(ctx, func(tx *gorm.DB) error {
		r, err := s.getRouter(s.forUpdate(tx), c, ref)
		if err != nil {
			return err
		}
		if (in.SubnetID == "") == (in.PortID == "") {
			return Invalid("subnet_id", "give a subnet_id or a port_id (one of them)")
		}
		if err := s.lockProject(tx, r.ProjectID); err != nil {
			return err
		}
		var port Port
		var sn Subnet
		if in.SubnetID != "" {
			port, sn, err = s.interfaceBySubnet(tx, c, r, in.SubnetID)
		} else {
			port, sn, err = s.interfaceByPort(tx, c, r, in.PortID)
		}
		if err != nil {
			return err
		}
		info = RouterInterfaceInfo{ID: r.ID, ProjectID: r.ProjectID, TenantID: r.ProjectID, PortID: port.ID,
			SubnetID: sn.ID, SubnetIDs: []string{sn.ID}, NetworkID: sn.NetworkID}
		return bumpNetworkRevision(tx)
	})
	return info, err
}

// checkInterfaceSubnet refuses a subnet the router cannot take: one of an
// external network, one without a gateway, one the router already has, or
// one overlapping another of its subnets.
func (s *Store) checkInterfaceSubnet(tx *gorm.DB, c Caller, r Router, sn Subnet, field string) error {
	var n Network
	if err := tx.Where("id = ?", sn.NetworkID).Take(&n).Error; err != nil {
		return fmt.Errorf("subnet's network: %w", err)
	}
	if n.RouterExternal {
		return Invalidf(field, "subnet %s is on external network %s: set it as the router's gateway instead", displayName(sn.Name, sn.ID), displayName(n.Name, n.ID))
	}
	if n.ProjectID != r.ProjectID && !n.Shared && !c.IsSystemAdmin() {
		return forbidden("subnet %s belongs to another project", displayName(sn.Name, sn.ID))
	}
	have, err := routerSubnets(tx, r.ID)
	if err != nil {
		return err
	}
	for _, o := range have {
		if o.ID == sn.ID {
			return conflict("router %s already has an interface on subnet %s", displayName(r.Name, r.ID), displayName(sn.Name, sn.ID))
		}
		if o.Prefix().Overlaps(sn.Prefix()) {
			return Invalidf(field, "subnet %s (%s) overlaps subnet %s (%s) the router is already on", displayName(sn.Name, sn.ID), sn.CIDR, displayName(o.Name, o.ID), o.CIDR)
		}
	}
	return nil
}

func (s *Store) interfaceBySubnet(tx *gorm.DB, c Caller, r Router, subnetID string) (Port, Subnet, error) {
	sn, err := s.getSubnet(tx, c, subnetID)
	if errors.Is(err, ErrNotFound) {
		return Port{}, sn, Invalid("subnet_id", "no such subnet")
	} else if err != nil {
		return Port{}, sn, err
	}
	if err := s.checkInterfaceSubnet(tx, c, r, sn, "subnet_id"); err != nil {
		return Port{}, sn, err
	}
	if sn.Gateway == "" {
		return Port{}, sn, Invalidf("subnet_id", "subnet %s has no gateway_ip for the router to take", displayName(sn.Name, sn.ID))
	}
	// The subnet's lock, as IPAM takes it, then the gateway address.
	if err := s.forUpdate(tx.Where("id = ?", sn.ID)).Find(&[]Subnet{}).Error; err != nil {
		return Port{}, sn, fmt.Errorf("lock subnet: %w", err)
	}
	var holder []string
	if err := tx.Model(&ipAllocation{}).Where("subnet_id = ? AND ip_address = ?", sn.ID, sn.Gateway).Pluck("port_id", &holder).Error; err != nil {
		return Port{}, sn, fmt.Errorf("gateway address: %w", err)
	}
	if len(holder) > 0 {
		return Port{}, sn, conflict("the gateway address %s of subnet %s is held by port %s", sn.Gateway, displayName(sn.Name, sn.ID), holder[0])
	}
	if err := s.checkQuota(tx, r.ProjectID, Usage{Ports: 1}); err != nil {
		return Port{}, sn, err
	}
	now := s.now()
	port := Port{ID: newID(), ProjectID: r.ProjectID, NetworkID: sn.NetworkID, MACAddress: newMAC(), DeviceID: r.ID,
		DeviceOwner: DeviceOwnerRouterInterface, Status: routerPortStatus(r), AdminStateUp: true, BindingHostID: r.Host,
		CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&port).Error; err != nil {
		return Port{}, sn, fmt.Errorf("insert interface port: %w", err)
	}
	n := Network{ID: sn.NetworkID}
	if _, err := s.insertIPs(tx, n, port.ID, []FixedIP{{SubnetID: sn.ID, IPAddress: sn.Gateway}}, "subnet_id"); err != nil {
		return Port{}, sn, err
	}
	return port, sn, nil
}

func (s *Store) interfaceByPort(tx *gorm.DB, c Caller, r Router, portID string) (Port, Subnet, error) {
	pt, err := s.getPort(s.forUpdate(tx), c, portID)
	if errors.Is(err, ErrNotFound) {
		return Port{}, Subnet{}, Invalid("port_id", "no such port in this project")
	} else if err != nil {
		return Port{}, Subnet{}, err
	}
	if pt.DeviceID != "" || pt.DeviceOwner != "" {
		return Port{}, Subnet{}, conflict("port %s is in use by %s", displayName(pt.Name, pt.ID), displayName(pt.DeviceOwner, pt.DeviceID))
	}
	pts := []Port{pt}
	if err := fillPorts(tx, pts); err != nil {
		return Port{}, Subnet{}, err
	}
	if len(pts[0].FixedIPs) != 1 {
		return Port{}, Subnet{}, Invalid("port_id", "a router interface port needs exactly one fixed IP")
	}
	sn, err := s.getSubnet(tx, c, pts[0].FixedIPs[0].SubnetID)
	if err != nil {
		return Port{}, sn, err
	}
	if err := s.checkInterfaceSubnet(tx, c, r, sn, "port_id"); err != nil {
		return Port{}, sn, err
	}
	err = tx.Model(&Port{}).Where("id = ?", pt.ID).Updates(map[string]any{"device_id": r.ID, "device_owner": DeviceOwnerRouterInterface,
		"binding_host_id": r.Host, "status": routerPortStatus(r), "port_security_enabled": false, "updated_at": s.now()}).Error
	if err != nil {
		return Port{}, sn, fmt.Errorf("take port: %w", err)
	}
	return pt, sn, setPortGroups(tx, pt.ID, nil)
}

// routerPortStatus is ACTIVE for a router that has a host, DOWN until an
// agent that can carry it adopts it.
func routerPortStatus(r Router) string {
	if r.Host == "" {
		return PortDown
	}
	return PortActive
}

// RemoveRouterInterface detaches a subnet (or the interface port named)
// from the router and deletes the interface's port. An interface that
// floating IPs reach their ports through is refused (409).
func (s *Store) RemoveRouterInterface(ctx context.Context, c Caller, ref string, in RouterInterfaceInput) (RouterInterfaceInfo, error) {
	in.SubnetID, in.PortID = strings.TrimSpace(in.SubnetID), strings.TrimSpace(in.PortID)
	var info RouterInterfaceInfo
	err := s.tx(ctx, func(tx *gorm.DB) error {
		r, err := s.getRouter(s.forUpdate(tx), c, ref)
		if err != nil {
			return err
		}
		if in.SubnetID == "" && in.PortID == "" {
			return Invalid("subnet_id", "give a subnet_id or a port_id")
		}
		q := tx.Table("ports").Select("ports.id AS port_id, ip_allocations.subnet_id, ports.network_id").
			Joins("JOIN ip_allocations ON ip_allocations.port_id = ports.id").
			Where("ports.device_id = ? AND ports.device_owner = ?", r.ID, DeviceOwnerRouterInterface)
		if in.SubnetID != "" {
			q = q.Where("ip_allocations.subnet_id = ?", in.SubnetID)
		}
		if in.PortID != "" {
			q = q.Where("ports.id = ?", in.PortID)
		}
		var found []struct{ PortID, SubnetID, NetworkID string }
		if err := q.Scan(&found).Error; err != nil {
			return fmt.Errorf("find interface: %w", err)
		}
		if len(found) == 0 {
			if in.PortID != "" {
				return notFound("router %s has no interface port %s", displayName(r.Name, r.ID), in.PortID)
			}
			return notFound("router %s has no interface on subnet %s", displayName(r.Name, r.ID), in.SubnetID)
		}
		f := found[0]
		var fips []string
		err = tx.Table("floating_ips").Select("floating_ips.floating_ip_address").
			Joins("JOIN ip_allocations ON ip_allocations.port_id = floating_ips.port_id AND ip_allocations.ip_address = floating_ips.fixed_ip_address").
			Where("floating_ips.router_id = ? AND ip_allocations.subnet_id = ?", r.ID, f.SubnetID).Limit(3).Pluck("floating_ip_address", &fips).Error
		if err != nil {
			return fmt.Errorf("floating IPs through the interface: %w", err)
		}
		if len(fips) > 0 {
			return conflict("floating IP(s) %s reach their ports through this interface: disassociate them first", strings.Join(fips, ", "))
		}
		if err := deletePorts(tx, []string{f.PortID}); err != nil {
			return err
		}
		info = RouterInterfaceInfo{ID: r.ID, ProjectID: r.ProjectID, TenantID: r.ProjectID, PortID: f.PortID,
			SubnetID: f.SubnetID, SubnetIDs: []string{f.SubnetID}, NetworkID: f.NetworkID}
		return bumpNetworkRevision(tx)
	})
	return info, err
}

// subnetRouter names the router a subnet is attached to, if any (a subnet
// on a router may not be deleted).
func subnetRouter(tx *gorm.DB, subnetID string) (string, error) {
	var names []struct{ ID, Name string }
	err := tx.Table("routers").Select("routers.id, routers.name").
		Joins("JOIN ports ON ports.device_id = routers.id AND ports.device_owner = ?", DeviceOwnerRouterInterface).
		Joins("JOIN ip_allocations ON ip_allocations.port_id = ports.id").
		Where("ip_allocations.subnet_id = ?", subnetID).Limit(1).Scan(&names).Error
	if err != nil {
		return "", fmt.Errorf("subnet's router: %w", err)
	}
	if len(names) == 0 {
		return "", nil
	}
	return displayName(names[0].Name, names[0].ID), nil
}
