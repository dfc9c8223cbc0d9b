package pages

import (
	"strconv"
	"strings"

	"stratus/models"
	"stratus/views/ui"
)

// NetworksProps is the project's network list with its topology drawing.
type NetworksProps struct {
	Rows      []NetworkRow
	Pager     ui.PagerLinks
	CanCreate bool
	Topology  Topology
}

// NetworkRow is one network of the list: its subnets and how many of the
// project's ports are on it.
type NetworkRow struct {
	Net     models.Network
	Subnets []models.Subnet
	Ports   int
	Own     bool // the caller's project's (not another's shared one)
}

// NetworkNewProps is the form that creates a network with its first
// subnet.
type NetworkNewProps struct {
	Form     ui.Form
	CanShare bool // operators may share a network with every project
	Quotas   []QuotaMeter
	CSRF     string
}

// NetworkDetailProps is one network's page: subnets, ports, actions.
type NetworkDetailProps struct {
	Net        models.Network
	Subnets    []models.Subnet
	Ports      []PortRow
	Own        bool // the caller may change it (its project's, or an operator)
	CanDelete  bool
	CanSubnet  bool // add and delete subnets
	CanShare   bool // operators
	SubnetForm ui.Form
	CSRF       string
	Here       string
}

// PortRow is a port with the instance it belongs to, when it is one.
type PortRow struct {
	Port     models.Port
	Instance string // the instance's name; "" when the device is not an instance
}

// Polling reports whether the page refreshes itself: a port of an
// instance is not plugged yet.
func (p NetworkDetailProps) Polling() bool {
	for _, pt := range p.Ports {
		if pt.Instance != "" && pt.Port.Status != models.PortActive {
			return true
		}
	}
	return false
}

// SecurityGroupsProps is the project's security group list.
type SecurityGroupsProps struct {
	Rows      []models.SecurityGroup
	Pager     ui.PagerLinks
	CanCreate bool
	CanDelete bool
	Form      ui.Form
	CSRF      string
	Here      string
}

// SecurityGroupDetailProps is a group's page with its rules editor.
type SecurityGroupDetailProps struct {
	Group     models.SecurityGroup
	Rules     RulesProps
	CanDelete bool
	CSRF      string
}

// RulesProps is the rules editor: the group's rules, the form adding one
// (with its errors), and the names of the groups a rule may name as its
// remote end.
type RulesProps struct {
	GroupID   string
	Rules     []models.SecurityGroupRule
	Groups    []models.SecurityGroup // the project's groups (remote group choices)
	Form      ui.Form
	CanCreate bool
	CanDelete bool
	CSRF      string
}

// GroupName is the name of a group of the project, or its short ID.
func (p RulesProps) GroupName(id string) string {
	for _, g := range p.Groups {
		if g.ID == id {
			return g.Name
		}
	}
	return short(id)
}

// InstanceNetworkProps is the networking card of an instance's page: its
// ports with their addresses, its security groups, and the form that
// changes them.
type InstanceNetworkProps struct {
	InstanceID string
	Ports      []InstancePort
	Groups     []models.SecurityGroup // the instance's
	Choices    []models.SecurityGroup // the project's, for the form
	CanChange  bool
	CanFloat   bool // associate and disassociate floating IPs
	CSRF       string
	Here       string
}

// InstancePort is a port of an instance with its network's name.
type InstancePort struct {
	Port     models.Port
	Network  string
	Floating []models.FloatingIP // the floating IPs pointing at its addresses
}

// HasGroup reports whether the instance is in a group.
func (p InstanceNetworkProps) HasGroup(id string) bool {
	for _, g := range p.Groups {
		if g.ID == id {
			return true
		}
	}
	return false
}

// FixedIPs are a port's addresses, comma-separated.
func FixedIPs(pt models.Port) string {
	out := make([]string, len(pt.FixedIPs))
	for i, ip := range pt.FixedIPs {
		out[i] = ip.IPAddress
	}
	return strings.Join(out, ", ")
}

// RuleProtocol is a rule's protocol for people ("any" for none).
func RuleProtocol(r models.SecurityGroupRule) string {
	if r.Protocol == "" {
		return "any"
	}
	return r.Protocol
}

// RulePorts is a rule's port range for people.
func RulePorts(r models.SecurityGroupRule) string {
	switch {
	case r.PortRangeMin == nil && r.PortRangeMax == nil:
		if r.Protocol == models.ProtocolTCP || r.Protocol == models.ProtocolUDP {
			return "any"
		}
		return "—"
	case r.PortRangeMax == nil || *r.PortRangeMin == *r.PortRangeMax:
		return strconv.Itoa(*r.PortRangeMin)
	}
	return strconv.Itoa(*r.PortRangeMin) + "–" + strconv.Itoa(*r.PortRangeMax)
}

// NetworkStatusTone colours a network or port status.
func NetworkStatusTone(status string) ui.Tone {
	switch status {
	case models.NetworkActive:
		return ui.Green
	case models.PortBuild:
		return ui.Blue
	}
	return ui.Gray
}
