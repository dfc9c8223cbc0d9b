package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Network statuses (Neutron's).
const (
	NetworkActive = "ACTIVE"
	NetworkDown   = "DOWN"
)

// Network types. Tenant networks are VXLAN overlays; provider networks
// (flat, VLAN on a host interface) come with the work that needs them.
const NetworkTypeVXLAN = "vxlan"

// VXLAN segment IDs (VNIs) handed out to tenant networks, and the MTU of a
// tenant network: the underlay's 1500 less VXLAN's 50 bytes of overhead
// (outer Ethernet, IP, UDP and VXLAN headers).
const (
	MinVNI          = 1
	MaxVNI          = 1<<24 - 1
	DefaultUnderlay = 1500
	VXLANOverhead   = 50
	DefaultMTU      = DefaultUnderlay - VXLANOverhead
)

// Network is a tenant's layer-2 network (Neutron's network). Field names and
// JSON are Neutron's, so that an OpenStack-compatible facade maps it thinly.
// Operators see the segment; tenants do not (handlers decide).
type Network struct {
	ID             string    `json:"id"`
	ProjectID      string    `json:"project_id"`
	Name           string    `json:"name"`
	Description    string    `json:"description"`
	Status         string    `json:"status"`
	AdminStateUp   bool      `json:"admin_state_up"`
	Shared         bool      `json:"shared"`
	RouterExternal bool      `json:"router:external" gorm:"column:router_external"`
	MTU            int       `json:"mtu" gorm:"column:mtu"`
	NetworkType    string    `json:"provider:network_type,omitempty"`    // operators only
	SegmentationID int       `json:"provider:segmentation_id,omitempty"` // operators only
	Subnets        []string  `json:"subnets" gorm:"-"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// ForCaller hides what only operators see (the provider segment).
func (n Network) ForCaller(c Caller) Network {
	if !c.IsSystemAdmin() {
		n.NetworkType, n.SegmentationID = "", 0
	}
	return n
}

// NetworkInput creates a network. Shared and RouterExternal are for
// operators.
type NetworkInput struct {
	Name           string `json:"name"`
	Description    string `json:"description,omitempty"`
	AdminStateUp   *bool  `json:"admin_state_up,omitempty"`
	Shared         bool   `json:"shared,omitempty"`
	RouterExternal bool   `json:"router:external,omitempty"`
	MTU            int    `json:"mtu,omitempty"` // at most the VXLAN MTU (1450); 0 = that
}

// NetworkUpdate changes a network; nil fields stay.
type NetworkUpdate struct {
	Name         *string `json:"name,omitempty"`
	Description  *string `json:"description,omitempty"`
	AdminStateUp *bool   `json:"admin_state_up,omitempty"`
	Shared       *bool   `json:"shared,omitempty"`
}

// CreateNetwork adds a network to the caller's project with a VNI unique in
// the cloud, counted against the networks quota. Only operators may share a
// network with every project or mark it external (router:external, for the
// routers and floating IPs to come).
func (s *Store) CreateNetwork(ctx context.Context, c Caller, in NetworkInput) (Network, error) {
	p := Problems{}
	n := checkNetwork(p, c, &in)
	if err := p.Err(); err != nil {
		return Network{}, err
	}
	if err := checkNetworkRights(c, in); err != nil {
		return Network{}, err
	}
	err := s.retryVNI(ctx, func(tx *gorm.DB) error { return s.insertNetwork(tx, &n) })
	if err != nil {
		return Network{}, err
	}
	return n, nil
}

// CreateNetworkWithSubnet creates a network and its first subnet in one
// transaction (the web's one form): every field of both is checked first,
// and nothing is written when either is refused. Subnet fields keep their
// names but the subnet's name and description, which are subnet_name and
// subnet_description; sub.NetworkID is ignored.
func (s *Store) CreateNetworkWithSubnet(ctx context.Context, c Caller, in NetworkInput, sub SubnetInput) (Network, Subnet, error) {
	p, sp := Problems{}, Problems{}
	n := checkNetwork(p, c, &in)
	sn, pfx := checkSubnet(sp, &sub)
	for field, pr := range sp {
		if field == "name" || field == "description" {
			field = "subnet_" + field
		}
		p.put(field, pr)
	}
	if err := p.Err(); err != nil {
		return Network{}, Subnet{}, err
	}
	if err := checkNetworkRights(c, in); err != nil {
		return Network{}, Subnet{}, err
	}
	err := s.retryVNI(ctx, func(tx *gorm.DB) error {
		if err := s.insertNetwork(tx, &n); err != nil {
			return err
		}
		return s.insertSubnet(tx, c, &sn, pfx, n.ID)
	})
	if err != nil {
		return Network{}, Subnet{}, err
	}
	n.Subnets = []string{sn.ID}
	_ = sn.AfterFind(nil)
	return n, sn, nil
}

// checkNetwork validates a network request and returns the network it
// describes (no VNI yet).
func checkNetwork(p Problems, c Caller, in *NetworkInput) Network {
	in.Name = strings.TrimSpace(in.Name)
	p.Text("name", in.Name, 255)
	p.Text("description", in.Description, 255)
	if in.MTU != 0 && (in.MTU < 576 || in.MTU > DefaultMTU) {
		p.Addf("mtu", "must be 576–%d (the underlay's 1500 less VXLAN's overhead)", DefaultMTU)
	}
	if c.ProjectID == "" {
		p.Add("project", "choose a project first")
	}
	n := Network{ID: newID(), ProjectID: c.ProjectID, Name: in.Name, Description: in.Description,
		Status: NetworkActive, AdminStateUp: in.AdminStateUp == nil || *in.AdminStateUp, Shared: in.Shared,
		RouterExternal: in.RouterExternal, MTU: in.MTU, NetworkType: NetworkTypeVXLAN, Subnets: []string{}}
	if n.MTU == 0 {
		n.MTU = DefaultMTU
	}
	if !n.AdminStateUp {
		n.Status = NetworkDown
	}
	return n
}

// checkNetworkRights refuses what only operators may ask for.
func checkNetworkRights(c Caller, in NetworkInput) error {
	if (in.Shared || in.RouterExternal) && !c.IsSystemAdmin() {
		return forbidden("only operators may create shared or external networks")
	}
	return nil
}

// retryVNI runs fn in a transaction, again when it lost a race for a VNI:
// two concurrent creations may pick the same next VNI, and the unique key
// refuses the second, which tries again with the next one.
func (s *Store) retryVNI(ctx context.Context, fn func(tx *gorm.DB) error) error {
	var err error
	for range 5 {
		if err = s.tx(ctx, fn); !errors.Is(err, gorm.ErrDuplicatedKey) {
			break
		}
	}
	return err
}

// insertNetwork writes n with the next VNI, counted against the networks
// quota under the project's lock.
func (s *Store) insertNetwork(tx *gorm.DB, n *Network) error {
	if err := s.lockProject(tx, n.ProjectID); err != nil {
		return err
	}
	if err := s.checkQuota(tx, n.ProjectID, Usage{Networks: 1}); err != nil {
		return err
	}
	vni, err := nextVNI(tx)
	if err != nil {
		return err
	}
	now := s.now()
	n.SegmentationID, n.CreatedAt, n.UpdatedAt = vni, now, now
	if err := tx.Create(n).Error; err != nil {
		return fmt.Errorf("insert network: %w", err)
	}
	return nil
}

// nextVNI picks the VNI after the highest in use, wrapping to the lowest
// free one when the top of the range is taken.
func nextVNI(tx *gorm.DB) (int, error) {
	var top *int
	if err := tx.Raw("SELECT MAX(segmentation_id) FROM networks WHERE network_type = ?", NetworkTypeVXLAN).Scan(&top).Error; err != nil {
		return 0, fmt.Errorf("read VNIs: %w", err)
	}
	if top == nil {
		return MinVNI, nil
	}
	if *top < MaxVNI {
		return *top + 1, nil
	}
	var free *int
	err := tx.Raw(`SELECT MIN(n.segmentation_id + 1) FROM networks n WHERE n.network_type = ? AND n.segmentation_id < ?
		AND NOT EXISTS (SELECT 1 FROM networks m WHERE m.network_type = n.network_type AND m.segmentation_id = n.segmentation_id + 1)`,
		NetworkTypeVXLAN, MaxVNI).Scan(&free).Error
	if err != nil {
		return 0, fmt.Errorf("find a free VNI: %w", err)
	}
	if free == nil {
		return 0, conflict("every VXLAN segment is in use")
	}
	return *free, nil
}

// NetworkFilter narrows ListNetworks.
type NetworkFilter struct {
	ListOptions
	Match
	Shared         *bool
	RouterExternal *bool
	AllProjects    bool // operators: every project's networks
}

// visibleNetworks restricts q to the networks the caller may see: its
// project's, the shared ones and the external ones (Neutron shows every
// project the router:external networks it may take gateways and floating
// IPs from); operators asking for all: every one.
func visibleNetworks(q *gorm.DB, c Caller, all bool) *gorm.DB {
	if all && c.IsSystemAdmin() {
		return q
	}
	return q.Where("(networks.project_id = ? OR networks.shared = ? OR networks.router_external = ?)", c.ProjectID, true, true)
}

// ListNetworks lists the networks the caller may use, by name, each with
// its subnets' IDs.
func (s *Store) ListNetworks(ctx context.Context, c Caller, f NetworkFilter) (Page[Network], error) {
	db := s.db.WithContext(ctx)
	q := visibleNetworks(db.Model(&Network{}), c, f.AllProjects)
	if f.Shared != nil {
		q = q.Where("networks.shared = ?", *f.Shared)
	}
	if f.RouterExternal != nil {
		q = q.Where("networks.router_external = ?", *f.RouterExternal)
	}
	q = f.Match.where(q, "networks")
	p, err := pageByName(q, "networks", f.ListOptions, func(n Network) string { return n.ID })
	if err != nil {
		return p, fmt.Errorf("list networks: %w", err)
	}
	return p, fillSubnetIDs(db, p.Items)
}

// fillSubnetIDs sets each network's Subnets in one query.
func fillSubnetIDs(db *gorm.DB, nets []Network) error {
	if len(nets) == 0 {
		return nil
	}
	ids := make([]string, len(nets))
	at := map[string]int{}
	for i := range nets {
		ids[i], at[nets[i].ID] = nets[i].ID, i
		nets[i].Subnets = []string{}
	}
	var rows []struct{ ID, NetworkID string }
	if err := db.Table("subnets").Select("id, network_id").Where("network_id IN ?", ids).Order("created_at, id").Scan(&rows).Error; err != nil {
		return fmt.Errorf("network subnets: %w", err)
	}
	for _, r := range rows {
		nets[at[r.NetworkID]].Subnets = append(nets[at[r.NetworkID]].Subnets, r.ID)
	}
	return nil
}

// GetNetwork finds a network the caller may see, by ID or name (a name is
// looked up among the project's own networks first, then the shared ones).
func (s *Store) GetNetwork(ctx context.Context, c Caller, ref string) (Network, error) {
	db := s.db.WithContext(ctx)
	n, err := s.getNetwork(db, c, ref)
	if err != nil {
		return n, err
	}
	nets := []Network{n}
	err = fillSubnetIDs(db, nets)
	return nets[0], err
}

func (s *Store) getNetwork(tx *gorm.DB, c Caller, ref string) (Network, error) {
	if IsUUID(ref) {
		q := tx.Where("networks.id = ?", ref)
		if !c.IsSystemAdmin() {
			q = visibleNetworks(q, c, false)
		}
		return takeRef[Network](q, "network", ref)
	}
	// Not takeNamed: a name is looked for among the project's own networks
	// and the shared ones, and only two of one project are ambiguous (the
	// caller's own wins over a shared one of another project).
	var found []Network
	if err := visibleNetworks(tx.Where("networks.name = ?", ref), c, false).
		Order(gorm.Expr("CASE WHEN networks.project_id = ? THEN 0 ELSE 1 END", c.ProjectID)).Limit(3).Find(&found).Error; err != nil {
		return Network{}, fmt.Errorf("get network: %w", err)
	}
	switch {
	case len(found) == 0:
		return Network{}, notFound("network %q not found", ref)
	case len(found) > 1 && found[1].ProjectID == found[0].ProjectID:
		return Network{}, conflict("several networks are named %q: give the ID", ref)
	}
	return found[0], nil
}

// ownNetwork finds a network the caller may change: its project's own
// (operators: any). A shared network of another project is 403.
func (s *Store) ownNetwork(tx *gorm.DB, c Caller, ref string) (Network, error) {
	n, err := s.getNetwork(s.forUpdate(tx), c, ref)
	if err != nil {
		return n, err
	}
	if n.ProjectID != c.ProjectID && !c.IsSystemAdmin() {
		return n, forbidden("network %s belongs to another project", n.Name)
	}
	return n, nil
}

// UpdateNetwork changes a network's name, description, admin state or (for
// operators) whether it is shared.
func (s *Store) UpdateNetwork(ctx context.Context, c Caller, ref string, in NetworkUpdate) (Network, error) {
	p := Problems{}
	if in.Name != nil {
		*in.Name = strings.TrimSpace(*in.Name)
		p.Text("name", *in.Name, 255)
	}
	if in.Description != nil {
		p.Text("description", *in.Description, 255)
	}
	if err := p.Err(); err != nil {
		return Network{}, err
	}
	if in.Shared != nil && !c.IsSystemAdmin() {
		return Network{}, forbidden("only operators may share a network")
	}
	var n Network
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if n, err = s.ownNetwork(tx, c, ref); err != nil {
			return err
		}
		set := map[string]any{"updated_at": s.now()}
		if in.Name != nil {
			set["name"], n.Name = *in.Name, *in.Name
		}
		if in.Description != nil {
			set["description"], n.Description = *in.Description, *in.Description
		}
		if in.AdminStateUp != nil {
			n.AdminStateUp, n.Status = *in.AdminStateUp, NetworkActive
			if !n.AdminStateUp {
				n.Status = NetworkDown
			}
			set["admin_state_up"], set["status"] = n.AdminStateUp, n.Status
		}
		if in.Shared != nil {
			if !*in.Shared && n.Shared {
				// Neutron refuses to unshare a network other projects use.
				var used int64
				if err := tx.Model(&Port{}).Where("network_id = ? AND project_id <> ?", n.ID, n.ProjectID).Count(&used).Error; err != nil {
					return fmt.Errorf("count ports: %w", err)
				}
				if used > 0 {
					return conflict("network %s has ports of other projects: it must stay shared", n.Name)
				}
			}
			set["shared"], n.Shared = *in.Shared, *in.Shared
		}
		n.UpdatedAt = set["updated_at"].(time.Time)
		if err := tx.Model(&Network{}).Where("id = ?", n.ID).Updates(set).Error; err != nil {
			return fmt.Errorf("update network: %w", err)
		}
		return bumpNetworkRevision(tx)
	})
	if err != nil {
		return n, err
	}
	return s.GetNetwork(ctx, c, n.ID)
}

// DeleteNetwork removes a network with its subnets. A network with ports
// other than the DHCP ports Stratus made is refused (409): delete the
// instances and ports first. The hosts remove its bridge, VXLAN device and
// DHCP server at their next sync.
func (s *Store) DeleteNetwork(ctx context.Context, c Caller, ref string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		n, err := s.ownNetwork(tx, c, ref)
		if err != nil {
			return err
		}
		var inUse int64
		if err := tx.Model(&Port{}).Where("network_id = ? AND device_owner <> ?", n.ID, DeviceOwnerDHCP).Count(&inUse).Error; err != nil {
			return fmt.Errorf("count ports: %w", err)
		}
		if inUse > 0 {
			return conflict("network %s has %d port(s) in use: delete them (or their instances) first", displayName(n.Name, n.ID), inUse)
		}
		if err := tx.Where("network_id = ?", n.ID).Delete(&Port{}).Error; err != nil {
			return fmt.Errorf("delete DHCP ports: %w", err)
		}
		if err := tx.Where("network_id = ?", n.ID).Delete(&Subnet{}).Error; err != nil {
			return fmt.Errorf("delete subnets: %w", err)
		}
		if err := tx.Where("id = ?", n.ID).Delete(&Network{}).Error; err != nil {
			return fmt.Errorf("delete network: %w", err)
		}
		return bumpNetworkRevision(tx)
	})
}

// displayName is a resource's name, or its ID when it has none.
func displayName(name, id string) string {
	if name == "" {
		return id
	}
	return name
}
