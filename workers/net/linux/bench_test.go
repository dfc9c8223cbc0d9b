package linux_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	hostnet "stratus/workers/net"
	"stratus/workers/net/linux"
)

// BenchmarkLinuxDriver (make bench, as root) measures on one host
// namespace: creating a network (bridge, VXLAN, DHCP server), plugging one
// port on an existing bridge, and applying one security-group rule change
// to 1, 100 and 1,000 ports (every port's ingress chain rewritten in one
// iptables-restore batch), with the iptables rules per port.
func BenchmarkLinuxDriver(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	for _, bin := range []string{"iptables-restore", "ipset", "dnsmasq"} {
		if _, err := exec.LookPath(bin); err != nil {
			b.Skip("needs " + bin)
		}
	}
	ctx := context.Background()
	ns := fmt.Sprintf("stn-bench-%04x", time.Now().UnixNano()&0xffff)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		b.Fatalf("%v %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	d, err := linux.New(linux.Config{NetNS: "/run/netns/" + ns, StateDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	defer d.Apply(ctx, hostnet.HostState{}) //nolint:errcheck
	network := func(id string) hostnet.Network {
		return hostnet.Network{ID: id, VNI: 100, MTU: 1450, DHCP: &hostnet.DHCP{PortID: "dddddddd-0000-4000-8000-000000000000",
			MAC: "fa:16:3e:00:00:dd", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.2/16")},
			Subnets: []hostnet.DHCPSubnet{{CIDR: netip.MustParsePrefix("10.0.0.0/16"), Gateway: "10.0.0.1", MTU: 1450}}}}
	}
	ports := func(n int) []hostnet.Port {
		out := make([]hostnet.Port, n)
		for i := range out {
			out[i] = hostnet.Port{ID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", i+1), NetworkID: netID,
				MAC: fmt.Sprintf("fa:16:3e:00:%02x:%02x", (i+1)>>8, (i+1)&0xff), IPs: []string{fmt.Sprintf("10.0.%d.%d", (i+10)/250, (i+10)%250+1)},
				PortSecurity: true, Groups: []string{group}}
		}
		return out
	}
	rules := func(extra ...hostnet.Rule) map[string][]hostnet.Rule {
		return map[string][]hostnet.Rule{group: append([]hostnet.Rule{{Group: group, Direction: "egress"},
			{Group: group, Direction: "ingress", RemoteGroup: group},
			{Group: group, Direction: "ingress", Protocol: "tcp", PortMin: 22, PortMax: 22}}, extra...)}
	}
	st := hostnet.HostState{Networks: []hostnet.Network{network(netID)}, Rules: rules(), Groups: map[string][]string{group: {"10.0.0.5"}}}
	t0 := time.Now()
	if _, err := d.Apply(ctx, st); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds()), "ms/network-create")
	st.Ports = ports(1)
	t0 = time.Now()
	s1, err := d.Apply(ctx, st)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds()), "ms/port-plug")
	for _, n := range []int{1, 100, 1000} {
		st.Ports, st.Rules = ports(n), rules()
		s0, err := d.Apply(ctx, st)
		if err != nil {
			b.Fatal(err)
		}
		if n == 1000 {
			// The rules every port adds (its chains and its jumps); the
			// groups' own chains are shared by all of them.
			b.ReportMetric(float64(s0.Rules-s1.Rules)/999, "rules/port")
		}
		st.Rules = rules(hostnet.Rule{Group: group, Direction: "ingress", Protocol: "tcp", PortMin: 80, PortMax: 80})
		t0 = time.Now()
		s, err := d.Apply(ctx, st)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(t0).Milliseconds()), fmt.Sprintf("ms/rule-change-%d-ports", n))
		b.Logf("%d ports: one rule change rewrote %d chains (%d rules in all) in %v", n, s.ChainsWritten, s.Rules, time.Since(t0))
	}
}
