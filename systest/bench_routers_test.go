package systest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"stratus/systest/lab"
)

// BenchmarkFloatingIPOnLibvirt (make bench, as root): associate → reachable
// through the API on the lab of TestRoutersOnLibvirt — from the PATCH that
// associates a floating IP with a real guest (on hv2, its router on hv1)
// until the outside namespace gets the guest's answer at the floating IP,
// and the same for a disassociation until it stops answering (the attempt
// that finds it silent takes its 2 s timeout, included). The agents
// check the network revision every second (--network-sync-interval 1s;
// the default is 2 s), which bounds most of it. Figures, not assertions.
func BenchmarkFloatingIPOnLibvirt(b *testing.B) {
	nc, outside, pubID := startL3Cloud(b)
	alice, image := nc.tenantOf("lab", "alice")
	var n, sn, r, web, fip struct {
		ID                string `json:"id"`
		FloatingIPAddress string `json:"floating_ip_address"`
	}
	alice.must("POST", "/networks", map[string]any{"name": "net1"}, &n)
	alice.must("POST", "/subnets", map[string]any{"network_id": n.ID, "cidr": "10.40.0.0/24"}, &sn)
	alice.must("POST", "/routers", map[string]any{"name": "r1", "external_gateway_info": map[string]any{"network_id": pubID}}, &r)
	alice.must("PUT", "/routers/"+r.ID+"/add_router_interface", map[string]any{"subnet_id": sn.ID}, nil)
	alice.must("POST", "/security-groups", map[string]any{"name": "web"}, &web)
	alice.must("POST", "/security-group-rules", map[string]any{"security_group_id": web.ID, "direction": "ingress", "protocol": "tcp",
		"port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": "0.0.0.0/0"}, nil)
	a := nc.launchOn(alice, image, "a", "az2", "net1", "10.40.0.11", []string{"web"}, "#!/bin/sh\n# STRATUS-LISTEN-8080\n")
	nc.waitStatusOf(alice, a, "ACTIVE", 150*time.Second)
	nc.waitConsoleOf(alice, a, 150*time.Second, lab.MarkerNet+" eth0 10.40.0.11/24")
	var ports struct {
		Ports []struct {
			ID string `json:"id"`
		} `json:"ports"`
	}
	alice.must("GET", "/ports?device_id="+a, nil, &ports)
	alice.must("POST", "/floating-ips", map[string]any{"floating_network_id": pubID}, &fip)
	until := func(want bool) time.Duration {
		start := time.Now()
		for helloFrom(outside, fip.FloatingIPAddress, 8080) != want {
			if time.Since(start) > 30*time.Second {
				b.Fatalf("the floating IP answering=%v never came", want)
			}
			time.Sleep(50 * time.Millisecond)
		}
		return time.Since(start)
	}
	// The guest answers at all (its listener is up) before anything is
	// timed.
	alice.must("PATCH", "/floating-ips/"+fip.ID, map[string]any{"port_id": ports.Ports[0].ID}, nil)
	until(true)
	var on, off []time.Duration
	b.ResetTimer()
	for range b.N {
		for range 5 {
			alice.must("PATCH", "/floating-ips/"+fip.ID, map[string]any{"port_id": nil}, nil)
			off = append(off, until(false))
			alice.must("PATCH", "/floating-ips/"+fip.ID, map[string]any{"port_id": ports.Ports[0].ID}, nil)
			on = append(on, until(true))
		}
	}
	b.StopTimer()
	med := func(ds []time.Duration) float64 {
		s := append([]time.Duration(nil), ds...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return ms(s[len(s)/2])
	}
	b.ReportMetric(med(on), "ms/associate-to-reachable-p50")
	b.ReportMetric(med(off), "ms/disassociate-to-unreachable-p50")
	b.Logf("associate → reachable %v; disassociate → unreachable %v (agents sync every 1 s; a silent attempt takes 2 s)", fmt.Sprint(on), fmt.Sprint(off))
}
