// Package compute is the agent of one hypervisor host (nova-compute): it
// registers the host and its inventory, heartbeats, runs the jobs targeted
// at its host through the hypervisor driver, follows the driver's lifecycle
// events, and reconciles the hypervisor's power states with the database at
// start and periodically — the hypervisor is the authority for power_state.
package compute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/models"
	"stratus/workers"
	hostnet "stratus/workers/net"
	"stratus/workers/virt"
)

// Config sets up an agent. Store, Driver, Network and Host are required.
type Config struct {
	Store  *models.Store
	Driver virt.Driver
	// Network is the host network driver: bridges, VXLAN, DHCP and
	// security groups for the instances' ports.
	Network hostnet.Driver
	Host    string // this host's name, unique in the cloud
	// TunnelAddress is this host's VXLAN underlay address, registered for
	// the other hosts ("" = no tunnels: a single host).
	TunnelAddress string
	// ExternalInterface is the bridge or interface of the external
	// networks on this host (--external-interface). A host with one is
	// registered as able to carry routers; "" = it carries none.
	ExternalInterface string
	// WithoutNICs boots guests without their NICs: a fake network under a
	// real hypervisor (`stratus dev` keeps the machine's own bridges and
	// iptables untouched) — the ports are still bound and ACTIVE.
	WithoutNICs bool
	// NetworkSyncInterval is how often the agent checks the network
	// revision (default 2 s); NetworkResyncInterval how often it applies
	// the whole state even when nothing moved (default 5 min).
	NetworkSyncInterval   time.Duration
	NetworkResyncInterval time.Duration

	AvailabilityZone string // default "nova"
	Address          string // management address (VNC consoles, VXLAN underlay)

	// Reserved resources are kept back for the host itself; ratios allow
	// overcommit (defaults: CPU 4.0, RAM 1.0, disk 1.0).
	ReservedVCPUs  int
	ReservedRAMMB  int64
	ReservedDiskGB int64
	CPURatio       float64
	RAMRatio       float64
	DiskRatio      float64

	Workers           int             // builds and actions at once (default 4)
	HeartbeatInterval time.Duration   // default 10 s
	PowerSyncInterval time.Duration   // default 60 s
	PowerOffTimeout   time.Duration   // ACPI shutdown before forcing off (default 60 s)
	PollInterval      time.Duration   // how often the job pool looks for work (default 1 s)
	Backoff           workers.Backoff // spaces a failing job's attempts (default workers.DefaultBackoff)
	// JobTimeout bounds one run of a job; a build includes fetching its
	// images (default 30 min). A stuck run is retried, then fails.
	JobTimeout         time.Duration
	ConsoleLogInterval time.Duration // how often changed console logs are stored (default 2 s)
	// DetachTimeout is how long a volume detach waits for the guest to
	// release the disk (default 60 s).
	DetachTimeout time.Duration

	// Images makes an image's bytes available on this host before a
	// spawn. Nil for drivers that need no files (the fake driver).
	Images ImageCache
	// Snapshots takes snapshots' data to the image store; nil: this host
	// takes no snapshots. SnapshotDir is where a snapshot's copy waits for
	// its upload (default: the system's temporary directory).
	Snapshots   ImageSink
	SnapshotDir string

	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// ImageCache fetches images into the host's cache and says where they are.
type ImageCache interface {
	Fetch(ctx context.Context, image models.Image) (path string, err error)
}

// Agent runs one host.
type Agent struct {
	cfg  Config
	log  *slog.Logger
	pool *workers.Pool

	mu    sync.Mutex
	local map[string]bool // instances on this host, for the console log shipper

	logs map[string]logState // console logs as last shipped (the shipper task only)

	net netSync
}

// New checks the config and builds the agent's job pool.
func New(cfg Config) (*Agent, error) {
	if cfg.Store == nil || cfg.Driver == nil || cfg.Network == nil || cfg.Host == "" {
		return nil, errors.New("compute: Config needs a Store, a Driver, a Network and a Host")
	}
	if cfg.NetworkSyncInterval <= 0 {
		cfg.NetworkSyncInterval = 2 * time.Second
	}
	if cfg.NetworkResyncInterval <= 0 {
		cfg.NetworkResyncInterval = 5 * time.Minute
	}
	if cfg.CPURatio == 0 {
		cfg.CPURatio = 4
	}
	if cfg.RAMRatio == 0 {
		cfg.RAMRatio = 1
	}
	if cfg.DiskRatio == 0 {
		cfg.DiskRatio = 1
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	if cfg.PowerSyncInterval <= 0 {
		cfg.PowerSyncInterval = 60 * time.Second
	}
	if cfg.PowerOffTimeout <= 0 {
		cfg.PowerOffTimeout = 60 * time.Second
	}
	if cfg.ConsoleLogInterval <= 0 {
		cfg.ConsoleLogInterval = 2 * time.Second
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = 30 * time.Minute
	}
	if cfg.DetachTimeout <= 0 {
		cfg.DetachTimeout = virt.DefaultDetachTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, log: cfg.Log.With("host", cfg.Host), local: map[string]bool{}}
	reg := workers.NewRegistry()
	workers.Register(reg, workers.WorkFunc[models.SpawnInstance](a.spawn))
	workers.Register(reg, workers.WorkFunc[models.PowerInstance](a.power))
	workers.Register(reg, workers.WorkFunc[models.DeleteInstance](a.delete))
	workers.Register(reg, workers.WorkFunc[models.AttachVolume](a.attachVolume))
	workers.Register(reg, workers.WorkFunc[models.DetachVolume](a.detachVolume))
	workers.Register(reg, workers.WorkFunc[models.ExtendVolumeLive](a.extendVolumeLive))
	workers.Register(reg, workers.WorkFunc[models.SnapshotVolumeLive](a.snapshotVolumeLive))
	workers.Register(reg, workers.WorkFunc[models.PrepareMove](a.prepareMove))
	workers.Register(reg, workers.WorkFunc[models.MigrateInstance](a.migrateInstance))
	workers.Register(reg, workers.WorkFunc[models.FinishMove](a.finishMove))
	workers.Register(reg, workers.WorkFunc[models.ConfirmMove](a.confirmMove))
	workers.Register(reg, workers.WorkFunc[models.RevertMove](a.revertMove))
	workers.Register(reg, workers.WorkFunc[models.FinishRevert](a.finishRevert))
	workers.Register(reg, workers.WorkFunc[models.AbortMove](a.abortMove))
	workers.Register(reg, workers.WorkFunc[models.EvacuateInstance](a.evacuate))
	workers.Register(reg, workers.WorkFunc[models.SnapshotInstance](a.snapshot))
	workers.Register(reg, workers.WorkFunc[models.RebuildInstance](a.rebuild))
	workers.Register(reg, workers.WorkFunc[models.ShelveInstance](a.shelve))
	workers.Register(reg, workers.WorkFunc[models.UnshelveInstance](a.unshelve))
	pool, err := workers.NewPool(workers.Config{
		Store: cfg.Store, Registry: reg, Owner: "compute-" + cfg.Host, TargetHost: cfg.Host,
		Workers: cfg.Workers, PollInterval: cfg.PollInterval, JobTimeout: cfg.JobTimeout, Backoff: cfg.Backoff,
		// A build takes seconds to minutes: never hold more than we run.
		MaxPrefetch: -1, Logger: a.log, Registerer: cfg.Registerer,
	})
	if err != nil {
		return nil, err
	}
	a.pool = pool
	return a, nil
}

// Pool is the agent's job pool (Wake it when a job for this host was just
// enqueued in the same process).
func (a *Agent) Pool() *workers.Pool { return a.pool }

// ID is this agent process's identity: its job pool's lease owner, new at
// every start. Registering it supersedes the host's previous agent.
func (a *Agent) ID() string { return a.pool.Owner() }

// Register records the host and its inventory in the database, as run by
// this agent.
func (a *Agent) Register(ctx context.Context) (models.Host, error) {
	info, err := a.cfg.Driver.HostInfo(ctx)
	if err != nil {
		return models.Host{}, fmt.Errorf("read host inventory from %s: %w", a.cfg.Driver.Name(), err)
	}
	return a.cfg.Store.RegisterHost(ctx, models.HostInventory{
		Name: a.cfg.Host, AvailabilityZone: a.cfg.AvailabilityZone, Driver: a.cfg.Driver.Name(),
		HypervisorType: info.HypervisorType, Arch: info.Arch, Address: a.cfg.Address, TunnelAddress: a.cfg.TunnelAddress,
		ExternalInterface: a.cfg.ExternalInterface, VCPUs: info.VCPUs, RAMMB: info.RAMMB, DiskGB: info.DiskGB,
		ReservedVCPUs: a.cfg.ReservedVCPUs, ReservedRAMMB: a.cfg.ReservedRAMMB, ReservedDiskGB: a.cfg.ReservedDiskGB,
		CPURatio: a.cfg.CPURatio, RAMRatio: a.cfg.RAMRatio, DiskRatio: a.cfg.DiskRatio, AgentID: a.ID(),
	})
}

// Run registers the host, takes back the jobs a previous agent process of
// the host still held, reconciles the hypervisor with the database, then
// runs jobs, heartbeats, power sync and lifecycle events until ctx ends (or
// another agent process registers the host: models.ErrAgentSuperseded);
// then it finishes the jobs in flight (up to 30 s) and returns.
func (a *Agent) Run(ctx context.Context) error {
	h, err := a.Register(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: nothing ran, nothing to report
		}
		return err
	}
	a.log.Info("compute agent registered", "driver", a.cfg.Driver.Name(), "vcpus", h.VCPUs, "ram_mb", h.RAMMB,
		"disk_gb", h.DiskGB, "enabled", h.Enabled, "agent", a.ID())
	// A restarted agent need not wait out its predecessor's leases (30 s):
	// the registration made this process the host's agent, so the jobs of
	// the host leased by any other process are a dead predecessor's.
	n, err := a.cfg.Store.TakeOverHost(ctx, a.cfg.Host, a.ID())
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("take over host %s: %w", a.cfg.Host, err)
	}
	if n > 0 {
		a.log.Warn("took back the jobs the host's previous agent process held", "jobs", n)
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	if err := a.cfg.Network.Check(ctx); err != nil {
		return fmt.Errorf("host network driver %s: %w", a.cfg.Network.Name(), err)
	}
	// Every bridge, DHCP server and chain of the host, from the database,
	// before any job runs: a restarted agent leaves no guest unfiltered.
	if err := a.SyncNetwork(ctx); err != nil {
		a.log.Warn("reconciling the host's networking at start failed; retrying every few seconds", "err", err)
	}
	a.log.Info("host networking", "driver", a.cfg.Network.Name(), "tunnel_address", a.cfg.TunnelAddress,
		"external_interface", a.cfg.ExternalInterface)
	if err := a.SyncPower(ctx, "agent start"); err != nil {
		a.log.Warn("reconcile at start failed; the periodic sync will retry", "err", err)
	}
	if err := a.ReconcileVolumes(ctx); err != nil {
		a.log.Warn("reconciling volume attachments at start failed", "err", err)
	}
	// The pool outlives ctx so that Stop below can drain it gracefully.
	if err := a.pool.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	events, err := a.cfg.Driver.Events(ctx)
	if err != nil {
		a.log.Warn("no lifecycle events from the driver; relying on the periodic power sync", "err", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = workers.NewPeriodicRunner(a.log, a.cfg.Registerer).Run(ctx,
			workers.Periodic{Name: "heartbeat", Interval: a.cfg.HeartbeatInterval, Run: func(ctx context.Context) error {
				err := a.cfg.Store.HostHeartbeat(ctx, a.cfg.Host, a.ID())
				if errors.Is(err, models.ErrAgentSuperseded) {
					// Two agents for one host would fight over its domains:
					// the newer one runs it.
					a.log.Error("another agent process registered this host: stopping this one", "host", a.cfg.Host)
					stop(err)
				}
				return err
			}},
			workers.Periodic{Name: "power-sync", Interval: a.cfg.PowerSyncInterval, Timeout: a.cfg.PowerSyncInterval,
				Run: func(ctx context.Context) error { return a.SyncPower(ctx, "periodic power sync") }},
			workers.Periodic{Name: "console-logs", Interval: a.cfg.ConsoleLogInterval, Run: a.shipConsoleLogs},
			workers.Periodic{Name: "network-sync", Interval: a.cfg.NetworkSyncInterval, Run: a.followNetwork},
			// Any agent may prune: the DELETE is idempotent and cheap.
			workers.Periodic{Name: "console-token-prune", Interval: time.Hour, Run: func(ctx context.Context) error {
				_, err := a.cfg.Store.PruneConsoleTokens(ctx)
				return err
			}},
		)
	}()
	for ctx.Err() == nil {
		select {
		case ev, ok := <-events: // a nil channel (no events) never delivers
			if !ok {
				events = nil
				continue
			}
			a.onEvent(ctx, ev)
		case <-ctx.Done():
		}
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = a.pool.Stop(stopCtx)
	<-done
	if cause := context.Cause(ctx); errors.Is(cause, models.ErrAgentSuperseded) {
		return fmt.Errorf("host %s: %w", a.cfg.Host, cause)
	}
	return err
}

// onEvent applies a lifecycle event to the instance's power state. An
// event may be handled late — after an action that followed it finished
// (a "resumed" handled after the next pause) — so it applies the domain's
// state as it is now, and only to the instance as it was before looking.
func (a *Agent) onEvent(ctx context.Context, ev virt.Event) {
	changed, err := a.applyEvent(ctx, ev)
	switch {
	case errors.Is(err, models.ErrNotFound):
	case err != nil:
		a.log.Warn("apply lifecycle event", "instance", ev.ID, "state", ev.State, "err", err)
	case changed:
		a.log.Info("power state changed by lifecycle event", "instance", ev.ID, "state", ev.State, "reason", ev.Reason)
	}
	if err == nil {
		a.recordConsole(ctx, ev.ID)
	}
}

// applyEvent syncs the instance of an event with its domain's state now.
func (a *Agent) applyEvent(ctx context.Context, ev virt.Event) (bool, error) {
	inst, err := a.cfg.Store.InstanceByID(ctx, ev.ID)
	if err != nil {
		return false, err
	}
	st, err := a.cfg.Driver.State(ctx, ev.ID)
	switch {
	case errors.Is(err, virt.ErrNotFound):
		st = virt.NoState
	case err != nil:
		st = ev.State // the event's word, when the driver cannot answer
	}
	return a.cfg.Store.SyncPowerState(ctx, ev.ID, a.cfg.Host, models.PowerState(st), "lifecycle event: "+ev.Reason, inst.UpdatedAt)
}

// SyncPower compares every domain with the database. Instances on this
// host take the hypervisor's power state (a missing domain is nostate);
// only those that changed are written, each in its own transaction.
// Domains whose instance was deleted while the host was away, or that now
// lives elsewhere (rescheduled away while this host was down or cut off),
// are destroyed — except the copies of a move under way (the source's kept
// for a revert, the destination's being prepared); domains Stratus does not
// know are reported, never destroyed.
func (a *Agent) SyncPower(ctx context.Context, why string) error {
	// The domains first, then the instances: every domain listed was
	// placed here before it was built, so a domain whose instance is not
	// among them really belongs elsewhere (or nowhere).
	doms, err := a.cfg.Driver.List(ctx)
	if err != nil {
		return fmt.Errorf("list domains: %w", err)
	}
	insts, err := a.cfg.Store.HostInstances(ctx, a.cfg.Host)
	if err != nil {
		return err
	}
	states := make(map[string]virt.PowerState, len(doms))
	for _, d := range doms {
		states[d.ID] = d.State
	}
	known := make(map[string]bool, len(insts))
	for _, inst := range insts {
		known[inst.ID] = true
		st, ok := states[inst.ID]
		if !ok {
			st = virt.NoState
		}
		if !inst.PowerSyncWanted(models.PowerState(st)) {
			continue
		}
		// The list may predate an action that finished before the
		// instance was read (a pause): ask the hypervisor again, now, and
		// apply its answer only to the instance as read.
		switch fresh, err := a.cfg.Driver.State(ctx, inst.ID); {
		case err == nil:
			st = fresh
		case errors.Is(err, virt.ErrNotFound):
			st = virt.NoState
		default:
			a.log.Warn("power sync", "instance", inst.ID, "err", err)
			continue
		}
		if !inst.PowerSyncWanted(models.PowerState(st)) {
			continue
		}
		if _, err := a.cfg.Store.SyncPowerState(ctx, inst.ID, a.cfg.Host, models.PowerState(st), why, inst.UpdatedAt); err != nil {
			a.log.Warn("power sync", "instance", inst.ID, "err", err)
		}
	}
	a.setLocal(known)
	var moving map[string]bool
	for _, d := range doms {
		if known[d.ID] {
			continue
		}
		if moving == nil {
			// Read only when a domain is not the host's: the usual sync
			// costs no extra query.
			if moving, err = a.cfg.Store.MovingInstances(ctx, a.cfg.Host); err != nil {
				return err
			}
		}
		if moving[d.ID] {
			continue // a move's other copy: its jobs decide about it
		}
		inst, err := a.cfg.Store.InstanceByID(ctx, d.ID)
		switch {
		case err == nil && inst.VMState == models.VMDeleted:
			a.log.Info("destroying the domain of an instance deleted while this host was away", "instance", d.ID)
			if err := a.cfg.Driver.Destroy(ctx, d.ID); err != nil {
				a.log.Warn("destroy leftover domain", "instance", d.ID, "err", err)
			}
		case err == nil:
			// Built here, then given to another host: the database says
			// where the instance lives, and a second copy must not run.
			a.log.Warn("destroying the domain of an instance that left this host (rescheduled while it was down or cut off)",
				"instance", d.ID, "now_on", inst.Host, "vm_state", inst.VMState)
			if err := a.cfg.Driver.Destroy(ctx, d.ID); err != nil {
				a.log.Warn("destroy leftover domain", "instance", d.ID, "err", err)
			}
		case errors.Is(err, models.ErrNotFound):
			a.log.Warn("unknown domain with Stratus metadata; left alone", "domain", d.ID, "state", d.State)
		default:
			return err
		}
	}
	return nil
}

// setLocal replaces the set of instances on this host with a copy of ids
// (the caller goes on reading its map while spawns and deletes note theirs).
func (a *Agent) setLocal(ids map[string]bool) {
	local := make(map[string]bool, len(ids))
	for id := range ids {
		local[id] = true
	}
	a.mu.Lock()
	a.local = local
	a.mu.Unlock()
}

// noteLocal adds (on) or removes an instance of this host between syncs.
func (a *Agent) noteLocal(id string, on bool) {
	a.mu.Lock()
	if on {
		a.local[id] = true
	} else {
		delete(a.local, id)
	}
	a.mu.Unlock()
}
