package net

import (
	"net/netip"
	"strings"
	"testing"
)

func TestRouterRules(t *testing.T) {
	r := Router{ID: "r1",
		Gateway: &RouterGateway{PortID: "gw000000000000", NetworkID: "ext", Address: netip.MustParsePrefix("203.0.113.10/24"), NextHop: "203.0.113.1", SNAT: true},
		Interfaces: []RouterInterface{{PortID: "if000000000000", NetworkID: "n1", Addrs: []netip.Prefix{netip.MustParsePrefix("10.1.0.1/24")}},
			{PortID: "if111111111111", NetworkID: "n2", Addrs: []netip.Prefix{netip.MustParsePrefix("10.2.0.1/24")}}},
		FloatingIPs: []FloatingIP{{FloatingIP: "203.0.113.100", FixedIP: "10.1.0.11"}}}
	tests := []struct {
		name      string
		mutate    func(*Router)
		want, not []string
	}{
		{"floating IP and SNAT", func(*Router) {}, []string{
			"-A stratus-PREROUTING -d 203.0.113.100/32 -m comment --comment \"stratus router r1 floating ip 203.0.113.100\" -j DNAT --to-destination 10.1.0.11",
			"-A stratus-float-snat -s 10.1.0.11/32 -o qg-gw000000000 ",
			"-j SNAT --to-source 203.0.113.100",
			"-A stratus-snat -s 10.1.0.0/24 -o qg-gw000000000 ",
			"-A stratus-snat -s 10.2.0.0/24 -o qg-gw000000000 ",
			"-j SNAT --to-source 203.0.113.10",
			"-A stratus-FORWARD -i qg-gw000000000 -m comment --comment \"stratus router r1 from outside\" -j DROP",
		}, nil},
		{"SNAT off", func(r *Router) { r.Gateway.SNAT = false }, []string{"--to-source 203.0.113.100", "hairpin\" -j SNAT --to-source 203.0.113.10\n"}, []string{"-A stratus-snat"}},
		{"no gateway", func(r *Router) { r.Gateway = nil }, []string{"-A FORWARD "}, []string{"DNAT", "SNAT", "-j DROP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := r
			g := *r.Gateway
			c.Gateway = &g
			tt.mutate(&c)
			got := RouterRules(c)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("unexpected %q in\n%s", n, got)
				}
			}
		})
	}
	// The host's firewall lets the router's legs pass.
	fw := Render(HostState{Routers: []Router{r}}, nil)
	fwd := strings.Join(fw.Chains[ChainForward], "\n")
	for _, w := range []string{"--physdev-in tapif000000000", "--physdev-in tapif111111111", "--physdev-in tapgw000000000", "--physdev-out tapgw000000000"} {
		if !strings.Contains(fwd, w) {
			t.Errorf("stratus-FORWARD lacks %q:\n%s", w, fwd)
		}
	}
}
