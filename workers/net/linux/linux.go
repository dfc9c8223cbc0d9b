// Package linux is the host network driver for Linux, after Neutron's
// Linux-bridge agent: bridges and VXLAN devices through netlink, a DHCP
// server per network (dnsmasq in a network namespace of its own, joined to
// the bridge by a veth, answering only for the host's own ports), and the
// security groups in iptables chains of Stratus' own, written in one
// iptables-restore --noflush batch, with ipsets for remote groups. Nothing
// it did not make is ever flushed, deleted or reordered: its devices are
// brq*, vxlan-* and tap* of DHCP ports, its chains and sets stratus-*.
//
// The driver may run outside the host's network namespace (NetNS): the
// system tests run several "hosts" as namespaces on one machine.
package linux

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	hostnet "stratus/workers/net"
)

// Config sets up the driver.
type Config struct {
	// NetNS is the path of the host's network namespace ("" = the
	// process's own).
	NetNS string
	// StateDir holds the DHCP servers' files and namespaces (default
	// /var/lib/stratus/network).
	StateDir string
	// VXLANPort is the UDP port of the tunnels (default 4789, IANA's).
	VXLANPort int
	Log       *slog.Logger
}

// Driver is the Linux host network. Apply calls are serialised.
type Driver struct {
	cfg Config
	log *slog.Logger
	h   *netlink.Handle
	ns  netns.NsHandle // the host namespace (-1 when the process's own)

	mu      sync.Mutex
	written map[string]string // chain → hash of what this driver last wrote
	chains  map[string]bool   // Stratus' chains in the filter table (nil: list them)
	listed  time.Time         // when chains was listed
	sets    map[string]string // ipset → hash of its members
	// routers maps each router to the hash of the rules this driver last
	// wrote in its namespace (empty after a start: all are rewritten).
	routers        map[string]string
	routersWritten int

	// The gratuitous ARP bursts in flight: announcing holds each router's
	// (cancelled when its namespace goes), all under stop (cancelled by
	// Close, which waits for bursts).
	stop       context.Context
	stopAll    context.CancelFunc
	announcing map[string]announcing
	bursts     sync.WaitGroup
}

var _ hostnet.Driver = (*Driver)(nil)

// New opens the host's namespace and netlink.
func New(cfg Config) (*Driver, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.StateDir == "" {
		cfg.StateDir = "/var/lib/stratus/network"
	}
	if cfg.VXLANPort == 0 {
		cfg.VXLANPort = 4789
	}
	abs, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	cfg.StateDir = abs
	if err := os.MkdirAll(filepath.Join(cfg.StateDir, "dhcp"), 0o755); err != nil {
		return nil, fmt.Errorf("network state directory: %w", err)
	}
	for _, bin := range []string{"iptables-restore", "iptables", "ipset", "dnsmasq", "nsenter", "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("the Linux network driver needs %s (Debian: iptables, ipset, dnsmasq-base, util-linux)", bin)
		}
	}
	d := &Driver{cfg: cfg, log: cfg.Log, ns: netns.None(), written: map[string]string{}, sets: map[string]string{},
		routers: map[string]string{}, announcing: map[string]announcing{}}
	d.stop, d.stopAll = context.WithCancel(context.Background())
	if cfg.NetNS != "" {
		ns, err := netns.GetFromPath(cfg.NetNS)
		if err != nil {
			return nil, fmt.Errorf("host network namespace %s: %w", cfg.NetNS, err)
		}
		d.ns = ns
		if d.h, err = netlink.NewHandleAt(ns); err != nil {
			return nil, fmt.Errorf("netlink in %s: %w", cfg.NetNS, err)
		}
	} else if d.h, err = netlink.NewHandle(); err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return d, nil
}

// Name is "linux".
func (d *Driver) Name() string { return "linux" }

// Close stops the gratuitous ARPs still being sent and releases netlink
// and the namespace handle.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.stopAll()
	d.mu.Unlock()
	d.bursts.Wait()
	d.h.Close()
	if d.ns.IsOpen() {
		return d.ns.Close()
	}
	return nil
}

// command runs a program in the host's namespace.
func (d *Driver) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if d.cfg.NetNS != "" {
		return exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + d.cfg.NetNS, "--", name}, args...)...)
	}
	return exec.CommandContext(ctx, name, args...)
}

func (d *Driver) run(ctx context.Context, stdin string, name string, args ...string) (string, error) {
	cmd := d.command(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// inHostNS runs fn on an OS thread that is in the host's namespace, so
// that the programs go-iptables starts run there too.
func (d *Driver) inHostNS(fn func() error) error {
	if !d.ns.IsOpen() {
		return fn()
	}
	return inNS(d.ns, fn)
}

// inNS runs fn on an OS thread switched to namespace ns, and switches it
// back.
func inNS(ns netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		// The thread stays locked, and so dies with its goroutine rather
		// than serve others in the wrong namespace.
		return errors.Join(ferr, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// Check makes sure bridged frames pass through iptables: without
// net.bridge.bridge-nf-call-iptables=1 the security groups would silently
// match nothing. It sets it when it can, and says so.
func (d *Driver) Check(ctx context.Context) error {
	out, err := d.run(ctx, "", "sysctl", "-n", "net.bridge.bridge-nf-call-iptables")
	if err != nil {
		return fmt.Errorf("bridged traffic cannot be filtered: %w (is the br_netfilter module loaded?)", err)
	}
	if strings.TrimSpace(out) == "1" {
		return nil
	}
	if _, err := d.run(ctx, "", "sysctl", "-w", "net.bridge.bridge-nf-call-iptables=1"); err != nil {
		return fmt.Errorf("net.bridge.bridge-nf-call-iptables is 0, so security groups would match nothing, and setting it failed: %w", err)
	}
	d.log.Warn("net.bridge.bridge-nf-call-iptables was 0: set it to 1 so that security groups filter bridged traffic")
	return nil
}

// Apply converges the host: networks (bridges, tunnels, DHCP), then the
// firewall, then the removal of what is left over. A failure on one network
// does not stop the others or the firewall: ports must never wait for an
// unrelated network to be filtered.
func (d *Driver) Apply(ctx context.Context, st hostnet.HostState) (hostnet.Stats, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	var infra []string
	keep := map[string]bool{}
	for _, n := range st.Networks {
		keep[hostnet.BridgeName(n.ID)], keep[hostnet.VXLANName(n.VNI)] = true, true
		infra = append(infra, hostnet.VXLANName(n.VNI))
		if n.DHCP != nil {
			keep[hostnet.TapName(n.DHCP.PortID)] = true
			infra = append(infra, hostnet.TapName(n.DHCP.PortID))
		}
		if err := d.ensureNetwork(st.TunnelAddress, n); err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", n.ID, err))
			continue
		}
		if err := d.ensureDHCP(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("DHCP of network %s: %w", n.ID, err))
		}
	}
	// Routers after their networks' bridges, before the firewall that
	// lets their legs' traffic pass.
	d.routersWritten = 0
	wantRouter := map[string]bool{}
	fips := 0
	for _, r := range st.Routers {
		wantRouter[r.ID] = true
		fips += len(r.FloatingIPs)
		if r.Gateway != nil && st.ExternalInterface != "" {
			keep[hostnet.BridgeName(r.Gateway.NetworkID)] = true // the external network's bridge, if the driver made one
		}
		if err := d.ensureRouter(ctx, st, r); err != nil {
			errs = append(errs, fmt.Errorf("router %s: %w", r.ID, err))
		}
	}
	fw := hostnet.Render(st, infra)
	stats := hostnet.Stats{Networks: len(st.Networks), Ports: len(st.Ports), Rules: fw.Rules(), Routers: len(st.Routers), FloatingIPs: fips}
	if err := d.applyFirewall(ctx, fw, &stats); err != nil {
		errs = append(errs, err)
	}
	if err := d.removeStaleRouters(wantRouter); err != nil {
		errs = append(errs, err)
	}
	if err := d.removeStale(ctx, st, keep); err != nil {
		errs = append(errs, err)
	}
	stats.RoutersWritten = d.routersWritten
	return stats, errors.Join(errs...)
}

// iptables returns go-iptables for IPv4.
func iptablesV4() (*iptables.IPTables, error) {
	return iptables.NewWithProtocol(iptables.ProtocolIPv4)
}

// StateDir is where the DHCP servers' files are.
func (d *Driver) StateDir() string { return d.cfg.StateDir }
