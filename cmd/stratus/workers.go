package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"stratus/models"
	"stratus/workers"
	"stratus/workers/compute"
	"stratus/workers/scheduler"
	"stratus/workers/virt"
	"stratus/workers/virt/fake"
	"stratus/workers/virt/libvirt"
)

// schedulerFlags tune placement, the conductor duties and the queue's
// maintenance.
type schedulerFlags struct {
	Workers         int
	PollInterval    time.Duration
	ServiceDownTime time.Duration
	BuildTimeout    time.Duration
	JobRetention    time.Duration
	Weights         scheduler.Weights
	HostSubsetSize  int
}

func (f *schedulerFlags) register(fs *flag.FlagSet) {
	f.Weights = scheduler.DefaultWeights()
	fs.IntVar(&f.Workers, "scheduler-workers", 8, "scheduling decisions made at once")
	fs.DurationVar(&f.PollInterval, "poll-interval", time.Second, "how often idle workers look for new jobs (jobs enqueued in the same process start at once)")
	fs.DurationVar(&f.ServiceDownTime, "service-down-time", 60*time.Second, "a host whose agent is silent this long is down")
	fs.DurationVar(&f.BuildTimeout, "build-timeout", 10*time.Minute, "builds stuck longer than this go to ERROR")
	fs.DurationVar(&f.JobRetention, "job-retention", 24*time.Hour, "finished jobs are kept this long")
	fs.Float64Var(&f.Weights.RAM, "ram-weight-multiplier", f.Weights.RAM, "RAM weigher: positive spreads, negative packs")
	fs.Float64Var(&f.Weights.CPU, "cpu-weight-multiplier", f.Weights.CPU, "CPU weigher: positive spreads, negative packs")
	fs.IntVar(&f.HostSubsetSize, "host-subset-size", 1, "place each instance on a random one of the N best hosts; set it to about the number of schedulers when several run")
	fs.Float64Var(&f.Weights.BuildFailure, "build-failure-weight-multiplier", f.Weights.BuildFailure, "how strongly hosts with failed builds are avoided")
}

func (f *schedulerFlags) maintenance() workers.MaintenanceConfig {
	return workers.MaintenanceConfig{Retention: f.JobRetention}
}

// computeFlags describe one hypervisor host and its agent.
type computeFlags struct {
	Host              string
	Driver            string
	AZ                string
	Address           string
	cfg               compute.Config
	Fake              fake.Config
	Libvirt           libvirt.Config
	HeartbeatInterval time.Duration
	PowerSyncInterval time.Duration
	ShutdownTimeout   time.Duration
	ImageCacheDir     string
	APIURL            string
	APIToken          string
	ImageDir          string
}

func (f *computeFlags) register(fs *flag.FlagSet, single bool) {
	hostname, _ := os.Hostname()
	if single {
		fs.StringVar(&f.Host, "host", hostname, "this host's name in the cloud (unique)")
		fs.StringVar(&f.Driver, "driver", "libvirt", "hypervisor driver: libvirt or fake")
	}
	fs.StringVar(&f.AZ, "availability-zone", "nova", "availability zone of the host(s)")
	fs.StringVar(&f.Address, "host-address", "127.0.0.1", "management address of the host(s): VNC consoles listen there")
	fs.IntVar(&f.cfg.ReservedVCPUs, "reserved-vcpus", 0, "vCPUs kept back for the host itself")
	fs.Int64Var(&f.cfg.ReservedRAMMB, "reserved-ram-mb", 512, "RAM (MB) kept back for the host itself")
	fs.Int64Var(&f.cfg.ReservedDiskGB, "reserved-disk-gb", 0, "disk (GB) kept back for the host itself")
	fs.Float64Var(&f.cfg.CPURatio, "cpu-allocation-ratio", 4.0, "vCPU overcommit ratio")
	fs.Float64Var(&f.cfg.RAMRatio, "ram-allocation-ratio", 1.0, "RAM overcommit ratio")
	fs.Float64Var(&f.cfg.DiskRatio, "disk-allocation-ratio", 1.0, "disk overcommit ratio")
	fs.IntVar(&f.cfg.Workers, "compute-workers", 4, "builds and actions run at once per host")
	fs.DurationVar(&f.HeartbeatInterval, "heartbeat-interval", 10*time.Second, "how often the agent reports it is alive")
	fs.DurationVar(&f.PowerSyncInterval, "power-sync-interval", 60*time.Second, "how often power states are compared with the hypervisor")
	f.Fake = fake.DefaultConfig()
	fs.IntVar(&f.Fake.VCPUs, "fake-vcpus", f.Fake.VCPUs, "fake driver: vCPUs of each host")
	fs.Int64Var(&f.Fake.RAMMB, "fake-ram-mb", f.Fake.RAMMB, "fake driver: RAM (MB) of each host")
	fs.Int64Var(&f.Fake.DiskGB, "fake-disk-gb", f.Fake.DiskGB, "fake driver: disk (GB) of each host")
	fs.DurationVar(&f.Fake.BootDelay, "fake-boot-delay", 0, "fake driver: how long a boot takes")
	fs.DurationVar(&f.ShutdownTimeout, "shutdown-timeout", 60*time.Second, "how long a stop or soft reboot waits for the guest's ACPI shutdown before forcing it off")
	fs.StringVar(&f.Libvirt.URI, "libvirt-uri", "qemu:///system", "libvirt driver: connection URI (qemu:///system?socket=PATH names another socket)")
	fs.StringVar(&f.Libvirt.VirtType, "virt-type", "auto", "libvirt driver: domain type kvm, qemu (TCG), or auto (kvm when /dev/kvm is usable)")
	if single {
		fs.StringVar(&f.Libvirt.InstancesDir, "instances-dir", "/var/lib/stratus/instances", "libvirt driver: per-instance disks, config drive and console log")
		fs.StringVar(&f.ImageCacheDir, "image-cache-dir", "/var/lib/stratus/image-cache", "libvirt driver: this host's image cache")
		fs.StringVar(&f.APIURL, "api-url", "", "libvirt driver: the API's base URL, to download images from (GET /api/v1/images/{id}/file)")
		fs.StringVar(&f.APIToken, "api-token", "", "libvirt driver: API token of the compute service account (a system reader) for --api-url")
		fs.StringVar(&f.ImageDir, "image-dir", "", "libvirt driver: read images from this image store directory instead of --api-url (a host sharing the API servers' disk)")
	}
}

// agentConfig is the agent config without Store, Driver and Host.
func (f *computeFlags) agentConfig() compute.Config {
	c := f.cfg
	c.AvailabilityZone, c.Address = f.AZ, f.Address
	c.HeartbeatInterval, c.PowerSyncInterval = f.HeartbeatInterval, f.PowerSyncInterval
	c.PowerOffTimeout = f.ShutdownTimeout
	return c
}

// newDriver opens the named hypervisor driver for host.
func (f *computeFlags) newDriver(ctx context.Context, name, host string, log *slog.Logger) (virt.Driver, error) {
	switch name {
	case "fake":
		return fake.New(f.Fake), nil
	case "libvirt":
		cfg := f.Libvirt
		cfg.Host, cfg.VNCListen, cfg.RebootTimeout = host, f.Address, f.ShutdownTimeout
		cfg.Log = log.With("driver", "libvirt")
		return libvirt.New(ctx, cfg)
	}
	return nil, fmt.Errorf("--driver must be libvirt or fake, not %q", name)
}

// imageCache is where a libvirt host keeps the images it boots: fetched
// from the API with a service token, or read from a shared image store.
// sharedStore says the store's image directory is on this host's disk.
func (f *computeFlags) imageCache(store *models.Store, sharedStore bool, log *slog.Logger) (compute.ImageCache, error) {
	var src compute.ImageSource
	switch {
	case f.APIURL != "":
		if f.APIToken == "" {
			return nil, fmt.Errorf("--api-url needs --api-token (a token of the compute service account)")
		}
		src = compute.HTTPImageSource{BaseURL: f.APIURL, Token: f.APIToken, Client: compute.DownloadClient()}
	case sharedStore:
		src = compute.StoreImageSource{Store: store}
	default:
		return nil, fmt.Errorf("the libvirt driver needs images: give --api-url and --api-token, or --image-dir")
	}
	qemuImg := f.Libvirt.QemuImg
	return &compute.FileCache{Dir: f.ImageCacheDir, Source: src, Log: log.With("component", "image-cache"),
		Prepare: func(ctx context.Context, format, src, dst string) error {
			return libvirt.PrepareImage(ctx, qemuImg, format, src, dst)
		}}, nil
}

// devDirs puts the libvirt driver's files under the dev data directory.
func (f *computeFlags) devDirs(dataDir string) {
	f.Libvirt.InstancesDir = filepath.Join(dataDir, "instances")
	f.ImageCacheDir = filepath.Join(dataDir, "image-cache")
}
