// Package libvirt is the hypervisor driver for libvirt + qemu/KVM: it builds
// each instance's disks (a qcow2 overlay on the host's cached image, an
// ephemeral disk, a config drive), defines and starts a domain from
// libvirtxml structs, powers it on and off, reports its state, follows
// libvirt's lifecycle events, and reads the host's inventory. It talks to
// libvirtd with go-libvirt over the unix socket and survives the daemon's
// restarts.
package libvirt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"stratus/workers/virt"
)

// Config sets up the driver.
type Config struct {
	URI          string // default qemu:///system; "?socket=PATH" names another socket
	Socket       string // libvirtd's socket (default /var/run/libvirt/libvirt-sock)
	InstancesDir string // per-instance files (default /var/lib/stratus/instances)
	// ImageCacheDir is the host's image cache, whose files back the
	// instances' disks: qemu must reach it too.
	ImageCacheDir string
	// StateDir is a directory Stratus owns (the dev data directory): a
	// directory at or below it that qemu's user cannot search is given
	// o+x. Directories above it, or elsewhere, are never changed — New
	// fails with an UnreachableError instead.
	StateDir string
	// Host is the compute host's name, recorded in each domain's metadata:
	// several agents sharing one libvirtd (`stratus dev --hosts 2`) each see
	// only their own domains.
	Host string
	// VirtType is kvm, qemu (TCG), or auto: kvm when /dev/kvm exists and
	// the unprivileged qemu process may open it.
	VirtType string
	// VirtTypeFrom names where a kvm or qemu VirtType was given, for the
	// start-up message: "--virt-type" (the default) or the environment
	// variable STRATUS_VIRT_TYPE.
	VirtTypeFrom string
	VNCListen    string // the host's management address (default 127.0.0.1)
	// MigrationAddress is where other hosts' libvirtd and qemu reach this
	// host's for migrations (qemu+tcp://ADDR/system and tcp://ADDR); ""
	// takes no incoming moves.
	MigrationAddress string
	RebootTimeout    time.Duration // how long a soft reboot waits for an ACPI shutdown (default 60 s)
	Keepalive        time.Duration // ping interval (default 5 s)
	QemuImg          string        // qemu-img binary (default from PATH)
	Log              *slog.Logger
}

// Driver is the libvirt hypervisor driver. It is safe for concurrent use.
type Driver struct {
	cfg      Config
	virtType string
	client   *Client
	log      *slog.Logger

	mu    sync.Mutex
	owned map[string]bool // domain name → carries our metadata (cache for events)
}

var (
	_ virt.Driver   = (*Driver)(nil)
	_ virt.Consoles = (*Driver)(nil)
)

// New connects to libvirtd; it fails at once when libvirtd does not answer.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.InstancesDir == "" {
		cfg.InstancesDir = "/var/lib/stratus/instances"
	}
	if cfg.VNCListen == "" {
		cfg.VNCListen = "127.0.0.1"
	}
	if cfg.RebootTimeout <= 0 {
		cfg.RebootTimeout = 60 * time.Second
	}
	vt, why, err := pickVirtType(cfg.VirtType, cfg.VirtTypeFrom)
	if err != nil {
		return nil, err
	}
	// qemu and qemu-img get absolute paths only: a relative backing file
	// is resolved against the overlay's directory, not our working one.
	for _, p := range []*string{&cfg.InstancesDir, &cfg.ImageCacheDir, &cfg.StateDir} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, err
		}
		*p = abs
	}
	client, err := Dial(ctx, cfg.URI, cfg.Socket, cfg.Keepalive, cfg.Log)
	if err != nil {
		return nil, err
	}
	u, check, err := client.qemuUser(ctx, vt)
	if err == nil {
		err = prepareDirs(u, check, cfg.StateDir, cfg.InstancesDir, cfg.ImageCacheDir)
	}
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	d := &Driver{cfg: cfg, virtType: vt, client: client, log: cfg.Log, owned: map[string]bool{}}
	d.log.Info("libvirt driver ready", "uri", client.uri, "socket", client.socket, "virt_type", vt, "why", why,
		"instances_dir", cfg.InstancesDir, "vnc_listen", cfg.VNCListen)
	return d, nil
}

// pickVirtType resolves the domain type want (from, where it was given:
// "--virt-type" when empty) and says why it is the one.
func pickVirtType(want, from string) (string, string, error) {
	if from == "" {
		from = "--virt-type"
	}
	switch want {
	case "kvm", "qemu":
		return want, "chosen with " + from, nil
	case "", "auto":
		fi, err := os.Stat("/dev/kvm")
		if err != nil {
			return "qemu", "no /dev/kvm: TCG emulation", nil
		}
		if fi.Mode().Perm()&0o066 == 0 {
			return "qemu", "/dev/kvm is root-only, which the unprivileged qemu cannot open: TCG emulation", nil
		}
		return "kvm", "/dev/kvm is present", nil
	}
	return "", "", fmt.Errorf("%s must be auto, kvm or qemu, not %q", from, want)
}

// Name is "libvirt".
func (d *Driver) Name() string { return "libvirt" }

// VirtType is the domain type this driver defines (kvm or qemu).
func (d *Driver) VirtType() string { return d.virtType }

// Close closes the connection to libvirtd.
func (d *Driver) Close() error { return d.client.Close() }

// HostInfo reads vCPUs and RAM from libvirt's node info and the disk from
// the instances directory's file system.
func (d *Driver) HostInfo(ctx context.Context) (virt.HostInfo, error) {
	var info virt.HostInfo
	err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		model, memKiB, cpus, _, _, _, _, _, err := l.NodeGetInfo()
		if err != nil {
			return err
		}
		info.VCPUs, info.RAMMB = int(cpus), int64(memKiB/1024)
		info.Arch = int8String(model[:])
		return nil
	})
	if err != nil {
		return info, fmt.Errorf("node info: %w", err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.cfg.InstancesDir, &st); err != nil {
		return info, fmt.Errorf("statfs %s: %w", d.cfg.InstancesDir, err)
	}
	info.DiskGB = int64(st.Blocks) * st.Bsize >> 30
	info.HypervisorType = d.virtType
	if info.Arch == "" {
		info.Arch = "x86_64"
	}
	return info, nil
}

func int8String(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

// lookup finds an instance's domain; virt.ErrNotFound when there is none.
func (d *Driver) lookup(ctx context.Context, id string) (golibvirt.Domain, error) {
	var dom golibvirt.Domain
	err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		var err error
		dom, err = l.DomainLookupByName(DomainName(id))
		return err
	})
	if golibvirt.IsNotFound(err) {
		return dom, virt.ErrNotFound
	}
	return dom, err
}

// state reads a domain's power state.
func (d *Driver) state(ctx context.Context, dom golibvirt.Domain) (virt.PowerState, error) {
	var st int32
	err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		var err error
		st, _, err = l.DomainGetState(dom, 0)
		return err
	})
	if golibvirt.IsNotFound(err) {
		return virt.NoState, virt.ErrNotFound
	}
	if err != nil {
		return virt.NoState, err
	}
	ps := powerState(golibvirt.DomainState(st))
	if ps == virt.Shutdown {
		// Off with its memory saved (managed save) is suspended.
		if saved, err := d.hasManagedSave(ctx, dom); err == nil && saved {
			return virt.Suspended, nil
		}
	}
	return ps, nil
}

func powerState(st golibvirt.DomainState) virt.PowerState {
	switch st {
	case golibvirt.DomainRunning, golibvirt.DomainBlocked:
		return virt.Running
	case golibvirt.DomainPaused:
		return virt.Paused
	case golibvirt.DomainShutdown, golibvirt.DomainShutoff:
		return virt.Shutdown
	case golibvirt.DomainCrashed:
		return virt.Crashed
	case golibvirt.DomainPmsuspended:
		return virt.Suspended
	}
	return virt.NoState
}

// State reports an instance's power state.
func (d *Driver) State(ctx context.Context, id string) (virt.PowerState, error) {
	dom, err := d.lookup(ctx, id)
	if err != nil {
		return virt.NoState, err
	}
	return d.state(ctx, dom)
}

// owns reports whether a domain carries Stratus metadata.
func (d *Driver) owns(ctx context.Context, dom golibvirt.Domain) (Metadata, bool, error) {
	if !strings.HasPrefix(dom.Name, NamePrefix) {
		return Metadata{}, false, nil
	}
	var raw string
	err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		var err error
		raw, err = l.DomainGetMetadata(dom, int32(golibvirt.DomainMetadataElement), golibvirt.OptString{MetadataNS}, 0)
		return err
	})
	if err != nil {
		var le golibvirt.Error
		if errors.As(err, &le) && (le.Code == uint32(golibvirt.ErrNoDomainMetadata) || le.Code == uint32(golibvirt.ErrNoDomain)) {
			return Metadata{}, false, nil
		}
		return Metadata{}, false, err
	}
	m, ok := parseMetadataAnswer(raw)
	return m, ok, nil
}

// List reports the domains that carry Stratus metadata; others are ignored.
func (d *Driver) List(ctx context.Context) ([]virt.Domain, error) {
	var doms []golibvirt.Domain
	err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		var err error
		doms, _, err = l.ConnectListAllDomains(1, 0)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	out := make([]virt.Domain, 0, len(doms))
	owned := map[string]bool{}
	for _, dom := range doms {
		m, ok, err := d.owns(ctx, dom)
		if err != nil {
			return nil, err
		}
		if !ok || (m.Host != "" && m.Host != d.cfg.Host) {
			continue
		}
		st, err := d.state(ctx, dom)
		if errors.Is(err, virt.ErrNotFound) {
			continue // undefined meanwhile
		}
		if err != nil {
			return nil, err
		}
		owned[dom.Name] = true
		out = append(out, virt.Domain{ID: m.InstanceID, State: st})
	}
	d.mu.Lock()
	d.owned = owned
	d.mu.Unlock()
	return out, nil
}

// isOperationInvalid is libvirt's answer to starting a running domain or
// stopping a stopped one.
func isOperationInvalid(err error) bool {
	var le golibvirt.Error
	return errors.As(err, &le) && le.Code == uint32(golibvirt.ErrOperationInvalid)
}

// create starts a defined domain; one already running is fine (a start
// retried after libvirtd restarted under it). It logs how long libvirt
// took: the hypervisor's share of a build.
func (d *Driver) create(ctx context.Context, dom golibvirt.Domain) error {
	start := time.Now()
	err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error { return l.DomainCreate(dom) })
	if isOperationInvalid(err) {
		if st, serr := d.state(ctx, dom); serr == nil && st == virt.Running {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("start domain: %w", err)
	}
	d.log.Info("libvirt DomainCreate", "domain", dom.Name, "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// destroy forces a domain off; one already off is fine.
func (d *Driver) destroy(ctx context.Context, dom golibvirt.Domain) error {
	err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error { return l.DomainDestroy(dom) })
	if err == nil || isOperationInvalid(err) || golibvirt.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("destroy domain: %w", err)
}

// Destroy removes an instance's domain and every file of it: it forces the
// domain off, undefines it (with its managed save, snapshot and checkpoint
// metadata and NVRAM, which would otherwise block the undefine) and deletes
// its directory. A missing domain or directory is fine.
func (d *Driver) Destroy(ctx context.Context, id string) error {
	dom, err := d.lookup(ctx, id)
	switch {
	case errors.Is(err, virt.ErrNotFound):
	case err != nil:
		return err
	default:
		if err := d.destroy(ctx, dom); err != nil {
			return err
		}
		flags := golibvirt.DomainUndefineManagedSave | golibvirt.DomainUndefineSnapshotsMetadata |
			golibvirt.DomainUndefineNvram | golibvirt.DomainUndefineCheckpointsMetadata
		err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error { return l.DomainUndefineFlags(dom, flags) })
		if err != nil && !golibvirt.IsNotFound(err) {
			return fmt.Errorf("undefine domain: %w", err)
		}
		d.mu.Lock()
		delete(d.owned, dom.Name)
		d.mu.Unlock()
	}
	return d.removeInstanceFiles(id)
}

// PowerOn starts a stopped domain.
func (d *Driver) PowerOn(ctx context.Context, id string) error {
	dom, err := d.lookup(ctx, id)
	if err != nil {
		return err
	}
	if st, err := d.state(ctx, dom); err == nil && st == virt.Running {
		return nil
	}
	return d.create(ctx, dom)
}

// PowerOff presses the ACPI power button and waits up to timeout for the
// guest to shut down, then forces the domain off.
func (d *Driver) PowerOff(ctx context.Context, id string, timeout time.Duration) error {
	dom, err := d.lookup(ctx, id)
	if err != nil {
		return err
	}
	if stopped, err := d.shutdown(ctx, dom, timeout); err != nil || stopped {
		return err
	}
	d.log.Info("guest ignored the ACPI shutdown; forcing it off", "domain", dom.Name, "waited", timeout)
	return d.destroy(ctx, dom)
}

// shutdown asks the guest to power off (ACPI) and reports whether it did
// within timeout.
func (d *Driver) shutdown(ctx context.Context, dom golibvirt.Domain, timeout time.Duration) (bool, error) {
	st, err := d.state(ctx, dom)
	if err != nil {
		return false, err
	}
	if st != virt.Running && st != virt.Paused {
		return true, nil
	}
	err = d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		return l.DomainShutdownFlags(dom, golibvirt.DomainShutdownAcpiPowerBtn)
	})
	if err != nil && !isOperationInvalid(err) {
		return false, fmt.Errorf("ACPI shutdown: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if st, err := d.state(ctx, dom); err != nil || (st != virt.Running && st != virt.Paused) {
			return err == nil, err
		}
	}
	return false, nil
}

// Reboot restarts a domain. Soft: an ACPI shutdown, forced after the
// reboot timeout, then a start (Nova's way: a guest that ignores ACPI still
// reboots). Hard: destroy and start, which also starts a stopped domain.
func (d *Driver) Reboot(ctx context.Context, id string, hard bool) error {
	dom, err := d.lookup(ctx, id)
	if err != nil {
		return err
	}
	if !hard {
		st, err := d.state(ctx, dom)
		if err != nil {
			return err
		}
		if st != virt.Running {
			return fmt.Errorf("cannot soft-reboot a domain that is %s", st)
		}
		stopped, err := d.shutdown(ctx, dom, d.cfg.RebootTimeout)
		if err != nil {
			return err
		}
		if !stopped {
			d.log.Info("guest ignored the ACPI shutdown of a soft reboot; forcing it", "domain", dom.Name)
		}
	}
	if err := d.destroy(ctx, dom); err != nil {
		return err
	}
	return d.create(ctx, dom)
}

// VNC reads the listen address and port of a running domain's VNC server.
func (d *Driver) VNC(ctx context.Context, id string) (string, int, error) {
	dom, err := d.lookup(ctx, id)
	if err != nil {
		return "", 0, err
	}
	var x string
	err = d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		var err error
		x, err = l.DomainGetXMLDesc(dom, 0)
		return err
	})
	if golibvirt.IsNotFound(err) {
		return "", 0, virt.ErrNotFound
	}
	if err != nil {
		return "", 0, err
	}
	return VNCAddress(x)
}
