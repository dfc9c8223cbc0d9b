package models

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Port statuses: a port is DOWN until the agent of the host it is bound to
// has plugged it, then ACTIVE (Neutron's).
const (
	PortDown   = "DOWN"
	PortActive = "ACTIVE"
	PortBuild  = "BUILD"
)

// Device owners Stratus sets (Neutron's names).
const (
	DeviceOwnerDHCP          = "network:dhcp"
	DeviceOwnerComputePrefix = "compute:"
)

// Port is a virtual NIC on a network (Neutron's port): its MAC, its fixed
// IPs from IPAM, the device it belongs to, its security groups, and the
// host it is bound to.
type Port struct {
	ID                  string    `json:"id"`
	ProjectID           string    `json:"project_id"`
	NetworkID           string    `json:"network_id"`
	Name                string    `json:"name"`
	Description         string    `json:"description"`
	MACAddress          string    `json:"mac_address" gorm:"column:mac_address"`
	FixedIPs            []FixedIP `json:"fixed_ips" gorm:"-"`
	DeviceID            string    `json:"device_id"`
	DeviceOwner         string    `json:"device_owner"`
	Status              string    `json:"status"`
	AdminStateUp        bool      `json:"admin_state_up"`
	PortSecurityEnabled bool      `json:"port_security_enabled"`
	SecurityGroups      []string  `json:"security_groups" gorm:"-"`
	BindingHostID       string    `json:"binding:host_id,omitempty" gorm:"column:binding_host_id"` // operators only
	PreserveOnDelete    bool      `json:"-"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

// PortInput creates a port. FixedIPs and SecurityGroups left out get
// IPAM's choice and the project's default group.
type PortInput struct {
	NetworkID           string           `json:"network_id"`
	Name                string           `json:"name,omitempty"`
	Description         string           `json:"description,omitempty"`
	MACAddress          string           `json:"mac_address,omitempty"`
	FixedIPs            []FixedIPRequest `json:"fixed_ips,omitempty"`
	SecurityGroups      *[]string        `json:"security_groups,omitempty"`
	PortSecurityEnabled *bool            `json:"port_security_enabled,omitempty"`
	AdminStateUp        *bool            `json:"admin_state_up,omitempty"`
	DeviceID            string           `json:"device_id,omitempty"`
	DeviceOwner         string           `json:"device_owner,omitempty"`
}

// PortUpdate changes a port; nil fields stay.
type PortUpdate struct {
	Name                *string   `json:"name,omitempty"`
	Description         *string   `json:"description,omitempty"`
	SecurityGroups      *[]string `json:"security_groups,omitempty"`
	PortSecurityEnabled *bool     `json:"port_security_enabled,omitempty"`
	AdminStateUp        *bool     `json:"admin_state_up,omitempty"`
}

// ForCaller hides what only operators see (the host the port is bound to).
func (p Port) ForCaller(c Caller) Port {
	if !c.IsSystemAdmin() {
		p.BindingHostID = ""
	}
	return p
}

// l3Owned reports whether a port belongs to a router or floating IP: only
// their own operations change or delete it.
func l3Owned(owner string) bool {
	return owner == DeviceOwnerRouterInterface || owner == DeviceOwnerRouterGateway || owner == DeviceOwnerFloatingIP
}

func isDuplicate(err error) bool { return errors.Is(err, gorm.ErrDuplicatedKey) }

// newMAC is a random MAC under OpenStack's base fa:16:3e.
func newMAC() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2])
}

// checkMAC accepts a unicast MAC and writes it in lower case.
func checkMAC(p Problems, field, s string) string {
	hw, err := net.ParseMAC(strings.TrimSpace(s))
	if err != nil || len(hw) != 6 {
		p.Add(field, "is not a MAC address such as fa:16:3e:12:34:56")
		return ""
	}
	if hw[0]&1 == 1 {
		p.Add(field, "must be a unicast address")
		return ""
	}
	return hw.String()
}

// CreatePort adds a port to a network the caller may use (its own or a
// shared one), with addresses from IPAM and security groups, counted
// against the ports quota.
func (s *Store) CreatePort(ctx context.Context, c Caller, in PortInput) (Port, error) {
	if c.ProjectID == "" {
		return Port{}, Invalid("project", "choose a project first")
	}
	p := Problems{}
	if strings.HasPrefix(in.DeviceOwner, "network:") && !c.IsSystemAdmin() {
		p.Add("device_owner", "network:* owners are Stratus' own")
	}
	if len(in.DeviceID) > 255 || len(in.DeviceOwner) > 255 {
		p.Add("device_id", "device_id and device_owner must be at most 255 characters")
	}
	if err := p.Err(); err != nil {
		return Port{}, err
	}
	var port Port
	var err error
	for range 3 { // a MAC collision (one in millions) tries another
		err = s.tx(ctx, func(tx *gorm.DB) error {
			if err := s.lockProject(tx, c.ProjectID); err != nil {
				return err
			}
			if err := s.checkQuota(tx, c.ProjectID, Usage{Ports: 1}); err != nil {
				return err
			}
			n, err := s.getNetwork(tx, c, in.NetworkID)
			if errors.Is(err, ErrNotFound) {
				return Invalid("network_id", "no such network")
			} else if err != nil {
				return err
			}
			port, err = s.createPortTx(tx, c, n, in, "")
			return err
		})
		if !errors.Is(err, gorm.ErrDuplicatedKey) {
			break
		}
	}
	return port, err
}

// createPortTx writes a port on network n in the caller's transaction
// (which holds the project's lock and checked the quota): MAC, addresses,
// security groups. field prefixes the names of invalid inputs (a launch's
// "networks[0]").
func (s *Store) createPortTx(tx *gorm.DB, c Caller, n Network, in PortInput, field string) (Port, error) {
	pre := func(f string) string {
		if field == "" {
			return f
		}
		return field + "." + f
	}
	p := Problems{}
	in.Name = strings.TrimSpace(in.Name)
	p.Text(pre("name"), in.Name, 255)
	p.Text(pre("description"), in.Description, 255)
	mac := newMAC()
	if in.MACAddress != "" {
		mac = checkMAC(p, pre("mac_address"), in.MACAddress)
	}
	secure := in.PortSecurityEnabled == nil || *in.PortSecurityEnabled
	if !secure && in.SecurityGroups != nil && len(*in.SecurityGroups) > 0 {
		p.Add(pre("security_groups"), "a port without port security has no security groups")
	}
	if n.RouterExternal && !strings.HasPrefix(in.DeviceOwner, "network:") {
		p.Addf(pre("network_id"), "network %s is external: instances reach it through a router and floating IPs", displayName(n.Name, n.ID))
	}
	if err := p.Err(); err != nil {
		return Port{}, err
	}
	if in.MACAddress != "" {
		var n64 int64
		if err := tx.Model(&Port{}).Where("network_id = ? AND mac_address = ?", n.ID, mac).Count(&n64).Error; err != nil {
			return Port{}, fmt.Errorf("check MAC: %w", err)
		}
		if n64 > 0 {
			return Port{}, Invalid(pre("mac_address"), "is in use on this network")
		}
	}
	var groups []string
	if secure {
		var err error
		if groups, err = s.resolveGroups(tx, c, in.SecurityGroups, pre("security_groups")); err != nil {
			return Port{}, err
		}
	}
	now := s.now()
	port := Port{ID: newID(), ProjectID: c.ProjectID, NetworkID: n.ID, Name: in.Name, Description: in.Description,
		MACAddress: mac, DeviceID: in.DeviceID, DeviceOwner: in.DeviceOwner, Status: PortDown,
		AdminStateUp: in.AdminStateUp == nil || *in.AdminStateUp, PortSecurityEnabled: secure,
		SecurityGroups: groups, CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&port).Error; err != nil {
		return Port{}, fmt.Errorf("insert port: %w", err)
	}
	ips, err := s.allocateIPs(tx, n, port.ID, in.FixedIPs, pre("fixed_ips"))
	if err != nil {
		return Port{}, err
	}
	port.FixedIPs = ips
	if err := setPortGroups(tx, port.ID, groups); err != nil {
		return Port{}, err
	}
	return port, bumpNetworkRevision(tx)
}

// resolveGroups turns the groups a request names (IDs or names of the
// caller's project) into IDs; nil means the project's default group.
func (s *Store) resolveGroups(tx *gorm.DB, c Caller, refs *[]string, field string) ([]string, error) {
	if refs == nil {
		id, err := s.ensureDefaultGroup(tx, c.ProjectID)
		if err != nil {
			return nil, err
		}
		return []string{id}, nil
	}
	out := []string{}
	seen := map[string]bool{}
	for _, ref := range *refs {
		g, err := s.getSecurityGroup(tx, c, ref)
		if errors.Is(err, ErrNotFound) && ref == "default" {
			// Named before its first use made it: make it now, as Neutron
			// does for every project.
			if g.ID, err = s.ensureDefaultGroup(tx, c.ProjectID); err != nil {
				return nil, err
			}
		}
		if errors.Is(err, ErrNotFound) {
			return nil, Invalidf(field, "no security group %q in this project", ref)
		} else if err != nil {
			return nil, err
		}
		if !seen[g.ID] {
			seen[g.ID] = true
			out = append(out, g.ID)
		}
	}
	return out, nil
}

func setPortGroups(tx *gorm.DB, portID string, groups []string) error {
	if err := tx.Exec("DELETE FROM port_security_groups WHERE port_id = ?", portID).Error; err != nil {
		return fmt.Errorf("clear port groups: %w", err)
	}
	for _, g := range groups {
		if err := tx.Exec("INSERT INTO port_security_groups (port_id, security_group_id) VALUES (?, ?)", portID, g).Error; err != nil {
			return fmt.Errorf("set port groups: %w", err)
		}
	}
	return nil
}

// fillPorts sets the fixed IPs and security groups of ports, in two
// queries.
func fillPorts(db *gorm.DB, ports []Port) error {
	if len(ports) == 0 {
		return nil
	}
	ids := make([]string, len(ports))
	at := map[string]int{}
	for i := range ports {
		ids[i], at[ports[i].ID] = ports[i].ID, i
		ports[i].FixedIPs, ports[i].SecurityGroups = []FixedIP{}, []string{}
	}
	var ips []ipAllocation
	if err := db.Where("port_id IN ?", ids).Find(&ips).Error; err != nil {
		return fmt.Errorf("port addresses: %w", err)
	}
	for _, a := range ips {
		ports[at[a.PortID]].FixedIPs = append(ports[at[a.PortID]].FixedIPs, FixedIP{SubnetID: a.SubnetID, IPAddress: a.IPAddress})
	}
	var groups []struct{ PortID, SecurityGroupID string }
	if err := db.Table("port_security_groups").Where("port_id IN ?", ids).Order("security_group_id").Scan(&groups).Error; err != nil {
		return fmt.Errorf("port groups: %w", err)
	}
	for _, g := range groups {
		ports[at[g.PortID]].SecurityGroups = append(ports[at[g.PortID]].SecurityGroups, g.SecurityGroupID)
	}
	for i := range ports {
		sortFixedIPs(ports[i].FixedIPs)
	}
	return nil
}

// PortFilter narrows ListPorts: a port matches a filter holding one of its
// values (none: every port).
type PortFilter struct {
	ListOptions
	Match
	NetworkID   []string
	DeviceID    []string
	DeviceOwner []string
	MACAddress  []string
	AllProjects bool // operators
}

// ListPorts lists the caller's project's ports, by name.
func (s *Store) ListPorts(ctx context.Context, c Caller, f PortFilter) (Page[Port], error) {
	db := s.db.WithContext(ctx)
	q := db.Model(&Port{})
	if !(f.AllProjects && c.IsSystemAdmin()) {
		q = q.Where("ports.project_id = ?", c.ProjectID)
	}
	q = anyOf(q, "ports.network_id", f.NetworkID)
	q = anyOf(q, "ports.device_id", f.DeviceID)
	q = anyOf(q, "ports.device_owner", f.DeviceOwner)
	q = anyOf(q, "ports.mac_address", f.MACAddress)
	q = f.Match.where(q, "ports")
	p, err := pageByName(q, "ports", f.ListOptions, func(pt Port) string { return pt.ID })
	if err != nil {
		return p, fmt.Errorf("list ports: %w", err)
	}
	return p, fillPorts(db, p.Items)
}

// NetworkPortCounts counts, per network of ids, the ports of the caller's
// project on it (operators: every project's), Stratus' DHCP ports left
// out: what a network list shows beside each network.
func (s *Store) NetworkPortCounts(ctx context.Context, c Caller, ids []string) (map[string]int, error) {
	out := make(map[string]int, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	q := s.db.WithContext(ctx).Model(&Port{}).Select("network_id, COUNT(*) AS n").
		Where("network_id IN ? AND device_owner <> ?", ids, DeviceOwnerDHCP)
	if !c.IsSystemAdmin() {
		q = q.Where("project_id = ?", c.ProjectID)
	}
	var rows []struct {
		NetworkID string
		N         int
	}
	if err := q.Group("network_id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count ports: %w", err)
	}
	for _, r := range rows {
		out[r.NetworkID] = r.N
	}
	return out, nil
}

// GetPort finds one of the caller's project's ports (operators: any).
func (s *Store) GetPort(ctx context.Context, c Caller, id string) (Port, error) {
	db := s.db.WithContext(ctx)
	pt, err := s.getPort(db, c, id)
	if err != nil {
		return pt, err
	}
	ports := []Port{pt}
	err = fillPorts(db, ports)
	return ports[0], err
}

func (s *Store) getPort(tx *gorm.DB, c Caller, ref string) (Port, error) {
	q := tx.Model(&Port{})
	if !c.IsSystemAdmin() {
		q = q.Where("ports.project_id = ?", c.ProjectID)
	}
	return takeRef[Port](byRef(q, "ports", ref), "port", ref)
}

// UpdatePort changes a port's name, description, admin state, security
// groups or port security. Turning port security off needs the groups
// emptied in the same request (Neutron's rule).
func (s *Store) UpdatePort(ctx context.Context, c Caller, id string, in PortUpdate) (Port, error) {
	p := Problems{}
	if in.Name != nil {
		*in.Name = strings.TrimSpace(*in.Name)
		p.Text("name", *in.Name, 255)
	}
	if in.Description != nil {
		p.Text("description", *in.Description, 255)
	}
	if err := p.Err(); err != nil {
		return Port{}, err
	}
	var pt Port
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if pt, err = s.getPort(s.forUpdate(tx), c, id); err != nil {
			return err
		}
		pts := []Port{pt}
		if err := fillPorts(tx, pts); err != nil {
			return err
		}
		pt = pts[0]
		if l3Owned(pt.DeviceOwner) {
			return conflict("port %s belongs to %s %s: change it through its owner", displayName(pt.Name, pt.ID), pt.DeviceOwner, pt.DeviceID)
		}
		if pt.DeviceOwner == DeviceOwnerDHCP {
			return conflict("DHCP ports are Stratus' own")
		}
		set := map[string]any{"updated_at": s.now()}
		if in.Name != nil {
			set["name"] = *in.Name
		}
		if in.Description != nil {
			set["description"] = *in.Description
		}
		if in.AdminStateUp != nil {
			set["admin_state_up"] = *in.AdminStateUp
		}
		secure := pt.PortSecurityEnabled
		if in.PortSecurityEnabled != nil {
			secure = *in.PortSecurityEnabled
			set["port_security_enabled"] = secure
		}
		groups := pt.SecurityGroups
		if in.SecurityGroups != nil {
			caller := c
			caller.ProjectID = pt.ProjectID
			if groups, err = s.resolveGroups(tx, caller, in.SecurityGroups, "security_groups"); err != nil {
				return err
			}
		}
		if !secure && len(groups) > 0 {
			return Invalid("port_security_enabled", "remove the port's security groups (security_groups: []) to turn port security off")
		}
		if err := tx.Model(&Port{}).Where("id = ?", pt.ID).Updates(set).Error; err != nil {
			return fmt.Errorf("update port: %w", err)
		}
		if err := setPortGroups(tx, pt.ID, groups); err != nil {
			return err
		}
		return bumpNetworkRevision(tx)
	})
	if err != nil {
		return pt, err
	}
	return s.GetPort(ctx, c, pt.ID)
}

// DeletePort removes a port and frees its addresses. A port an instance
// uses is refused (409): delete the instance, or detach the port with it.
func (s *Store) DeletePort(ctx context.Context, c Caller, id string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		pt, err := s.getPort(s.forUpdate(tx), c, id)
		if err != nil {
			return err
		}
		if strings.HasPrefix(pt.DeviceOwner, DeviceOwnerComputePrefix) && pt.DeviceID != "" {
			var live int64
			if err := tx.Model(&Instance{}).Where("id = ? AND deleted_at IS NULL", pt.DeviceID).Count(&live).Error; err != nil {
				return fmt.Errorf("port's instance: %w", err)
			}
			if live > 0 {
				return conflict("port %s is used by instance %s: delete the instance first", displayName(pt.Name, pt.ID), pt.DeviceID)
			}
		}
		if pt.DeviceOwner == DeviceOwnerDHCP && !c.IsSystemAdmin() {
			return conflict("DHCP ports are Stratus' own")
		}
		if l3Owned(pt.DeviceOwner) {
			return conflict("port %s belongs to %s %s: remove the router interface, gateway or floating IP instead", displayName(pt.Name, pt.ID), pt.DeviceOwner, pt.DeviceID)
		}
		return deletePorts(tx, []string{pt.ID})
	})
}

// deletePorts removes ports with their addresses and group memberships.
func deletePorts(tx *gorm.DB, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := freeIPs(tx, ids); err != nil {
		return err
	}
	// A port that goes takes its floating IPs' association with it
	// (Neutron's); the floating IPs stay with their project.
	if err := disassociate(tx, time.Now().UTC().Truncate(time.Microsecond), "port_id IN ?", ids); err != nil {
		return err
	}
	if err := tx.Exec("DELETE FROM port_security_groups WHERE port_id IN ?", ids).Error; err != nil {
		return fmt.Errorf("delete port groups: %w", err)
	}
	if err := tx.Where("id IN ?", ids).Delete(&Port{}).Error; err != nil {
		return fmt.Errorf("delete ports: %w", err)
	}
	return bumpNetworkRevision(tx)
}

// bumpNetworkRevision tells the compute agents that some host's networking
// must change; they re-read their desired state when it moves.
func bumpNetworkRevision(tx *gorm.DB) error {
	if err := tx.Exec("UPDATE network_revision SET revision = revision + 1 WHERE id = 1").Error; err != nil {
		return fmt.Errorf("bump network revision: %w", err)
	}
	return nil
}

// NetworkRevision reads the revision the agents compare with the one they
// last applied.
func (s *Store) NetworkRevision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.db.WithContext(ctx).Raw("SELECT revision FROM network_revision WHERE id = 1").Scan(&rev).Error; err != nil {
		return 0, fmt.Errorf("read network revision: %w", err)
	}
	return rev, nil
}
