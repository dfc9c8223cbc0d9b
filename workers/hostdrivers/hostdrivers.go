// Package hostdrivers chooses and opens the drivers a compute host runs on,
// so that nothing above workers/ imports a driver: `stratus compute`,
// `stratus dev` and the tests name a driver and its settings in a Config,
// and get back, per host, the drivers the agent drives.
//
// Each driver kind is a field of Config (its name and settings) and a
// field of Host (the opened driver). The hypervisor (Virt: libvirt or the
// in-memory fake) is the first kind; the host network driver (bridges and
// iptables, or a fake) is chosen the same way, beside it.
package hostdrivers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"stratus/models"
	"stratus/workers/compute"
	hostnet "stratus/workers/net"
	netfake "stratus/workers/net/fake"
	"stratus/workers/virt"
	"stratus/workers/virt/fake"
	"stratus/workers/virt/libvirt"
)

// Driver names.
const (
	Libvirt = "libvirt"
	Fake    = "fake"
	Auto    = "auto" // libvirt when libvirtd answers, else fake (stratus dev)
)

// Config chooses every driver of a host.
type Config struct {
	Virt   VirtConfig
	Net    NetConfig
	Images ImagesConfig
}

// VirtConfig chooses the hypervisor driver.
type VirtConfig struct {
	Driver string // Libvirt, Fake or Auto
	// DriverFrom names where Driver was given, for the start-up message:
	// "--driver" (also when empty) or the environment variable
	// STRATUS_DRIVER.
	DriverFrom string
	Libvirt    LibvirtConfig
	Fake       FakeConfig
}

// LibvirtConfig sets up the libvirt driver and the image cache it boots
// from.
type LibvirtConfig struct {
	URI           string // qemu:///system; "?socket=PATH" names another socket
	VirtType      string // kvm, qemu (TCG) or auto
	VirtTypeFrom  string // where VirtType was given: "--virt-type" ("" too) or STRATUS_VIRT_TYPE
	InstancesDir  string // per-instance disks, config drive, console log
	ImageCacheDir string // images fetched once per host
	// StateDir is a directory Stratus owns (the dev data directory):
	// directories in it that qemu's user cannot search get o+x. Nothing
	// else is ever changed (see virt/libvirt's qemu_access.go).
	StateDir string
	// FallbackDir, when set, holds the guests' files (instances/,
	// image-cache/) if qemu cannot reach InstancesDir or ImageCacheDir
	// because of a directory that is not Stratus' (a 0700 home above a
	// dev checkout). Without it that is an error that says what to change.
	FallbackDir string
	QemuImg     string // qemu-img binary ("" = from PATH)
	// VNCListen is the host's management address: guests' VNC servers
	// listen there.
	VNCListen string
	// MigrationAddress is where other hosts' libvirtd reach this host's
	// for migrations (its libvirtd must listen on TCP there).
	MigrationAddress string
	// ShutdownTimeout is how long a soft reboot waits for the guest's
	// ACPI shutdown before forcing it.
	ShutdownTimeout time.Duration
}

// FakeConfig sizes the in-memory hypervisor of each fake host.
type FakeConfig struct {
	VCPUs     int
	RAMMB     int64
	DiskGB    int64
	BootDelay time.Duration // how long a boot takes
}

// DefaultFakeConfig is a host of a modest real size.
func DefaultFakeConfig() FakeConfig {
	d := fake.DefaultConfig()
	return FakeConfig{VCPUs: d.VCPUs, RAMMB: d.RAMMB, DiskGB: d.DiskGB, BootDelay: d.BootDelay}
}

// ImagesConfig says where a host that needs image files (libvirt) gets
// them: from the API with a service account's token, or straight from an
// image store on this host's disk (Store, as in `stratus dev` or with
// `--image-dir`).
type ImagesConfig struct {
	APIURL   string
	APIToken string
	Store    *models.Store
}

// Host is the opened drivers of one compute host.
type Host struct {
	Virt virt.Driver
	// Net is the host network driver (bridges, VXLAN, DHCP, firewall).
	Net hostnet.Driver
	// WithoutNICs: the network is fake under a real hypervisor, so guests
	// boot without their NICs (see NetConfig.Dev).
	WithoutNICs bool
	// Images fetches the images Virt boots from into the host's cache;
	// nil for a driver that needs no files (the fake).
	Images compute.ImageCache
	// Snapshots takes instance snapshots to the image store (through the
	// API, or into this process's store); nil when neither is configured.
	Snapshots compute.ImageSink
}

// Close closes every driver of the host.
func (h Host) Close() error {
	var errs []error
	if h.Net != nil {
		errs = append(errs, h.Net.Close())
	}
	if h.Virt != nil {
		errs = append(errs, h.Virt.Close())
	}
	return errors.Join(errs...)
}

// FakeHosts opens every host as a new in-memory fake hypervisor of the
// given size: allinone.Config.OpenHost for tests and benchmarks above
// workers/, which may not import a driver.
func FakeHosts(cfg FakeConfig) func(host string) (Host, error) {
	return func(string) (Host, error) {
		return Host{Virt: fake.New(fake.Config{VCPUs: cfg.VCPUs, RAMMB: cfg.RAMMB, DiskGB: cfg.DiskGB, BootDelay: cfg.BootDelay}),
			Net: netfake.New()}, nil
	}
}

// Drivers opens the drivers Config chose, for one host or many (`stratus
// dev` runs several hosts on one machine, sharing one image cache).
type Drivers struct {
	cfg    Config
	virt   string // the hypervisor driver chosen (Auto resolved)
	why    string
	net    string // the network driver chosen (Auto resolved)
	netWhy string
	files  string // where guests' files are, and why there
	images compute.ImageCache
	log    *slog.Logger
}

// New resolves the choice (Auto becomes libvirt when libvirtd answers,
// else fake) and checks the settings of the chosen drivers.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Drivers, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Drivers{cfg: cfg, log: log}
	from := orFlag(cfg.Virt.DriverFrom, "--driver")
	switch cfg.Virt.Driver {
	case Fake, Libvirt:
		d.virt, d.why = cfg.Virt.Driver, "chosen with "+given(from, cfg.Virt.Driver)
	case Auto:
		d.virt, d.why = resolveAuto(ctx, cfg.Virt.Libvirt, given(from, Auto), log)
	default:
		return nil, fmt.Errorf("%s must be %s, %s or %s, not %q", from, Auto, Libvirt, Fake, cfg.Virt.Driver)
	}
	if d.virt == Libvirt {
		if err := d.placeGuestFiles(ctx); err != nil {
			if cfg.Virt.Driver != Auto {
				return nil, err
			}
			d.virt = Fake
			d.why = given(from, Auto) + ": libvirtd answers, but it could not boot guests here, so the in-memory fake hypervisor runs instead: " + err.Error()
		}
	}
	if d.virt == Libvirt {
		var err error
		if d.images, err = imageCache(d.cfg, log); err != nil {
			return nil, err
		}
	}
	if err := d.resolveNet(); err != nil {
		return nil, err
	}
	return d, nil
}

// placeGuestFiles makes the libvirt settings' directories absolute and
// checks that qemu's user can reach them, moving them to FallbackDir when
// a directory that is not Stratus' is in the way. A libvirtd that does not
// answer yet is left for Open (an agent waits for it).
func (d *Drivers) placeGuestFiles(ctx context.Context) error {
	lc := &d.cfg.Virt.Libvirt
	for _, p := range []*string{&lc.InstancesDir, &lc.ImageCacheDir, &lc.StateDir, &lc.FallbackDir} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	err := libvirt.CheckDirs(ctx, lc.URI, lc.VirtType, lc.StateDir, lc.InstancesDir, lc.ImageCacheDir)
	var ue *libvirt.UnreachableError
	switch {
	case err == nil:
		d.files = fmt.Sprintf("%s and %s", lc.InstancesDir, lc.ImageCacheDir)
		return nil
	case errors.Is(err, libvirt.ErrUnreachable) && d.cfg.Virt.Driver == Libvirt:
		return nil
	case !errors.As(err, &ue) || lc.FallbackDir == "":
		return err
	}
	inst, cache := filepath.Join(lc.FallbackDir, "instances"), filepath.Join(lc.FallbackDir, "image-cache")
	if ferr := libvirt.CheckDirs(ctx, lc.URI, lc.VirtType, lc.FallbackDir, inst, cache); ferr != nil {
		return fmt.Errorf("%w; and %s will not do either: %w", err, lc.FallbackDir, ferr)
	}
	d.files = fmt.Sprintf("%s, since %s", lc.FallbackDir, ue.Short())
	lc.InstancesDir, lc.ImageCacheDir, lc.StateDir = inst, cache, lc.FallbackDir
	return nil
}

// resolveAuto picks libvirt when its socket answers, else the fake
// driver, and says why (auto: how auto was given).
func resolveAuto(ctx context.Context, lc LibvirtConfig, auto string, log *slog.Logger) (string, string) {
	uri, socket, err := libvirt.ParseURI(lc.URI, "")
	if err == nil {
		var c *libvirt.Client
		if c, err = libvirt.Dial(ctx, uri, socket, 0, log); err == nil {
			_ = c.Close()
			return Libvirt, fmt.Sprintf("%s: libvirtd answers on %s; VMs are real qemu guests", auto, socket)
		}
	}
	return Fake, auto + ": libvirt is not reachable, so the in-memory fake hypervisor runs instead (" + err.Error() + ")"
}

// orFlag is from, where a setting was given (cmd's "--driver" or
// "STRATUS_DRIVER"), or the flag when from is unknown.
func orFlag(from, flag string) string {
	if from == "" {
		return flag
	}
	return from
}

// given names a driver choice the way the operator made it, for start-up
// messages: "--driver fake" on the command line, "STRATUS_DRIVER=fake"
// from the environment.
func given(from, value string) string {
	if strings.HasPrefix(from, "-") {
		return from + " " + value
	}
	return from + "=" + value
}

// StateDir is the directory of Stratus' own files on this host that
// qemu's user can reach (the dev data directory, or its fallback): where
// `stratus dev` keeps its volumes too.
func (d *Drivers) StateDir() string {
	if d.cfg.Virt.Libvirt.StateDir != "" {
		return d.cfg.Virt.Libvirt.StateDir
	}
	return filepath.Dir(d.cfg.Virt.Libvirt.InstancesDir)
}

// Hypervisor is the hypervisor driver chosen: Libvirt or Fake.
func (d *Drivers) Hypervisor() string { return d.virt }

// Why says how the hypervisor driver was chosen, for the start-up message.
func (d *Drivers) Why() string { return d.why }

// GuestFiles says where the libvirt driver keeps guests' files, and why
// there when they had to move ("" for the fake).
func (d *Drivers) GuestFiles() string { return d.files }

// Open opens the drivers of one host. A libvirtd that does not answer
// fails at once (virt/libvirt.ErrUnreachable): see OpenWaiting.
func (d *Drivers) Open(ctx context.Context, host string) (Host, error) {
	var h Host
	switch d.virt {
	case Fake:
		f := d.cfg.Virt.Fake
		h.Virt = fake.New(fake.Config{VCPUs: f.VCPUs, RAMMB: f.RAMMB, DiskGB: f.DiskGB, BootDelay: f.BootDelay})
	case Libvirt:
		lc := d.cfg.Virt.Libvirt
		drv, err := libvirt.New(ctx, libvirt.Config{URI: lc.URI, InstancesDir: lc.InstancesDir, ImageCacheDir: lc.ImageCacheDir,
			StateDir: lc.StateDir, Host: host, VirtType: lc.VirtType, VirtTypeFrom: lc.VirtTypeFrom,
			VNCListen: lc.VNCListen, MigrationAddress: lc.MigrationAddress, RebootTimeout: lc.ShutdownTimeout, QemuImg: lc.QemuImg, Log: d.log.With("driver", Libvirt)})
		if err != nil {
			return Host{}, err
		}
		h.Virt, h.Images = drv, d.images
	default:
		return Host{}, fmt.Errorf("hostdrivers: no driver %q", d.virt)
	}
	nd, err := d.openNet(host)
	if err != nil {
		_ = h.Virt.Close()
		return Host{}, fmt.Errorf("host network driver: %w", err)
	}
	h.Net, h.WithoutNICs = nd, d.virt == Libvirt && d.net == Fake
	h.Snapshots = d.snapshotSink()
	return h, nil
}

// snapshotSink is where snapshots go: the API when the host downloads
// images from it, else this process's image store.
func (d *Drivers) snapshotSink() compute.ImageSink {
	ic := d.cfg.Images
	switch {
	case ic.APIURL != "" && ic.APIToken != "":
		return compute.HTTPImageSink{BaseURL: ic.APIURL, Token: ic.APIToken, Client: compute.DownloadClient()}
	case ic.Store != nil:
		return compute.StoreImageSink{Store: ic.Store}
	}
	return nil
}

// OpenWaiting is Open for a host's own agent: a libvirtd that does not
// answer yet (the host is booting, the daemon restarting) is waited for,
// with backoff up to 10 s, rather than ending the agent.
func (d *Drivers) OpenWaiting(ctx context.Context, host string) (Host, error) {
	wait := time.Second
	for {
		h, err := d.Open(ctx, host)
		if err == nil || !errors.Is(err, libvirt.ErrUnreachable) {
			return h, err
		}
		d.log.Warn("libvirtd is not reachable yet; waiting for it", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return Host{}, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// imageCache is where a libvirt host keeps the images it boots: fetched
// from the API with a service token, or read from an image store on this
// host's disk.
func imageCache(cfg Config, log *slog.Logger) (compute.ImageCache, error) {
	var src compute.ImageSource
	ic := cfg.Images
	switch {
	case ic.APIURL != "":
		if ic.APIToken == "" {
			return nil, fmt.Errorf("--api-url needs --api-token (a token of the compute service account)")
		}
		src = compute.HTTPImageSource{BaseURL: ic.APIURL, Token: ic.APIToken, Client: compute.DownloadClient()}
	case ic.Store != nil:
		src = compute.StoreImageSource{Store: ic.Store}
	default:
		return nil, fmt.Errorf("the libvirt driver needs images: give --api-url and --api-token, or --image-dir")
	}
	qemuImg := cfg.Virt.Libvirt.QemuImg
	return &compute.FileCache{Dir: cfg.Virt.Libvirt.ImageCacheDir, Source: src, Log: log.With("component", "image-cache"),
		Prepare: func(ctx context.Context, format, src, dst string) error {
			return libvirt.PrepareImage(ctx, qemuImg, format, src, dst)
		}}, nil
}
