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
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/models"
	"stratus/workers"
	"stratus/workers/virt"
)

// Config sets up an agent. Store, Driver and Host are required.
type Config struct {
	Store  *models.Store
	Driver virt.Driver
	Host   string // this host's name, unique in the cloud

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

	Workers           int           // builds and actions at once (default 4)
	HeartbeatInterval time.Duration // default 10 s
	PowerSyncInterval time.Duration // default 60 s
	PowerOffTimeout   time.Duration // ACPI shutdown before forcing off (default 60 s)
	PollInterval      time.Duration // how often the job pool looks for work (default 1 s)
	// JobTimeout bounds one run of a job; a build includes fetching its
	// images (default 30 min). A stuck run is retried, then fails.
	JobTimeout         time.Duration
	ConsoleLogInterval time.Duration // how often changed console logs are stored (default 2 s)

	// Images makes an image's bytes available on this host before a
	// spawn. Nil for drivers that need no files (the fake driver).
	Images ImageCache

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
	logs map[string]logState // console logs as last shipped (the shipper task only)
}

// New checks the config and builds the agent's job pool.
func New(cfg Config) (*Agent, error) {
	if cfg.Store == nil || cfg.Driver == nil || cfg.Host == "" {
		return nil, errors.New("compute: Config needs a Store, a Driver and a Host")
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
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, log: cfg.Log.With("host", cfg.Host)}
	reg := workers.NewRegistry()
	workers.Register(reg, workers.WorkFunc[models.SpawnInstance](a.spawn))
	workers.Register(reg, workers.WorkFunc[models.PowerInstance](a.power))
	workers.Register(reg, workers.WorkFunc[models.DeleteInstance](a.delete))
	pool, err := workers.NewPool(workers.Config{
		Store: cfg.Store, Registry: reg, Owner: "compute-" + cfg.Host, TargetHost: cfg.Host,
		Workers: cfg.Workers, PollInterval: cfg.PollInterval, JobTimeout: cfg.JobTimeout,
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

// Register records the host and its inventory in the database.
func (a *Agent) Register(ctx context.Context) (models.Host, error) {
	info, err := a.cfg.Driver.HostInfo(ctx)
	if err != nil {
		return models.Host{}, fmt.Errorf("read host inventory from %s: %w", a.cfg.Driver.Name(), err)
	}
	return a.cfg.Store.RegisterHost(ctx, models.HostInventory{
		Name: a.cfg.Host, AvailabilityZone: a.cfg.AvailabilityZone, Driver: a.cfg.Driver.Name(),
		HypervisorType: info.HypervisorType, Arch: info.Arch, Address: a.cfg.Address,
		VCPUs: info.VCPUs, RAMMB: info.RAMMB, DiskGB: info.DiskGB,
		ReservedVCPUs: a.cfg.ReservedVCPUs, ReservedRAMMB: a.cfg.ReservedRAMMB, ReservedDiskGB: a.cfg.ReservedDiskGB,
		CPURatio: a.cfg.CPURatio, RAMRatio: a.cfg.RAMRatio, DiskRatio: a.cfg.DiskRatio,
	})
}

// Run registers the host, reconciles the hypervisor with the database,
// then runs jobs, heartbeats, power sync and lifecycle events until ctx
// ends; then it finishes the jobs in flight (up to 30 s) and returns.
func (a *Agent) Run(ctx context.Context) error {
	h, err := a.Register(ctx)
	if err != nil {
		return err
	}
	a.log.Info("compute agent registered", "driver", a.cfg.Driver.Name(), "vcpus", h.VCPUs, "ram_mb", h.RAMMB,
		"disk_gb", h.DiskGB, "enabled", h.Enabled)
	if err := a.SyncPower(ctx, "agent start"); err != nil {
		a.log.Warn("reconcile at start failed; the periodic sync will retry", "err", err)
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
				return a.cfg.Store.HostHeartbeat(ctx, a.cfg.Host)
			}},
			workers.Periodic{Name: "power-sync", Interval: a.cfg.PowerSyncInterval, Timeout: a.cfg.PowerSyncInterval,
				Run: func(ctx context.Context) error { return a.SyncPower(ctx, "periodic power sync") }},
			workers.Periodic{Name: "console-logs", Interval: a.cfg.ConsoleLogInterval, Run: a.shipConsoleLogs},
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
	return err
}

// onEvent applies a lifecycle event to the instance's power state.
func (a *Agent) onEvent(ctx context.Context, ev virt.Event) {
	changed, err := a.cfg.Store.SyncPowerState(ctx, ev.ID, a.cfg.Host, models.PowerState(ev.State), "lifecycle event: "+ev.Reason)
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

// SyncPower compares every domain with the database. Instances on this
// host take the hypervisor's power state (a missing domain is nostate).
// Domains whose instance was deleted while the host was away are destroyed;
// domains Stratus does not know are reported, never destroyed.
func (a *Agent) SyncPower(ctx context.Context, why string) error {
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
		if _, err := a.cfg.Store.SyncPowerState(ctx, inst.ID, a.cfg.Host, models.PowerState(st), why); err != nil {
			a.log.Warn("power sync", "instance", inst.ID, "err", err)
		}
	}
	for _, d := range doms {
		if known[d.ID] {
			continue
		}
		inst, err := a.cfg.Store.InstanceByID(ctx, d.ID)
		switch {
		case err == nil && inst.VMState == models.VMDeleted:
			a.log.Info("destroying the domain of an instance deleted while this host was away", "instance", d.ID)
			if err := a.cfg.Driver.Destroy(ctx, d.ID); err != nil {
				a.log.Warn("destroy leftover domain", "instance", d.ID, "err", err)
			}
		case err == nil:
			a.log.Warn("domain runs here but its instance belongs elsewhere; left alone", "instance", d.ID, "db_host", inst.Host)
		case errors.Is(err, models.ErrNotFound):
			a.log.Warn("unknown domain with Stratus metadata; left alone", "domain", d.ID, "state", d.State)
		default:
			return err
		}
	}
	return nil
}
