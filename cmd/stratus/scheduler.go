package main

import (
	"context"
	"flag"
	"io"
	"time"

	"stratus/models"
	"stratus/workers/allinone"
)

func runScheduler(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("scheduler", flag.ContinueOnError)
	var db dbFlags
	var logf logFlags
	var sf schedulerFlags
	var metrics metricsFlags
	var wf wakeFlags
	wf.register(fs)
	db.register(fs)
	logf.register(fs)
	sf.register(fs)
	metrics.register(fs)
	if err := parseFlags(fs, "Place instances on hosts, and run the conductor duties (host liveness, build timeouts) and the queue's maintenance (lease rescue, pruning). Run one or more: they coordinate through the database.", args); err != nil {
		return err
	}
	log, err := logf.logger()
	if err != nil {
		return err
	}
	store, err := openMigrated(ctx, db, models.DefaultOptions(), &logf)
	if err != nil {
		return err
	}
	defer store.Close()
	reg := newRegistry()
	stopMetrics, err := metrics.serve(store, reg, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	cloud, err := allinone.Start(ctx, allinone.Config{Store: store, SchedulerWorkers: sf.Workers, PollInterval: sf.PollInterval,
		ServiceDownTime: sf.ServiceDownTime, BuildTimeout: sf.BuildTimeout, ResizeConfirmWindow: sf.confirmWindow(), AutoEvacuate: sf.AutoEvacuate, Weights: sf.Weights, HostSubsetSize: sf.HostSubsetSize,
		Maintenance: sf.maintenance(), WakeListen: wf.addr(store), Log: log, Registerer: reg})
	if err != nil {
		return err
	}
	log.Info("scheduler started", "workers", sf.Workers, "service_down_time", sf.ServiceDownTime, "build_timeout", sf.BuildTimeout)
	<-ctx.Done()
	log.Info("scheduler stopping: finishing decisions in flight")
	start := time.Now()
	err = cloud.Stop()
	log.Info("scheduler stopped", "took", time.Since(start))
	return err
}
