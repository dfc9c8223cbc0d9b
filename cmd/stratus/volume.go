package main

import (
	"context"
	"flag"
	"io"

	"stratus/models"
	"stratus/workers"
	"stratus/workers/allinone"
	"stratus/workers/hostdrivers"
	"stratus/workers/volume"
)

// volumeFlags describe one volume backend and its service.
type volumeFlags struct {
	Backend  string
	AZ       string
	Ratio    float64
	Workers  int
	Drivers  hostdrivers.VolumeConfig
	ImageDir string
}

func (f *volumeFlags) register(fs *flag.FlagSet, single bool) {
	fs.Float64Var(&f.Ratio, "max-over-subscription-ratio", 1.0, "how far thin (qcow2) volumes may overcommit the backend's capacity")
	fs.StringVar(&f.Drivers.Format, "volume-format", "qcow2", "file backend: format of new volumes, qcow2 (thin) or raw")
	fs.Int64Var(&f.Drivers.FakeCapacityGB, "fake-volume-capacity-gb", 1000, "fake volume backend: its capacity (GB)")
	if !single {
		return
	}
	fs.StringVar(&f.Backend, "backend", "file", "the backend's unique name (volume types map to it)")
	fs.StringVar(&f.Drivers.Driver, "volume-driver", hostdrivers.VolumeFile, "backend driver: file or fake")
	fs.StringVar(&f.Drivers.Dir, "volume-dir", "/var/lib/stratus/volumes", "file backend: the directory every compute host mounts at this same path (NFS)")
	fs.StringVar(&f.Drivers.ImageCacheDir, "image-cache-dir", "/var/lib/stratus/volume-image-cache", "images fetched to be written onto volumes")
	fs.StringVar(&f.AZ, "availability-zone", "nova", "availability zone of the backend")
	fs.IntVar(&f.Workers, "volume-workers", 4, "volume jobs run at once")
	fs.StringVar(&f.Drivers.Images.APIURL, "api-url", "", "the API's base URL, to download images written onto volumes")
	fs.StringVar(&f.Drivers.Images.APIToken, "api-token", "", "API token of a system reader for --api-url")
	fs.StringVar(&f.ImageDir, "image-dir", "", "read images from this image store directory instead of --api-url")
}

// noteOrigins records where --volume-driver came from, for the backend's
// start-up message: the flag, or STRATUS_VOLUME_DRIVER.
func (f *volumeFlags) noteOrigins(o flagOrigins) {
	f.Drivers.DriverFrom = o.of("volume-driver")
}

// config is the service's config without Store, Backend and Images.
func (f *volumeFlags) config(name string) volume.Config {
	return volume.Config{Name: name, AvailabilityZone: f.AZ, OverSubscriptionRatio: f.Ratio, Workers: f.Workers}
}

func runVolume(ctx context.Context, args []string, _ io.Writer) error {
	fs := flag.NewFlagSet("volume", flag.ContinueOnError)
	var db dbFlags
	var logf logFlags
	var vf volumeFlags
	var metrics metricsFlags
	var wf wakeFlags
	pollInterval := fs.Duration("poll-interval", allinone.DefaultPollInterval, "how often the service looks for jobs nobody woke it for (a fallback: enqueued jobs wake it)")
	wf.register(fs)
	db.register(fs)
	logf.register(fs)
	vf.register(fs, true)
	metrics.register(fs)
	origins, err := parseFlagsFrom(fs, "Run the volume service of one storage backend (cinder-volume): it registers the backend and its capacity and creates, deletes, extends and snapshots the volumes placed on it.", args)
	if err != nil {
		return err
	}
	vf.noteOrigins(origins)
	log, err := logf.logger()
	if err != nil {
		return err
	}
	opts := models.DefaultOptions()
	opts.ImageDir = vf.ImageDir
	store, err := openMigrated(ctx, db, opts, &logf)
	if err != nil {
		return err
	}
	defer store.Close()
	if vf.ImageDir != "" {
		vf.Drivers.Images.Store = store
	}
	vb, err := hostdrivers.OpenVolumeBackend(vf.Drivers, log)
	if err != nil {
		return err
	}
	log.Info("volume backend chosen", "backend", vf.Backend, "why", vb.Why)
	reg := newRegistry()
	stopMetrics, err := metrics.serve(store, reg, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	cfg := vf.config(vf.Backend)
	cfg.Store, cfg.Backend, cfg.Images, cfg.PollInterval, cfg.Log, cfg.Registerer = store, vb.Backend, vb.Images, *pollInterval, log, reg
	svc, err := volume.New(cfg)
	if err != nil {
		return err
	}
	// Hints wake the service's pool when a job for its backend is
	// committed elsewhere; the jobs it commits (the live part of an
	// extend or a snapshot) wake the compute host's agent.
	wake, err := workers.NewWake(workers.WakeConfig{Store: store, Listen: wf.addr(store), Name: "volume-" + vf.Backend,
		Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	wake.Serve(svc.Pool())
	store.OnEnqueue(wake.Notify)
	if err := wake.Start(ctx); err != nil {
		return err
	}
	defer wake.Stop()
	return svc.Run(ctx)
}
