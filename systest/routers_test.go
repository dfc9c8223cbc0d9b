package systest

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRoutersOnLibvirt: routers and floating IPs with real guests, through
// the API, on the two-host lab of TestNetworksOnLibvirt — hv1 registered
// with an external interface (a bridge in its namespace, on which an
// "outside" namespace of the test's plays the world at 203.0.113.1), so it
// carries both projects' routers; alice's guest a runs on hv2 and reaches
// its router over VXLAN. The outside answers pings only from the routers'
// gateway addresses: a guest without a floating IP reaches it, one with
// one no longer does (its source is the floating IP); the floating IP
// answers from outside only once a security group rule opens the port;
// moving it moves the traffic; alice's and carol's routers on the same
// external network do not reach each other's subnets even when the
// outside routes between them; an agent restart rewrites exactly the same
// router rules, and releasing and deleting leave nothing.
func TestRoutersOnLibvirt(t *testing.T) {
	nc, outside, pubID := startL3Cloud(t)
	inOutside := func(script string) (string, error) {
		out, err := exec.Command("ip", "netns", "exec", outside, "sh", "-c", script).CombinedOutput()
		return string(out), err
	}
	hello := func(addr string, port int) bool { return helloFrom(outside, addr, port) }
	waitHello := func(addr string, port int, want bool, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < within {
			if hello(addr, port) == want {
				return time.Since(start)
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("the outside: %s:%d answering=%v never came within %s", addr, port, want, within)
		return 0
	}

	pub := struct{ ID string }{pubID}
	alice, aliceImage := nc.tenantOf("lab", "alice")
	carol, carolImage := nc.tenantOf("lab2", "carol")
	type router struct {
		ID                  string `json:"id"`
		Host                string `json:"host"`
		ExternalGatewayInfo struct {
			ExternalFixedIPs []struct {
				IPAddress string `json:"ip_address"`
			} `json:"external_fixed_ips"`
		} `json:"external_gateway_info"`
	}
	project := func(cl *client, name, cidr string) (netID, subnetID string, r router) {
		var n, sn struct {
			ID string `json:"id"`
		}
		cl.must("POST", "/networks", map[string]any{"name": name}, &n)
		cl.must("POST", "/subnets", map[string]any{"network_id": n.ID, "cidr": cidr}, &sn)
		cl.must("POST", "/routers", map[string]any{"name": name + "-router", "external_gateway_info": map[string]any{"network_id": pub.ID}}, &r)
		cl.must("PUT", "/routers/"+r.ID+"/add_router_interface", map[string]any{"subnet_id": sn.ID}, nil)
		return n.ID, sn.ID, r
	}
	n1, sn1, r1 := project(alice, "net1", "10.40.0.0/24")
	n2, sn2, r2 := project(carol, "net2", "10.50.0.0/24")
	gw1, gw2 := r1.ExternalGatewayInfo.ExternalFixedIPs[0].IPAddress, r2.ExternalGatewayInfo.ExternalFixedIPs[0].IPAddress
	for _, r := range []router{r1, r2} {
		var seen router // the host is the operators' to see
		nc.admin.must("GET", "/routers/"+r.ID, nil, &seen)
		if seen.Host != "hv1" {
			t.Fatalf("router %s on %q: want hv1, the host with an external interface", r.ID, seen.Host)
		}
	}
	// The outside answers pings from the routers' gateway addresses only.
	if out, err := inOutside(fmt.Sprintf(`iptables -A INPUT -p icmp --icmp-type echo-request -s %s -j ACCEPT
iptables -A INPUT -p icmp --icmp-type echo-request -s %s -j ACCEPT
iptables -A INPUT -p icmp --icmp-type echo-request -j DROP`, gw1, gw2)); err != nil {
		t.Fatalf("outside's rules: %v\n%s", err, out)
	}
	var web struct {
		ID string `json:"id"`
	}
	alice.must("POST", "/security-groups", map[string]any{"name": "web"}, &web)
	// Carol's guest lets anyone in: only the routers stand between it and
	// the others.
	var groups struct {
		SecurityGroups []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"security_groups"`
	}
	carol.must("GET", "/security-groups", nil, &groups) // makes the default group
	var carolDefault struct{ ID string }
	for _, g := range groups.SecurityGroups {
		if g.Name == "default" {
			carolDefault.ID = g.ID
		}
	}
	for _, rule := range []map[string]any{{"protocol": "icmp"}, {"protocol": "tcp", "port_range_min": 8080, "port_range_max": 8080}} {
		rule["security_group_id"], rule["direction"], rule["remote_ip_prefix"] = carolDefault.ID, "ingress", "0.0.0.0/0"
		carol.must("POST", "/security-group-rules", rule, nil)
	}
	a := nc.launchOn(alice, aliceImage, "a", "az2", "net1", "10.40.0.11", []string{"web"},
		"#!/bin/sh\n# STRATUS-LISTEN-8080 STRATUS-PING-203.0.113.1 STRATUS-PING-10.50.0.11 STRATUS-TCP-10.50.0.11-8080\n")
	b := nc.launchOn(alice, aliceImage, "b", "az1", "net1", "10.40.0.12", []string{"web"},
		"#!/bin/sh\n# STRATUS-LISTEN-8081 STRATUS-PING-203.0.113.1\n")
	c := nc.launchOn(carol, carolImage, "c", "az1", "net2", "10.50.0.11", nil,
		"#!/bin/sh\n# STRATUS-LISTEN-8080 STRATUS-PING-203.0.113.1 STRATUS-PING-10.40.0.12\n")
	for _, x := range []struct {
		cl *client
		id string
	}{{alice, a}, {alice, b}, {carol, c}} {
		nc.waitStatusOf(x.cl, x.id, "ACTIVE", 150*time.Second)
	}
	portOf := func(cl *client, instance string) string {
		var ports struct {
			Ports []struct {
				ID string `json:"id"`
			} `json:"ports"`
		}
		cl.must("GET", "/ports?device_id="+instance, nil, &ports)
		if len(ports.Ports) != 1 {
			t.Fatalf("ports of %s: %+v", instance, ports.Ports)
		}
		return ports.Ports[0].ID
	}

	t.Run("without a floating IP a guest reaches the outside as its router's gateway address", func(t *testing.T) {
		// a on hv2 (its router on hv1, over VXLAN), b beside the router,
		// carol's c through her own router.
		nc.reach(alice, a, 150*time.Second, "ping:203.0.113.1:ok")
		nc.reach(alice, b, 60*time.Second, "ping:203.0.113.1:ok")
		nc.reach(carol, c, 60*time.Second, "ping:203.0.113.1:ok")
	})

	t.Run("two projects' routers on one external network stay apart", func(t *testing.T) {
		// The outside even routes each project's subnet at its router's
		// gateway and forwards between them.
		if out, err := inOutside(fmt.Sprintf(`sysctl -qw net.ipv4.ip_forward=1
ip route add 10.40.0.0/24 via %s; ip route add 10.50.0.0/24 via %s`, gw1, gw2)); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		nc.reach(alice, a, 30*time.Second, "ping:10.50.0.11:no", "tcp:10.50.0.11:8080:closed", "ping:203.0.113.1:ok")
		nc.reach(carol, c, 30*time.Second, "ping:10.40.0.12:no", "ping:203.0.113.1:ok")
		if hello("10.50.0.11", 8080) {
			t.Fatal("the outside reached carol's fixed address through her router's gateway")
		}
	})

	var fip struct {
		ID                string `json:"id"`
		FloatingIPAddress string `json:"floating_ip_address"`
	}
	t.Run("a floating IP answers only once a security group rule opens the port", func(t *testing.T) {
		alice.must("POST", "/floating-ips", map[string]any{"floating_network_id": pub.ID}, &fip)
		alice.must("PATCH", "/floating-ips/"+fip.ID, map[string]any{"port_id": portOf(alice, a)}, nil)
		// a now leaves as the floating IP, which the outside does not
		// answer.
		took := nc.reach(alice, a, 30*time.Second, "ping:203.0.113.1:no")
		t.Logf("a's source became the floating IP %s after %s", fip.FloatingIPAddress, took.Round(100*time.Millisecond))
		if hello(fip.FloatingIPAddress, 8080) {
			t.Fatal("tcp/8080 at the floating IP answered without a rule")
		}
		alice.must("POST", "/security-group-rules", map[string]any{"security_group_id": web.ID, "direction": "ingress", "protocol": "tcp",
			"port_range_min": 8080, "port_range_max": 8081, "remote_ip_prefix": "0.0.0.0/0"}, nil)
		took = waitHello(fip.FloatingIPAddress, 8080, true, 30*time.Second)
		t.Logf("tcp/8080 at the floating IP answered %s after the rule", took.Round(100*time.Millisecond))
	})

	t.Run("re-associating moves the floating IP", func(t *testing.T) {
		alice.must("PATCH", "/floating-ips/"+fip.ID, map[string]any{"port_id": portOf(alice, b)}, nil)
		took := waitHello(fip.FloatingIPAddress, 8081, true, 30*time.Second)
		t.Logf("associate → reachable (b's tcp/8081 at the floating IP): %s", took.Round(100*time.Millisecond))
		waitHello(fip.FloatingIPAddress, 8080, false, 10*time.Second)
		nc.reach(alice, a, 30*time.Second, "ping:203.0.113.1:ok") // a leaves as the gateway address again
	})

	routerNS := func(id string) string { return filepath.Join(nc.netDirs[0], "routers", "qrouter-"+id) }
	counters := regexp.MustCompile(`\[\d+:\d+\]`)
	routerRules := func(id string) string {
		out, err := exec.Command("nsenter", "--net="+routerNS(id), "--", "iptables-save").CombinedOutput()
		if err != nil {
			t.Fatalf("router %s's rules: %v\n%s", id, err, out)
		}
		var keep []string
		for _, l := range strings.Split(string(out), "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				keep = append(keep, counters.ReplaceAllString(l, ""))
			}
		}
		return strings.Join(keep, "\n")
	}

	t.Run("an agent restart rewrites exactly the same router rules", func(t *testing.T) {
		before1, before2, beforeHost := routerRules(r1.ID), routerRules(r2.ID), nc.rules(0)
		if strings.Count(before1, "-j DNAT") != 2 || !strings.Contains(before1, "--to-destination 10.40.0.12") ||
			!strings.Contains(before1, "-j SNAT --to-source "+fip.FloatingIPAddress) || !strings.Contains(before1, "-j SNAT --to-source "+gw1) {
			t.Fatalf("router 1's rules:\n%s", before1)
		}
		if strings.Contains(before2, "-j DNAT") || !strings.Contains(before2, "-s 10.50.0.0/24") {
			t.Fatalf("router 2's rules:\n%s", before2)
		}
		nc.restartAgent(t, 0)
		if a1, a2, ah := routerRules(r1.ID), routerRules(r2.ID), nc.rules(0); a1 != before1 || a2 != before2 || ah != beforeHost {
			t.Fatalf("rules changed across the restart:\nrouter 1 before:\n%s\nafter:\n%s\nrouter 2 before:\n%s\nafter:\n%s\nhost before:\n%s\nafter:\n%s",
				before1, a1, before2, a2, beforeHost, ah)
		}
		waitHello(fip.FloatingIPAddress, 8081, true, 10*time.Second)
	})

	t.Run("releasing and deleting leave no rule, address, leg or namespace", func(t *testing.T) {
		alice.mustStatus(http.StatusNoContent, "DELETE", "/floating-ips/"+fip.ID, nil, nil)
		deadline := time.Now().Add(15 * time.Second)
		for strings.Contains(routerRules(r1.ID), fip.FloatingIPAddress) {
			if time.Now().After(deadline) {
				t.Fatalf("the released floating IP's rules stay:\n%s", routerRules(r1.ID))
			}
			time.Sleep(200 * time.Millisecond)
		}
		if out, _ := exec.Command("nsenter", "--net="+routerNS(r1.ID), "--", "ip", "-o", "addr").CombinedOutput(); strings.Contains(string(out), fip.FloatingIPAddress) {
			t.Fatalf("the released floating IP's address stays:\n%s", out)
		}
		waitHello(fip.FloatingIPAddress, 8081, false, 10*time.Second)
		for _, x := range []struct {
			cl       *client
			r, sn, n string
		}{{alice, r1.ID, sn1, n1}, {carol, r2.ID, sn2, n2}} {
			x.cl.must("PUT", "/routers/"+x.r+"/remove_router_interface", map[string]any{"subnet_id": x.sn}, nil)
			x.cl.mustStatus(http.StatusNoContent, "DELETE", "/routers/"+x.r, nil, nil)
		}
		deadline = time.Now().Add(20 * time.Second)
		for {
			var left []string
			if ns, _ := filepath.Glob(filepath.Join(nc.netDirs[0], "routers", "qrouter-*")); len(ns) > 0 {
				left = append(left, fmt.Sprintf("namespaces %v", ns))
			}
			if r := nc.rules(0); strings.Contains(r, "router gateway") {
				left = append(left, "host rules:\n"+r)
			}
			for _, l := range strings.Split(nc.inHost(0, "ip -o link show master brext"), "\n") {
				if strings.Contains(l, ": tap") {
					left = append(left, "on brext: "+strings.Fields(l)[1])
				}
			}
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("left on hv1 after the routers' deletion: %s", strings.Join(left, "; "))
			}
			time.Sleep(500 * time.Millisecond)
		}
		nc.reach(alice, b, 30*time.Second, "ping:203.0.113.1:no")
	})
}

// startL3Cloud is the two-host lab with an external bridge brext on hv1,
// an outside namespace on it (203.0.113.1) and the operator's external
// network public on 203.0.113.0/24; it returns the outside's name and the
// network's ID.
func startL3Cloud(tb testing.TB) (*netCloud, string, string) {
	nc := startNetCloudWith(tb, map[int]string{0: "brext"})
	outside := fmt.Sprintf("stn-out-%d", time.Now().UnixNano()%100000)
	tb.Cleanup(func() { _ = exec.Command("ip", "netns", "del", outside).Run() })
	sh(tb, fmt.Sprintf(`ip netns add %[1]s; ip -n %[1]s link set lo up
ip -n %[2]s link add out0 type veth peer name eth0 netns %[1]s
ip -n %[2]s link set out0 master brext up
ip -n %[1]s addr add 203.0.113.1/24 dev eth0; ip -n %[1]s link set eth0 up`, outside, nc.labs[0].NetNS))
	var pub struct {
		ID string `json:"id"`
	}
	nc.admin.must("POST", "/networks", map[string]any{"name": "public", "router:external": true}, &pub)
	nc.admin.must("POST", "/subnets", map[string]any{"network_id": pub.ID, "cidr": "203.0.113.0/24", "gateway_ip": "203.0.113.1",
		"enable_dhcp": false, "allocation_pools": []map[string]string{{"start": "203.0.113.10", "end": "203.0.113.250"}}}, nil)
	return nc, outside, pub.ID
}

// helloFrom reports whether a guest's STRATUS-LISTEN port answers at
// addr:port from the outside namespace.
func helloFrom(outside, addr string, port int) bool {
	out, _ := exec.Command("ip", "netns", "exec", outside, "busybox", "nc", "-w", "2", addr, fmt.Sprint(port)).CombinedOutput()
	return strings.Contains(string(out), "STRATUS-HELLO")
}

// restartAgent stops host i's agent and starts it again, and waits until
// the new one has applied its host's networking.
func (nc *netCloud) restartAgent(t *testing.T, i int) {
	t.Helper()
	logPath := filepath.Join(nc.dir, "compute-"+nc.hosts[i]+".log")
	started := func() int {
		return strings.Count(tail(logPath, 100000), `"msg":"host networking",`)
	}
	before := started()
	nc.stopAgent(nc.hosts[i])
	nc.startAgent(i)
	deadline := time.Now().Add(60 * time.Second)
	for started() == before {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted agent never applied its host's networking:\n%s", tail(logPath, 20))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
