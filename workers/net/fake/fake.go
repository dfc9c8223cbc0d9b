// Package fake is an in-memory host network, like the fake hypervisor: it
// keeps the bridges, tunnels, DHCP servers and firewall chains a Linux host
// would have (rendered by the same code), rewrites only the chains that
// change, and fails on request — for `--driver fake` and for tests and
// benchmarks of the control plane at scale.
package fake

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	hostnet "stratus/workers/net"
)

// Driver is a fake host network. It is safe for concurrent use.
type Driver struct {
	mu       sync.Mutex
	bridges  map[string]hostnet.Network // bridge name → network
	dhcp     map[string][]hostnet.DHCPHost
	chains   map[string]string // chain → content hash
	rules    int
	failNext int
	applies  int
	// routers are the router namespaces: each router as applied and its
	// rendered nat and filter rules.
	routers  map[string]fakeRouter
	external string
	ports    map[string]hostnet.Port // port ID → the port as plugged
}

type fakeRouter struct {
	router hostnet.Router
	rules  string
}

var _ hostnet.Driver = (*Driver)(nil)

// New returns an empty host network.
func New() *Driver {
	return &Driver{bridges: map[string]hostnet.Network{}, dhcp: map[string][]hostnet.DHCPHost{}, chains: map[string]string{},
		routers: map[string]fakeRouter{}, ports: map[string]hostnet.Port{}}
}

// Name is "fake".
func (d *Driver) Name() string { return "fake" }

// Check always passes: there is no kernel to ask.
func (d *Driver) Check(context.Context) error { return nil }

// FailNextApplies makes the next n applies fail (failure injection).
func (d *Driver) FailNextApplies(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failNext = n
}

// Apply converges the in-memory host to st.
func (d *Driver) Apply(_ context.Context, st hostnet.HostState) (hostnet.Stats, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failNext > 0 {
		d.failNext--
		return hostnet.Stats{}, errors.New("fake network: injected failure")
	}
	d.applies++
	bridges := map[string]hostnet.Network{}
	dhcp := map[string][]hostnet.DHCPHost{}
	var infra []string
	for _, n := range st.Networks {
		bridges[hostnet.BridgeName(n.ID)] = n
		infra = append(infra, hostnet.VXLANName(n.VNI))
		if n.DHCP != nil {
			dhcp[n.ID] = n.DHCP.Hosts
			infra = append(infra, hostnet.TapName(n.DHCP.PortID))
		}
	}
	routers := map[string]fakeRouter{}
	fips := 0
	written := 0
	var errs []error // like Linux: one router's trouble does not stop the rest
	for _, r := range st.Routers {
		if r.Gateway != nil && st.ExternalInterface == "" {
			errs = append(errs, fmt.Errorf("router %s: this host has no external interface (--external-interface) for the router's gateway", r.ID))
		}
		for _, i := range r.Interfaces {
			if _, ok := bridges[hostnet.BridgeName(i.NetworkID)]; !ok {
				errs = append(errs, fmt.Errorf("router %s: interface %s: no bridge for network %s", r.ID, i.PortID, i.NetworkID))
			}
		}
		rules := hostnet.RouterRules(r)
		if old, ok := d.routers[r.ID]; !ok || old.rules != rules {
			written++
		}
		routers[r.ID] = fakeRouter{router: r, rules: rules}
		fips += len(r.FloatingIPs)
	}
	ports := make(map[string]hostnet.Port, len(st.Ports))
	for _, p := range st.Ports {
		ports[p.ID] = p
	}
	d.bridges, d.dhcp, d.routers, d.external, d.ports = bridges, dhcp, routers, st.ExternalInterface, ports
	fw := hostnet.Render(st, infra)
	stats := hostnet.Stats{Networks: len(bridges), Ports: len(st.Ports), Rules: fw.Rules(), SetsWritten: len(fw.Sets),
		Routers: len(routers), FloatingIPs: fips, RoutersWritten: written}
	chains := map[string]string{}
	for name := range fw.Chains {
		h := fw.ChainHash(name)
		chains[name] = h
		if d.chains[name] != h {
			stats.ChainsWritten++
		}
	}
	d.chains, d.rules = chains, stats.Rules
	return stats, errors.Join(errs...)
}

// Close forgets nothing.
func (d *Driver) Close() error { return nil }

// Bridges lists the bridges present (for tests).
func (d *Driver) Bridges() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.bridges))
	for b := range d.bridges {
		out = append(out, b)
	}
	sort.Strings(out)
	return out
}

// Network is a network present on the host, as last applied (for tests).
func (d *Driver) Network(id string) (hostnet.Network, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, ok := d.bridges[hostnet.BridgeName(id)]
	return n, ok
}

// Applies counts the applies that succeeded.
func (d *Driver) Applies() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.applies
}

// Port is an instance port plugged here (its chains written), as last
// applied (for tests).
func (d *Driver) Port(id string) (hostnet.Port, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.ports[id]
	return p, ok
}

// DHCPHosts are the static leases of a network's DHCP server here.
func (d *Driver) DHCPHosts(networkID string) []hostnet.DHCPHost {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dhcp[networkID]
}

// Chains counts the firewall chains, and Rules their rules.
func (d *Driver) Chains() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.chains)
}

// Rules counts the firewall's rules.
func (d *Driver) Rules() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rules
}

// Routers lists the routers whose namespaces the host has (for tests).
func (d *Driver) Routers() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.routers))
	for id := range d.routers {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Router is a router as last applied and its namespace's rules (for
// tests).
func (d *Driver) Router(id string) (hostnet.Router, string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.routers[id]
	return r.router, r.rules, ok
}
