package linux_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	hostnet "stratus/workers/net"
	"stratus/workers/net/linux"
)

// Routers on real kernel parts, inside namespaces the test makes: one
// "host" namespace carrying two projects' routers, an external bridge on
// it with an "outside" namespace (203.0.113.1, the external subnet's
// gateway), and "guests" — veth ends in namespaces of their own on the
// tenant bridges, exactly as libvirt plugs a tap. Project A's router joins
// two subnets and has a floating IP; project B's has one subnet.

const (
	rtA, rtB     = "ra000000-0000-4000-8000-00000000000a", "rb000000-0000-4000-8000-00000000000b"
	netA1, netA2 = "na100000-0000-4000-8000-0000000000a1", "na200000-0000-4000-8000-0000000000a2"
	netB1        = "nb100000-0000-4000-8000-0000000000b1"
	extNet       = "ne000000-0000-4000-8000-0000000000ee"
	grpA, grpB   = "ga000000-0000-4000-8000-00000000000a", "gb000000-0000-4000-8000-00000000000b"
	fipA         = "203.0.113.100"
	gwA, gwB     = "203.0.113.10", "203.0.113.20"
)

type rguest struct {
	port, net, mac, ip, gw, group string
}

var rguests = []rguest{
	{"pa100000-0000-4000-8000-0000000000a1", netA1, "fa:16:3e:0a:00:01", "10.1.0.11", "10.1.0.1", grpA},
	{"pa200000-0000-4000-8000-0000000000a2", netA2, "fa:16:3e:0a:00:02", "10.2.0.12", "10.2.0.1", grpA},
	{"pb100000-0000-4000-8000-0000000000b1", netB1, "fa:16:3e:0b:00:01", "10.3.0.11", "10.3.0.1", grpB},
}

// routerState is the host's desired state: fipTo is the guest the
// floating IP goes to (-1: none), open the ingress TCP ports the groups
// allow from anywhere, withB whether project B's router exists.
func routerState(ext string, fipTo int, open []int, withB bool) hostnet.HostState {
	st := hostnet.HostState{ExternalInterface: ext, Rules: map[string][]hostnet.Rule{}, Groups: map[string][]string{}}
	for i, id := range []string{netA1, netA2, netB1} {
		st.Networks = append(st.Networks, hostnet.Network{ID: id, VNI: 100 + i, MTU: 1450})
	}
	for _, g := range rguests {
		st.Ports = append(st.Ports, hostnet.Port{ID: g.port, NetworkID: g.net, MAC: g.mac, IPs: []string{g.ip}, PortSecurity: true, Groups: []string{g.group}})
		st.Groups[g.group] = append(st.Groups[g.group], g.ip)
	}
	for _, grp := range []string{grpA, grpB} {
		rules := []hostnet.Rule{{Group: grp, Direction: "egress"}, {Group: grp, Direction: "ingress", RemoteGroup: grp}}
		for _, p := range open {
			if p != 8080 {
				rules = append(rules, hostnet.Rule{Group: grp, Direction: "ingress", Protocol: "tcp", PortMin: p, PortMax: p})
				continue
			}
			// 8080 only from the outside's address: what comes in at a
			// floating IP keeps its source.
			rules = append(rules, hostnet.Rule{Group: grp, Direction: "ingress", Protocol: "tcp", PortMin: p, PortMax: p, RemoteIP: "203.0.113.1/32"})
		}
		st.Rules[grp] = rules
	}
	a := hostnet.Router{ID: rtA,
		Gateway: &hostnet.RouterGateway{PortID: "qa000000-0000-4000-8000-0000000000ea", NetworkID: extNet, MAC: "fa:16:3e:0a:ee:01",
			Address: netip.MustParsePrefix(gwA + "/24"), NextHop: "203.0.113.1", SNAT: true},
		Interfaces: []hostnet.RouterInterface{
			{PortID: "ia100000-0000-4000-8000-0000000000a1", NetworkID: netA1, MAC: "fa:16:3e:0a:01:01", Addrs: []netip.Prefix{netip.MustParsePrefix("10.1.0.1/24")}},
			{PortID: "ia200000-0000-4000-8000-0000000000a2", NetworkID: netA2, MAC: "fa:16:3e:0a:02:01", Addrs: []netip.Prefix{netip.MustParsePrefix("10.2.0.1/24")}},
		}}
	if fipTo >= 0 {
		a.FloatingIPs = []hostnet.FloatingIP{{FloatingIP: fipA, FixedIP: rguests[fipTo].ip}}
	}
	st.Routers = append(st.Routers, a)
	if withB {
		st.Routers = append(st.Routers, hostnet.Router{ID: rtB,
			Gateway: &hostnet.RouterGateway{PortID: "qb000000-0000-4000-8000-0000000000eb", NetworkID: extNet, MAC: "fa:16:3e:0b:ee:01",
				Address: netip.MustParsePrefix(gwB + "/24"), NextHop: "203.0.113.1", SNAT: true},
			Interfaces: []hostnet.RouterInterface{
				{PortID: "ib100000-0000-4000-8000-0000000000b1", NetworkID: netB1, MAC: "fa:16:3e:0b:01:01", Addrs: []netip.Prefix{netip.MustParsePrefix("10.3.0.1/24")}},
			}})
	}
	return st
}

func TestLinuxRouters(t *testing.T) {
	require(t)
	ctx := context.Background()
	tag := fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff)
	host, outside := "stn-rh-"+tag, "stn-ro-"+tag
	guests := []string{"stn-ra1-" + tag, "stn-ra2-" + tag, "stn-rb1-" + tag}
	t.Cleanup(func() {
		_ = exec.Command("sh", "-c", "kill $(cat /tmp/stn-rnc-"+tag+"-* 2>/dev/null) 2>/dev/null; rm -f /tmp/stn-rnc-"+tag+"-*").Run()
		for _, ns := range append([]string{host, outside}, guests...) {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	// The host with its external bridge; the outside world on it.
	sh(t, fmt.Sprintf(`ip netns add %[1]s; ip -n %[1]s link set lo up
ip -n %[1]s link add brext type bridge; ip -n %[1]s link set brext up
ip netns add %[2]s; ip -n %[2]s link set lo up
ip -n %[1]s link add out0 type veth peer name eth0 netns %[2]s
ip -n %[1]s link set out0 master brext up
ip -n %[2]s addr add 203.0.113.1/24 dev eth0; ip -n %[2]s link set eth0 up`, host, outside))
	for i, g := range rguests {
		sh(t, fmt.Sprintf(`ip netns add %[1]s; ip -n %[1]s link set lo up
ip -n %[2]s link add %[3]s type veth peer name eth0 netns %[1]s
ip -n %[1]s link set eth0 address %[4]s up
ip -n %[1]s addr add %[5]s/24 dev eth0
ip -n %[1]s route add default via %[6]s`, guests[i], host, hostnet.TapName(g.port), g.mac, g.ip, g.gw))
	}
	stateDir := t.TempDir()
	var logs logBuf
	drv, err := linux.New(linux.Config{NetNS: "/run/netns/" + host, StateDir: stateDir, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = drv.Apply(ctx, hostnet.HostState{}); drv.Close() })
	if err := drv.Check(ctx); err != nil {
		t.Fatal(err)
	}
	apply := func(d *linux.Driver, st hostnet.HostState) hostnet.Stats {
		t.Helper()
		t0 := time.Now()
		stats, err := d.Apply(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("applied in %v: %d routers (%d written), %d floating IPs", time.Since(t0), stats.Routers, stats.RoutersWritten, stats.FloatingIPs)
		return stats
	}
	apply(drv, routerState("brext", 0, nil, true))
	for _, g := range rguests {
		sh(t, fmt.Sprintf(`ip -n %s link set %s master %s up`, host, hostnet.TapName(g.port), hostnet.BridgeName(g.net)))
	}
	ping := func(from, to string) error {
		_, err := try(fmt.Sprintf(`ip netns exec %s busybox ping -c 1 -W 2 %s`, from, to))
		return err
	}
	// The outside accepts pings only from src: what it sees as the source.
	outsideAccepts := func(src string) {
		sh(t, fmt.Sprintf(`ip netns exec %[1]s iptables -F INPUT
ip netns exec %[1]s iptables -A INPUT -p icmp --icmp-type echo-request -s %[2]s -j ACCEPT
ip netns exec %[1]s iptables -A INPUT -p icmp --icmp-type echo-request -j DROP`, outside, src))
	}
	listen := func(i, port int) {
		sh(t, fmt.Sprintf(`ip netns exec %[1]s sh -c 'busybox nc -ll -p %[2]d -e /bin/true >/dev/null 2>&1 & echo $! > /tmp/stn-rnc-%[3]s-%[4]d-%[2]d'`,
			guests[i], port, tag, i))
	}
	connect := func(from, addr string, port int) error {
		_, err := try(fmt.Sprintf(`ip netns exec %s busybox nc -w 2 %s %d </dev/null`, from, addr, port))
		return err
	}

	t.Run("snat", func(t *testing.T) {
		// Guest A2 has no floating IP: the outside sees router A's gateway
		// address, and only it.
		outsideAccepts(gwA)
		if err := ping(guests[1], "203.0.113.1"); err != nil {
			t.Fatalf("guest without floating IP → outside, source %s: %v", gwA, err)
		}
		outsideAccepts("203.0.113.0/24")
		if err := ping(guests[2], "203.0.113.1"); err != nil {
			t.Fatalf("project B's guest → outside: %v", err)
		}
		// Guest A1 leaves with its floating IP as source.
		outsideAccepts(fipA)
		if err := ping(guests[0], "203.0.113.1"); err != nil {
			t.Fatalf("guest with floating IP → outside, source %s: %v", fipA, err)
		}
		outsideAccepts("0.0.0.0/0")
	})
	t.Run("east-west", func(t *testing.T) {
		if err := ping(guests[0], rguests[1].ip); err != nil {
			t.Fatalf("A1 → A2 through router A: %v", err)
		}
	})
	t.Run("floating IP behind security groups", func(t *testing.T) {
		listen(0, 8080)
		listen(0, 8082)
		listen(1, 8081)
		time.Sleep(200 * time.Millisecond)
		if err := ping(outside, fipA); err == nil {
			t.Fatal("the floating IP answers a ping without a rule allowing it")
		}
		if connect(outside, fipA, 8080) == nil {
			t.Fatal("tcp/8080 at the floating IP reachable without a rule")
		}
		t0 := time.Now()
		apply(drv, routerState("brext", 0, []int{8080, 8081, 8082}, true))
		if err := connect(outside, fipA, 8080); err != nil {
			t.Fatalf("tcp/8080 at the floating IP after the rule: %v", err)
		}
		t.Logf("rule applied → reachable at the floating IP in %v", time.Since(t0))
		if connect(outside, fipA, 8081) == nil {
			t.Fatal("tcp/8081 answered at the floating IP: it is A1's, and A2 listens there")
		}
		// Hairpin: A1 reaches itself at its floating IP (the answer comes
		// back through the router, not straight from its own address).
		if err := connect(guests[0], fipA, 8082); err != nil {
			t.Fatalf("A1 → its own floating IP (hairpin): %v", err)
		}
		// Re-associated to A2: the floating IP now reaches A2, not A1.
		t0 = time.Now()
		apply(drv, routerState("brext", 1, []int{8080, 8081, 8082}, true))
		var err error
		for i := 0; i < 10; i++ {
			if err = connect(outside, fipA, 8081); err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("tcp/8081 at the moved floating IP: %v", err)
		}
		t.Logf("re-associated → reachable at A2 in %v", time.Since(t0))
		if connect(outside, fipA, 8080) == nil {
			t.Fatal("the moved floating IP still reaches A1")
		}
		// From another subnet of the router, A1 reaches A2 at the
		// floating IP.
		if err := connect(guests[0], fipA, 8081); err != nil {
			t.Fatalf("A1 → the floating IP of A2: %v", err)
		}
		save, _ := drv.RouterSave(ctx, rtA)
		if strings.Contains(save, "--to-destination "+rguests[0].ip) || strings.Count(save, "-j DNAT") != 2 {
			t.Fatalf("router A's nat after the move:\n%s", save)
		}
	})
	t.Run("projects apart", func(t *testing.T) {
		// The outside routes project B's subnet at B's gateway and forwards:
		// neither it nor project A's guest reaches B's fixed address.
		sh(t, fmt.Sprintf(`ip netns exec %[1]s sysctl -qw net.ipv4.ip_forward=1
ip -n %[1]s route add 10.3.0.0/24 via %[2]s
ip -n %[1]s route add 10.1.0.0/16 via %[3]s`, outside, gwB, gwA))
		// B's guest listens on a port its group opens to anyone: only the
		// routers stand in the way.
		listen(2, 8081)
		time.Sleep(200 * time.Millisecond)
		if err := connect(outside, rguests[2].ip, 8081); err == nil {
			t.Fatal("the outside reached project B's fixed address through B's gateway")
		}
		if err := connect(guests[0], rguests[2].ip, 8081); err == nil {
			t.Fatal("project A's guest reached project B's fixed address")
		}
		if err := ping(guests[0], rguests[2].ip); err == nil {
			t.Fatal("project A's guest reached project B's fixed address")
		}
		if err := ping(guests[2], rguests[0].ip); err == nil {
			t.Fatal("project B's guest reached project A's fixed address")
		}
		// (B's guest does reach A's floating IP — it is on the outside —
		// when A's groups let it in.)
		if err := connect(guests[2], fipA, 8081); err != nil {
			t.Fatalf("B's guest → A's floating IP: %v", err)
		}
	})
	t.Run("gratuitous ARP", func(t *testing.T) {
		// The floating IP goes, and the outside keeps an entry for it at
		// another MAC — whatever answered for it before. Associated again,
		// router A announces it: the outside's entry points at A's gateway
		// leg at once, not once it has aged out. (Linux updates an entry it
		// has from a gratuitous request even with arp_accept=0, the
		// default.)
		open := []int{8080, 8081, 8082}
		t.Logf("the outside's arp_accept: %s", strings.TrimSpace(sh(t, "ip netns exec "+outside+" sysctl -n net.ipv4.conf.eth0.arp_accept")))
		apply(drv, routerState("brext", -1, open, true))
		staleNeigh(t, outside, "eth0", fipA)
		bursts := logs.count(`msg="gratuitous ARP"`)
		t0 := time.Now()
		apply(drv, routerState("brext", 1, open, true))
		waitNeigh(t, outside, "eth0", fipA, "fa:16:3e:0a:ee:01", t0, time.Now())
		if n := logs.count(`msg="gratuitous ARP"`) - bursts; n != 1 {
			t.Fatalf("%d bursts for one floating IP, want 1:\n%s", n, logs.String())
		}
		// What is on the legs already is not announced again.
		apply(drv, routerState("brext", 1, open, true))
		if n := logs.count(`msg="gratuitous ARP"`) - bursts; n != 1 {
			t.Fatalf("an apply with nothing new announced again:\n%s", logs.String())
		}
	})
	t.Run("restart and deletion", func(t *testing.T) {
		st := routerState("brext", 1, []int{8080, 8081, 8082}, true)
		beforeA, _ := drv.RouterSave(ctx, rtA)
		beforeB, _ := drv.RouterSave(ctx, rtB)
		beforeHost, _ := drv.Save(ctx)
		restarted, err := linux.New(linux.Config{NetNS: "/run/netns/" + host, StateDir: stateDir})
		if err != nil {
			t.Fatal(err)
		}
		defer restarted.Close()
		if s := apply(restarted, st); s.RoutersWritten != 2 {
			t.Fatalf("a restarted driver rewrote %d routers, want 2", s.RoutersWritten)
		}
		if s := apply(restarted, st); s.RoutersWritten != 0 {
			t.Fatalf("an apply with nothing changed rewrote %d routers", s.RoutersWritten)
		}
		afterA, _ := restarted.RouterSave(ctx, rtA)
		afterB, _ := restarted.RouterSave(ctx, rtB)
		afterHost, _ := restarted.Save(ctx)
		if beforeA != afterA || beforeB != afterB || beforeHost != afterHost {
			t.Fatalf("rules changed across a restart:\nA before:\n%s\nA after:\n%s\nhost before:\n%s\nhost after:\n%s", beforeA, afterA, beforeHost, afterHost)
		}
		// One jump each: nat's PREROUTING, OUTPUT and POSTROUTING, mangle's
		// PREROUTING, filter's FORWARD.
		for ch, want := range map[string]int{"PREROUTING": 2, "OUTPUT": 1, "POSTROUTING": 1, "FORWARD": 1} {
			if n := strings.Count(afterA, "-A "+ch+" "); n != want {
				t.Fatalf("%d rules in router A's %s chains after a restart, want %d jumps:\n%s", n, ch, want, afterA)
			}
		}
		if err := connect(outside, fipA, 8081); err != nil {
			t.Fatalf("floating IP after the restart: %v", err)
		}
		// After a reboot the namespace files are there but nothing is bound
		// on them: the next apply makes the namespaces anew.
		// (As on a host the router moved to, its legs announce their
		// addresses: the outside and the guests had them at another MAC.)
		sh(t, "umount "+restarted.RouterNS(rtA))
		staleNeigh(t, outside, "eth0", gwA)
		staleNeigh(t, guests[1], "eth0", rguests[1].gw)
		time.Sleep(300 * time.Millisecond)
		t0 := time.Now()
		if s := apply(restarted, st); s.RoutersWritten != 1 {
			t.Fatalf("a router whose namespace was lost: %d routers rewritten, want 1", s.RoutersWritten)
		}
		t1 := time.Now()
		waitNeigh(t, outside, "eth0", gwA, "fa:16:3e:0a:ee:01", t0, t1)
		waitNeigh(t, guests[1], "eth0", rguests[1].gw, "fa:16:3e:0a:02:01", t0, t1)
		if err := connect(outside, fipA, 8081); err != nil {
			t.Fatalf("floating IP after the namespace was made anew: %v", err)
		}
		// Router B deleted: its namespace, legs and rules go; A's stay as
		// they were.
		apply(restarted, routerState("brext", 1, []int{8080, 8081, 8082}, false))
		if got := restarted.RouterNamespaces(); len(got) != 1 || got[0] != rtA {
			t.Fatalf("router namespaces after B's deletion: %v", got)
		}
		if out := sh(t, "ip -n "+host+" -o link show"); strings.Contains(out, hostnet.TapName("qb000000-0000-4000-8000-0000000000eb")) ||
			strings.Contains(out, hostnet.TapName("ib100000-0000-4000-8000-0000000000b1")) {
			t.Fatalf("router B's legs left on the host:\n%s", out)
		}
		hostSave, _ := restarted.Save(ctx)
		if strings.Contains(hostSave, "tapqb000000-0") || strings.Contains(hostSave, "tapib100000-0") {
			t.Fatalf("router B's devices left in the host's chains:\n%s", hostSave)
		}
		if a, _ := restarted.RouterSave(ctx, rtA); a != afterA {
			t.Fatalf("router A's rules changed when B went:\n%s", a)
		}
		if err := ping(guests[2], "203.0.113.1"); err == nil {
			t.Fatal("project B's guest still reaches the outside without its router")
		}
		// Floating IP released: its DNAT, SNAT and address go.
		apply(restarted, routerState("brext", -1, []int{8080, 8081, 8082}, false))
		if a, _ := restarted.RouterSave(ctx, rtA); strings.Contains(a, fipA) {
			t.Fatalf("the released floating IP's rules are left:\n%s", a)
		}
		if out := sh(t, fmt.Sprintf("nsenter --net=%s ip -o addr", restarted.RouterNS(rtA))); strings.Contains(out, fipA) {
			t.Fatalf("the released floating IP's address is left:\n%s", out)
		}
		// Everything gone.
		_ = exec.Command("sh", "-c", "kill $(cat /tmp/stn-rnc-"+tag+"-* 2>/dev/null) 2>/dev/null").Run()
		for _, g := range guests { // the guests' taps go with their domains
			sh(t, "ip netns del "+g)
		}
		time.Sleep(500 * time.Millisecond)
		apply(restarted, hostnet.HostState{})
		links, _ := restarted.Links()
		save, _ := restarted.Save(ctx)
		out := sh(t, "ip -n "+host+" -o link show")
		if len(links) > 0 || strings.Contains(save, "stratus") || len(restarted.RouterNamespaces()) > 0 || strings.Contains(out, "tapi") || strings.Contains(out, "tapq") {
			t.Fatalf("left: links %v, namespaces %v, rules:\n%s\n%s", links, restarted.RouterNamespaces(), save, out)
		}
	})
}

// An external interface that is not a bridge (a NIC) is put on a bridge of
// the external network's, which goes, releasing it, with the last gateway.
func TestLinuxRouterOnExternalNIC(t *testing.T) {
	require(t)
	ctx := context.Background()
	tag := fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff)
	host, outside := "stn-rnh-"+tag, "stn-rno-"+tag
	t.Cleanup(func() {
		for _, ns := range []string{host, outside} {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	sh(t, fmt.Sprintf(`ip netns add %[1]s; ip -n %[1]s link set lo up
ip netns add %[2]s; ip -n %[2]s link set lo up
ip -n %[1]s link add ext0 type veth peer name eth0 netns %[2]s
ip -n %[2]s addr add 203.0.113.1/24 dev eth0; ip -n %[2]s link set eth0 up`, host, outside))
	d, err := linux.New(linux.Config{NetNS: "/run/netns/" + host, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = d.Apply(ctx, hostnet.HostState{}); d.Close() })
	st := routerState("ext0", -1, nil, false)
	st.Ports = nil
	if _, err := d.Apply(ctx, st); err != nil {
		t.Fatal(err)
	}
	extBridge := hostnet.BridgeName(extNet)
	if out := sh(t, "ip -n "+host+" -o link show ext0"); !strings.Contains(out, "master "+extBridge) {
		t.Fatalf("ext0 is not on %s:\n%s", extBridge, out)
	}
	if out, err := try(fmt.Sprintf("ip netns exec %s busybox ping -c 1 -W 2 %s", outside, gwA)); err != nil {
		t.Fatalf("the outside → the router's gateway through the NIC: %v\n%s", err, out)
	}
	if _, err := d.Apply(ctx, hostnet.HostState{ExternalInterface: "ext0"}); err != nil {
		t.Fatal(err)
	}
	out := sh(t, "ip -n "+host+" -o link show")
	if strings.Contains(out, extBridge) || !strings.Contains(out, "ext0") || len(d.RouterNamespaces()) > 0 {
		t.Fatalf("after the last router: namespaces %v, links:\n%s", d.RouterNamespaces(), out)
	}
}

// staleNeigh gives namespace ns a stale neighbour entry for ip at a MAC
// that is not the router's.
func staleNeigh(t *testing.T, ns, dev, ip string) {
	t.Helper()
	sh(t, fmt.Sprintf("ip -n %s neigh replace %s lladdr %s dev %s nud stale", ns, ip, wrongMAC, dev))
}

const wrongMAC = "02:00:00:00:00:99"

// waitNeigh waits up to 3 s for namespace ns's entry for ip to be at mac,
// and logs how long after the apply (which began at t0 and returned at t1)
// it was.
func waitNeigh(t *testing.T, ns, dev, ip, mac string, t0, t1 time.Time) {
	t.Helper()
	var out string
	for time.Since(t0) < 3*time.Second {
		out = sh(t, fmt.Sprintf("ip -n %s neigh show %s dev %s", ns, ip, dev))
		if strings.Contains(out, "lladdr "+mac) {
			t.Logf("%s's entry for %s at the router's MAC %v after the apply began, %v after it returned", ns, ip,
				time.Since(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s's entry for %s is not at %s 3 s after the apply: %s", ns, ip, mac, out)
}

// logBuf holds a driver's log for a test to read while it writes.
type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) count(s string) int { return strings.Count(l.String(), s) }
