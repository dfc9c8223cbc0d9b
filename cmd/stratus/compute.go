package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"time"

	"stratus/models"
	"stratus/workers/compute"
	"stratus/workers/virt"
	"stratus/workers/virt/libvirt"
)

func runCompute(ctx context.Context, args []string, _ io.Writer) error {
	fs := flag.NewFlagSet("compute", flag.ContinueOnError)
	var db dbFlags
	var logf logFlags
	var cf computeFlags
	var metrics metricsFlags
	pollInterval := fs.Duration("poll-interval", time.Second, "how often the agent looks for new jobs for its host")
	db.register(fs)
	logf.register(fs)
	cf.register(fs, true)
	metrics.register(fs)
	if err := parseFlags(fs, "Run the agent of one hypervisor host: it registers the host, heartbeats, and builds, powers and deletes the instances placed on it.", args); err != nil {
		return err
	}
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
	drv, err := openDriverWaiting(ctx, &cf, log)
	if err != nil {
		return err
	}
	defer drv.Close()
	reg := newRegistry()
	stopMetrics, err := metrics.serve(store, reg, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	cfg := cf.agentConfig()
	cfg.Store, cfg.Driver, cfg.Host, cfg.PollInterval, cfg.Log, cfg.Registerer = store, drv, cf.Host, *pollInterval, log, reg
	if cf.Driver == "libvirt" {
		if cfg.Images, err = cf.imageCache(store, cf.ImageDir != "", log); err != nil {
			return err
		}
	}
	agent, err := compute.New(cfg)
	if err != nil {
		return err
	}
	return agent.Run(ctx)
}

// openDriverWaiting opens the host's driver. A libvirtd that does not
// answer yet (the host is booting, the daemon restarting) is waited for,
// with backoff up to 10 s, rather than ending the agent.
func openDriverWaiting(ctx context.Context, cf *computeFlags, log *slog.Logger) (virt.Driver, error) {
	wait := time.Second
	for {
		drv, err := cf.newDriver(ctx, cf.Driver, cf.Host, log)
		if err == nil || cf.Driver != "libvirt" || !errors.Is(err, libvirt.ErrUnreachable) {
			return drv, err
		}
		log.Warn("libvirtd is not reachable yet; waiting for it", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}
