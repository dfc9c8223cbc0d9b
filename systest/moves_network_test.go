package systest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stratus/systest/lab"
)

// TestMovesWithNetworksOnLibvirt: moves of a guest with a port on a tenant
// network between two libvirt hosts running the linux network driver (two
// labs joined for migrations, their VXLAN underlay in a namespace of the
// test's). The destination plugs the port before the guest arrives (a live
// migration's domain names the network's bridge), the guest keeps reaching
// a guest left on the other host over VXLAN, and its chains follow it —
// there on the destination, gone from the source. A cold migration boots
// the guest on the other host with its NIC, and its revert brings it and
// its chains back.
func TestMovesWithNetworksOnLibvirt(t *testing.T) {
	a, b := lab.StartPair(t)
	nc := startNetCloudOn(t, []*lab.Lab{a, b}, nil)
	alice, image := nc.tenantOf("lab", "alice")
	var n1, web struct {
		ID string `json:"id"`
	}
	alice.must("POST", "/networks", map[string]any{"name": "net1"}, &n1)
	alice.must("POST", "/subnets", map[string]any{"network_id": n1.ID, "cidr": "10.30.0.0/24"}, nil)
	alice.must("POST", "/security-groups", map[string]any{"name": "web"}, &web)
	alice.must("POST", "/security-group-rules", map[string]any{"security_group_id": web.ID, "direction": "ingress", "protocol": "icmp"}, nil)

	// The mover (default group) pings the peer and tries its tcp/8080; the
	// peer (group web: icmp only) stays on the mover's first host. Both
	// start on hv1 (hv2 is disabled meanwhile; the hosts share a zone).
	nc.admin.must("PATCH", "/hosts/hv2", map[string]any{"enabled": false, "disabled_reason": "both guests start on hv1"}, nil)
	mover := nc.launchOn(alice, image, "mover", "", "net1", "10.30.0.11", []string{"default"},
		"#!/bin/sh\n# STRATUS-PING-10.30.0.12 STRATUS-TCP-10.30.0.12-8080\n")
	peer := nc.launchOn(alice, image, "peer", "", "net1", "10.30.0.12", []string{"web"}, "#!/bin/sh\n# STRATUS-LISTEN-8080\n")
	nc.waitStatusOf(alice, mover, "ACTIVE", 120*time.Second)
	nc.waitStatusOf(alice, peer, "ACTIVE", 120*time.Second)
	nc.admin.must("PATCH", "/hosts/hv2", map[string]any{"enabled": true}, nil)
	first := "hv1"
	idx := map[string]int{"hv1": 0, "hv2": 1}
	other := map[string]string{"hv1": "hv2", "hv2": "hv1"}
	if h, p := nc.host(mover), nc.host(peer); h != first || p != first {
		t.Fatalf("the mover is on %s, the peer on %s", h, p)
	}
	// portState is the mover's port as operators see it.
	portState := func() (id, state string) {
		var ports struct {
			Ports []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
				Host   string `json:"binding:host_id"`
			} `json:"ports"`
		}
		nc.admin.must("GET", "/ports?all_projects=true&device_id="+mover, nil, &ports)
		if len(ports.Ports) != 1 {
			t.Fatalf("the mover's ports: %+v", ports.Ports)
		}
		return ports.Ports[0].ID, ports.Ports[0].Status + " on " + ports.Ports[0].Host
	}
	port, _ := portState()
	chain := "stratus-i" + port[:11] // the port's ingress chain (workers/net.IngressChain)

	console := func(h string) string {
		b, _ := os.ReadFile(filepath.Join(nc.labs[idx[h]].Dir, "instances", mover, "console.log"))
		return string(b)
	}
	// waitAfter waits until the mover's console on host h, after its
	// boots-th boot there, satisfies ok.
	waitAfter := func(h string, boots int, within time.Duration, what string, ok func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			out := console(h)
			i := nthIndex(out, lab.MarkerBooted, boots)
			if i >= 0 && ok(out[i:]) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the mover's console on %s never showed %s within %s: %s", h, what, within, lab.Describe(out))
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	// reach waits until the newest STRATUS-REACH line there says every
	// want.
	reach := func(h string, boots int, within time.Duration, want ...string) {
		t.Helper()
		waitAfter(h, boots, within, fmt.Sprint(want), func(out string) bool {
			last := ""
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), lab.MarkerReach) {
					last = strings.TrimSpace(l)
				}
			}
			ok := last != ""
			for _, w := range want {
				ok = ok && strings.Contains(last+" ", " "+w+" ")
			}
			return ok
		})
	}
	// chains waits until the mover's port chains are on host h (or not).
	chains := func(h string, want bool, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			has := strings.Contains(nc.rules(idx[h]), ":"+chain) || strings.Contains(nc.rules(idx[h]), "-N "+chain)
			if has == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("chain %s on %s: %v, want %v; rules:\n%s", chain, h, has, want, nc.rules(idx[h]))
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	waitPort := func(want string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for _, got := portState(); got != want; _, got = portState() {
			if time.Now().After(deadline) {
				t.Fatalf("the mover's port is %s, want %s", got, want)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	reach(first, 1, 150*time.Second, "ping:10.30.0.12:ok", "tcp:10.30.0.12:8080:closed")
	chains(first, true, 5*time.Second)
	chains(other[first], false, 5*time.Second)

	t.Run("live migration: the guest reaches the peer on the other host; its chains moved", func(t *testing.T) {
		to := other[first]
		start := time.Now()
		nc.admin.mustStatus(http.StatusAccepted, "POST", "/instances/"+mover+"/actions", map[string]any{"action": "live_migrate", "block_migration": "auto"}, nil)
		nc.waitStatusOf(alice, mover, "ACTIVE", 120*time.Second)
		if h := nc.host(mover); h != to {
			t.Fatalf("the mover is on %s after the live migration: %s", h, nc.latestMigration(mover).Status)
		}
		t.Logf("live migration %s → %s with its port: ACTIVE again after %s", first, to, time.Since(start).Round(time.Millisecond))
		if strings.Contains(console(to), lab.MarkerBooted) {
			t.Fatalf("the guest booted again on %s", to)
		}
		chains(to, true, 5*time.Second)
		chains(first, false, 10*time.Second)
		waitPort("ACTIVE on "+to, 10*time.Second)
		if links := nc.inHost(idx[first], "ip -o link show"); !strings.Contains(links, "brq"+n1.ID[:11]) {
			t.Errorf("%s dropped net1's bridge, which the peer needs:\n%s", first, links)
		}
		// The guest says nothing until what it reaches changes: open
		// tcp/8080 on the peer. It reaches it from the destination, over
		// the tunnel to the peer's host.
		alice.must("POST", "/security-group-rules", map[string]any{"security_group_id": web.ID, "direction": "ingress", "protocol": "tcp",
			"port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": "10.30.0.0/24"}, nil)
		reach(to, 0, 60*time.Second, "ping:10.30.0.12:ok", "tcp:10.30.0.12:8080:open")
	})

	t.Run("cold migration boots it with its NIC by the peer; the revert brings it back", func(t *testing.T) {
		from := nc.host(mover)
		to := other[from]
		boots := strings.Count(console(to), lab.MarkerBooted)
		nc.admin.mustStatus(http.StatusAccepted, "POST", "/instances/"+mover+"/actions", map[string]any{"action": "migrate"}, nil)
		nc.waitStatusOf(alice, mover, "VERIFY_RESIZE", 120*time.Second)
		if h := nc.host(mover); h != to {
			t.Fatalf("cold-migrated to %s", h)
		}
		// Its address from the DHCP server of its new host.
		waitAfter(to, boots+1, 120*time.Second, "its DHCP address", func(out string) bool {
			return strings.Contains(out, lab.MarkerNet+" eth0 10.30.0.11/24 mtu=1450")
		})
		reach(to, boots+1, 60*time.Second, "ping:10.30.0.12:ok", "tcp:10.30.0.12:8080:open")
		chains(to, true, 5*time.Second)
		chains(from, false, 10*time.Second)
		waitPort("ACTIVE on "+to, 10*time.Second)

		srcBoots := strings.Count(console(from), lab.MarkerBooted)
		alice.mustStatus(http.StatusAccepted, "POST", "/instances/"+mover+"/actions", map[string]any{"action": "revert_resize"}, nil)
		nc.waitStatusOf(alice, mover, "ACTIVE", 120*time.Second)
		if h := nc.host(mover); h != from {
			t.Fatalf("reverted to %s, not %s", h, from)
		}
		reach(from, srcBoots+1, 120*time.Second, "ping:10.30.0.12:ok", "tcp:10.30.0.12:8080:open")
		chains(from, true, 5*time.Second)
		chains(to, false, 10*time.Second)
		waitPort("ACTIVE on "+from, 10*time.Second)
	})
}

// nthIndex is where the n-th occurrence of sep starts in s (0: the
// start of s), or -1.
func nthIndex(s, sep string, n int) int {
	at := 0
	for i := 0; i < n; i++ {
		j := strings.Index(s[at:], sep)
		if j < 0 {
			return -1
		}
		at += j + len(sep)
	}
	return at
}
