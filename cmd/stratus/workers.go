package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"stratus/models"
	"stratus/workers"
	"stratus/workers/allinone"
	"stratus/workers/compute"
	"stratus/workers/hostdrivers"
	"stratus/workers/scheduler"
)

// schedulerFlags tune placement, the conductor duties and the queue's
// maintenance.
type schedulerFlags struct {
	Workers         int
	PollInterval    time.Duration
	ServiceDownTime time.Duration
	BuildTimeout    time.Duration
	// ResizeConfirmWindow: resizes and cold migrations waiting to be
	// confirmed longer than this are confirmed automatically.
	ResizeConfirmWindow time.Duration
	// AutoEvacuate: see scheduler.ConductorConfig (0: off).
	AutoEvacuate   time.Duration
	JobRetention   time.Duration
	Weights        scheduler.Weights
	HostSubsetSize int
}

func (f *schedulerFlags) register(fs *flag.FlagSet) {
	f.Weights = scheduler.DefaultWeights()
	fs.IntVar(&f.Workers, "scheduler-workers", 8, "scheduling decisions made at once")
	fs.DurationVar(&f.PollInterval, "poll-interval", allinone.DefaultPollInterval, "how often idle workers look for jobs nobody woke them for (a fallback: enqueued jobs wake the pool that runs them)")
	fs.DurationVar(&f.ServiceDownTime, "service-down-time", 60*time.Second, "a host whose agent is silent this long is down")
	fs.DurationVar(&f.BuildTimeout, "build-timeout", 10*time.Minute, "builds stuck longer than this go to ERROR")
	fs.DurationVar(&f.ResizeConfirmWindow, "resize-confirm-window", time.Hour, "a resize or cold migration left in VERIFY_RESIZE this long is confirmed automatically (0: never)")
	fs.DurationVar(&f.AutoEvacuate, "auto-evacuate", 0, "evacuate the instances of a host that is fenced — down, disabled by an operator, and silent this long (at least twice --service-down-time) — to other hosts; 0: never (the default)")
	fs.DurationVar(&f.JobRetention, "job-retention", 24*time.Hour, "finished jobs are kept this long")
	fs.Float64Var(&f.Weights.RAM, "ram-weight-multiplier", f.Weights.RAM, "RAM weigher: positive spreads, negative packs")
	fs.Float64Var(&f.Weights.CPU, "cpu-weight-multiplier", f.Weights.CPU, "CPU weigher: positive spreads, negative packs")
	fs.IntVar(&f.HostSubsetSize, "host-subset-size", 1, "place each instance on a random one of the N best hosts; set it to about the number of schedulers when several run")
	fs.Float64Var(&f.Weights.BuildFailure, "build-failure-weight-multiplier", f.Weights.BuildFailure, "how strongly hosts with failed builds are avoided")
}

// confirmWindow is the conductor's setting: 0 on the command line means
// never, which the conductor spells negative.
func (f *schedulerFlags) confirmWindow() time.Duration {
	if f.ResizeConfirmWindow <= 0 {
		return -1
	}
	return f.ResizeConfirmWindow
}

func (f *schedulerFlags) maintenance() workers.MaintenanceConfig {
	return workers.MaintenanceConfig{Retention: f.JobRetention}
}

// wakeFlags choose where a scheduler or compute process takes wake-up
// hints from the processes that enqueue its jobs (workers.Wake).
type wakeFlags struct {
	Listen string
}

func (f *wakeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.Listen, "wake-listen", "auto", "UDP address (ip:port, port 0 = any) where this process takes wake-up hints from the API servers and other workers; "+
		"auto: the address it reaches the database from; off: none (jobs start at the next --poll-interval)")
}

// addr is the listen address, "" for none.
func (f *wakeFlags) addr(store *models.Store) string {
	switch f.Listen {
	case "off", "":
		return ""
	case "auto":
		return workers.DefaultWakeListen(store)
	}
	return f.Listen
}

// computeFlags describe one hypervisor host, its agent and its drivers.
type computeFlags struct {
	Host              string
	AZ                string
	Address           string
	cfg               compute.Config
	Drivers           hostdrivers.Config
	HeartbeatInterval time.Duration
	PowerSyncInterval time.Duration
	ShutdownTimeout   time.Duration
	ImageDir          string
	TunnelAddress     string
}

func (f *computeFlags) register(fs *flag.FlagSet, single bool) {
	hostname, _ := os.Hostname()
	if single {
		fs.StringVar(&f.Host, "host", hostname, "this host's name in the cloud (unique)")
		fs.StringVar(&f.Drivers.Virt.Driver, "driver", hostdrivers.Libvirt, "hypervisor driver: libvirt or fake")
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
	fs.DurationVar(&f.cfg.DetachTimeout, "detach-timeout", 60*time.Second, "how long a volume detach waits for the guest to release the disk")
	fs.DurationVar(&f.HeartbeatInterval, "heartbeat-interval", 10*time.Second, "how often the agent reports it is alive")
	fs.DurationVar(&f.PowerSyncInterval, "power-sync-interval", 60*time.Second, "how often power states are compared with the hypervisor")
	fs.StringVar(&f.Drivers.Net.Driver, "network-driver", hostdrivers.Auto, "host network driver: linux (bridges, VXLAN, dnsmasq, iptables), fake (in memory), or auto "+
		"(linux under libvirt, fake under the fake hypervisor; stratus dev: fake unless asked)")
	fs.DurationVar(&f.cfg.NetworkSyncInterval, "network-sync-interval", 2*time.Second, "how often the agent checks whether the cloud's networking changed (one cheap read)")
	fk := &f.Drivers.Virt.Fake
	*fk = hostdrivers.DefaultFakeConfig()
	fs.IntVar(&fk.VCPUs, "fake-vcpus", fk.VCPUs, "fake driver: vCPUs of each host")
	fs.Int64Var(&fk.RAMMB, "fake-ram-mb", fk.RAMMB, "fake driver: RAM (MB) of each host")
	fs.Int64Var(&fk.DiskGB, "fake-disk-gb", fk.DiskGB, "fake driver: disk (GB) of each host")
	fs.DurationVar(&fk.BootDelay, "fake-boot-delay", 0, "fake driver: how long a boot takes")
	fs.DurationVar(&f.ShutdownTimeout, "shutdown-timeout", 60*time.Second, "how long a stop or soft reboot waits for the guest's ACPI shutdown before forcing it off")
	lv := &f.Drivers.Virt.Libvirt
	fs.StringVar(&lv.URI, "libvirt-uri", "qemu:///system", "libvirt driver: connection URI (qemu:///system?socket=PATH names another socket)")
	fs.StringVar(&lv.MigrationAddress, "migration-address", "", "libvirt driver: the address other hosts reach this host's libvirtd (qemu+tcp, port 16509) and qemu (ports 49152-49215) on for resizes and migrations; empty: the host takes no incoming moves")
	fs.StringVar(&lv.VirtType, "virt-type", "auto", "libvirt driver: domain type kvm, qemu (TCG), or auto (kvm when /dev/kvm is usable)")
	if single {
		fs.StringVar(&lv.InstancesDir, "instances-dir", "/var/lib/stratus/instances", "libvirt driver: per-instance disks, config drive and console log")
		fs.StringVar(&lv.ImageCacheDir, "image-cache-dir", "/var/lib/stratus/image-cache", "libvirt driver: this host's image cache")
		fs.StringVar(&f.Drivers.Images.APIURL, "api-url", "", "libvirt driver: the API's base URL, to download images from (GET /api/v1/images/{id}/file)")
		fs.StringVar(&f.Drivers.Images.APIToken, "api-token", "", "libvirt driver: API token of the compute service account (a system reader) for --api-url")
		fs.StringVar(&f.ImageDir, "image-dir", "", "libvirt driver: read images from this image store directory instead of --api-url (a host sharing the API servers' disk)")
		fs.StringVar(&f.TunnelAddress, "tunnel-address", "auto", "this host's VXLAN underlay address, registered for the other hosts; "+
			"auto: the address it reaches the database (or --api-url) from; off: no tunnels (a single host)")
		fs.StringVar(&f.cfg.ExternalInterface, "external-interface", "", "the bridge (or interface, which the linux network driver puts on a bridge) "+
			"of the external networks on this host; a host with one carries routers (their namespaces, SNAT and floating IPs); empty: none")
		fs.StringVar(&f.Drivers.Net.StateDir, "network-state-dir", "/var/lib/stratus/network", "linux network driver: the DHCP servers' files and namespaces")
	}
}

// noteOrigins records where the values the drivers' start-up messages
// explain came from: --virt-type, or STRATUS_VIRT_TYPE (and the same for
// --driver and --network-driver).
func (f *computeFlags) noteOrigins(o flagOrigins) {
	f.Drivers.Virt.Libvirt.VirtTypeFrom = o.of("virt-type")
	f.Drivers.Virt.DriverFrom = o.of("driver")
	f.Drivers.Net.DriverFrom = o.of("network-driver")
}

// agentConfig is the agent config without Store, Driver, Images and Host.
func (f *computeFlags) agentConfig() compute.Config {
	c := f.cfg
	c.AvailabilityZone, c.Address = f.AZ, f.Address
	c.HeartbeatInterval, c.PowerSyncInterval = f.HeartbeatInterval, f.PowerSyncInterval
	c.PowerOffTimeout = f.ShutdownTimeout
	return c
}

// tunnelAddress resolves --tunnel-address: auto is the local address
// toward the database server, or the API's host.
func (f *computeFlags) tunnelAddress(store *models.Store) (string, error) {
	switch f.TunnelAddress {
	case "off", "":
		return "", nil
	case "auto":
		if a := compute.TunnelAddressToward(store.NetworkAddr()); a != "" {
			return a, nil
		}
		if u, err := url.Parse(f.Drivers.Images.APIURL); err == nil && u.Host != "" {
			port := u.Port()
			if port == "" {
				port = "443"
			}
			return compute.TunnelAddressToward(net.JoinHostPort(u.Hostname(), port)), nil
		}
		return "", nil
	}
	ip := net.ParseIP(f.TunnelAddress)
	if ip == nil || ip.To4() == nil {
		return "", fmt.Errorf("--tunnel-address must be an IPv4 address, auto or off, not %q", f.TunnelAddress)
	}
	return ip.String(), nil
}

// drivers chooses the host drivers; store is the image store on this
// host's disk, if any.
func (f *computeFlags) drivers(ctx context.Context, store *models.Store, log *slog.Logger) (*hostdrivers.Drivers, error) {
	cfg := f.Drivers
	cfg.Virt.Libvirt.VNCListen, cfg.Virt.Libvirt.ShutdownTimeout = f.Address, f.ShutdownTimeout
	cfg.Images.Store = store
	return hostdrivers.New(ctx, cfg, log)
}

// devDirs puts the libvirt driver's files under the dev data directory,
// which Stratus owns (it may give qemu's user search permission on it). If
// a directory above it keeps qemu out (a checkout under a 0700 /root), they
// go to /var/lib/stratus/dev-<hash of the data directory> instead — one per
// data directory, so that two checkouts never share guests' files.
func (f *computeFlags) devDirs(dataDir string) error {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	lv := &f.Drivers.Virt.Libvirt
	lv.InstancesDir = filepath.Join(abs, "instances")
	lv.ImageCacheDir = filepath.Join(abs, "image-cache")
	lv.StateDir = abs
	sum := sha256.Sum256([]byte(abs))
	lv.FallbackDir = filepath.Join("/var/lib/stratus", "dev-"+hex.EncodeToString(sum[:6]))
	f.Drivers.Net.Dev, f.Drivers.Net.StateDir = true, filepath.Join(abs, "network")
	return nil
}
