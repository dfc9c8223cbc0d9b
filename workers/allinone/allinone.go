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
	"stratus/workers/scheduler"
	"stratus/workers/virt"
)

// Config sets up the in-process control plane.
type Config struct {
	Store *models.Store
	// Hosts names the compute hosts to run; NewDriver makes each one's
	// hypervisor driver.
	Hosts     []string
	NewDriver func(host string) (virt.Driver, error)
	// Agent tunes every agent (Store, Driver and Host are filled in).
	Agent compute.Config

	SchedulerWorkers int           // concurrent scheduling decisions (default 8)
	PollInterval     time.Duration // how often idle pools poll (default 1 s; in-process enqueues wake them at once)
	ServiceDownTime  time.Duration
	BuildTimeout     time.Duration
	Weights          scheduler.Weights
	HostSubsetSize   int // pick among the best N hosts (see scheduler.Config)
	Maintenance      workers.MaintenanceConfig

	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// Cloud is the running control plane.
type Cloud struct {
	Scheduler *workers.Pool
	Agents    map[string]*compute.Agent

	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
}

// Start starts the scheduler and every agent. Stop (or cancelling ctx)
// shuts them down gracefully.
func Start(ctx context.Context, cfg Config) (*Cloud, error) {
	if cfg.Store == nil || (len(cfg.Hosts) > 0 && cfg.NewDriver == nil) {
		return nil, errors.New("allinone: Config needs a Store, and NewDriver when there are hosts")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SchedulerWorkers <= 0 {
		cfg.SchedulerWorkers = 8
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Cloud{Agents: map[string]*compute.Agent{}, cancel: cancel, errs: make(chan error, len(cfg.Hosts)+2)}

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
		ServiceDownTime: cfg.ServiceDownTime, BuildTimeout: cfg.BuildTimeout})...)

	drivers := map[string]virt.Driver{}
	fail := func(err error) (*Cloud, error) {
		cancel()
		for _, d := range drivers {
			_ = d.Close()
		}
		return nil, err
	}
	for _, host := range cfg.Hosts {
		drv, err := cfg.NewDriver(host)
		if err != nil {
			return fail(fmt.Errorf("driver for host %s: %w", host, err))
		}
		drivers[host] = drv
		acfg := cfg.Agent
		acfg.Store, acfg.Driver, acfg.Host = cfg.Store, drv, host
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

	// Jobs this process enqueues wake the pool that runs them at once
	// instead of at its next poll. Wired before any pool starts (and so
	// before anything here can enqueue).
	cfg.Store.OnEnqueue(c.Wake)
	if err := pool.Start(context.WithoutCancel(ctx)); err != nil {
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

// Wake makes the pool that runs jobs for target look for work now: ""
// is the scheduler, a host name that host's agent. Wire it to the store's
// enqueue notifications so in-process jobs start without waiting for a poll.
func (c *Cloud) Wake(target string) {
	if target == "" {
		c.Scheduler.Wake()
		return
	}
	if a, ok := c.Agents[target]; ok {
		a.Pool().Wake()
	}
}

// Stop shuts everything down, finishing jobs in flight, and returns the
// first error any part reported.
func (c *Cloud) Stop() error {
	c.cancel()
	c.wg.Wait()
	close(c.errs)
	return <-c.errs
}
