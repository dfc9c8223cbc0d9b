package net

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestRenderSharesGroupChains(t *testing.T) {
	const g1, g2 = "11111111-0000-4000-8000-000000000001", "22222222-0000-4000-8000-000000000002"
	st := HostState{
		Ports: []Port{
			{ID: "aaaaaaaa-0000-4000-8000-000000000001", MAC: "fa:16:3e:00:00:01", IPs: []string{"10.0.0.5"}, PortSecurity: true, Groups: []string{g1}},
			{ID: "bbbbbbbb-0000-4000-8000-000000000002", MAC: "fa:16:3e:00:00:02", IPs: []string{"10.0.0.6"}, PortSecurity: true, Groups: []string{g1}},
			{ID: "cccccccc-0000-4000-8000-000000000003", MAC: "fa:16:3e:00:00:03", IPs: []string{"10.0.0.7"}, PortSecurity: true, Groups: []string{g2, g1}},
			{ID: "dddddddd-0000-4000-8000-000000000004", MAC: "fa:16:3e:00:00:04", IPs: []string{"10.0.0.8"}},
		},
		Rules: map[string][]Rule{
			g1: {{Direction: "egress"}, {Direction: "ingress", RemoteGroup: g1}},
			g2: {{Direction: "ingress", Protocol: "tcp", PortMin: 22, PortMax: 22}, {Direction: "egress"}},
		},
		Groups: map[string][]string{g1: {"10.0.0.5", "10.0.0.6", "10.0.0.7"}},
	}
	fw := Render(st, []string{"vxlan-7"})
	in1 := GroupsChain("i", []string{g1})
	if in1 != GroupsChain("i", []string{g1, g1}) || GroupsChain("i", []string{g1, g2}) != GroupsChain("i", []string{g2, g1}) {
		t.Fatal("a set's chain name depends on order or repeats")
	}
	// Two ports of group 1 jump to one chain; the port in both groups to
	// another, which has both groups' rules (egress "any" once).
	for _, p := range st.Ports[:2] {
		if got := fw.Chains[IngressChain(p.ID)]; !strings.HasSuffix(got[len(got)-1], "-g "+in1) {
			t.Fatalf("port %s ingress ends %q, want a goto to %s", p.ID, got[len(got)-1], in1)
		}
	}
	both := fw.Chains[GroupsChain("o", []string{g1, g2})]
	if len(both) != 2 || !strings.HasSuffix(both[1], "-j DROP") {
		t.Fatalf("egress of both groups: %q", both)
	}
	if got := fw.Chains[GroupsChain("i", []string{g1, g2})]; len(got) != 3 || !strings.Contains(strings.Join(got, "\n"), "--dport 22") {
		t.Fatalf("ingress of both groups: %q", got)
	}
	if members := fw.Sets[SetName(g1)]; len(members) != 3 {
		t.Fatalf("remote group set %v", members)
	}
	// The port without port security is accepted, with no chains of its own.
	if _, ok := fw.Chains[IngressChain(st.Ports[3].ID)]; ok {
		t.Fatal("a port without port security has chains")
	}
	for name, rules := range fw.Chains {
		for _, r := range rules {
			if !strings.Contains(r, `--comment "stratus `) {
				t.Fatalf("rule without a stratus comment in %s: %s", name, r)
			}
		}
	}
	// A rule change rewrites the groups' chain, not the ports'.
	before := map[string]string{}
	for name := range fw.Chains {
		before[name] = fw.ChainHash(name)
	}
	st.Rules[g1] = append(st.Rules[g1], Rule{Direction: "ingress", Protocol: "tcp", PortMin: 80, PortMax: 80})
	after := Render(st, []string{"vxlan-7"})
	var changed []string
	for name := range after.Chains {
		if before[name] != after.ChainHash(name) {
			changed = append(changed, name)
		}
	}
	if len(changed) != 2 { // group 1's ingress chain and that of groups 1+2
		t.Fatalf("a rule change rewrote %v", changed)
	}
	for _, c := range changed {
		if !strings.HasPrefix(c, "stratus-gi") {
			t.Fatalf("a rule change rewrote %s", c)
		}
	}
}

// oldRuleKey is what rules were sorted by before compareRules: their
// fields run together in one string.
func oldRuleKey(r Rule) string {
	return r.Group + r.Direction + r.Protocol + strconv.Itoa(r.PortMin) + strconv.Itoa(r.PortMax) + r.RemoteIP + r.RemoteGroup
}

// keyTellsApart reports whether oldRuleKey ordered a and b by the first
// field they differ in: that field's two texts are not one a beginning of
// the other (else the next field's text decided), and ports have as many
// digits (else "22" came before "3").
func keyTellsApart(a, b Rule) bool {
	fa := []string{a.Group, a.Direction, a.Protocol, strconv.Itoa(a.PortMin), strconv.Itoa(a.PortMax), a.RemoteIP, a.RemoteGroup}
	fb := []string{b.Group, b.Direction, b.Protocol, strconv.Itoa(b.PortMin), strconv.Itoa(b.PortMax), b.RemoteIP, b.RemoteGroup}
	for i := range fa {
		x, y := fa[i], fb[i]
		if x == y {
			continue
		}
		if strings.HasPrefix(x, y) || strings.HasPrefix(y, x) {
			return false
		}
		return i != 3 && i != 4 || len(x) == len(y)
	}
	return true // the same rule
}

// TestRulesSortByTheirFieldsAsBefore: comparing rules field by field
// keeps the order the run-together string gave wherever that string told
// the fields apart; where it did not, the fields decide (port 3 before
// port 22, a rule without a remote before one with).
func TestRulesSortByTheirFieldsAsBefore(t *testing.T) {
	const g1, g2 = "11111111-0000-4000-8000-000000000001", "22222222-0000-4000-8000-000000000002"
	var rules []Rule
	for _, group := range []string{g1, g2} {
		for _, dir := range []string{"ingress", "egress"} {
			for _, proto := range []string{"", "tcp", "udp", "icmp", "47"} {
				for _, ports := range [][2]int{{0, 0}, {22, 22}, {80, 80}, {443, 443}, {1000, 2000}, {3, 3}} {
					for _, remote := range [][2]string{{"", ""}, {"10.0.0.0/8", ""}, {"192.168.1.0/24", ""}, {"", g2}} {
						rules = append(rules, Rule{Group: group, Direction: dir, Protocol: proto, PortMin: ports[0], PortMax: ports[1], RemoteIP: remote[0], RemoteGroup: remote[1]})
					}
				}
			}
		}
	}
	checked, pairs := 0, 0
	for _, a := range rules {
		for _, b := range rules {
			pairs++
			if !keyTellsApart(a, b) {
				continue
			}
			checked++
			if got, want := compareRules(a, b), strings.Compare(oldRuleKey(a), oldRuleKey(b)); got != want {
				t.Fatalf("compareRules(%+v, %+v) = %d, the old key said %d", a, b, got, want)
			}
		}
	}
	if checked < pairs/2 {
		t.Fatalf("only %d of %d pairs compared", checked, pairs)
	}
	sorted := sortedRules([]Rule{
		{Group: g2, Direction: "ingress", Protocol: "tcp", PortMin: 22, PortMax: 22},
		{Group: g1, Direction: "ingress", Protocol: "tcp", PortMin: 22, PortMax: 22, RemoteIP: "10.0.0.0/8"},
		{Group: g1, Direction: "ingress", Protocol: "tcp", PortMin: 3, PortMax: 3},
		{Group: g1, Direction: "ingress", Protocol: "tcp", PortMin: 22, PortMax: 22},
	})
	var got []string
	for _, r := range sorted {
		got = append(got, fmt.Sprintf("%s:%d:%s", r.Group[:1], r.PortMin, r.RemoteIP))
	}
	// Port 3 first; port 22 from anywhere once, with group 1's comment.
	if want := "1:3: 1:22: 1:22:10.0.0.0/8"; strings.Join(got, " ") != want {
		t.Errorf("sorted %v, want %s", got, want)
	}
}
