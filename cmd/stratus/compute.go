package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"

	"stratus/models"
	"stratus/workers"
	"stratus/workers/allinone"
	"stratus/workers/compute"
	"stratus/workers/hostdrivers"
)

func runCompute(ctx context.Context, args []string, _ io.Writer) error {
	fs := flag.NewFlagSet("compute", flag.ContinueOnError)
	var db dbFlags
	var logf logFlags
	var cf computeFlags
	var metrics metricsFlags
	var wf wakeFlags
	pollInterval := fs.Duration("poll-interval", allinone.DefaultPollInterval, "how often the agent looks for jobs nobody woke it for (a fallback: enqueued jobs wake it)")
	wf.register(fs)
	db.register(fs)
	logf.register(fs)
	cf.register(fs, true)
	metrics.register(fs)
	origins, err := parseFlagsFrom(fs, "Run the agent of one hypervisor host: it registers the host, heartbeats, and builds, powers and deletes the instances placed on it.", args)
	if err != nil {
		return err
	}
	cf.noteOrigins(origins)
	log, err := logf.logger()
	if err != nil {
		return err
	}
	opts := models.DefaultOptions()
	opts.ImageDir = cf.ImageDir
	store, err := openMigrated(ctx, db, opts, &logf)
	if err != nil {
		return err
	}
	defer store.Close()
	var shared *models.Store // the image store is on this host's disk
	if cf.ImageDir != "" {
		shared = store
	}
	drivers, err := cf.drivers(ctx, shared, log)
	if err != nil {
		return err
	}
	host, err := drivers.OpenWaiting(ctx, cf.Host)
	if err != nil {
		return err
	}
	defer host.Close()
	reg := newRegistry()
	stopMetrics, err := metrics.serve(store, reg, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	cfg := cf.agentConfig()
	cfg.Store, cfg.Driver, cfg.Images, cfg.Snapshots, cfg.Host, cfg.PollInterval, cfg.Log, cfg.Registerer =
		store, host.Virt, host.Images, host.Snapshots, cf.Host, *pollInterval, log, reg
	cfg.Network, cfg.WithoutNICs = host.Net, host.WithoutNICs
	if cfg.TunnelAddress, err = cf.tunnelAddress(store); err != nil {
		return err
	}
	if err := checkExternalInterface(drivers.Network(), cfg.ExternalInterface); err != nil {
		return err
	}
	log.Info("host network driver", "driver", drivers.Network(), "why", drivers.NetworkWhy(), "tunnel_address", cfg.TunnelAddress)
	agent, err := compute.New(cfg)
	if err != nil {
		return err
	}
	// Hints wake the agent's pool when a job for its host is committed
	// elsewhere; the jobs it commits (a reschedule) wake the schedulers.
	wake, err := workers.NewWake(workers.WakeConfig{Store: store, Listen: wf.addr(store), Name: "compute-" + cf.Host,
		Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	wake.Serve(agent.Pool())
	store.OnEnqueue(wake.Notify)
	if err := wake.Start(ctx); err != nil {
		return err
	}
	defer wake.Stop()
	return agent.Run(ctx)
}

// checkExternalInterface refuses to start a Linux-networked host whose
// --external-interface does not exist: routers would be placed on it and
// fail only when their gateway is applied.
func checkExternalInterface(netDriver, name string) error {
	if netDriver != hostdrivers.Linux || name == "" {
		return nil
	}
	if _, err := net.InterfaceByName(name); err != nil {
		return fmt.Errorf("--external-interface %s: no such interface on this host (%v): name the bridge or NIC that reaches the external network, "+
			"or create a bridge (ip link add %s type bridge)", name, err, name)
	}
	return nil
}
