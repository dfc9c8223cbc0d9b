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

// BenchmarkLinuxRouters (make bench, as root) measures one router in a
// host namespace: how long from the apply that associates a floating IP
// until an outside namespace reaches a "guest" listening behind it (the
// driver's part; the agent adds up to --network-sync-interval before it),
// and how long an apply takes with N floating IPs on the router — the one
// that adds the Nth (the router's nat table rewritten, one address added)
// and a restarted driver's first (every rule and address checked and
// written) — up to the first N where it exceeds 1 s.
func BenchmarkLinuxRouters(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	for _, bin := range []string{"iptables-restore", "ipset", "dnsmasq", "busybox"} {
		if _, err := exec.LookPath(bin); err != nil {
			b.Skip("needs " + bin)
		}
	}
	ctx := context.Background()
	tag := fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff)
	host, outside, guest := "stn-brh-"+tag, "stn-bro-"+tag, "stn-brg-"+tag
	defer func() {
		_ = exec.Command("sh", "-c", "kill $(cat /tmp/stn-brnc-"+tag+") 2>/dev/null; rm -f /tmp/stn-brnc-"+tag).Run()
		for _, ns := range []string{host, outside, guest} {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	}()
	run := func(script string) {
		if out, err := exec.Command("sh", "-ec", script).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	const netID, port, group = "nbench00-0000-4000-8000-000000000001", "pbench00-0000-4000-8000-000000000001", "gbench00-0000-4000-8000-000000000001"
	run(fmt.Sprintf(`ip netns add %[1]s; ip -n %[1]s link set lo up
ip -n %[1]s link add brext type bridge; ip -n %[1]s link set brext up
ip netns add %[2]s; ip -n %[2]s link set lo up
ip -n %[1]s link add out0 type veth peer name eth0 netns %[2]s
ip -n %[1]s link set out0 master brext up
ip -n %[2]s addr add 198.18.0.1/15 dev eth0; ip -n %[2]s link set eth0 up
ip netns add %[3]s; ip -n %[3]s link set lo up
ip -n %[1]s link add %[4]s type veth peer name eth0 netns %[3]s
ip -n %[3]s link set eth0 address fa:16:3e:be:00:01 up
ip -n %[3]s addr add 10.77.0.11/16 dev eth0; ip -n %[3]s route add default via 10.77.0.1
ip netns exec %[3]s sh -c 'busybox nc -ll -p 8080 -e /bin/true >/dev/null 2>&1 & echo $! > /tmp/stn-brnc-%[5]s'`,
		host, outside, guest, hostnet.TapName(port), tag))
	dir := b.TempDir()
	d, err := linux.New(linux.Config{NetNS: "/run/netns/" + host, StateDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	defer d.Apply(ctx, hostnet.HostState{}) //nolint:errcheck
	// The external network is 198.18.0.0/15 (RFC 2544's benchmarking
	// range): room for thousands of floating IPs.
	fip := func(i int) string { return fmt.Sprintf("198.18.%d.%d", 1+i/250, i%250+1) }
	state := func(n int) hostnet.HostState {
		r := hostnet.Router{ID: "rbench00-0000-4000-8000-000000000001",
			Gateway: &hostnet.RouterGateway{PortID: "qbench00-0000-4000-8000-000000000001", NetworkID: "ebench00", MAC: "fa:16:3e:be:ee:01",
				Address: netip.MustParsePrefix("198.18.0.10/15"), NextHop: "198.18.0.1", SNAT: true},
			Interfaces: []hostnet.RouterInterface{{PortID: "ibench00-0000-4000-8000-000000000001", NetworkID: netID, MAC: "fa:16:3e:be:01:01",
				Addrs: []netip.Prefix{netip.MustParsePrefix("10.77.0.1/16")}}}}
		for i := 0; i < n; i++ { // the first is the listening guest's; the others point at addresses nobody has
			r.FloatingIPs = append(r.FloatingIPs, hostnet.FloatingIP{FloatingIP: fip(i), FixedIP: fmt.Sprintf("10.77.%d.%d", 1+i/250, i%250+1)})
		}
		if n > 0 {
			r.FloatingIPs[0].FixedIP = "10.77.0.11"
		}
		return hostnet.HostState{ExternalInterface: "brext", Networks: []hostnet.Network{{ID: netID, VNI: 1, MTU: 1500}},
			Ports:   []hostnet.Port{{ID: port, NetworkID: netID, MAC: "fa:16:3e:be:00:01", IPs: []string{"10.77.0.11"}, PortSecurity: true, Groups: []string{group}}},
			Rules:   map[string][]hostnet.Rule{group: {{Group: group, Direction: "egress"}, {Group: group, Direction: "ingress", Protocol: "tcp", PortMin: 8080, PortMax: 8080}}},
			Groups:  map[string][]string{},
			Routers: []hostnet.Router{r}}
	}
	if _, err := d.Apply(ctx, state(0)); err != nil {
		b.Fatal(err)
	}
	run(fmt.Sprintf("ip -n %s link set %s master %s up", host, hostnet.TapName(port), hostnet.BridgeName(netID)))
	t0 := time.Now()
	if _, err := d.Apply(ctx, state(1)); err != nil {
		b.Fatal(err)
	}
	applied := time.Since(t0)
	for {
		if exec.Command("ip", "netns", "exec", outside, "busybox", "nc", "-w", "1", fip(0), "8080").Run() == nil {
			break
		}
		if time.Since(t0) > 10*time.Second {
			b.Fatal("the floating IP never answered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds()), "ms/associate-to-reachable")
	b.Logf("associate → reachable at the floating IP: %v (apply %v)", time.Since(t0), applied)
	over := 0
	for _, n := range []int{10, 100, 500, 1000, 2000, 4000, 8000, 16000, 32000} {
		if _, err := d.Apply(ctx, state(n-1)); err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		if _, err := d.Apply(ctx, state(n)); err != nil {
			b.Fatal(err)
		}
		one := time.Since(t0)
		restarted, err := linux.New(linux.Config{NetNS: "/run/netns/" + host, StateDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		if _, err := restarted.Apply(ctx, state(n)); err != nil {
			b.Fatal(err)
		}
		cold := time.Since(t0)
		restarted.Close()
		b.ReportMetric(float64(one.Milliseconds()), fmt.Sprintf("ms/associate-%d-fips", n))
		b.ReportMetric(float64(cold.Milliseconds()), fmt.Sprintf("ms/restart-apply-%d-fips", n))
		b.Logf("%d floating IPs on one router: the apply adding the last %v, a restarted driver's first apply %v", n, one, cold)
		if one > time.Second || cold > time.Second {
			over = n
			break
		}
	}
	if over > 0 {
		b.ReportMetric(float64(over), "fips-at-which-apply>1s")
	} else {
		b.Logf("no apply exceeded 1 s up to 32,000 floating IPs")
	}
}
