package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Routers (Neutron's L3): a router joins a project's subnets (east-west)
// and, through its gateway on an external network, takes them to the
// outside (SNAT on the gateway address, floating IPs for the way in).
//
// The gateway and each interface are ports whose device_id is the router's
// ID, so their addresses come from IPAM like any other: the gateway takes
// an address of the external subnet, an interface by subnet takes that
// subnet's gateway_ip. A router lives on one compute host (Host, an agent
// registered with an external interface, the least loaded when the router
// is made); when that host goes down its routers move to another (see
// RehomeRouters) — routers are spread over the compute hosts, so there is
// no network node whose loss cuts every project off.

// Device owners of the L3 ports (Neutron's).
const (
	DeviceOwnerRouterInterface = "network:router_interface"
	DeviceOwnerRouterGateway   = "network:router_gateway"
	DeviceOwnerFloatingIP      = "network:floatingip"
)

// Route is one of a router's extra routes (Neutron's extraroute).
type Route struct {
	Destination string `json:"destination"`
	Nexthop     string `json:"nexthop"`
}

// RouteRequest is an extra route a request asks for.
type RouteRequest struct {
	Destination string `json:"destination"`
	Nexthop     string `json:"nexthop"`
}

// GatewayInfo is a router's external_gateway_info.
type GatewayInfo struct {
	NetworkID        string    `json:"network_id"`
	EnableSNAT       bool      `json:"enable_snat"`
	ExternalFixedIPs []FixedIP `json:"external_fixed_ips"`
}

// Router is Neutron's router.
type Router struct {
	ID                  string       `json:"id"`
	ProjectID           string       `json:"project_id"`
	Name                string       `json:"name"`
	Description         string       `json:"description"`
	Status              string       `json:"status"`
	AdminStateUp        bool         `json:"admin_state_up"`
	ExternalGatewayInfo *GatewayInfo `json:"external_gateway_info" gorm:"-"`
	GatewayNetworkID    string       `json:"-" gorm:"column:gw_network_id"`
	GatewayPortID       string       `json:"-" gorm:"column:gw_port_id"`
	EnableSNAT          bool         `json:"-" gorm:"column:enable_snat"`
	Routes              []Route      `json:"routes" gorm:"serializer:json"`
	Host                string       `json:"host,omitempty"` // operators only: where it lives
	CreatedAt           time.Time    `json:"created_at"`
	UpdatedAt           time.Time    `json:"updated_at"`
}

// ForCaller hides what only operators see (the router's host).
func (r Router) ForCaller(c Caller) Router {
	if !c.IsSystemAdmin() {
		r.Host = ""
	}
	return r
}

// GatewayInput sets a router's gateway: an external network, whether
// instances without a floating IP reach out through SNAT (default yes),
// and (operators) the address it takes there.
type GatewayInput struct {
	NetworkID        string           `json:"network_id"`
	EnableSNAT       *bool            `json:"enable_snat,omitempty"`
	ExternalFixedIPs []FixedIPRequest `json:"external_fixed_ips,omitempty"`
}

// GatewayUpdate is external_gateway_info in an update: absent (Set false)
// leaves the gateway, null or {} clears it, an object with a network sets
// it.
type GatewayUpdate struct {
	Set  bool
	Info *GatewayInput
}

// UnmarshalJSON records that the member was present.
func (g *GatewayUpdate) UnmarshalJSON(b []byte) error {
	g.Set = true
	if string(b) == "null" {
		g.Info = nil
		return nil
	}
	var in GatewayInput
	if err := json.Unmarshal(b, &in); err != nil {
		return errors.New("must be an object such as {\"network_id\": \"…\"} or null")
	}
	if in.NetworkID != "" {
		g.Info = &in
	}
	return nil
}

// MarshalJSON writes the gateway or null.
func (g GatewayUpdate) MarshalJSON() ([]byte, error) {
	if g.Info == nil {
		return []byte("null"), nil
	}
	return json.Marshal(g.Info)
}

// RouterInput creates a router.
type RouterInput struct {
	Name                string        `json:"name"`
	Description         string        `json:"description,omitempty"`
	AdminStateUp        *bool         `json:"admin_state_up,omitempty"`
	ExternalGatewayInfo *GatewayInput `json:"external_gateway_info,omitempty"`
}

// RouterUpdate changes a router; absent fields stay.
type RouterUpdate struct {
	Name                *string         `json:"name,omitempty"`
	Description         *string         `json:"description,omitempty"`
	AdminStateUp        *bool           `json:"admin_state_up,omitempty"`
	ExternalGatewayInfo GatewayUpdate   `json:"external_gateway_info,omitzero"`
	Routes              *[]RouteRequest `json:"routes,omitempty"`
}

// RouterInterfaceInput names the interface to add or remove: a subnet (the
// router takes its gateway IP) or a port of the project (the router takes
// that port and its address).
type RouterInterfaceInput struct {
	SubnetID string `json:"subnet_id,omitempty"`
	PortID   string `json:"port_id,omitempty"`
}

// RouterInterfaceInfo is Neutron's answer to add/remove_router_interface.
type RouterInterfaceInfo struct {
	ID        string   `json:"id"` // the router's
	ProjectID string   `json:"project_id"`
	TenantID  string   `json:"tenant_id"`
	PortID    string   `json:"port_id"`
	SubnetID  string   `json:"subnet_id"`
	SubnetIDs []string `json:"subnet_ids"`
	NetworkID string   `json:"network_id"`
}

const maxRoutes = 30

// CreateRouter adds a router to the caller's project (routers quota),
// with its gateway when one is asked for.
func (s *Store) CreateRouter(ctx context.Context, c Caller, in RouterInput) (Router, error) {
	in.Name = strings.TrimSpace(in.Name)
	p := Problems{}
	p.Text("name", in.Name, 255)
	p.Text("description", in.Description, 255)
	if c.ProjectID == "" {
		p.Add("project", "choose a project first")
	}
	if err := p.Err(); err != nil {
		return Router{}, err
	}
	now := s.now()
	r := Router{ID: newID(), ProjectID: c.ProjectID, Name: in.Name, Description: in.Description, Status: NetworkActive,
		AdminStateUp: in.AdminStateUp == nil || *in.AdminStateUp, EnableSNAT: true, Routes: []Route{}, CreatedAt: now, UpdatedAt: now}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockProject(tx, c.ProjectID); err != nil {
			return err
		}
		if err := s.checkQuota(tx, c.ProjectID, Usage{Routers: 1}); err != nil {
			return err
		}
		host, err := pickRouterHost(tx, "")
		if err != nil {
			return err
		}
		r.Host = host
		if err := tx.Create(&r).Error; err != nil {
			return fmt.Errorf("insert router: %w", err)
		}
		if in.ExternalGatewayInfo != nil {
			if err := s.setGateway(tx, c, &r, in.ExternalGatewayInfo); err != nil {
				return err
			}
		}
		return bumpNetworkRevision(tx)
	})
	if err != nil {
		return Router{}, err
	}
	return s.GetRouter(ctx, c, r.ID)
}

// pickRouterHost is the up, enabled host with an external interface that
// has the fewest routers ("" when there is none yet: the first such agent
// to register adopts the router). except is a host to avoid.
func pickRouterHost(tx *gorm.DB, except string) (string, error) {
	var names []string
	err := tx.Raw(`SELECT h.name FROM hosts h WHERE h.up = ? AND h.enabled = ? AND h.external_interface <> '' AND h.name <> ?
		ORDER BY (SELECT COUNT(*) FROM routers r WHERE r.host = h.name), h.name LIMIT 1`, true, true, except).Scan(&names).Error
	if err != nil {
		return "", fmt.Errorf("pick a router host: %w", err)
	}
	if len(names) == 0 {
		return "", nil
	}
	return names[0], nil
}

// setGateway gives the router an address on an external network (a port of
// its own there), replacing the gateway it had.
func (s *Store) setGateway(tx *gorm.DB, c Caller, r *Router, in *GatewayInput) error {
	n, err := s.getNetwork(tx, c, strings.TrimSpace(in.NetworkID))
	if errors.Is(err, ErrNotFound) {
		return Invalid("external_gateway_info.network_id", "no such network")
	} else if err != nil {
		return err
	}
	if !n.RouterExternal {
		return Invalidf("external_gateway_info.network_id", "network %s is not external (router:external)", displayName(n.Name, n.ID))
	}
	if len(in.ExternalFixedIPs) > 0 && !c.IsSystemAdmin() {
		return forbidden("only operators may choose a router's external address")
	}
	if r.GatewayPortID != "" {
		if r.GatewayNetworkID != n.ID {
			if err := s.checkGatewayUnused(tx, r); err != nil {
				return err
			}
		}
		if err := deletePorts(tx, []string{r.GatewayPortID}); err != nil {
			return err
		}
	}
	now := s.now()
	port := Port{ID: newID(), ProjectID: "", NetworkID: n.ID, MACAddress: newMAC(), DeviceID: r.ID,
		DeviceOwner: DeviceOwnerRouterGateway, Status: PortActive, AdminStateUp: true, BindingHostID: r.Host,
		CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&port).Error; err != nil {
		return fmt.Errorf("insert gateway port: %w", err)
	}
	ips, err := s.allocateIPs(tx, n, port.ID, in.ExternalFixedIPs, "external_gateway_info.external_fixed_ips")
	if err != nil {
		return err
	}
	if len(ips) == 0 {
		return conflict("external network %s has no subnet to take a gateway address from", displayName(n.Name, n.ID))
	}
	snat := in.EnableSNAT == nil || *in.EnableSNAT
	r.GatewayNetworkID, r.GatewayPortID, r.EnableSNAT = n.ID, port.ID, snat
	return tx.Model(&Router{}).Where("id = ?", r.ID).Updates(map[string]any{"gw_network_id": n.ID, "gw_port_id": port.ID,
		"enable_snat": snat, "updated_at": now}).Error
}

// checkGatewayUnused refuses to take away a gateway that floating IPs reach
// their ports through (Neutron's RouterExternalGatewayInUseByFloatingIp).
func (s *Store) checkGatewayUnused(tx *gorm.DB, r *Router) error {
	var n int64
	if err := tx.Model(&FloatingIP{}).Where("router_id = ?", r.ID).Count(&n).Error; err != nil {
		return fmt.Errorf("count floating IPs: %w", err)
	}
	if n > 0 {
		return conflict("router %s has %d floating IP(s) associated through its gateway: disassociate them first", displayName(r.Name, r.ID), n)
	}
	return nil
}

// clearGateway removes the router's gateway port.
func (s *Store) clearGateway(tx *gorm.DB, r *Router) error {
	if r.GatewayPortID == "" {
		return nil
	}
	if err := s.checkGatewayUnused(tx, r); err != nil {
		return err
	}
	if err := deletePorts(tx, []string{r.GatewayPortID}); err != nil {
		return err
	}
	r.GatewayNetworkID, r.GatewayPortID = "", ""
	return tx.Model(&Router{}).Where("id = ?", r.ID).Updates(map[string]any{"gw_network_id": "", "gw_port_id": "", "updated_at": s.now()}).Error
}

// RouterFilter narrows ListRouters.
type RouterFilter struct {
	ListOptions
	Match
	AllProjects bool // operators
}

// ListRouters lists the caller's project's routers, by name.
func (s *Store) ListRouters(ctx context.Context, c Caller, f RouterFilter) (Page[Router], error) {
	db := s.db.WithContext(ctx)
	q := db.Model(&Router{})
	if !(f.AllProjects && c.IsSystemAdmin()) {
		q = q.Where("routers.project_id = ?", c.ProjectID)
	}
	q = f.Match.where(q, "routers")
	p, err := pageByName(q, "routers", f.ListOptions, func(r Router) string { return r.ID })
	if err != nil {
		return p, fmt.Errorf("list routers: %w", err)
	}
	return p, fillGateways(db, p.Items)
}

// fillGateways sets each router's external_gateway_info in one query.
func fillGateways(db *gorm.DB, routers []Router) error {
	var portIDs []string
	for i := range routers {
		if routers[i].Routes == nil {
			routers[i].Routes = []Route{}
		}
		if routers[i].GatewayPortID != "" {
			portIDs = append(portIDs, routers[i].GatewayPortID)
		}
	}
	if len(portIDs) == 0 {
		return nil
	}
	var ips []ipAllocation
	if err := db.Where("port_id IN ?", portIDs).Find(&ips).Error; err != nil {
		return fmt.Errorf("gateway addresses: %w", err)
	}
	byPort := map[string][]FixedIP{}
	for _, a := range ips {
		byPort[a.PortID] = append(byPort[a.PortID], FixedIP{SubnetID: a.SubnetID, IPAddress: a.IPAddress})
	}
	for i := range routers {
		r := &routers[i]
		if r.GatewayPortID == "" {
			continue
		}
		fixed := byPort[r.GatewayPortID]
		if fixed == nil {
			fixed = []FixedIP{}
		}
		sortFixedIPs(fixed)
		r.ExternalGatewayInfo = &GatewayInfo{NetworkID: r.GatewayNetworkID, EnableSNAT: r.EnableSNAT, ExternalFixedIPs: fixed}
	}
	return nil
}

// GetRouter finds one of the caller's project's routers (operators: any),
// by ID or name.
func (s *Store) GetRouter(ctx context.Context, c Caller, ref string) (Router, error) {
	db := s.db.WithContext(ctx)
	r, err := s.getRouter(db, c, ref)
	if err != nil {
		return r, err
	}
	rs := []Router{r}
	err = fillGateways(db, rs)
	return rs[0], err
}

func (s *Store) getRouter(tx *gorm.DB, c Caller, ref string) (Router, error) {
	q := tx.Model(&Router{})
	if !c.IsSystemAdmin() {
		q = q.Where("routers.project_id = ?", c.ProjectID)
	}
	return takeRef[Router](byRef(q, "routers", ref), "router", ref)
}

// UpdateRouter changes a router's name, description, admin state, gateway
// or extra routes.
func (s *Store) UpdateRouter(ctx context.Context, c Caller, ref string, in RouterUpdate) (Router, error) {
	p := Problems{}
	if in.Name != nil {
		*in.Name = strings.TrimSpace(*in.Name)
		p.Text("name", *in.Name, 255)
	}
	if in.Description != nil {
		p.Text("description", *in.Description, 255)
	}
	var routes []Route
	if in.Routes != nil {
		routes = checkRoutes(p, *in.Routes)
	}
	if err := p.Err(); err != nil {
		return Router{}, err
	}
	var r Router
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if r, err = s.getRouter(s.forUpdate(tx), c, ref); err != nil {
			return err
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
			set["status"] = NetworkActive
			if !*in.AdminStateUp {
				set["status"] = NetworkDown
			}
		}
		if in.Routes != nil {
			if err := s.checkNexthops(tx, r, routes); err != nil {
				return err
			}
			b, _ := json.Marshal(routes)
			set["routes"] = string(b)
		}
		if err := tx.Model(&Router{}).Where("id = ?", r.ID).Updates(set).Error; err != nil {
			return fmt.Errorf("update router: %w", err)
		}
		if in.ExternalGatewayInfo.Set {
			if in.ExternalGatewayInfo.Info == nil {
				err = s.clearGateway(tx, &r)
			} else {
				err = s.setGateway(tx, c, &r, in.ExternalGatewayInfo.Info)
			}
			if err != nil {
				return err
			}
		}
		return bumpNetworkRevision(tx)
	})
	if err != nil {
		return Router{}, err
	}
	return s.GetRouter(ctx, c, r.ID)
}

// checkRoutes validates extra routes: an IPv4 destination CIDR and next hop.
func checkRoutes(p Problems, in []RouteRequest) []Route {
	if len(in) > maxRoutes {
		p.Addf("routes", "at most %d routes", maxRoutes)
		return nil
	}
	out := make([]Route, 0, len(in))
	for i, rt := range in {
		f := fmt.Sprintf("routes[%d]", i)
		dst, err := netip.ParsePrefix(strings.TrimSpace(rt.Destination))
		if err != nil || !dst.Addr().Is4() || dst.Masked() != dst {
			p.Add(f+".destination", "is not an IPv4 CIDR such as 192.168.5.0/24")
			continue
		}
		hop, err := netip.ParseAddr(strings.TrimSpace(rt.Nexthop))
		if err != nil || !hop.Is4() {
			p.Add(f+".nexthop", "is not an IPv4 address")
			continue
		}
		out = append(out, Route{Destination: dst.String(), Nexthop: hop.String()})
	}
	return out
}

// checkNexthops refuses a route whose next hop is on none of the router's
// subnets (Neutron's InvalidRoutes).
func (s *Store) checkNexthops(tx *gorm.DB, r Router, routes []Route) error {
	if len(routes) == 0 {
		return nil
	}
	subnets, err := routerSubnets(tx, r.ID)
	if err != nil {
		return err
	}
	for i, rt := range routes {
		hop, _ := netip.ParseAddr(rt.Nexthop)
		ok := false
		for _, sn := range subnets {
			if sn.Prefix().Contains(hop) {
				ok = true
			}
		}
		if !ok {
			return Invalidf(fmt.Sprintf("routes[%d].nexthop", i), "%s is on none of the router's subnets", hop)
		}
	}
	return nil
}

// routerSubnets lists the subnets the router has interfaces (or its
// gateway) on.
func routerSubnets(tx *gorm.DB, routerID string) ([]Subnet, error) {
	var subnets []Subnet
	err := tx.Where("id IN (?)", tx.Session(&gorm.Session{NewDB: true}).Table("ip_allocations").Select("ip_allocations.subnet_id").
		Joins("JOIN ports ON ports.id = ip_allocations.port_id").Where("ports.device_id = ? AND ports.device_owner IN ?", routerID,
		[]string{DeviceOwnerRouterInterface, DeviceOwnerRouterGateway})).Order("created_at, id").Find(&subnets).Error
	if err != nil {
		return nil, fmt.Errorf("router subnets: %w", err)
	}
	return subnets, nil
}

// DeleteRouter removes a router without interfaces (409 otherwise: remove
// them first), with its gateway.
func (s *Store) DeleteRouter(ctx context.Context, c Caller, ref string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		r, err := s.getRouter(s.forUpdate(tx), c, ref)
		if err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&Port{}).Where("device_id = ? AND device_owner = ?", r.ID, DeviceOwnerRouterInterface).Count(&n).Error; err != nil {
			return fmt.Errorf("count router interfaces: %w", err)
		}
		if n > 0 {
			return conflict("router %s still has %d interface(s): remove them first", displayName(r.Name, r.ID), n)
		}
		if err := s.clearGateway(tx, &r); err != nil {
			return err
		}
		if err := tx.Where("id = ?", r.ID).Delete(&Router{}).Error; err != nil {
			return fmt.Errorf("delete router: %w", err)
		}
		return bumpNetworkRevision(tx)
	})
}
