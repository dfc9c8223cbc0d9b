package net

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Chain names. Every chain and set Stratus makes starts with "stratus-";
// nothing else is ever flushed, deleted or reordered. iptables limits chain
// names to 28 characters, ipset set names to 31.
const (
	ChainPrefix  = "stratus-"
	ChainForward = "stratus-FORWARD"  // jumped to from FORWARD for bridged traffic
	ChainSG      = "stratus-sg-chain" // dispatches to the ports' chains
)

// IngressChain, EgressChain and SpoofChain are a port's chains.
func IngressChain(portID string) string { return "stratus-i" + short(portID) }
func EgressChain(portID string) string  { return "stratus-o" + short(portID) }
func SpoofChain(portID string) string   { return "stratus-s" + short(portID) }

// SetName is the ipset of a remote group's members' addresses.
func SetName(groupID string) string {
	return "stratus-" + strings.ReplaceAll(groupID, "-", "")[:20]
}

// ForwardJump is the one rule Stratus adds to the FORWARD chain (at the
// top, once): bridged traffic goes through Stratus' chains.
func ForwardJump() []string {
	return []string{"-m", "physdev", "--physdev-is-bridged", "-m", "comment", "--comment", "stratus security groups", "-j", ChainForward}
}

// GroupsChain is the chain of one set of security groups and one
// direction ("i" ingress, "o" egress): the rules of every group in the set,
// then DROP. Every port with the same groups shares it, so a rule change
// rewrites one chain however many ports the groups have (the port chains
// only jump to it). Its name is a hash of the set, never of the rules, so
// the port chains do not change when the rules do.
func GroupsChain(dir string, groups []string) string {
	h := sha256.Sum256([]byte(strings.Join(sortedSet(groups), ",")))
	return "stratus-g" + dir + hex.EncodeToString(h[:])[:16]
}

func sortedSet(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	kept := out[:0]
	for i, g := range out {
		if i == 0 || g != out[i-1] {
			kept = append(kept, g)
		}
	}
	return kept
}

// Firewall is the rendered filter table of a host: each of Stratus'
// chains with its rules (iptables-restore syntax, without "-A chain"), and
// the ipsets the rules use.
type Firewall struct {
	Chains map[string][]string
	Order  []string // chains in the order they are written
	Sets   map[string][]string
}

// Rules counts the rules of every chain.
func (f Firewall) Rules() int {
	n := 0
	for _, c := range f.Chains {
		n += len(c)
	}
	return n
}

// ChainHash identifies a chain's content, to rewrite only what changed.
func (f Firewall) ChainHash(name string) string {
	h := sha256.Sum256([]byte(strings.Join(f.Chains[name], "\n")))
	return hex.EncodeToString(h[:8])
}

func comment(s string) string {
	if len(s) > 255 { // the comment match's limit
		s = s[:255]
	}
	return `-m comment --comment "` + s + `"`
}

// Render builds the host's firewall from its ports: Neutron's iptables
// firewall driver, in Stratus' chains.
//
//	FORWARD → stratus-FORWARD (bridged traffic) → stratus-sg-chain for a
//	port's traffic → stratus-i<port> (to the port) and stratus-o<port>
//	(from the port, through stratus-s<port>: its MAC and IPs only) → goto
//	the port's groups' chain stratus-g{i,o}<set> → RETURN (allowed; on
//	to the other end's chain when both ports are here) or DROP; ACCEPT in
//	stratus-sg-chain when both ends returned.
//
// In each port chain, conntrack's ESTABLISHED,RELATED come first, then
// DHCP: a guest may ask, the DHCP servers may answer, a guest answering is
// dropped. The groups' rules live in chains shared by the ports with the
// same groups (see GroupsChain). infra lists the devices of the host's own
// DHCP servers and tunnels, whose traffic among themselves passes.
// st.Groups gives the members of the remote groups the rules name (their
// ipsets).
func Render(st HostState, infra []string) Firewall {
	f := Firewall{Chains: map[string][]string{}, Sets: map[string][]string{}}
	sorted := append([]Port(nil), st.Ports...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	var fwd, sg, groupChains []string
	for _, p := range sorted {
		tap := TapName(p.ID)
		c := comment("stratus port " + p.ID)
		out := "-m physdev --physdev-out " + tap + " --physdev-is-bridged " + c
		in := "-m physdev --physdev-in " + tap + " --physdev-is-bridged " + c
		if !p.PortSecurity {
			fwd = append(fwd, out+" -j ACCEPT", in+" -j ACCEPT")
			continue
		}
		fwd = append(fwd, out+" -j "+ChainSG, in+" -j "+ChainSG)
		sg = append(sg, out+" -j "+IngressChain(p.ID), in+" -j "+EgressChain(p.ID))
		for _, dir := range []string{"i", "o"} {
			name := GroupsChain(dir, p.Groups)
			if _, ok := f.Chains[name]; !ok {
				f.Chains[name] = f.groupsChain(st, dir, p.Groups)
				groupChains = append(groupChains, name)
			}
		}
		f.Chains[IngressChain(p.ID)] = []string{
			"-m state --state RELATED,ESTABLISHED " + c + " -j RETURN",
			"-m state --state INVALID " + c + " -j DROP",
			"-p udp -m udp --sport 67 --dport 68 " + comment("stratus port "+p.ID+" dhcp reply") + " -j RETURN",
			c + " -g " + GroupsChain("i", p.Groups),
		}
		f.Chains[EgressChain(p.ID)] = []string{
			"-p udp -m mac --mac-source " + strings.ToUpper(p.MAC) + " -m udp --sport 68 --dport 67 " + comment("stratus port "+p.ID+" dhcp request") + " -j RETURN",
			c + " -j " + SpoofChain(p.ID),
			"-p udp -m udp --sport 67 --dport 68 " + comment("stratus port "+p.ID+" no dhcp server") + " -j DROP",
			"-m state --state RELATED,ESTABLISHED " + c + " -j RETURN",
			"-m state --state INVALID " + c + " -j DROP",
			c + " -g " + GroupsChain("o", p.Groups),
		}
		var spoof []string
		for _, ip := range p.IPs {
			spoof = append(spoof, "-s "+ip+"/32 -m mac --mac-source "+strings.ToUpper(p.MAC)+" "+c+" -j RETURN")
		}
		f.Chains[SpoofChain(p.ID)] = append(spoof, c+" -j DROP")
		f.Order = append(f.Order, SpoofChain(p.ID), IngressChain(p.ID), EgressChain(p.ID))
	}
	sort.Strings(groupChains)
	f.Order = append(groupChains, f.Order...)
	sortedInfra := append([]string(nil), infra...)
	var gateways []string
	for _, r := range st.Routers {
		// A router's legs: what it routes to a guest meets the guest's
		// ingress chain above; what it sends or receives on the external
		// bridge is not a port's business.
		for _, i := range r.Interfaces {
			sortedInfra = append(sortedInfra, TapName(i.PortID))
		}
		if r.Gateway != nil {
			sortedInfra = append(sortedInfra, TapName(r.Gateway.PortID))
			gateways = append(gateways, TapName(r.Gateway.PortID))
		}
	}
	sort.Strings(sortedInfra)
	sort.Strings(gateways)
	for _, dev := range sortedInfra {
		c := comment("stratus infra " + dev)
		fwd = append(fwd, "-m physdev --physdev-in "+dev+" --physdev-is-bridged "+c+" -j ACCEPT")
	}
	for _, dev := range gateways {
		c := comment("stratus router gateway " + dev)
		fwd = append(fwd, "-m physdev --physdev-out "+dev+" --physdev-is-bridged "+c+" -j ACCEPT")
	}
	sg = append(sg, comment("stratus allowed")+" -j ACCEPT")
	f.Chains[ChainForward], f.Chains[ChainSG] = fwd, sg
	f.Order = append(f.Order, ChainSG, ChainForward)
	return f
}

// groupsChain renders the rules of a set of groups in one direction
// (RETURN = allowed), then DROP; the same match from two groups is one
// rule.
func (f Firewall) groupsChain(st HostState, dir string, groups []string) []string {
	direction := "ingress"
	if dir == "o" {
		direction = "egress"
	}
	set := sortedSet(groups)
	var rules []Rule
	for _, g := range set {
		for _, r := range st.Rules[g] {
			if r.Direction == direction {
				r.Group = g
				rules = append(rules, r)
			}
		}
	}
	var out []string
	for _, r := range sortedRules(rules) {
		spec, ipset := ruleSpec(r)
		if ipset != "" {
			f.Sets[ipset] = append([]string{}, st.Groups[r.RemoteGroup]...)
		}
		out = append(out, spec+comment("stratus group "+r.Group)+" -j RETURN")
	}
	name := "stratus groups " + strings.Join(set, ",")
	if len(set) == 0 {
		name = "stratus no group"
	}
	return append(out, comment(name)+" -j DROP")
}

// sortedRules orders rules by their fields (compareRules) and keeps one
// rule of each match: the same match from two groups is one rule, with the
// first group's comment.
func sortedRules(rules []Rule) []Rule {
	out := append([]Rule(nil), rules...)
	slices.SortStableFunc(out, compareRules)
	seen := map[Rule]bool{}
	kept := out[:0]
	for _, r := range out {
		match := r
		match.Group = "" // what it matches, whichever group it is of
		if !seen[match] {
			seen[match] = true
			kept = append(kept, r)
		}
	}
	return kept
}

// compareRules orders rules by group, direction, protocol, ports (as
// numbers), remote address and remote group.
func compareRules(a, b Rule) int {
	return cmp.Or(
		strings.Compare(a.Group, b.Group),
		strings.Compare(a.Direction, b.Direction),
		strings.Compare(a.Protocol, b.Protocol),
		cmp.Compare(a.PortMin, b.PortMin),
		cmp.Compare(a.PortMax, b.PortMax),
		strings.Compare(a.RemoteIP, b.RemoteIP),
		strings.Compare(a.RemoteGroup, b.RemoteGroup),
	)
}

// ruleSpec is the match of one rule, and the ipset it uses (if any).
func ruleSpec(r Rule) (string, string) {
	var b strings.Builder
	remote := "-s "
	dir := "src"
	if r.Direction == "egress" {
		remote, dir = "-d ", "dst"
	}
	set := ""
	switch {
	case r.RemoteIP != "":
		b.WriteString(remote + r.RemoteIP + " ")
	case r.RemoteGroup != "":
		set = SetName(r.RemoteGroup)
		b.WriteString("-m set --match-set " + set + " " + dir + " ")
	}
	if r.Protocol != "" {
		b.WriteString("-p " + r.Protocol + " ")
		if (r.Protocol == "tcp" || r.Protocol == "udp") && r.PortMin > 0 {
			b.WriteString("-m " + r.Protocol + " --dport " + strconv.Itoa(r.PortMin))
			if r.PortMax > r.PortMin {
				b.WriteString(":" + strconv.Itoa(r.PortMax))
			}
			b.WriteString(" ")
		}
	}
	return b.String(), set
}

// RestoreInput is the iptables-restore --noflush input that rewrites the
// given chains (declaring a chain flushes it, in one atomic commit with its
// new rules) and deletes the stale ones (after everything that jumped to
// them was rewritten).
func (f Firewall) RestoreInput(write []string, remove []string) string {
	var b strings.Builder
	b.WriteString("*filter\n")
	for _, c := range write {
		b.WriteString(":" + c + " - [0:0]\n")
	}
	for _, c := range remove {
		b.WriteString(":" + c + " - [0:0]\n")
	}
	for _, c := range write {
		for _, r := range f.Chains[c] {
			b.WriteString("-A " + c + " " + r + "\n")
		}
	}
	for _, c := range remove {
		b.WriteString("-X " + c + "\n")
	}
	b.WriteString("COMMIT\n")
	return b.String()
}
