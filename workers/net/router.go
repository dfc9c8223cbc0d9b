package net

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"sort"
	"strings"
)

// Routers (Neutron's legacy L3 router, one per namespace). The host that
// carries a router (see models/router_host.go: routers are spread over the
// hosts with an external interface and moved off hosts that go down) gives
// it a network namespace qrouter-<router id> with
//   - per interface port a veth: qr-<port[:11]> inside, with the subnets'
//     gateway addresses, and tap<port[:11]> on the tenant network's bridge;
//   - for the gateway a veth: qg-<port[:11]> inside, with the router's
//     external address and its floating IPs (/32, so that they answer ARP
//     on the external network), and tap<port[:11]> on the external bridge;
//   - each address that appears on a leg announced from it by gratuitous
//     ARP, so that neighbours holding it at another MAC update at once;
//   - the default route via the external subnet's gateway, the router's
//     extra routes, and IP forwarding;
//   - the nat table: DNAT of each floating IP to its fixed IP, SNAT of the
//     fixed IP to its floating IP on the way out, SNAT of the router's
//     subnets to the gateway address, no NAT between the router's subnets
//     (east-west is routed), and SNAT to the gateway address of what a
//     guest sends to a floating IP of its own router (hairpin; the mangle
//     table marks what comes from outside, which keeps its source); the
//     filter table drops what comes in on the
//     gateway for the tenant subnets unless it was DNATted to a floating
//     IP or answers a connection from inside — another project's router
//     on the same external network cannot route into this one's subnets.
// The rules are in chains of Stratus' own (stratus-*) jumped to from the
// built-in chains of the namespace. Security groups stay on the compute
// hosts' bridges: a packet for a floating IP reaches the guest's tap with
// its outside source address, through the port's ingress chain.

// Router is one router the host carries.
type Router struct {
	ID          string
	Gateway     *RouterGateway // nil: east-west only
	Interfaces  []RouterInterface
	FloatingIPs []FloatingIP
	Routes      []RouterRoute
}

// RouterGateway is a router's leg on the external network.
type RouterGateway struct {
	PortID    string
	NetworkID string
	MAC       string
	Address   netip.Prefix // with the external subnet's length
	NextHop   string       // the external subnet's gateway ("" = none)
	SNAT      bool
}

// RouterInterface is a router's leg on a tenant network: one port, with
// the gateway address of each of its subnets.
type RouterInterface struct {
	PortID    string
	NetworkID string
	MAC       string
	MTU       int
	Addrs     []netip.Prefix
}

// FloatingIP is a floating IP the router translates to a fixed IP.
type FloatingIP struct {
	FloatingIP string
	FixedIP    string
}

// RouterRoute is an extra route of the router.
type RouterRoute struct {
	Destination string
	NextHop     string
}

// RouterNamespace is the name of a router's namespace (Neutron's).
func RouterNamespace(routerID string) string { return "qrouter-" + routerID }

// RouterInterfaceName and RouterGatewayName are a router's devices inside
// its namespace; their peers on the bridges are TapName(port).
func RouterInterfaceName(portID string) string { return "qr-" + short(portID) }
func RouterGatewayName(portID string) string   { return "qg-" + short(portID) }

// Chains of a router's namespace.
const (
	ChainRouterPre   = "stratus-PREROUTING"
	ChainRouterOut   = "stratus-OUTPUT"
	ChainRouterPost  = "stratus-POSTROUTING"
	ChainRouterFloat = "stratus-float-snat"
	ChainRouterSNAT  = "stratus-snat"
	ChainRouterFwd   = "stratus-FORWARD"
	ChainRouterMark  = "stratus-mark" // mangle: marks what comes in from outside
	markOutside      = "0x2/0xffff"
)

// RouterRules is a router's namespace's iptables-restore input (nat and
// filter tables): our chains declared (and so flushed) and rewritten in
// one atomic commit per table, and the built-in chains' jumps to them. The
// namespace holds nothing but Stratus' router, so the built-in chains are
// rewritten too — a restart leaves each jump exactly once.
func RouterRules(r Router) string {
	var b strings.Builder
	c := func(s string) string { return comment("stratus router " + r.ID + " " + s) }
	b.WriteString("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n")
	for _, ch := range []string{ChainRouterPre, ChainRouterOut, ChainRouterPost, ChainRouterFloat, ChainRouterSNAT} {
		b.WriteString(":" + ch + " - [0:0]\n")
	}
	b.WriteString("-A PREROUTING " + c("jump") + " -j " + ChainRouterPre + "\n")
	b.WriteString("-A OUTPUT " + c("jump") + " -j " + ChainRouterOut + "\n")
	b.WriteString("-A POSTROUTING " + c("jump") + " -j " + ChainRouterPost + "\n")
	fips := append([]FloatingIP(nil), r.FloatingIPs...)
	sort.Slice(fips, func(i, j int) bool { return fips[i].FloatingIP < fips[j].FloatingIP })
	if g := r.Gateway; g != nil {
		qg := RouterGatewayName(g.PortID)
		for _, f := range fips {
			fc := c("floating ip " + f.FloatingIP)
			b.WriteString("-A " + ChainRouterPre + " -d " + f.FloatingIP + "/32 " + fc + " -j DNAT --to-destination " + f.FixedIP + "\n")
			b.WriteString("-A " + ChainRouterOut + " -d " + f.FloatingIP + "/32 " + fc + " -j DNAT --to-destination " + f.FixedIP + "\n")
			b.WriteString("-A " + ChainRouterFloat + " -s " + f.FixedIP + "/32 -o " + qg + " " + fc + " -j SNAT --to-source " + f.FloatingIP + "\n")
		}
		// Between the router's own subnets (and what it DNATted in):
		// routed, untranslated.
		b.WriteString("-A " + ChainRouterPost + " ! -o " + qg + " -m conntrack ! --ctstate DNAT " + c("east-west") + " -j ACCEPT\n")
		// Hairpin: a guest reaching a floating IP of its own router gets
		// the answer back through the router (as from the gateway
		// address); what came in from outside keeps its source.
		b.WriteString("-A " + ChainRouterPost + " ! -o " + qg + " -m mark ! --mark " + markOutside + " -m conntrack --ctstate DNAT " +
			c("hairpin") + " -j SNAT --to-source " + g.Address.Addr().String() + "\n")
		b.WriteString("-A " + ChainRouterPost + " " + c("floating ips") + " -j " + ChainRouterFloat + "\n")
		b.WriteString("-A " + ChainRouterPost + " " + c("snat") + " -j " + ChainRouterSNAT + "\n")
		if g.SNAT {
			for _, sn := range routerSubnets(r) {
				b.WriteString("-A " + ChainRouterSNAT + " -s " + sn + " -o " + qg + " " + c("snat "+sn) + " -j SNAT --to-source " + g.Address.Addr().String() + "\n")
			}
		}
	}
	b.WriteString("COMMIT\n")
	b.WriteString("*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n")
	b.WriteString(":" + ChainRouterMark + " - [0:0]\n")
	b.WriteString("-A PREROUTING " + c("jump") + " -j " + ChainRouterMark + "\n")
	if g := r.Gateway; g != nil {
		b.WriteString("-A " + ChainRouterMark + " -i " + RouterGatewayName(g.PortID) + " " + c("from outside") + " -j MARK --set-xmark " + markOutside + "\n")
	}
	b.WriteString("COMMIT\n")
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:" + ChainRouterFwd + " - [0:0]\n")
	b.WriteString("-A FORWARD " + c("jump") + " -j " + ChainRouterFwd + "\n")
	if g := r.Gateway; g != nil {
		qg := RouterGatewayName(g.PortID)
		// From outside: answers to connections made from inside, and
		// what a floating IP's DNAT let in; nothing routed straight at a
		// tenant address.
		b.WriteString("-A " + ChainRouterFwd + " -i " + qg + " -m conntrack --ctstate RELATED,ESTABLISHED,DNAT " + c("from outside") + " -j ACCEPT\n")
		b.WriteString("-A " + ChainRouterFwd + " -i " + qg + " " + c("from outside") + " -j DROP\n")
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// RouterRulesHash identifies a router's rules, to rewrite only what changed.
func RouterRulesHash(r Router) string {
	h := sha256.Sum256([]byte(RouterRules(r)))
	return hex.EncodeToString(h[:8])
}

// routerSubnets are the CIDRs of the router's interfaces, sorted.
func routerSubnets(r Router) []string {
	var out []string
	for _, i := range r.Interfaces {
		for _, a := range i.Addrs {
			out = append(out, a.Masked().String())
		}
	}
	return sortedSet(out)
}

// RouterGatewayAddrs are the addresses of the gateway device: the
// router's own, then each floating IP as a /32.
func RouterGatewayAddrs(g RouterGateway, fips []FloatingIP) []netip.Prefix {
	out := []netip.Prefix{g.Address}
	for _, f := range fips {
		if a, err := netip.ParseAddr(f.FloatingIP); err == nil {
			out = append(out, netip.PrefixFrom(a, 32))
		}
	}
	return out
}
