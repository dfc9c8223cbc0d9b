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

// AllocationPool is a range of addresses IPAM hands out, both ends
// included (Neutron's allocation_pools item).
type AllocationPool struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// PoolRequest is an allocation pool a request asks for.
type PoolRequest struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Subnet is an IPv4 range on a network (Neutron's subnet): the gateway the
// guests are told of, the pools IPAM allocates from, the DNS servers DHCP
// announces.
type Subnet struct {
	ID              string           `json:"id"`
	ProjectID       string           `json:"project_id"`
	NetworkID       string           `json:"network_id"`
	Name            string           `json:"name"`
	Description     string           `json:"description"`
	IPVersion       int              `json:"ip_version" gorm:"column:ip_version"`
	CIDR            string           `json:"cidr" gorm:"column:cidr"`
	GatewayIP       *string          `json:"gateway_ip" gorm:"-"`
	Gateway         string           `json:"-" gorm:"column:gateway_ip"`
	AllocationPools []AllocationPool `json:"allocation_pools" gorm:"serializer:json"`
	DNSNameservers  []string         `json:"dns_nameservers" gorm:"column:dns_nameservers;serializer:json"`
	EnableDHCP      bool             `json:"enable_dhcp" gorm:"column:enable_dhcp"`
	CreatedAt       time.Time        `json:"created_at"`
	UpdatedAt       time.Time        `json:"updated_at"`
}

// AfterFind shows the stored gateway ("" = none) as Neutron's nullable
// gateway_ip.
func (sn *Subnet) AfterFind(*gorm.DB) error {
	sn.GatewayIP = nil
	if sn.Gateway != "" {
		g := sn.Gateway
		sn.GatewayIP = &g
	}
	if sn.AllocationPools == nil {
		sn.AllocationPools = []AllocationPool{}
	}
	if sn.DNSNameservers == nil {
		sn.DNSNameservers = []string{}
	}
	return nil
}

// Prefix is the subnet's CIDR, parsed.
func (sn Subnet) Prefix() netip.Prefix {
	p, _ := netip.ParsePrefix(sn.CIDR)
	return p
}

// Nullable is a JSON member that may be absent (Set false), null (Set, no
// Value) or a string: Neutron's gateway_ip means "the default" when absent
// and "no gateway" when null.
type Nullable struct {
	Set   bool
	Value *string
}

// UnmarshalJSON records that the member was present.
func (n *Nullable) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Value = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("must be a string or null")
	}
	n.Value = &s
	return nil
}

// MarshalJSON writes the value or null.
func (n Nullable) MarshalJSON() ([]byte, error) {
	if n.Value == nil {
		return []byte("null"), nil
	}
	return json.Marshal(*n.Value)
}

// NullString is a Nullable holding s.
func NullString(s string) Nullable { return Nullable{Set: true, Value: &s} }

// SubnetInput creates a subnet.
type SubnetInput struct {
	NetworkID       string        `json:"network_id"`
	Name            string        `json:"name,omitempty"`
	Description     string        `json:"description,omitempty"`
	IPVersion       int           `json:"ip_version,omitempty"` // 4 (the default; IPv6 is not supported yet)
	CIDR            string        `json:"cidr"`
	GatewayIP       Nullable      `json:"gateway_ip,omitzero"` // absent: the first address; null: none
	AllocationPools []PoolRequest `json:"allocation_pools,omitempty"`
	DNSNameservers  []string      `json:"dns_nameservers,omitempty"`
	EnableDHCP      *bool         `json:"enable_dhcp,omitempty"` // default true
}

// SubnetUpdate changes a subnet; nil fields stay. The CIDR and pools of a
// subnet in use do not change.
type SubnetUpdate struct {
	Name           *string   `json:"name,omitempty"`
	Description    *string   `json:"description,omitempty"`
	DNSNameservers *[]string `json:"dns_nameservers,omitempty"`
	EnableDHCP     *bool     `json:"enable_dhcp,omitempty"`
}

// Subnet limits.
const (
	maxDNSNameservers = 5
	maxPools          = 16
	minPrefixBits     = 8  // a /8 at most …
	maxPrefixBits     = 30 // … and a /30 at least: two usable addresses
)

// parseCIDR checks a subnet's CIDR: IPv4, no host bits, /8 to /30.
func parseCIDR(p Problems, raw string) (netip.Prefix, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		p.Add("cidr", "is required, e.g. 10.0.0.0/24")
		return netip.Prefix{}, false
	}
	pfx, err := netip.ParsePrefix(raw)
	switch {
	case err != nil:
		p.Add("cidr", "is not an IPv4 CIDR such as 10.0.0.0/24")
	case !pfx.Addr().Is4():
		p.Add("cidr", "only IPv4 subnets are supported for now")
	case pfx.Masked() != pfx:
		p.Addf("cidr", "has host bits set: did you mean %s?", pfx.Masked())
	case pfx.Bits() < minPrefixBits || pfx.Bits() > maxPrefixBits:
		p.Addf("cidr", "must be a /%d to a /%d", minPrefixBits, maxPrefixBits)
	default:
		return pfx, true
	}
	return netip.Prefix{}, false
}

// usable reports whether a is a host address of pfx (not its network or
// broadcast address).
func usable(pfx netip.Prefix, a netip.Addr) bool {
	return pfx.Contains(a) && a != pfx.Addr() && a != lastAddr(pfx)
}

// lastAddr is pfx's broadcast address.
func lastAddr(pfx netip.Prefix) netip.Addr {
	b := pfx.Addr().As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n |= 1<<(32-pfx.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// CreateSubnet adds an IPv4 subnet to a network of the caller's project
// (operators: any network). A CIDR overlapping another subnet of the same
// network is refused; other networks may reuse it.
func (s *Store) CreateSubnet(ctx context.Context, c Caller, in SubnetInput) (Subnet, error) {
	p := Problems{}
	if strings.TrimSpace(in.NetworkID) == "" {
		p.Add("network_id", "is required")
	}
	sn, pfx := checkSubnet(p, &in)
	if err := p.Err(); err != nil {
		return Subnet{}, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error { return s.insertSubnet(tx, c, &sn, pfx, in.NetworkID) })
	if err != nil {
		return Subnet{}, err
	}
	_ = sn.AfterFind(nil)
	return sn, nil
}

// checkSubnet validates a subnet request and returns the subnet it
// describes (no network yet) and its parsed CIDR.
func checkSubnet(p Problems, in *SubnetInput) (Subnet, netip.Prefix) {
	in.Name = strings.TrimSpace(in.Name)
	p.Text("name", in.Name, 255)
	p.Text("description", in.Description, 255)
	if in.IPVersion != 0 && in.IPVersion != 4 {
		p.Add("ip_version", "only IPv4 (4) is supported for now")
	}
	pfx, ok := parseCIDR(p, in.CIDR)
	var sn Subnet
	if ok {
		sn = Subnet{CIDR: pfx.String()}
		sn.Gateway, sn.AllocationPools = checkGatewayAndPools(p, pfx, in.GatewayIP, in.AllocationPools)
	}
	sn.DNSNameservers = checkNameservers(p, in.DNSNameservers)
	sn.ID, sn.Name, sn.Description, sn.IPVersion = newID(), in.Name, in.Description, 4
	sn.EnableDHCP = in.EnableDHCP == nil || *in.EnableDHCP
	return sn, pfx
}

// insertSubnet writes sn on the caller's network (operators: any) unless
// it overlaps another subnet of that network, counted against the subnets
// quota.
func (s *Store) insertSubnet(tx *gorm.DB, c Caller, sn *Subnet, pfx netip.Prefix, networkID string) error {
	n, err := s.ownNetwork(tx, c, networkID)
	if errors.Is(err, ErrNotFound) {
		return Invalid("network_id", "no such network")
	} else if err != nil {
		return err
	}
	sn.NetworkID, sn.ProjectID = n.ID, n.ProjectID
	var others []Subnet
	if err := tx.Where("network_id = ?", n.ID).Find(&others).Error; err != nil {
		return fmt.Errorf("read subnets: %w", err)
	}
	for _, o := range others {
		if o.Prefix().Overlaps(pfx) {
			return Invalidf("cidr", "overlaps subnet %s (%s) of this network", displayName(o.Name, o.ID), o.CIDR)
		}
	}
	if err := s.lockProject(tx, n.ProjectID); err != nil {
		return err
	}
	if err := s.checkQuota(tx, n.ProjectID, Usage{Subnets: 1}); err != nil {
		return err
	}
	now := s.now()
	sn.CreatedAt, sn.UpdatedAt = now, now
	if err := tx.Create(sn).Error; err != nil {
		return fmt.Errorf("insert subnet: %w", err)
	}
	return bumpNetworkRevision(tx)
}

// checkGatewayAndPools validates the gateway and pools against the CIDR and
// fills in Neutron's defaults: the first address as gateway, and one pool of
// every usable address but the gateway.
func checkGatewayAndPools(p Problems, pfx netip.Prefix, gw Nullable, asked []PoolRequest) (string, []AllocationPool) {
	gateway := ""
	switch {
	case !gw.Set:
		gateway = pfx.Addr().Next().String()
	case gw.Value == nil || *gw.Value == "":
	default:
		a, err := netip.ParseAddr(strings.TrimSpace(*gw.Value))
		if err != nil || !a.Is4() {
			p.Add("gateway_ip", "is not an IPv4 address")
		} else if !usable(pfx, a) {
			p.Addf("gateway_ip", "must be a host address of %s", pfx)
		} else {
			gateway = a.String()
		}
	}
	pools := make([]AllocationPool, len(asked))
	for i, a := range asked {
		pools[i] = AllocationPool(a)
	}
	if len(pools) > maxPools {
		p.Addf("allocation_pools", "at most %d pools", maxPools)
		return gateway, nil
	}
	if len(pools) == 0 {
		first, last := pfx.Addr().Next(), lastAddr(pfx).Prev()
		gwa, _ := netip.ParseAddr(gateway)
		switch {
		case gateway == "":
			pools = []AllocationPool{{first.String(), last.String()}}
		case gwa == first:
			pools = []AllocationPool{{first.Next().String(), last.String()}}
		case gwa == last:
			pools = []AllocationPool{{first.String(), last.Prev().String()}}
		default:
			pools = []AllocationPool{{first.String(), gwa.Prev().String()}, {gwa.Next().String(), last.String()}}
		}
		return gateway, pools
	}
	type rng struct{ lo, hi netip.Addr }
	var seen []rng
	out := make([]AllocationPool, 0, len(pools))
	for i, pl := range pools {
		lo, err1 := netip.ParseAddr(strings.TrimSpace(pl.Start))
		hi, err2 := netip.ParseAddr(strings.TrimSpace(pl.End))
		field := fmt.Sprintf("allocation_pools[%d]", i)
		switch {
		case err1 != nil || err2 != nil || !lo.Is4() || !hi.Is4():
			p.Add(field, "start and end must be IPv4 addresses")
			continue
		case !usable(pfx, lo) || !usable(pfx, hi):
			p.Addf(field, "%s–%s is not inside %s (its network and broadcast addresses excluded)", lo, hi, pfx)
			continue
		case hi.Less(lo):
			p.Add(field, "start is after end")
			continue
		}
		if gw, err := netip.ParseAddr(gateway); err == nil && !gw.Less(lo) && !hi.Less(gw) {
			p.Addf(field, "contains the gateway %s", gateway)
			continue
		}
		for _, r := range seen {
			if !hi.Less(r.lo) && !r.hi.Less(lo) {
				p.Add(field, "overlaps another pool")
			}
		}
		seen = append(seen, rng{lo, hi})
		out = append(out, AllocationPool{lo.String(), hi.String()})
	}
	return gateway, out
}

func checkNameservers(p Problems, in []string) []string {
	out := []string{}
	if len(in) > maxDNSNameservers {
		p.Addf("dns_nameservers", "at most %d", maxDNSNameservers)
		return out
	}
	for _, ns := range in {
		a, err := netip.ParseAddr(strings.TrimSpace(ns))
		if err != nil || !a.Is4() {
			p.Addf("dns_nameservers", "%q is not an IPv4 address", ns)
			continue
		}
		out = append(out, a.String())
	}
	return out
}

// SubnetFilter narrows ListSubnets: a subnet matches a filter holding one
// of its values (none: every subnet).
type SubnetFilter struct {
	ListOptions
	Match
	NetworkID []string
	CIDR      []string // exact, as the subnet was written
}

// ListSubnets lists the subnets of the networks the caller may see, by
// name.
func (s *Store) ListSubnets(ctx context.Context, c Caller, f SubnetFilter) (Page[Subnet], error) {
	q := s.db.WithContext(ctx).Model(&Subnet{})
	if !c.IsSystemAdmin() {
		q = q.Where("subnets.network_id IN (?)", visibleNetworks(s.db.WithContext(ctx).Table("networks").Select("networks.id"), c, false))
	}
	q = anyOf(q, "subnets.network_id", f.NetworkID)
	q = anyOf(q, "subnets.cidr", f.CIDR)
	q = f.Match.where(q, "subnets")
	p, err := pageByName(q, "subnets", f.ListOptions, func(sn Subnet) string { return sn.ID })
	if err != nil {
		return p, fmt.Errorf("list subnets: %w", err)
	}
	return p, nil
}

// GetSubnet finds a subnet of a network the caller may see.
func (s *Store) GetSubnet(ctx context.Context, c Caller, id string) (Subnet, error) {
	return s.getSubnet(s.db.WithContext(ctx), c, id)
}

func (s *Store) getSubnet(tx *gorm.DB, c Caller, ref string) (Subnet, error) {
	q := tx.Model(&Subnet{})
	if !c.IsSystemAdmin() {
		q = q.Where("subnets.network_id IN (?)", visibleNetworks(tx.Session(&gorm.Session{NewDB: true}).Table("networks").Select("networks.id"), c, false))
	}
	return takeRef[Subnet](byRef(q, "subnets", ref), "subnet", ref)
}

// UpdateSubnet changes a subnet's name, description, DNS servers or DHCP.
func (s *Store) UpdateSubnet(ctx context.Context, c Caller, id string, in SubnetUpdate) (Subnet, error) {
	p := Problems{}
	if in.Name != nil {
		*in.Name = strings.TrimSpace(*in.Name)
		p.Text("name", *in.Name, 255)
	}
	if in.Description != nil {
		p.Text("description", *in.Description, 255)
	}
	var dns []string
	if in.DNSNameservers != nil {
		dns = checkNameservers(p, *in.DNSNameservers)
	}
	if err := p.Err(); err != nil {
		return Subnet{}, err
	}
	var sn Subnet
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if sn, err = s.getSubnet(s.forUpdate(tx), c, id); err != nil {
			return err
		}
		if sn.ProjectID != c.ProjectID && !c.IsSystemAdmin() {
			return forbidden("subnet %s belongs to another project", displayName(sn.Name, sn.ID))
		}
		set := map[string]any{"updated_at": s.now()}
		if in.Name != nil {
			set["name"] = *in.Name
		}
		if in.Description != nil {
			set["description"] = *in.Description
		}
		if in.DNSNameservers != nil {
			b, _ := json.Marshal(dns)
			set["dns_nameservers"] = string(b)
		}
		if in.EnableDHCP != nil {
			set["enable_dhcp"] = *in.EnableDHCP
		}
		if err := tx.Model(&Subnet{}).Where("id = ?", sn.ID).Updates(set).Error; err != nil {
			return fmt.Errorf("update subnet: %w", err)
		}
		return bumpNetworkRevision(tx)
	})
	if err != nil {
		return sn, err
	}
	return s.GetSubnet(ctx, c, sn.ID)
}

// DeleteSubnet removes a subnet that no port holds an address of (other
// than Stratus' own DHCP ports, whose addresses go with it).
func (s *Store) DeleteSubnet(ctx context.Context, c Caller, id string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		sn, err := s.getSubnet(s.forUpdate(tx), c, id)
		if err != nil {
			return err
		}
		if sn.ProjectID != c.ProjectID && !c.IsSystemAdmin() {
			return forbidden("subnet %s belongs to another project", displayName(sn.Name, sn.ID))
		}
		if r, err := subnetRouter(tx, sn.ID); err != nil {
			return err
		} else if r != "" {
			return conflict("subnet %s is attached to router %s: remove the router interface first", displayName(sn.Name, sn.ID), r)
		}
		var inUse int64
		if err := tx.Table("ip_allocations").Joins("JOIN ports ON ports.id = ip_allocations.port_id").
			Where("ip_allocations.subnet_id = ? AND ports.device_owner <> ?", sn.ID, DeviceOwnerDHCP).Count(&inUse).Error; err != nil {
			return fmt.Errorf("count allocations: %w", err)
		}
		if inUse > 0 {
			return conflict("subnet %s has %d address(es) in use: delete those ports first", displayName(sn.Name, sn.ID), inUse)
		}
		if err := tx.Exec("DELETE FROM ip_allocations WHERE subnet_id = ?", sn.ID).Error; err != nil {
			return fmt.Errorf("free DHCP addresses: %w", err)
		}
		if err := tx.Where("id = ?", sn.ID).Delete(&Subnet{}).Error; err != nil {
			return fmt.Errorf("delete subnet: %w", err)
		}
		return bumpNetworkRevision(tx)
	})
}
