package hostdrivers

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"

	hostnet "stratus/workers/net"
	netfake "stratus/workers/net/fake"
	"stratus/workers/net/linux"
)

// Network driver names (Linux and Fake; Auto as for the hypervisor).
const (
	Linux = "linux"
)

// NetConfig chooses the host network driver.
type NetConfig struct {
	// Driver is Linux, Fake or Auto. Auto is linux under a real
	// hypervisor and fake under the fake one — except where Dev says
	// otherwise.
	Driver string
	// DriverFrom names where Driver was given, for the start-up message:
	// "--network-driver" (also when empty) or STRATUS_NETWORK_DRIVER.
	DriverFrom string
	// StateDir holds the Linux driver's DHCP servers (default
	// /var/lib/stratus/network); one per host.
	StateDir string
	// Dev is `stratus dev` on someone's own machine: Auto never takes the
	// linux driver there (it would add bridges, dnsmasq and iptables
	// chains to that machine and may switch on bridge-nf-call-iptables,
	// which sends every bridge's traffic through iptables); guests of a
	// real hypervisor then boot without NICs, and the start-up message
	// says how to get them.
	Dev bool
}

// resolveNet picks the network driver once the hypervisor is known, and
// says why.
func (d *Drivers) resolveNet() error {
	nc := d.cfg.Net
	from := orFlag(nc.DriverFrom, "--network-driver")
	auto := given(from, Auto)
	switch nc.Driver {
	case Linux, Fake:
		d.net, d.netWhy = nc.Driver, "chosen with "+given(from, nc.Driver)
	case Auto, "":
		switch {
		case d.virt == Fake:
			d.net, d.netWhy = Fake, auto+": the fake hypervisor's guests get the in-memory fake network"
		case nc.Dev:
			d.net, d.netWhy = Fake, auto+": stratus dev leaves this machine's bridges and iptables alone, so guests boot without NICs "+
				"(their ports are bound and ACTIVE); --network-driver linux (as root, one host) gives them bridges, DHCP and security groups"
		default:
			d.net, d.netWhy = Linux, auto+": libvirt guests are plugged on Linux bridges"
		}
	default:
		return fmt.Errorf("%s must be %s, %s or %s, not %q", from, Auto, Linux, Fake, nc.Driver)
	}
	if d.net == Linux {
		if os.Geteuid() != 0 {
			return fmt.Errorf("the linux network driver needs root (bridges, namespaces, iptables); run as root or use --network-driver fake")
		}
		var missing []string
		for _, bin := range []string{"iptables-restore", "ipset", "dnsmasq", "nsenter", "unshare"} {
			if _, err := exec.LookPath(bin); err != nil {
				missing = append(missing, bin)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("the linux network driver needs %s (Debian: iptables ipset dnsmasq-base util-linux)", strings.Join(missing, ", "))
		}
		d.netWhy += "; it makes bridges brq*, VXLAN devices vxlan-*, dnsmasq per network in its own namespace, " +
			"iptables chains stratus-* jumped to from FORWARD, and a namespace per router it carries (qrouter-<id>, under its state directory), and touches nothing else"
	}
	return nil
}

// openNet opens the host network driver of one host.
func (d *Drivers) openNet(host string) (hostnet.Driver, error) {
	if d.net == Fake {
		return netfake.New(), nil
	}
	return linux.New(linux.Config{StateDir: d.cfg.Net.StateDir, Log: d.log.With("driver", Linux, "host", host)})
}

// Network is the network driver chosen (Linux or Fake), and NetworkWhy how.
func (d *Drivers) Network() string    { return d.net }
func (d *Drivers) NetworkWhy() string { return d.netWhy }

// DevExternalBridge is the external bridge of `stratus dev` under the
// linux network driver.
const DevExternalBridge = "br-stratus-ex"

// DevExternalInterface gives the dev hosts their external interface, so
// that they carry routers: under the linux network driver a bridge
// br-stratus-ex made on this machine with gateway (the external subnet's
// .1) on it — the machine reaches the floating IPs; under the fake one a
// name only. It returns the interface and what it is.
func (d *Drivers) DevExternalInterface(gateway netip.Prefix) (string, string, error) {
	if d.net != Linux {
		return "br-ex", "the fake network's external interface (in memory)", nil
	}
	if err := linux.EnsureExternalBridge(DevExternalBridge, gateway); err != nil {
		return "", "", fmt.Errorf("dev external bridge: %w", err)
	}
	return DevExternalBridge, fmt.Sprintf("bridge %s on this machine, with %s: it reaches the floating IPs", DevExternalBridge, gateway), nil
}
