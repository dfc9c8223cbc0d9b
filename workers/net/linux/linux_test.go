package linux_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	hostnet "stratus/workers/net"
	"stratus/workers/net/linux"
)

// The driver on real kernel parts, only inside namespaces the test makes:
// two "hosts" (network namespaces joined by an underlay bridge in a third),
// each with a "guest" — a veth end in a namespace of its own, plugged on
// the host's bridge exactly as libvirt plugs a tap — that takes its address
// by DHCP (busybox udhcpc) and talks to the other over VXLAN.

func require(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, b := range []string{"ip", "iptables-restore", "ipset", "dnsmasq", "busybox", "nsenter", "unshare"} {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		msg := "network test prerequisites missing: " + strings.Join(missing, ", ") + " — run `make deps` as root"
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

func sh(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("sh", "-ec", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

func try(script string) (string, error) {
	out, err := exec.Command("sh", "-ec", script).CombinedOutput()
	return string(out), err
}

type lab struct {
	tag    string
	hosts  [2]string // host namespaces
	under  string    // underlay namespace
	guests [2]string // guest namespaces
}

func newLab(t *testing.T) *lab {
	tag := fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff)
	l := &lab{tag: tag, under: "stn-u-" + tag, hosts: [2]string{"stn-h1-" + tag, "stn-h2-" + tag},
		guests: [2]string{"stn-g1-" + tag, "stn-g2-" + tag}}
	t.Cleanup(func() {
		for _, ns := range append(append([]string{l.under}, l.hosts[:]...), l.guests[:]...) {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	sh(t, fmt.Sprintf(`ip netns add %[1]s; ip -n %[1]s link add ul type bridge; ip -n %[1]s link set ul up`, l.under))
	for i, h := range l.hosts {
		sh(t, fmt.Sprintf(`ip netns add %[1]s
ip -n %[1]s link set lo up
ip link add ul%[3]d-%[4]s type veth peer name eth0 netns %[1]s
ip link set ul%[3]d-%[4]s netns %[2]s
ip -n %[2]s link set ul%[3]d-%[4]s master ul up
ip -n %[1]s addr add 192.0.2.%[3]d/24 dev eth0
ip -n %[1]s link set eth0 up`, h, l.under, i+1, l.tag))
	}
	return l
}

// plug makes a guest namespace whose eth0's peer is tap<port[:11]> on the
// host, as libvirt would.
func (l *lab) plug(t *testing.T, i int, portID, mac string) {
	sh(t, fmt.Sprintf(`ip netns add %[1]s
ip -n %[1]s link set lo up
ip -n %[2]s link add %[3]s type veth peer name eth0 netns %[1]s
ip -n %[1]s link set eth0 address %[4]s
ip -n %[1]s link set eth0 up`, l.guests[i], l.hosts[i], hostnet.TapName(portID), mac))
}

// attach puts a host's tap on its bridge (libvirt does it at domain start).
func (l *lab) attach(t *testing.T, i int, portID, networkID string) {
	sh(t, fmt.Sprintf(`ip -n %[1]s link set %[2]s master %[3]s up`, l.hosts[i], hostnet.TapName(portID), hostnet.BridgeName(networkID)))
}

const (
	netID  = "6a1d2c3e-1111-4222-8333-444455556666"
	port1  = "a1a1a1a1-0000-4000-8000-000000000001"
	port2  = "b2b2b2b2-0000-4000-8000-000000000002"
	dhcp1  = "d1d1d1d1-0000-4000-8000-0000000000d1"
	dhcp2  = "d2d2d2d2-0000-4000-8000-0000000000d2"
	group  = "99999999-0000-4000-8000-000000000009"
	mac1   = "fa:16:3e:00:00:01"
	mac2   = "fa:16:3e:00:00:02"
	cidr   = "10.9.0.0/24"
	vni    = 4242
	mtu    = 1450
	guest1 = "10.9.0.11"
	guest2 = "10.9.0.12"
)

// state is what the control plane would hand host i; extra are rules of
// the group besides the default ones.
func state(i int, extra ...hostnet.Rule) hostnet.HostState {
	ports := []struct{ id, mac, ip, dhcp, dhcpIP, peer string }{
		{port1, mac1, guest1, dhcp1, "10.9.0.2", "192.0.2.2"},
		{port2, mac2, guest2, dhcp2, "10.9.0.3", "192.0.2.1"},
	}
	p := ports[i]
	rules := append([]hostnet.Rule{
		{Group: group, Direction: "egress"},
		{Group: group, Direction: "ingress", RemoteGroup: group},
	}, extra...)
	return hostnet.HostState{
		TunnelAddress: fmt.Sprintf("192.0.2.%d", i+1),
		Networks: []hostnet.Network{{ID: netID, VNI: vni, MTU: mtu, Peers: []string{p.peer},
			DHCP: &hostnet.DHCP{PortID: p.dhcp, MAC: fmt.Sprintf("fa:16:3e:00:00:d%d", i+1),
				Addrs:   []netip.Prefix{netip.MustParsePrefix(p.dhcpIP + "/24")},
				Subnets: []hostnet.DHCPSubnet{{CIDR: netip.MustParsePrefix(cidr), Gateway: "10.9.0.1", MTU: mtu}},
				Hosts:   []hostnet.DHCPHost{{MAC: p.mac, IP: p.ip, Hostname: fmt.Sprintf("guest%d", i+1)}}}}},
		Ports:  []hostnet.Port{{ID: p.id, NetworkID: netID, MAC: p.mac, IPs: []string{p.ip}, PortSecurity: true, Groups: []string{group}}},
		Rules:  map[string][]hostnet.Rule{group: rules},
		Groups: map[string][]string{group: {guest1, guest2}},
	}
}

func TestLinuxDriver(t *testing.T) {
	require(t)
	l := newLab(t)
	ctx := context.Background()
	var drv [2]*linux.Driver
	for i := range l.hosts {
		d, err := linux.New(linux.Config{NetNS: "/run/netns/" + l.hosts[i], StateDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = d.Apply(ctx, hostnet.HostState{}); d.Close() })
		if err := d.Check(ctx); err != nil {
			t.Fatal(err)
		}
		drv[i] = d
	}
	l.plug(t, 0, port1, mac1)
	l.plug(t, 1, port2, mac2)
	for i := range drv {
		t0 := time.Now()
		st, err := drv[i].Apply(ctx, state(i))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("host %d: network created and port filtered in %v (%d rules, %d chains written)", i+1, time.Since(t0), st.Rules, st.ChainsWritten)
		l.attach(t, i, []string{port1, port2}[i], netID)
	}
	// DHCP: each guest gets its address (and the MTU) from its own host.
	for i, g := range l.guests {
		out, err := try(fmt.Sprintf(`ip netns exec %s busybox udhcpc -i eth0 -n -q -t 5 -T 1 -s /bin/true 2>&1`, g))
		if err != nil || !strings.Contains(out, []string{guest1, guest2}[i]) {
			t.Fatalf("guest %d DHCP: %v\n%s", i+1, err, out)
		}
		sh(t, fmt.Sprintf(`ip -n %s addr add %s/24 dev eth0`, g, []string{guest1, guest2}[i]))
	}
	// Over VXLAN between the hosts: members of the default group reach
	// each other.
	if out, err := try(fmt.Sprintf(`ip netns exec %s busybox ping -c 2 -W 2 %s`, l.guests[0], guest2)); err != nil {
		t.Fatalf("guest 1 → guest 2 over VXLAN: %v\n%s", err, out)
	}
	if peers, _ := drv[0].FloodPeers(vni); len(peers) != 1 || peers[0] != "192.0.2.2" {
		t.Fatalf("flood entries %v", peers)
	}
	// TCP 8080 is closed from a non-member (the default group only admits
	// members; guest 1 leaves the group's members), opened by a rule, and
	// closed again when the rule goes.
	sh(t, fmt.Sprintf(`ip netns exec %s sh -c 'busybox nc -ll -p 8080 -e /bin/true >/dev/null 2>&1 & echo $! > /tmp/stn-nc-%s'`, l.guests[1], l.tag))
	defer exec.Command("sh", "-c", "kill $(cat /tmp/stn-nc-"+l.tag+"); rm -f /tmp/stn-nc-"+l.tag).Run()
	connect := func() error {
		_, err := try(fmt.Sprintf(`ip netns exec %s busybox nc -w 2 %s 8080 </dev/null`, l.guests[0], guest2))
		return err
	}
	st2 := state(1)
	st2.Groups = map[string][]string{group: {guest2}}
	if _, err := drv[1].Apply(ctx, st2); err != nil {
		t.Fatal(err)
	}
	if connect() == nil {
		t.Fatal("tcp/8080 reachable without a rule")
	}
	open := hostnet.Rule{Group: group, Direction: "ingress", Protocol: "tcp", PortMin: 8080, PortMax: 8080}
	st2.Rules = map[string][]hostnet.Rule{group: append(append([]hostnet.Rule(nil), st2.Rules[group]...), open)}
	t0 := time.Now()
	if _, err := drv[1].Apply(ctx, st2); err != nil {
		t.Fatal(err)
	}
	t.Logf("rule change applied in %v", time.Since(t0))
	if err := connect(); err != nil {
		t.Fatalf("tcp/8080 after the rule: %v", err)
	}
	st2.Rules = map[string][]hostnet.Rule{group: st2.Rules[group][:2]}
	if _, err := drv[1].Apply(ctx, st2); err != nil {
		t.Fatal(err)
	}
	if connect() == nil {
		t.Fatal("tcp/8080 still reachable after the rule was deleted")
	}
	// Spoofing: guest 1 (a member of the group again, so that it reaches
	// guest 2) takes another address, then another MAC; its packets are
	// dropped.
	st2.Groups = map[string][]string{group: {guest1, guest2}}
	if _, err := drv[1].Apply(ctx, st2); err != nil {
		t.Fatal(err)
	}
	if out, err := try(fmt.Sprintf(`ip netns exec %s busybox ping -c 2 -W 2 %s`, l.guests[0], guest2)); err != nil {
		t.Fatalf("guest 1, a member again, → guest 2: %v\n%s", err, out)
	}
	sh(t, fmt.Sprintf(`ip -n %[1]s addr flush dev eth0; ip -n %[1]s addr add 10.9.0.99/24 dev eth0`, l.guests[0]))
	if out, err := try(fmt.Sprintf(`ip netns exec %s busybox ping -c 1 -W 2 %s`, l.guests[0], guest2)); err == nil {
		t.Fatalf("a spoofed source address got through:\n%s", out)
	}
	// Its own address again but another MAC: dropped as well.
	sh(t, fmt.Sprintf(`ip -n %[1]s addr flush dev eth0; ip -n %[1]s addr add %[2]s/24 dev eth0; ip -n %[1]s link set eth0 address fa:16:3e:00:00:99`, l.guests[0], guest1))
	if out, err := try(fmt.Sprintf(`ip netns exec %s busybox ping -c 1 -W 2 %s`, l.guests[0], guest2)); err == nil {
		t.Fatalf("a spoofed source MAC got through:\n%s", out)
	}
	// (guest 2 learnt the spoofed MAC by ARP, which is not filtered.)
	sh(t, fmt.Sprintf(`ip -n %s link set eth0 address %s; ip -n %s neigh flush all`, l.guests[0], mac1, l.guests[1]))
	if out, err := try(fmt.Sprintf(`ip netns exec %s busybox ping -c 2 -W 2 %s`, l.guests[0], guest2)); err != nil {
		t.Fatalf("guest 1 with its own address and MAC again: %v\n%s", err, out)
	}
	// An agent restart: a new driver applies the same state; the rules are
	// exactly the same, none twice.
	before, err := drv[1].Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	restarted, err := linux.New(linux.Config{NetNS: "/run/netns/" + l.hosts[1], StateDir: drvDir(t, drv[1])})
	if err != nil {
		t.Fatal(err)
	}
	defer restarted.Close()
	if _, err := restarted.Apply(ctx, st2); err != nil {
		t.Fatal(err)
	}
	after, _ := restarted.Save(ctx)
	if before != after {
		t.Fatalf("rules changed across a restart:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if n := strings.Count(after, "-j stratus-FORWARD"); n != 1 {
		t.Fatalf("%d FORWARD jumps after a restart, want 1", n)
	}
	// Everything gone: no bridge, tunnel, DHCP server, chain or set left
	// (the guests' taps go with their domains, as libvirt removes them).
	_ = exec.Command("sh", "-c", "kill $(cat /tmp/stn-nc-"+l.tag+")").Run()
	for _, g := range l.guests {
		sh(t, "ip netns del "+g)
	}
	time.Sleep(500 * time.Millisecond) // a namespace's devices go once its last process has
	for i, d := range []*linux.Driver{drv[0], restarted} {
		if _, err := d.Apply(ctx, hostnet.HostState{}); err != nil {
			t.Fatal(err)
		}
		links, _ := d.Links()
		save, _ := d.Save(ctx)
		sets, _ := try(fmt.Sprintf("ip netns exec %s ipset list -n", l.hosts[i]))
		chains := strings.Count(save, ":stratus-")
		if len(links) > 0 || chains > 0 || strings.Contains(sets, "stratus-") || d.DNSMasqRunning(netID) {
			t.Fatalf("host %d left: links %v, %d chains, sets %q, dnsmasq %v", i+1, links, chains, sets, d.DNSMasqRunning(netID))
		}
	}
}

// drvDir is where a driver keeps its state: the test gave each its own
// temporary directory; a restarted agent uses the same.
func drvDir(t *testing.T, d *linux.Driver) string { return d.StateDir() }
