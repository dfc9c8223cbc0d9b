// Package allinone runs a whole control plane's workers in one process: a
// scheduler (placement, conductor duties, queue maintenance) and N compute
// agents. `stratus dev` runs it; so do the system tests and benchmarks. The
// processes of a real deployment (`stratus scheduler`, `stratus compute`)
// run the same pieces separately.
package allinone

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
	"stratus/workers/compute"
	"stratus/workers/hostdrivers"
	"stratus/workers/scheduler"
	"stratus/workers/volume"
)

// Config sets up the in-process control plane.
type Config struct {
	Store *models.Store
	// Hosts names the compute hosts to run; OpenHost opens each one's
	// drivers (hostdrivers.Drivers.Open, or a test's fakes).
	Hosts    []string
	OpenHost func(host string) (hostdrivers.Host, error)
	// Agent tunes every agent (Store, Driver, Images and Host are filled
	// in).
	Agent compute.Config
	// TunnelAddresses gives hosts their VXLAN underlay addresses (tests
	// of several hosts; Agent.TunnelAddress for the others).
	TunnelAddresses map[string]string
	// ExternalInterfaces gives hosts an external interface (they carry
	// routers); Agent.ExternalInterface for the others.
	ExternalInterfaces map[string]string

	SchedulerWorkers int           // concurrent scheduling decisions (default 8)
	PollInterval     time.Duration // how often idle pools poll (default 5 s: wake-ups start jobs at once)
	// WakeListen is the UDP address the process takes wake-up hints from
	// other processes on (workers.Wake): `stratus scheduler` sets it, so
	// that jobs the API servers and agents enqueue are claimed at once.
	// "" takes none (`stratus dev`: every enqueuer is in the process).
	WakeListen      string
	ServiceDownTime time.Duration
	BuildTimeout    time.Duration
	// ResizeConfirmWindow: see scheduler.ConductorConfig.
	ResizeConfirmWindow time.Duration
	AutoEvacuate        time.Duration // see scheduler.ConductorConfig
	Weights             scheduler.Weights
	HostSubsetSize      int // pick among the best N hosts (see scheduler.Config)
	Maintenance         workers.MaintenanceConfig

	// Volumes are the volume services to run, one per backend (Store, Log
	// and Registerer are filled in).
	Volumes []volume.Config

	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// Cloud is the running control plane.
type Cloud struct {
	Scheduler *workers.Pool
	Agents    map[string]*compute.Agent
	Volumes   map[string]*volume.Service // by backend name
	wake      *workers.Wake

	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
}

// Start starts the scheduler and every agent. Stop (or cancelling ctx)
// shuts them down gracefully.
func Start(ctx context.Context, cfg Config) (*Cloud, error) {
	if cfg.Store == nil || (len(cfg.Hosts) > 0 && cfg.OpenHost == nil) {
		return nil, errors.New("allinone: Config needs a Store, and OpenHost when there are hosts")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SchedulerWorkers <= 0 {
		cfg.SchedulerWorkers = 8
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Cloud{Agents: map[string]*compute.Agent{}, Volumes: map[string]*volume.Service{}, cancel: cancel,
		errs: make(chan error, len(cfg.Hosts)+len(cfg.Volumes)+2)}

	sched := scheduler.New(scheduler.Config{Store: cfg.Store, Log: cfg.Log, ServiceDownTime: cfg.ServiceDownTime,
		Weights: cfg.Weights, HostSubsetSize: cfg.HostSubsetSize})
	reg := workers.NewRegistry()
	sched.Register(reg)
	pool, err := workers.NewPool(workers.Config{Store: cfg.Store, Registry: reg, Owner: "scheduler",
		Workers: cfg.SchedulerWorkers, PollInterval: cfg.PollInterval, Logger: cfg.Log, Registerer: cfg.Registerer})
	if err != nil {
		cancel()
		return nil, err
	}
	c.Scheduler = pool
	mcfg := cfg.Maintenance
	mcfg.Store, mcfg.Logger, mcfg.Registerer = cfg.Store, cfg.Log, cfg.Registerer
	maint, err := workers.NewMaintenance(mcfg)
	if err != nil {
		cancel()
		return nil, err
	}
	tasks := append(maint.Tasks(), scheduler.ConductorTasks(scheduler.ConductorConfig{Store: cfg.Store, Log: cfg.Log,
		ServiceDownTime: cfg.ServiceDownTime, BuildTimeout: cfg.BuildTimeout, ResizeConfirmWindow: cfg.ResizeConfirmWindow, AutoEvacuate: cfg.AutoEvacuate})...)

	drivers := map[string]hostdrivers.Host{}
	fail := func(err error) (*Cloud, error) {
		cancel()
		for _, d := range drivers {
			_ = d.Close()
		}
		return nil, err
	}
	for _, host := range cfg.Hosts {
		drv, err := cfg.OpenHost(host)
		if err != nil {
			return fail(fmt.Errorf("drivers of host %s: %w", host, err))
		}
		drivers[host] = drv
		acfg := cfg.Agent
		acfg.Store, acfg.Driver, acfg.Images, acfg.Snapshots, acfg.Host = cfg.Store, drv.Virt, drv.Images, drv.Snapshots, host
		if acfg.Snapshots == nil {
			acfg.Snapshots = compute.StoreImageSink{Store: cfg.Store} // one process: one image store
		}
		acfg.Network, acfg.WithoutNICs = drv.Net, drv.WithoutNICs
		if a, ok := cfg.TunnelAddresses[host]; ok {
			acfg.TunnelAddress = a
		}
		if e, ok := cfg.ExternalInterfaces[host]; ok {
			acfg.ExternalInterface = e
		}
		if acfg.Log == nil {
			acfg.Log = cfg.Log
		}
		if acfg.Registerer == nil {
			acfg.Registerer = cfg.Registerer
		}
		if acfg.PollInterval == 0 {
			acfg.PollInterval = cfg.PollInterval
		}
		agent, err := compute.New(acfg)
		if err != nil {
			return fail(err)
		}
		// Register now, so that instances launched right after Start find
		// their hosts.
		if _, err := agent.Register(ctx); err != nil {
			return fail(err)
		}
		c.Agents[host] = agent
	}
	for _, vcfg := range cfg.Volumes {
		vcfg.Store = cfg.Store
		if vcfg.Log == nil {
			vcfg.Log = cfg.Log
		}
		if vcfg.Registerer == nil {
			vcfg.Registerer = cfg.Registerer
		}
		if vcfg.PollInterval == 0 {
			vcfg.PollInterval = cfg.PollInterval
		}
		svc, err := volume.New(vcfg)
		if err != nil {
			return fail(err)
		}
		// Register now, so that volumes created right after Start find a
		// backend.
		if _, err := svc.Register(ctx); err != nil {
			return fail(err)
		}
		c.Volumes[vcfg.Name] = svc
	}

	// Jobs committed in this process wake the pool that runs them at once,
	// here or (by a hint) in another process, instead of at its next poll;
	// hints from other processes wake ours. Wired before any pool starts
	// (and so before anything here can enqueue).
	c.wake, err = workers.NewWake(workers.WakeConfig{Store: cfg.Store, Listen: cfg.WakeListen, Name: wakeName(cfg.Hosts),
		Logger: cfg.Log, Registerer: cfg.Registerer})
	if err != nil {
		return fail(err)
	}
	c.wake.Serve(pool)
	for _, agent := range c.Agents {
		c.wake.Serve(agent.Pool())
	}
	for _, svc := range c.Volumes {
		c.wake.Serve(svc.Pool()) // its target is volume/NAME
	}
	cfg.Store.OnEnqueue(c.wake.Notify)
	if err := c.wake.Start(ctx); err != nil {
		return fail(err)
	}
	if err := pool.Start(context.WithoutCancel(ctx)); err != nil {
		c.wake.Stop()
		return fail(err)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		_ = workers.NewPeriodicRunner(cfg.Log, cfg.Registerer).Run(ctx, tasks...)
	}()
	for host, agent := range c.Agents {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer drivers[host].Close()
			if err := agent.Run(ctx); err != nil {
				c.errs <- err
			}
		}()
	}
	for _, svc := range c.Volumes {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if err := svc.Run(ctx); err != nil {
				c.errs <- err
			}
		}()
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		<-ctx.Done()
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := pool.Stop(stopCtx); err != nil {
			c.errs <- err
		}
	}()
	return c, nil
}

// DefaultPollInterval is how often an idle pool looks for jobs when nobody
// woke it: a fallback, since enqueues wake the pool that runs them (one
// indexed read per poll, so an idle host costs the database little).
const DefaultPollInterval = 5 * time.Second

// wakeName names the process in the wake-up listener registry.
func wakeName(hosts []string) string {
	if len(hosts) == 0 {
		return "scheduler"
	}
	return "allinone"
}

// Wake makes the pool that runs jobs for target look for work now: ""
// is the scheduler, a host name that host's agent, volume/NAME that
// backend's volume service (in this process or, by a hint, another).
func (c *Cloud) Wake(target string) { c.wake.Notify(target) }

// Stop shuts everything down, finishing jobs in flight, and returns the
// first error any part reported.
func (c *Cloud) Stop() error {
	c.cancel()
	c.wg.Wait()
	c.wake.Stop()
	close(c.errs)
	return <-c.errs
}
