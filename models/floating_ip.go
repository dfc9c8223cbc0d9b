package models

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Floating IP statuses (Neutron's): ACTIVE while associated, DOWN when
// not.
const (
	FloatingIPActive = "ACTIVE"
	FloatingIPDown   = "DOWN"
)

// FloatingIP is an address of an external network a project holds
// (Neutron's floatingip), associated with one fixed IP of one of its ports
// at a time. The address is held through a port of its own on the external
// network (device_owner network:floatingip), so IPAM's guarantee — never
// one address twice — covers floating IPs too.
type FloatingIP struct {
	ID                string    `json:"id"`
	ProjectID         string    `json:"project_id"`
	FloatingNetworkID string    `json:"floating_network_id"`
	FloatingIPAddress string    `json:"floating_ip_address" gorm:"column:floating_ip_address"`
	FloatingPortID    string    `json:"-"`
	PortID            string    `json:"port_id"`                                         // "" = not associated (null in JSON)
	FixedIPAddress    string    `json:"fixed_ip_address" gorm:"column:fixed_ip_address"` // "" when not associated
	RouterID          string    `json:"router_id"`                                       // the router it reaches the port through
	Status            string    `json:"status"`
	Description       string    `json:"description"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// TableName is floating_ips.
func (FloatingIP) TableName() string { return "floating_ips" }

// FloatingIPView is a floating IP as the APIs show it: Neutron's nulls
// for what an unassociated floating IP lacks.
type FloatingIPView struct {
	ID                string    `json:"id"`
	ProjectID         string    `json:"project_id"`
	FloatingNetworkID string    `json:"floating_network_id"`
	FloatingIPAddress string    `json:"floating_ip_address"`
	PortID            *string   `json:"port_id"`
	FixedIPAddress    *string   `json:"fixed_ip_address"`
	RouterID          *string   `json:"router_id"`
	Status            string    `json:"status"`
	Description       string    `json:"description"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// View is the floating IP with nulls.
func (f FloatingIP) View() FloatingIPView {
	null := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return FloatingIPView{ID: f.ID, ProjectID: f.ProjectID, FloatingNetworkID: f.FloatingNetworkID, FloatingIPAddress: f.FloatingIPAddress,
		PortID: null(f.PortID), FixedIPAddress: null(f.FixedIPAddress), RouterID: null(f.RouterID), Status: f.Status,
		Description: f.Description, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
}

// FloatingIPInput allocates a floating IP, associated at once when PortID
// is given. FloatingIPAddress (a chosen address) is for operators.
type FloatingIPInput struct {
	FloatingNetworkID string `json:"floating_network_id"`
	FloatingIPAddress string `json:"floating_ip_address,omitempty"`
	PortID            string `json:"port_id,omitempty"`
	FixedIPAddress    string `json:"fixed_ip_address,omitempty"`
	Description       string `json:"description,omitempty"`
}

// FloatingIPUpdate associates (port_id set), disassociates (port_id null)
// or describes a floating IP; absent fields stay.
type FloatingIPUpdate struct {
	PortID         Nullable `json:"port_id,omitzero"`
	FixedIPAddress string   `json:"fixed_ip_address,omitempty"`
	Description    *string  `json:"description,omitempty"`
}

// CreateFloatingIP allocates an address of an external network's subnets
// to the caller's project (floatingips quota). Concurrent allocations
// never get the same address: IPAM picks it under the subnet's lock and
// the address is unique in floating_ips as well.
func (s *Store) CreateFloatingIP(ctx context.Context, c Caller, in FloatingIPInput) (FloatingIP, error) {
	p := Problems{}
	p.Text("description", in.Description, 255)
	if strings.TrimSpace(in.FloatingNetworkID) == "" {
		p.Add("floating_network_id", "is required: the external network to take the address from")
	}
	if c.ProjectID == "" {
		p.Add("project", "choose a project first")
	}
	if err := p.Err(); err != nil {
		return FloatingIP{}, err
	}
	if in.FloatingIPAddress != "" && !c.IsSystemAdmin() {
		return FloatingIP{}, forbidden("only operators may choose a floating IP's address")
	}
	var f FloatingIP
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockProject(tx, c.ProjectID); err != nil {
			return err
		}
		if err := s.checkQuota(tx, c.ProjectID, Usage{FloatingIPs: 1}); err != nil {
			return err
		}
		n, err := s.getNetwork(tx, c, strings.TrimSpace(in.FloatingNetworkID))
		if errors.Is(err, ErrNotFound) {
			return Invalid("floating_network_id", "no such network")
		} else if err != nil {
			return err
		}
		if !n.RouterExternal {
			return Invalidf("floating_network_id", "network %s is not external (router:external)", displayName(n.Name, n.ID))
		}
		now := s.now()
		f = FloatingIP{ID: newID(), ProjectID: c.ProjectID, FloatingNetworkID: n.ID, Status: FloatingIPDown,
			Description: in.Description, CreatedAt: now, UpdatedAt: now}
		port := Port{ID: newID(), ProjectID: "", NetworkID: n.ID, MACAddress: newMAC(), DeviceID: f.ID,
			DeviceOwner: DeviceOwnerFloatingIP, Status: PortDown, AdminStateUp: true, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&port).Error; err != nil {
			return fmt.Errorf("insert floating IP port: %w", err)
		}
		var want []FixedIPRequest
		if in.FloatingIPAddress != "" {
			want = []FixedIPRequest{{IPAddress: in.FloatingIPAddress}}
		}
		ips, err := s.allocateIPs(tx, n, port.ID, want, "floating_ip_address")
		if err != nil {
			return err
		}
		if len(ips) == 0 {
			return conflict("external network %s has no subnet to take a floating IP from", displayName(n.Name, n.ID))
		}
		f.FloatingPortID, f.FloatingIPAddress = port.ID, ips[0].IPAddress
		if err := tx.Create(&f).Error; err != nil {
			if isDuplicate(err) {
				return conflict("floating IP %s was taken meanwhile: try again", f.FloatingIPAddress)
			}
			return fmt.Errorf("insert floating IP: %w", err)
		}
		if strings.TrimSpace(in.PortID) != "" {
			if err := s.associate(tx, c, &f, strings.TrimSpace(in.PortID), in.FixedIPAddress); err != nil {
				return err
			}
		}
		return bumpNetworkRevision(tx)
	})
	return f, err
}

// associate points the floating IP at one fixed IP of a port of the
// floating IP's project. The port's subnet must be on a router whose
// gateway is on the floating IP's network: the router that will carry the
// traffic (409 naming what is missing otherwise).
func (s *Store) associate(tx *gorm.DB, c Caller, f *FloatingIP, portID, fixed string) error {
	caller := c
	caller.ProjectID = f.ProjectID
	pt, err := s.getPort(s.forUpdate(tx), caller, portID)
	if errors.Is(err, ErrNotFound) {
		return Invalid("port_id", "no such port in this project")
	} else if err != nil {
		return err
	}
	if pt.ProjectID != f.ProjectID {
		return Invalid("port_id", "the port belongs to another project than the floating IP")
	}
	if strings.HasPrefix(pt.DeviceOwner, "network:") {
		return Invalidf("port_id", "port %s is a %s port", displayName(pt.Name, pt.ID), pt.DeviceOwner)
	}
	pts := []Port{pt}
	if err := fillPorts(tx, pts); err != nil {
		return err
	}
	pt = pts[0]
	var ip FixedIP
	switch {
	case fixed != "":
		a, err := netip.ParseAddr(strings.TrimSpace(fixed))
		if err != nil {
			return Invalid("fixed_ip_address", "is not an IPv4 address")
		}
		for _, x := range pt.FixedIPs {
			if x.IPAddress == a.String() {
				ip = x
			}
		}
		if ip.IPAddress == "" {
			return Invalidf("fixed_ip_address", "%s is not an address of port %s", a, displayName(pt.Name, pt.ID))
		}
	case len(pt.FixedIPs) == 0:
		return Invalidf("port_id", "port %s has no fixed IP", displayName(pt.Name, pt.ID))
	case len(pt.FixedIPs) > 1:
		return Invalidf("fixed_ip_address", "port %s has several fixed IPs: choose one", displayName(pt.Name, pt.ID))
	default:
		ip = pt.FixedIPs[0]
	}
	routerID, err := s.routerFor(tx, f.FloatingNetworkID, ip.SubnetID)
	if err != nil {
		return err
	}
	var taken []string
	if err := tx.Model(&FloatingIP{}).Where("port_id = ? AND fixed_ip_address = ? AND id <> ?", pt.ID, ip.IPAddress, f.ID).
		Pluck("floating_ip_address", &taken).Error; err != nil {
		return fmt.Errorf("check fixed IP: %w", err)
	}
	if len(taken) > 0 {
		return conflict("fixed IP %s of port %s already has floating IP %s", ip.IPAddress, displayName(pt.Name, pt.ID), taken[0])
	}
	f.PortID, f.FixedIPAddress, f.RouterID, f.Status, f.UpdatedAt = pt.ID, ip.IPAddress, routerID, FloatingIPActive, s.now()
	return tx.Model(&FloatingIP{}).Where("id = ?", f.ID).Updates(map[string]any{"port_id": f.PortID, "fixed_ip_address": f.FixedIPAddress,
		"router_id": f.RouterID, "status": f.Status, "updated_at": f.UpdatedAt}).Error
}

// routerFor finds the router that joins a subnet to an external network:
// an interface on the subnet and its gateway on the network. Without one
// the 409 says which router is missing.
func (s *Store) routerFor(tx *gorm.DB, externalNetID, subnetID string) (string, error) {
	var routers []Router
	err := tx.Where("id IN (?)", tx.Session(&gorm.Session{NewDB: true}).Table("ports").Select("ports.device_id").
		Joins("JOIN ip_allocations ON ip_allocations.port_id = ports.id").
		Where("ports.device_owner = ? AND ip_allocations.subnet_id = ?", DeviceOwnerRouterInterface, subnetID)).
		Order("created_at, id").Find(&routers).Error
	if err != nil {
		return "", fmt.Errorf("subnet routers: %w", err)
	}
	for _, r := range routers {
		if r.GatewayNetworkID == externalNetID {
			return r.ID, nil
		}
	}
	// The 409 names the parts; a failed lookup is a failure, not blank names.
	var sn Subnet
	if err := tx.Where("id = ?", subnetID).Take(&sn).Error; err != nil {
		return "", fmt.Errorf("subnet %s: %w", subnetID, err)
	}
	var nets []Network
	if err := tx.Where("id IN ?", []string{externalNetID, sn.NetworkID}).Find(&nets).Error; err != nil {
		return "", fmt.Errorf("networks of subnet %s: %w", subnetID, err)
	}
	ext, net := Network{ID: externalNetID}, Network{ID: sn.NetworkID}
	for _, n := range nets {
		switch n.ID {
		case externalNetID:
			ext = n
		case sn.NetworkID:
			net = n
		}
	}
	extName, snName := displayName(ext.Name, ext.ID), displayName(sn.Name, sn.ID)
	if len(routers) > 0 {
		return "", conflict("router %s has an interface on subnet %s but no gateway on external network %s: set its external gateway to %s",
			displayName(routers[0].Name, routers[0].ID), snName, extName, extName)
	}
	return "", conflict("no router joins network %s (subnet %s) to external network %s: create a router with its gateway on %s and add an interface on subnet %s",
		displayName(net.Name, net.ID), snName, extName, extName, snName)
}

// FloatingIPFilter narrows ListFloatingIPs: an address matches a filter
// holding one of its values (none: every address).
type FloatingIPFilter struct {
	ListOptions
	Match
	PortID            []string
	FloatingIPAddress []string
	AllProjects       bool // operators
}

// ListFloatingIPs lists the caller's project's floating IPs, by address.
func (s *Store) ListFloatingIPs(ctx context.Context, c Caller, f FloatingIPFilter) (Page[FloatingIP], error) {
	if len(given(f.ExactName)) > 0 {
		return Page[FloatingIP]{}, nil // a floating IP has no name: a name filter matches none
	}
	q := s.db.WithContext(ctx).Model(&FloatingIP{})
	if !(f.AllProjects && c.IsSystemAdmin()) {
		q = q.Where("floating_ips.project_id = ?", c.ProjectID)
	}
	q = anyOf(q, "floating_ips.port_id", f.PortID)
	q = anyOf(q, "floating_ips.floating_ip_address", f.FloatingIPAddress)
	q = f.Match.where(q, "floating_ips")
	if f.Marker != "" {
		var at []string
		if err := q.Session(&gorm.Session{}).Where("floating_ips.id = ?", f.Marker).Limit(1).Pluck("floating_ips.id", &at).Error; err != nil {
			return Page[FloatingIP]{}, fmt.Errorf("list floating IPs: %w", err)
		}
		if len(at) == 0 {
			return Page[FloatingIP]{}, Invalid("marker", "no item with this ID in the list")
		}
		q = q.Where("floating_ips.id > ?", f.Marker)
	}
	p, err := finishPage(q.Order("floating_ips.id"), f.ListOptions, func(x FloatingIP) string { return x.ID })
	if err != nil {
		return p, fmt.Errorf("list floating IPs: %w", err)
	}
	return p, nil
}

// GetFloatingIP finds one of the caller's project's floating IPs
// (operators: any), by ID or address.
func (s *Store) GetFloatingIP(ctx context.Context, c Caller, ref string) (FloatingIP, error) {
	return s.getFloatingIP(s.db.WithContext(ctx), c, ref)
}

func (s *Store) getFloatingIP(tx *gorm.DB, c Caller, ref string) (FloatingIP, error) {
	q := tx.Model(&FloatingIP{})
	if !c.IsSystemAdmin() {
		q = q.Where("floating_ips.project_id = ?", c.ProjectID)
	}
	ref = strings.TrimSpace(ref)
	if IsUUID(ref) {
		q = q.Where("floating_ips.id = ?", ref)
	} else {
		q = q.Where("floating_ips.floating_ip_address = ?", ref)
	}
	return takeRef[FloatingIP](q, "floating IP", ref)
}

// UpdateFloatingIP associates the floating IP with a port (moving it from
// the one it had), disassociates it (port_id null), or changes its
// description.
func (s *Store) UpdateFloatingIP(ctx context.Context, c Caller, ref string, in FloatingIPUpdate) (FloatingIP, error) {
	if in.Description != nil {
		p := Problems{}
		p.Text("description", *in.Description, 255)
		if err := p.Err(); err != nil {
			return FloatingIP{}, err
		}
	}
	var f FloatingIP
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if f, err = s.getFloatingIP(s.forUpdate(tx), c, ref); err != nil {
			return err
		}
		if in.Description != nil {
			f.Description = *in.Description
			if err := tx.Model(&FloatingIP{}).Where("id = ?", f.ID).Updates(map[string]any{"description": f.Description, "updated_at": s.now()}).Error; err != nil {
				return fmt.Errorf("update floating IP: %w", err)
			}
		}
		if in.PortID.Set {
			if in.PortID.Value == nil || strings.TrimSpace(*in.PortID.Value) == "" {
				if err := disassociate(tx, s.now(), "id = ?", f.ID); err != nil {
					return err
				}
				f.PortID, f.FixedIPAddress, f.RouterID, f.Status = "", "", "", FloatingIPDown
			} else if err := s.associate(tx, c, &f, strings.TrimSpace(*in.PortID.Value), in.FixedIPAddress); err != nil {
				return err
			}
		}
		return bumpNetworkRevision(tx)
	})
	return f, err
}

// disassociate frees the floating IPs matching where from their ports.
func disassociate(tx *gorm.DB, now time.Time, where string, args ...any) error {
	err := tx.Model(&FloatingIP{}).Where(where, args...).Updates(map[string]any{"port_id": "", "fixed_ip_address": "",
		"router_id": "", "status": FloatingIPDown, "updated_at": now}).Error
	if err != nil {
		return fmt.Errorf("disassociate floating IPs: %w", err)
	}
	return nil
}

// DeleteFloatingIP releases the address back to the external network.
func (s *Store) DeleteFloatingIP(ctx context.Context, c Caller, ref string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		f, err := s.getFloatingIP(s.forUpdate(tx), c, ref)
		if err != nil {
			return err
		}
		if err := tx.Where("id = ?", f.ID).Delete(&FloatingIP{}).Error; err != nil {
			return fmt.Errorf("delete floating IP: %w", err)
		}
		return deletePorts(tx, []string{f.FloatingPortID})
	})
}

// FloatingIPTarget is a fixed IP of one of the project's instances: what a
// floating IP may be associated with.
type FloatingIPTarget struct {
	PortID       string
	FixedIP      string
	InstanceID   string
	InstanceName string
	NetworkID    string
	NetworkName  string
	FloatingIP   string // the floating IP already pointing at it ("" when free)
}

// FloatingIPTargets lists the fixed IPs of the caller's project's instances
// (of one instance when instanceID is set), each with the floating IP that
// already points at it: what the associate forms offer. One query, by
// instance name then address.
func (s *Store) FloatingIPTargets(ctx context.Context, c Caller, instanceID string) ([]FloatingIPTarget, error) {
	q := s.db.WithContext(ctx).Table("ports").
		Select("ports.id AS port_id, ip_allocations.ip_address AS fixed_ip, instances.id AS instance_id, instances.name AS instance_name, "+
			"networks.id AS network_id, networks.name AS network_name, floating_ips.floating_ip_address AS floating_ip").
		Joins("JOIN ip_allocations ON ip_allocations.port_id = ports.id").
		Joins("JOIN instances ON instances.id = ports.device_id AND instances.project_id = ports.project_id AND instances.deleted_at IS NULL").
		Joins("JOIN networks ON networks.id = ports.network_id").
		Joins("LEFT JOIN floating_ips ON floating_ips.port_id = ports.id AND floating_ips.fixed_ip_address = ip_allocations.ip_address").
		Where("ports.project_id = ? AND ports.device_owner LIKE ?", c.ProjectID, DeviceOwnerComputePrefix+"%")
	if instanceID != "" {
		q = q.Where("ports.device_id = ?", instanceID)
	}
	var rows []struct {
		PortID, FixedIP, InstanceID, InstanceName, NetworkID, NetworkName string
		FloatingIP                                                        *string
	}
	if err := q.Order("instances.name, instances.id, ip_allocations.ip_address").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("floating IP targets: %w", err)
	}
	out := make([]FloatingIPTarget, len(rows))
	for i, r := range rows {
		out[i] = FloatingIPTarget{PortID: r.PortID, FixedIP: r.FixedIP, InstanceID: r.InstanceID, InstanceName: r.InstanceName,
			NetworkID: r.NetworkID, NetworkName: displayName(r.NetworkName, r.NetworkID)}
		if r.FloatingIP != nil {
			out[i].FloatingIP = *r.FloatingIP
		}
	}
	return out, nil
}
