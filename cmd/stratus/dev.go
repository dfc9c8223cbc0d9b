package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"

	"stratus/models"
	"stratus/workers/allinone"
	"stratus/workers/hostdrivers"
	"stratus/workers/volume"
)

func runDev(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	var db dbFlags
	var id identityFlags
	var hf httpFlags
	var logf logFlags
	var bf bootstrapFlags
	var sf schedulerFlags
	var cf computeFlags
	var of objectFlags
	var vf volumeFlags
	db.register(fs)
	id.register(fs)
	of.register(fs)
	hf.register(fs)
	logf.register(fs)
	bf.register(fs, true)
	sf.register(fs)
	cf.register(fs, false)
	vf.register(fs, false)
	fs.StringVar(&vf.Drivers.Driver, "volume-driver", hostdrivers.Auto, "volume backend of the dev cloud: auto (file when qemu-img is installed, else fake), file or fake")
	hosts := fs.Int("hosts", 1, "compute hosts to run in this process (dev-1, dev-2, …)")
	fs.StringVar(&cf.Drivers.Virt.Driver, "driver", "auto", "hypervisor driver of the dev hosts: auto (libvirt when reachable, else fake), libvirt or fake")
	origins, err := parseFlagsFrom(fs, "Run Stratus all-in-one: web UI, API, scheduler and compute host(s) in one process on an embedded SQLite file. Migrates and bootstraps on first start.", args)
	if err != nil {
		return err
	}
	cf.noteOrigins(origins)
	vf.noteOrigins(origins)
	if err := id.validate(); err != nil {
		return err
	}
	if err := hf.validate(); err != nil {
		return err
	}
	if *hosts < 0 || *hosts > 64 {
		return fmt.Errorf("--hosts must be 0–64")
	}
	if cf.Drivers.Net.Driver == hostdrivers.Linux && *hosts > 1 {
		// Hosts in one process share one kernel: each would remove the
		// others' chains and bridges as leftovers.
		return fmt.Errorf("--network-driver linux runs one host per machine: use --hosts 1")
	}
	log, err := logf.logger()
	if err != nil {
		return err
	}
	if err := cf.devDirs(db.DataDir); err != nil {
		return err
	}
	opts := id.options(db)
	if err := of.apply(&opts, db); err != nil {
		return err
	}
	store, err := models.Open(ctx, db.dsn(), opts, log)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	res, err := store.Bootstrap(ctx, bf.in)
	if err != nil {
		return err
	}
	reg := newRegistry()
	names := make([]string, *hosts)
	for i := range names {
		names[i] = fmt.Sprintf("dev-%d", i+1)
	}
	// The API and the hosts share this machine's disk: hosts read images
	// straight from the image store.
	drivers, err := cf.drivers(ctx, store, log)
	if err != nil {
		return err
	}
	// The dev hosts carry routers: an external interface for each (a
	// bridge on this machine under the linux network driver).
	acfg := cf.agentConfig()
	extWhat := ""
	if bf.in.ExternalNetwork != "" {
		pfx, err := netip.ParsePrefix(bf.in.ExternalCIDR)
		if err != nil {
			return fmt.Errorf("--external-cidr: %w", err)
		}
		if acfg.ExternalInterface, extWhat, err = drivers.DevExternalInterface(netip.PrefixFrom(pfx.Masked().Addr().Next(), pfx.Bits())); err != nil {
			return err
		}
	}
	// One "file" backend beside the guests' files (where qemu can reach
	// it), reading images from the image store as the hosts do.
	vf.Drivers.Dir = filepath.Join(drivers.StateDir(), "volumes")
	vf.Drivers.ImageCacheDir = filepath.Join(drivers.StateDir(), "volume-image-cache")
	vf.Drivers.Images.Store = store
	vb, err := hostdrivers.OpenVolumeBackend(vf.Drivers, log)
	if err != nil {
		return err
	}
	vcfg := vf.config(hostdrivers.VolumeFile)
	vcfg.Backend, vcfg.Images = vb.Backend, vb.Images
	cloud, err := allinone.Start(ctx, allinone.Config{
		Store: store, Hosts: names, Agent: acfg,
		OpenHost:         func(host string) (hostdrivers.Host, error) { return drivers.Open(ctx, host) },
		SchedulerWorkers: sf.Workers, PollInterval: sf.PollInterval, ServiceDownTime: sf.ServiceDownTime,
		BuildTimeout: sf.BuildTimeout, ResizeConfirmWindow: sf.confirmWindow(), AutoEvacuate: sf.AutoEvacuate, Weights: sf.Weights, HostSubsetSize: sf.HostSubsetSize, Maintenance: sf.maintenance(),
		Volumes: []volume.Config{vcfg},
		Log:     log.With("component", "workers"), Registerer: reg,
	})
	if err != nil {
		return err
	}
	srv, ln, err := newHTTPServer(store, &hf, log, reg)
	if err != nil {
		_ = cloud.Stop()
		return err
	}
	hkCtx, stopHousekeeping := context.WithCancel(ctx)
	defer stopHousekeeping()
	waitHousekeeping, err := of.startHousekeeping(hkCtx, store, log, reg)
	if err != nil {
		_ = cloud.Stop()
		return err
	}
	where := db.dsn()
	if store.Dialect() == models.SQLite {
		where = "SQLite at " + filepath.Clean(db.dsn()[len("sqlite://"):])
	}
	fmt.Fprintf(stdout, "\nStratus is running all-in-one (%s).\n\n  URL:   %s\n", where, baseURL(ln, hf.TLSCert != ""))
	printLogins(stdout, bf.in, res)
	fmt.Fprintf(stdout, "  hosts: %d × %s driver (%s)\n", *hosts, drivers.Hypervisor(), drivers.Why())
	fmt.Fprintf(stdout, "  network: %s driver (%s)\n", drivers.Network(), drivers.NetworkWhy())
	if extWhat != "" {
		fmt.Fprintf(stdout, "  external network: %s %s (floating IPs), router %s for %s; hosts' external interface: %s\n",
			bf.in.ExternalNetwork, bf.in.ExternalCIDR, bf.in.DemoRouter, bf.in.DemoNetwork, extWhat)
	}
	if files := drivers.GuestFiles(); files != "" {
		fmt.Fprintf(stdout, "  guest files: %s\n", files)
	}
	fmt.Fprintf(stdout, "  volumes: backend %q, %s driver (%s)\n", vcfg.Name, vb.Backend.Driver(), vb.Why)
	fmt.Fprintf(stdout, "\nStop with Ctrl-C.\n\n")
	serveErr := serveUntilDone(ctx, srv, ln, &hf, log)
	stopHousekeeping()
	waitHousekeeping()
	log.Info("stopping the scheduler and compute agents", "hosts", *hosts)
	if err := cloud.Stop(); err != nil && serveErr == nil {
		serveErr = err
	}
	return serveErr
}
