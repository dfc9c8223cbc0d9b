package models

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"gorm.io/gorm"
)

// NetworkRequest is one NIC a launch asks for (Nova's networks item): a
// network by ID or name (optionally with the fixed IP to take on it), or a
// port the project made beforehand.
type NetworkRequest struct {
	Network string `json:"network,omitempty"`
	Port    string `json:"port,omitempty"`
	FixedIP string `json:"fixed_ip,omitempty"`
}

// nicPlan is what a launch does for one requested NIC.
type nicPlan struct {
	network Network
	port    *Port // an existing port to attach; nil: create one on network
	fixedIP string
	field   string
}

// planNICs resolves a launch's networks in its transaction. With none
// asked for, the instance gets the project's only network (its own or a
// shared one); no NIC when there is none; and a request to choose when
// there are several.
func (s *Store) planNICs(tx *gorm.DB, c Caller, reqs []NetworkRequest, count int) ([]nicPlan, error) {
	if len(reqs) == 0 {
		var nets []Network
		if err := visibleNetworks(tx.Model(&Network{}), c, false).Where("networks.router_external = ?", false).
			Order("networks.name, networks.id").Limit(6).Find(&nets).Error; err != nil {
			return nil, fmt.Errorf("list networks: %w", err)
		}
		switch len(nets) {
		case 0:
			return nil, nil
		case 1:
			return []nicPlan{{network: nets[0], field: "networks"}}, nil
		}
		names := make([]string, 0, len(nets))
		for _, n := range nets[:min(len(nets), 5)] {
			names = append(names, displayName(n.Name, n.ID))
		}
		return nil, Invalidf("networks", "the project can use several networks (%s…): choose which", strings.Join(names, ", "))
	}
	if len(reqs) > 16 {
		return nil, Invalid("networks", "at most 16 NICs")
	}
	p := Problems{}
	out := make([]nicPlan, 0, len(reqs))
	for i, r := range reqs {
		field := fmt.Sprintf("networks[%d]", i)
		switch {
		case r.Port != "" && (r.Network != "" || r.FixedIP != ""):
			p.Add(field, "give a port, or a network (with an optional fixed_ip), not both")
		case r.Port != "":
			if count > 1 {
				p.Add(field+".port", "a port can be given only when launching one instance")
				continue
			}
			pt, err := s.getPort(s.forUpdate(tx), c, r.Port)
			if errors.Is(err, ErrNotFound) {
				p.Add(field+".port", "no such port in this project")
				continue
			} else if err != nil {
				return nil, err
			}
			if pt.DeviceID != "" || pt.DeviceOwner != "" {
				p.Addf(field+".port", "port %s is in use by %s", displayName(pt.Name, pt.ID), pt.DeviceID)
				continue
			}
			n, err := s.getNetwork(tx, c, pt.NetworkID)
			if err != nil {
				return nil, err
			}
			out = append(out, nicPlan{network: n, port: &pt, field: field})
		case r.Network != "":
			n, err := s.getNetwork(tx, c, r.Network)
			if errors.Is(err, ErrNotFound) {
				p.Add(field+".network", "no such network")
				continue
			} else if err != nil {
				return nil, err
			}
			if r.FixedIP != "" {
				if count > 1 {
					p.Add(field+".fixed_ip", "a fixed IP can be given only when launching one instance")
					continue
				}
				if a, err := netip.ParseAddr(strings.TrimSpace(r.FixedIP)); err != nil || !a.Is4() {
					p.Add(field+".fixed_ip", "is not an IPv4 address")
					continue
				}
			}
			out = append(out, nicPlan{network: n, fixedIP: strings.TrimSpace(r.FixedIP), field: field})
		default:
			p.Add(field, "give a network or a port")
		}
	}
	return out, p.Err()
}

// attachNICs creates (or takes over) the ports of one launched instance in
// the launch's transaction.
func (s *Store) attachNICs(tx *gorm.DB, c Caller, inst Instance, plans []nicPlan, groups *[]string) error {
	owner := DeviceOwnerComputePrefix + inst.AvailabilityZone
	if inst.AvailabilityZone == "" {
		owner = DeviceOwnerComputePrefix + "nova"
	}
	for _, pl := range plans {
		if pl.port != nil {
			res := tx.Model(&Port{}).Where("id = ? AND device_id = ''", pl.port.ID).Updates(map[string]any{
				"device_id": inst.ID, "device_owner": owner, "preserve_on_delete": true, "updated_at": s.now()})
			if res.Error != nil {
				return fmt.Errorf("attach port: %w", res.Error)
			}
			if res.RowsAffected == 0 {
				return Invalid(pl.field+".port", "the port was taken meanwhile")
			}
			if err := bumpNetworkRevision(tx); err != nil {
				return err
			}
			continue
		}
		in := PortInput{NetworkID: pl.network.ID, DeviceID: inst.ID, DeviceOwner: owner, SecurityGroups: groups}
		if pl.fixedIP != "" {
			in.FixedIPs = []FixedIPRequest{{IPAddress: pl.fixedIP}}
		}
		if _, err := s.createPortTx(tx, c, pl.network, in, pl.field); err != nil {
			return err
		}
	}
	return nil
}

// releaseInstancePorts runs when an instance is deleted: the ports its
// launch created go (their addresses freed); ports the user handed to the
// launch stay, unbound.
func (s *Store) releaseInstancePorts(tx *gorm.DB, instanceID string) error {
	var ports []Port
	if err := tx.Where("device_id = ?", instanceID).Find(&ports).Error; err != nil {
		return fmt.Errorf("instance ports: %w", err)
	}
	if len(ports) == 0 {
		return nil
	}
	var gone, kept []string
	for _, p := range ports {
		if p.PreserveOnDelete {
			kept = append(kept, p.ID)
		} else {
			gone = append(gone, p.ID)
		}
	}
	if len(kept) > 0 {
		if err := tx.Model(&Port{}).Where("id IN ?", kept).Updates(map[string]any{"device_id": "", "device_owner": "",
			"binding_host_id": "", "status": PortDown, "preserve_on_delete": false, "updated_at": s.now()}).Error; err != nil {
			return fmt.Errorf("detach ports: %w", err)
		}
	}
	if err := deletePorts(tx, gone); err != nil {
		return err
	}
	return bumpNetworkRevision(tx)
}

// Address is one address of an instance as Nova's "addresses" shows it.
type Address struct {
	Addr    string `json:"addr"`
	Version int    `json:"version"`
	Type    string `json:"type"` // fixed, or floating (a floating IP of the NIC, after its fixed ones)
	MAC     string `json:"mac"`
}

// InstanceAddresses returns, per instance, its addresses by network name,
// in one query for a whole page of instances.
func (s *Store) InstanceAddresses(ctx context.Context, ids []string) (map[string]map[string][]Address, error) {
	tx := s.db.WithContext(ctx)
	out := map[string]map[string][]Address{}
	if len(ids) == 0 {
		return out, nil
	}
	// One row per fixed IP, with the floating IP that points at it (at
	// most one: associate refuses a second).
	var rows []struct {
		DeviceID, NetworkName, NetworkID, MACAddress, IPAddress string
		FloatingIPAddress                                       *string `gorm:"column:floating_ip_address"`
	}
	err := tx.Table("ports").Select("ports.device_id, networks.name AS network_name, networks.id AS network_id, ports.mac_address, ip_allocations.ip_address, floating_ips.floating_ip_address").
		Joins("JOIN networks ON networks.id = ports.network_id").
		Joins("LEFT JOIN ip_allocations ON ip_allocations.port_id = ports.id").
		Joins("LEFT JOIN floating_ips ON floating_ips.port_id = ports.id AND floating_ips.fixed_ip_address = ip_allocations.ip_address").
		Where("ports.device_id IN ?", ids).Order("ports.created_at, ports.id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("instance addresses: %w", err)
	}
	floating := map[string]map[string][]Address{}
	for _, r := range rows {
		if out[r.DeviceID] == nil {
			out[r.DeviceID], floating[r.DeviceID] = map[string][]Address{}, map[string][]Address{}
		}
		name := displayName(r.NetworkName, r.NetworkID)
		if r.IPAddress == "" {
			if _, ok := out[r.DeviceID][name]; !ok {
				out[r.DeviceID][name] = []Address{}
			}
			continue
		}
		out[r.DeviceID][name] = append(out[r.DeviceID][name], Address{Addr: r.IPAddress, Version: 4, Type: "fixed", MAC: r.MACAddress})
		if r.FloatingIPAddress != nil {
			floating[r.DeviceID][name] = append(floating[r.DeviceID][name], Address{Addr: *r.FloatingIPAddress, Version: 4, Type: "floating", MAC: r.MACAddress})
		}
	}
	// Fixed addresses in order, then the floating ones (as Nova lists them).
	for dev, nets := range out {
		for name, addrs := range nets {
			for _, list := range [][]Address{addrs, floating[dev][name]} {
				sort.SliceStable(list, func(i, j int) bool {
					a, _ := netip.ParseAddr(list[i].Addr)
					b, _ := netip.ParseAddr(list[j].Addr)
					return a.Less(b)
				})
			}
			nets[name] = append(addrs, floating[dev][name]...)
		}
	}
	return out, nil
}

// InstanceSecurityGroups lists the groups an instance's ports are in.
func (s *Store) InstanceSecurityGroups(ctx context.Context, c Caller, instanceID string) ([]SecurityGroup, error) {
	db := s.db.WithContext(ctx)
	inst, err := s.getInstance(db, c, instanceID)
	if err != nil {
		return nil, err
	}
	var groups []SecurityGroup
	err = db.Where("id IN (?)", db.Table("port_security_groups").Select("port_security_groups.security_group_id").
		Joins("JOIN ports ON ports.id = port_security_groups.port_id").Where("ports.device_id = ?", inst.ID)).
		Order("name, id").Find(&groups).Error
	if err != nil {
		return nil, fmt.Errorf("instance groups: %w", err)
	}
	return groups, fillRules(db, groups)
}

// SetInstanceSecurityGroups gives every port of the instance that has port
// security exactly these groups (IDs or names of the project's); the hosts
// apply the change within seconds.
func (s *Store) SetInstanceSecurityGroups(ctx context.Context, c Caller, instanceID string, refs []string) ([]SecurityGroup, error) {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.getInstance(s.forUpdate(tx), c, instanceID)
		if err != nil {
			return err
		}
		if inst.VMState == VMDeleted {
			return notFound("instance %q not found", instanceID)
		}
		if refs == nil {
			refs = []string{}
		}
		caller := c
		caller.ProjectID = inst.ProjectID
		groups, err := s.resolveGroups(tx, caller, &refs, "security_groups")
		if err != nil {
			return err
		}
		var ports []string
		if err := tx.Model(&Port{}).Where("device_id = ? AND port_security_enabled = ?", inst.ID, true).Pluck("id", &ports).Error; err != nil {
			return fmt.Errorf("instance ports: %w", err)
		}
		if len(ports) == 0 {
			return conflict("instance %s has no port with port security", inst.Name)
		}
		for _, p := range ports {
			if err := setPortGroups(tx, p, groups); err != nil {
				return err
			}
		}
		return bumpNetworkRevision(tx)
	})
	if err != nil {
		return nil, err
	}
	return s.InstanceSecurityGroups(ctx, c, instanceID)
}
