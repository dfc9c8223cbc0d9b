package net

import (
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
