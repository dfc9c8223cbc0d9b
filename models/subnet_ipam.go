package models

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"gorm.io/gorm"
)

// IPAM: fixed IPs are rows of ip_allocations whose primary key (subnet,
// address) makes a duplicate impossible. A port's addresses are picked
// while the subnet's row is locked (MySQL: SELECT … FOR UPDATE; SQLite: the
// transaction's write lock), so concurrent requests queue per subnet instead
// of colliding, and a full subnet is a clear 409.

// FixedIP is one address of a port (Neutron's fixed_ips item).
type FixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

// FixedIPRequest is a fixed IP a request asks for: a subnet alone (any of
// its addresses), an address alone (whichever subnet holds it), or both.
type FixedIPRequest struct {
	SubnetID  string `json:"subnet_id,omitempty"`
	IPAddress string `json:"ip_address,omitempty"`
}

// ipAllocation is a row of ip_allocations.
type ipAllocation struct {
	SubnetID  string
	IPAddress string `gorm:"column:ip_address"`
	PortID    string
	NetworkID string
}

func (ipAllocation) TableName() string { return "ip_allocations" }

// allocateIPs picks the port's fixed IPs on network n and inserts them.
// With no request, the port gets one address from the first subnet (by
// age) that has one free; a network without subnets gives ports none.
func (s *Store) allocateIPs(tx *gorm.DB, n Network, portID string, want []FixedIPRequest, field string) ([]FixedIP, error) {
	var subnets []Subnet
	if err := s.forUpdate(tx.Where("network_id = ?", n.ID)).Order("created_at, id").Find(&subnets).Error; err != nil {
		return nil, fmt.Errorf("lock subnets: %w", err)
	}
	if len(want) == 0 {
		if len(subnets) == 0 {
			return []FixedIP{}, nil
		}
		for i, sn := range subnets {
			a, err := s.nextFree(tx, sn, nil)
			if err == errSubnetFull && i < len(subnets)-1 {
				continue
			}
			if err == errSubnetFull {
				return nil, conflict("no free address on network %s: its subnets are full", displayName(n.Name, n.ID))
			}
			if err != nil {
				return nil, err
			}
			return s.insertIPs(tx, n, portID, []FixedIP{{SubnetID: sn.ID, IPAddress: a.String()}}, field)
		}
	}
	byID := map[string]Subnet{}
	for _, sn := range subnets {
		byID[sn.ID] = sn
	}
	p := Problems{}
	out := make([]FixedIP, 0, len(want))
	asked := map[string]bool{} // the addresses this request takes
	// An automatic address never takes one the request names further on.
	named := map[string]bool{}
	for _, w := range want {
		if a, err := netip.ParseAddr(strings.TrimSpace(w.IPAddress)); err == nil {
			named[a.String()] = true
		}
	}
	for i, w := range want {
		f := fmt.Sprintf("%s[%d]", field, i)
		var sn Subnet
		var ok bool
		var addr netip.Addr
		if w.IPAddress != "" {
			var err error
			if addr, err = netip.ParseAddr(strings.TrimSpace(w.IPAddress)); err != nil || !addr.Is4() {
				p.Add(f+".ip_address", "is not an IPv4 address")
				continue
			}
		}
		switch {
		case w.SubnetID != "":
			if sn, ok = byID[w.SubnetID]; !ok {
				p.Add(f+".subnet_id", "is not a subnet of this network")
				continue
			}
		case addr.IsValid():
			for _, cand := range subnets {
				if cand.Prefix().Contains(addr) {
					sn, ok = cand, true
				}
			}
			if !ok {
				p.Addf(f+".ip_address", "%s is in none of the network's subnets", addr)
				continue
			}
		default:
			p.Add(f, "give a subnet_id, an ip_address, or both")
			continue
		}
		if !addr.IsValid() {
			a, err := s.nextFree(tx, sn, func(a string) bool { return asked[a] || named[a] })
			if err == errSubnetFull {
				return nil, conflict("subnet %s (%s) has no free address", displayName(sn.Name, sn.ID), sn.CIDR)
			}
			if err != nil {
				return nil, err
			}
			asked[a.String()] = true
			out = append(out, FixedIP{SubnetID: sn.ID, IPAddress: a.String()})
			continue
		}
		pfx := sn.Prefix()
		switch {
		case !usable(pfx, addr):
			p.Addf(f+".ip_address", "%s is not a host address of subnet %s", addr, pfx)
			continue
		case addr.String() == sn.Gateway:
			p.Addf(f+".ip_address", "%s is the subnet's gateway", addr)
			continue
		case asked[addr.String()]:
			p.Add(f+".ip_address", "is asked for twice")
			continue
		}
		var taken int64
		if err := tx.Model(&ipAllocation{}).Where("subnet_id = ? AND ip_address = ?", sn.ID, addr.String()).Count(&taken).Error; err != nil {
			return nil, fmt.Errorf("check address: %w", err)
		}
		if taken > 0 {
			p.Addf(f+".ip_address", "%s is already in use", addr)
			continue
		}
		asked[addr.String()] = true
		out = append(out, FixedIP{SubnetID: sn.ID, IPAddress: addr.String()})
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return s.insertIPs(tx, n, portID, out, field)
}

func (s *Store) insertIPs(tx *gorm.DB, n Network, portID string, ips []FixedIP, field string) ([]FixedIP, error) {
	if len(ips) == 0 {
		return []FixedIP{}, nil
	}
	rows := make([]ipAllocation, len(ips))
	for i, ip := range ips {
		rows[i] = ipAllocation{SubnetID: ip.SubnetID, IPAddress: ip.IPAddress, PortID: portID, NetworkID: n.ID}
	}
	if err := tx.Create(&rows).Error; err != nil {
		if isDuplicate(err) {
			// Only a writer that skipped the subnet lock could get here.
			return nil, Invalid(field, "an address was taken meanwhile: try again")
		}
		return nil, fmt.Errorf("insert addresses: %w", err)
	}
	return ips, nil
}

var errSubnetFull = fmt.Errorf("subnet full")

// nextFree finds the lowest free address of a subnet's pools that skip
// (when set) does not claim for the request at hand. The caller
// holds the subnet's lock.
func (s *Store) nextFree(tx *gorm.DB, sn Subnet, skip func(string) bool) (netip.Addr, error) {
	var used []string
	if err := tx.Model(&ipAllocation{}).Where("subnet_id = ?", sn.ID).Pluck("ip_address", &used).Error; err != nil {
		return netip.Addr{}, fmt.Errorf("read addresses: %w", err)
	}
	taken := make(map[netip.Addr]bool, len(used))
	for _, u := range used {
		if a, err := netip.ParseAddr(u); err == nil {
			taken[a] = true
		}
	}
	for _, pl := range sn.AllocationPools {
		lo, err1 := netip.ParseAddr(pl.Start)
		hi, err2 := netip.ParseAddr(pl.End)
		if err1 != nil || err2 != nil {
			continue
		}
		for a := lo; !hi.Less(a); a = a.Next() {
			if !taken[a] && (skip == nil || !skip(a.String())) {
				return a, nil
			}
		}
	}
	return netip.Addr{}, errSubnetFull
}

// freeIPs releases every address of the given ports.
func freeIPs(tx *gorm.DB, portIDs []string) error {
	if len(portIDs) == 0 {
		return nil
	}
	if err := tx.Where("port_id IN ?", portIDs).Delete(&ipAllocation{}).Error; err != nil {
		return fmt.Errorf("free addresses: %w", err)
	}
	return nil
}

// sortFixedIPs orders a port's addresses by subnet, then numerically.
func sortFixedIPs(ips []FixedIP) {
	sort.Slice(ips, func(i, j int) bool {
		if ips[i].SubnetID != ips[j].SubnetID {
			return ips[i].SubnetID < ips[j].SubnetID
		}
		a, _ := netip.ParseAddr(ips[i].IPAddress)
		b, _ := netip.ParseAddr(ips[j].IPAddress)
		return a.Less(b)
	})
}
