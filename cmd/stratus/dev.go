package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"stratus/models"
	"stratus/workers/allinone"
	"stratus/workers/virt"
	"stratus/workers/virt/libvirt"
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
	db.register(fs)
	id.register(fs)
	hf.register(fs)
	logf.register(fs)
	bf.register(fs, true)
	sf.register(fs)
	cf.register(fs, false)
	hosts := fs.Int("hosts", 1, "compute hosts to run in this process (dev-1, dev-2, …)")
	driver := fs.String("driver", "auto", "hypervisor driver of the dev hosts: auto (libvirt when reachable, else fake), libvirt or fake")
	if err := parseFlags(fs, "Run Stratus all-in-one: web UI, API, scheduler and compute host(s) in one process on an embedded SQLite file. Migrates and bootstraps on first start.", args); err != nil {
		return err
	}
	if err := id.validate(); err != nil {
		return err
	}
	if *hosts < 0 || *hosts > 64 {
		return fmt.Errorf("--hosts must be 0–64")
	}
	log, err := logf.logger()
	if err != nil {
		return err
	}
	cf.devDirs(db.DataDir)
	drvName, why := pickDevDriver(ctx, *driver, &cf, log)
	if drvName == "" {
		return fmt.Errorf("%s", why)
	}
	store, err := models.Open(ctx, db.dsn(), id.options(db), log)
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
	agentCfg := cf.agentConfig()
	if drvName == "libvirt" {
		if agentCfg.Images, err = cf.imageCache(store, true, log); err != nil {
			return err
		}
	}
	cloud, err := allinone.Start(ctx, allinone.Config{
		Store: store, Hosts: names, Agent: agentCfg,
		NewDriver:        func(host string) (virt.Driver, error) { return cf.newDriver(ctx, drvName, host, log) },
		SchedulerWorkers: sf.Workers, PollInterval: sf.PollInterval, ServiceDownTime: sf.ServiceDownTime,
		BuildTimeout: sf.BuildTimeout, Weights: sf.Weights, HostSubsetSize: sf.HostSubsetSize, Maintenance: sf.maintenance(),
		Log: log.With("component", "workers"), Registerer: reg,
	})
	if err != nil {
		return err
	}
	srv, ln, err := newHTTPServer(store, &hf, log, reg)
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
	fmt.Fprintf(stdout, "  hosts: %d × %s driver (%s)\n\nStop with Ctrl-C.\n\n", *hosts, drvName, why)
	serveErr := serveUntilDone(ctx, srv, ln, &hf, log)
	log.Info("stopping the scheduler and compute agents", "hosts", *hosts)
	if err := cloud.Stop(); err != nil && serveErr == nil {
		serveErr = err
	}
	return serveErr
}

// pickDevDriver resolves --driver auto: libvirt when its socket answers,
// else the fake driver — and says which and why.
func pickDevDriver(ctx context.Context, want string, cf *computeFlags, log *slog.Logger) (string, string) {
	switch want {
	case "fake":
		return "fake", "chosen with --driver fake"
	case "libvirt":
		return "libvirt", "chosen with --driver libvirt"
	case "auto":
		uri, socket, err := libvirt.ParseURI(cf.Libvirt.URI, cf.Libvirt.Socket)
		if err == nil {
			var c *libvirt.Client
			if c, err = libvirt.Dial(ctx, uri, socket, 0, log); err == nil {
				_ = c.Close()
				return "libvirt", fmt.Sprintf("--driver auto: libvirtd answers on %s; VMs are real qemu guests, files under %s",
					socket, filepath.Dir(cf.Libvirt.InstancesDir))
			}
		}
		return "fake", "--driver auto: libvirt is not reachable, so the in-memory fake hypervisor runs instead (" + err.Error() + ")"
	}
	return "", fmt.Sprintf("--driver must be auto, libvirt or fake, not %q", want)
}
