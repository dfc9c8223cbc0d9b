// Package net is the host network driver interface the compute agent
// drives, after Neutron's Linux-bridge agent: per network present on the
// host a bridge brq<network id[:11]> joined to the other hosts by a VXLAN
// device vxlan-<vni>, per network a DHCP server (dnsmasq with static host
// entries only) for the host's own ports, and per port iptables chains of
// Stratus' own (prefix stratus-) for its security groups and against
// spoofing. The agent computes the whole desired state of its host from
// the database and hands it to Apply, which converges the host to it —
// idempotently, so that it runs at agent start (OSSN-0022: a restart
// rewrites the same rules atomically, never leaving a port unfiltered or a
// rule twice), after every change, and again whenever in doubt.
//
// Drivers live in sub-packages: linux (netlink, iptables-restore through
// go-iptables' binaries, ipset, dnsmasq) and fake (in memory, for
// `--driver fake` and the scale tests). The firewall's rules are rendered
// here, once, for both.
package net

import (
	"context"
	"net/netip"
	"strconv"
)

// Names of the devices a host has for networks and ports. Linux limits
// interface names to 15 characters; Neutron's prefixes plus 11 characters
// of the ID fit.
func BridgeName(networkID string) string { return "brq" + short(networkID) }

// TapName is the device of a port: libvirt creates it for an instance's
// NIC (target dev), the DHCP server's veth has the same shape.
func TapName(portID string) string { return "tap" + short(portID) }

// VXLANName is the VXLAN device of a network's segment on every host.
func VXLANName(vni int) string { return "vxlan-" + strconv.Itoa(vni) }

func short(id string) string {
	if len(id) > 11 {
		return id[:11]
	}
	return id
}

// HostState is everything a host's networking should be.
type HostState struct {
	// TunnelAddress is this host's underlay address (VXLAN source).
	TunnelAddress string
	Networks      []Network
	// Ports are the instances' ports on this host.
	Ports []Port
	// Rules are the allow rules of each security group a port here is in.
	Rules map[string][]Rule
	// Groups maps each remote group a rule names to its members' IPs.
	Groups map[string][]string
	// ExternalInterface is the bridge (or interface, which the driver
	// then puts on a bridge of the external network) the routers'
	// gateways plug into: --external-interface.
	ExternalInterface string
	// Routers are the routers this host carries (see router.go).
	Routers []Router
}

// Network is one network present on the host.
type Network struct {
	ID    string
	VNI   int
	MTU   int
	Peers []string // tunnel addresses of the other hosts with ports on it
	DHCP  *DHCP    // nil: no DHCP server here (no subnet with DHCP)
}

// DHCP is a network's DHCP server on this host: its own port (a veth into
// a namespace of its own) and the hosts it answers for — this host's ports
// only, from IPAM.
type DHCP struct {
	PortID  string
	MAC     string
	Addrs   []netip.Prefix // the DHCP port's addresses, with their subnets' lengths
	Subnets []DHCPSubnet
	Hosts   []DHCPHost
}

// DHCPSubnet is what DHCP tells a guest on one subnet.
type DHCPSubnet struct {
	CIDR    netip.Prefix
	Gateway string   // "" = no router
	DNS     []string // name servers
	MTU     int
}

// DHCPHost is one static lease.
type DHCPHost struct {
	MAC      string
	IP       string
	Hostname string
}

// Port is an instance's port on this host.
type Port struct {
	ID           string
	NetworkID    string
	MAC          string
	IPs          []string
	PortSecurity bool     // false: no filtering at all (Neutron's port_security_enabled)
	Groups       []string // its security groups (their rules: HostState.Rules)
}

// Rule is one allow rule of a security group, as the firewall applies it.
type Rule struct {
	Group       string // the group it belongs to (for the rule's comment)
	Direction   string // ingress or egress
	Protocol    string // tcp, udp, icmp, a number, or "" for any
	PortMin     int    // 0: every port
	PortMax     int
	RemoteIP    string // a CIDR, or "" for anywhere
	RemoteGroup string // a group whose members' IPs match, or ""
}

// Stats say what one Apply did.
type Stats struct {
	Networks       int // networks present
	Ports          int // ports filtered
	Rules          int // iptables rules of Stratus' chains
	ChainsWritten  int // chains (re)written by this apply
	SetsWritten    int // ipsets (re)written
	Routers        int // routers present
	FloatingIPs    int // floating IPs translated
	RoutersWritten int // routers whose rules this apply (re)wrote
}

// Driver is a host's network.
type Driver interface {
	Name() string
	// Check says whether the host can filter bridged traffic (bridged
	// frames must pass through iptables), with an error an operator can
	// act on.
	Check(ctx context.Context) error
	// Apply converges the host to st: missing bridges, tunnels, DHCP
	// servers and chains made, changed ones rewritten, leftovers of
	// deleted networks and ports removed. Only what Stratus owns is ever
	// touched.
	Apply(ctx context.Context, st HostState) (Stats, error)
	Close() error
}
