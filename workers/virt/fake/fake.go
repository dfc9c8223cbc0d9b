// Package fake is an in-memory hypervisor, like Nova's FakeDriver: it keeps
// domains and their power states, has a capacity it refuses to exceed, takes
// a configurable time to boot, emits lifecycle events, and fails on request.
// `stratus dev` uses it when libvirt is not reachable, and tests and
// benchmarks use it to prove the control plane without booting guests.
package fake

import (
	"context"
	"fmt"
	"sync"
	"time"

	"stratus/workers/virt"
)

// Config sizes the fake host.
type Config struct {
	VCPUs     int
	RAMMB     int64
	DiskGB    int64
	BootDelay time.Duration // how long Spawn and PowerOn take
}

// DefaultConfig is a host of a modest real size.
func DefaultConfig() Config {
	return Config{VCPUs: 16, RAMMB: 65536, DiskGB: 1000}
}

type domain struct {
	spec  virt.InstanceSpec
	state virt.PowerState
}

// Driver is the fake hypervisor. It is safe for concurrent use.
type Driver struct {
	cfg Config

	mu         sync.Mutex
	domains    map[string]*domain
	failSpawns int
	failMsg    string
	// failMigrations and failMigrationMsg inject migration failures.
	failMigrations   int
	failMigrationMsg string
	// holdMigration, when set, holds the next migration from this host
	// until it is closed (see HoldNextMigration).
	holdMigration chan struct{}
	// holdSnapshot, when set, holds the next root-disk copy (a snapshot's
	// or a shelve's) until it is closed (see HoldNextSnapshot).
	holdSnapshot chan struct{}
	subs         map[chan virt.Event]struct{}
	held         map[string]bool    // volume serials whose guest refuses to release them
	failOps      map[string]failure // FailNext: injected failures by operation
}

var (
	_ virt.Driver  = (*Driver)(nil)
	_ virt.Volumes = (*Driver)(nil)
)

// New returns an empty fake host.
func New(cfg Config) *Driver {
	return &Driver{cfg: cfg, domains: map[string]*domain{}, subs: map[chan virt.Event]struct{}{}}
}

// Name is "fake".
func (d *Driver) Name() string { return "fake" }

// HostInfo reports the configured capacity.
func (d *Driver) HostInfo(context.Context) (virt.HostInfo, error) {
	return virt.HostInfo{VCPUs: d.cfg.VCPUs, RAMMB: d.cfg.RAMMB, DiskGB: d.cfg.DiskGB, HypervisorType: "fake", Arch: "x86_64"}, nil
}

// FailNextSpawns makes the next n spawns fail with msg (failure injection).
func (d *Driver) FailNextSpawns(n int, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failSpawns, d.failMsg = n, msg
}

// SetState changes a domain's state as if someone did it behind Stratus'
// back (virsh destroy, a guest shutting itself down), and emits the event.
func (d *Driver) SetState(id string, st virt.PowerState) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dom, ok := d.domains[id]
	if !ok {
		return virt.ErrNotFound
	}
	dom.state = st
	d.emit(virt.Event{ID: id, State: st, Reason: "changed outside Stratus"})
	return nil
}

// Domains returns every domain's state (for tests).
func (d *Driver) Domains() map[string]virt.PowerState {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]virt.PowerState, len(d.domains))
	for id, dom := range d.domains {
		out[id] = dom.state
	}
	return out
}

// NICs are the network interfaces a domain was given (for tests).
func (d *Driver) NICs(id string) []virt.NIC {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dom, ok := d.domains[id]; ok {
		return append([]virt.NIC(nil), dom.spec.NICs...)
	}
	return nil
}

// BootImage is the image a domain's root disk was made from, and its
// user data (for tests: a rebuild makes a new disk from a new image).
func (d *Driver) BootImage(id string) (image, userData string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dom, ok := d.domains[id]; ok {
		return dom.spec.Image.ID, dom.spec.UserData
	}
	return "", ""
}

// KeyPair is the key pair a domain was spawned with, as its config drive
// would carry it (for tests: a rebuild may change it).
func (d *Driver) KeyPair(id string) (name, publicKey string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dom, ok := d.domains[id]; ok {
		return dom.spec.KeyName, dom.spec.KeyData
	}
	return "", ""
}

// Spawn creates and starts a domain, refusing one that does not fit the
// host's free RAM or disk (vCPUs may be overcommitted, as on a real host).
func (d *Driver) Spawn(ctx context.Context, spec virt.InstanceSpec) error {
	if err := d.wait(ctx); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if dom, ok := d.domains[spec.ID]; ok {
		if dom.state != virt.Running {
			dom.state = virt.Running
			d.emit(virt.Event{ID: spec.ID, State: virt.Running, Reason: "started"})
		}
		return nil
	}
	if d.failSpawns > 0 {
		d.failSpawns--
		return fmt.Errorf("fake hypervisor: %s", d.failMsg)
	}
	if err := d.fits(spec, nil); err != nil {
		return err
	}
	d.domains[spec.ID] = &domain{spec: spec, state: virt.Running}
	d.emit(virt.Event{ID: spec.ID, State: virt.Running, Reason: "started"})
	return nil
}

// Destroy removes a domain; a missing one is fine. FailNext("destroy", …)
// makes it refuse, the domain left as it was.
func (d *Driver) Destroy(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.domains[id]; ok {
		if err := d.injected("destroy"); err != nil {
			return err
		}
		delete(d.domains, id)
		d.emit(virt.Event{ID: id, State: virt.Shutdown, Reason: "destroyed"})
	}
	return nil
}

// PowerOn starts a stopped domain (a suspended one is restored, as
// libvirt restores a managed save).
func (d *Driver) PowerOn(ctx context.Context, id string) error {
	if err := d.wait(ctx); err != nil {
		return err
	}
	return d.set(id, virt.Running, "started")
}

// PowerOff stops a domain (a suspended one loses its saved memory).
func (d *Driver) PowerOff(_ context.Context, id string, _ time.Duration) error {
	return d.set(id, virt.Shutdown, "stopped")
}

// Reboot leaves a domain running (a hard reboot also starts a stopped one).
func (d *Driver) Reboot(ctx context.Context, id string, hard bool) error {
	d.mu.Lock()
	dom, ok := d.domains[id]
	var st virt.PowerState
	if ok {
		st = dom.state
	}
	d.mu.Unlock()
	if !ok {
		return virt.ErrNotFound
	}
	if !hard && st != virt.Running {
		return fmt.Errorf("fake hypervisor: cannot soft-reboot a domain that is %s", st)
	}
	if err := d.wait(ctx); err != nil {
		return err
	}
	return d.set(id, virt.Running, "rebooted")
}

// State reports a domain's power state.
func (d *Driver) State(_ context.Context, id string) (virt.PowerState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dom, ok := d.domains[id]
	if !ok {
		return virt.NoState, virt.ErrNotFound
	}
	return dom.state, nil
}

// List reports every domain.
func (d *Driver) List(context.Context) ([]virt.Domain, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]virt.Domain, 0, len(d.domains))
	for id, dom := range d.domains {
		out = append(out, virt.Domain{ID: id, State: dom.state})
	}
	return out, nil
}

// Events streams state changes until ctx ends.
func (d *Driver) Events(ctx context.Context) (<-chan virt.Event, error) {
	ch := make(chan virt.Event, 256)
	d.mu.Lock()
	d.subs[ch] = struct{}{}
	d.mu.Unlock()
	go func() {
		<-ctx.Done()
		d.mu.Lock()
		delete(d.subs, ch)
		d.mu.Unlock()
		close(ch)
	}()
	return ch, nil
}

// Close forgets nothing: a fake host lives as long as its process.
func (d *Driver) Close() error { return nil }

func (d *Driver) set(id string, st virt.PowerState, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dom, ok := d.domains[id]
	if !ok {
		return virt.ErrNotFound
	}
	dom.state = st
	d.emit(virt.Event{ID: id, State: st, Reason: reason})
	return nil
}

// emit sends an event to every subscriber without blocking (a slow one
// misses events; the periodic power sync catches up). Called with mu held.
func (d *Driver) emit(e virt.Event) {
	for ch := range d.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

func (d *Driver) wait(ctx context.Context) error {
	if d.cfg.BootDelay <= 0 {
		return nil
	}
	t := time.NewTimer(d.cfg.BootDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
