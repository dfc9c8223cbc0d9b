package hostdrivers

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"stratus/workers/qemuimg"
	"stratus/workers/volume"
	volumefake "stratus/workers/volume/fake"
	"stratus/workers/volume/file"
)

// Volume backend drivers.
const (
	VolumeFile = "file" // raw/qcow2 files on a directory every compute host mounts
)

// VolumeConfig chooses the backend of a volume service (`stratus volume`,
// or the one `stratus dev` runs).
type VolumeConfig struct {
	Driver string // VolumeFile, Fake, or Auto (file when qemu-img is installed, else fake)
	// DriverFrom names where Driver was given, for the start-up message:
	// "--volume-driver" (also when empty) or STRATUS_VOLUME_DRIVER.
	DriverFrom string
	Dir        string // file: the shared directory, the same path on every compute host
	Format     string // file: qcow2 (default) or raw
	// ImageCacheDir is where images written onto volumes are fetched to
	// (the Images settings say from where).
	ImageCacheDir  string
	QemuImg        string
	FakeCapacityGB int64
	Images         ImagesConfig
}

// VolumeBackend is an opened volume backend, the image cache that writes
// images onto its volumes, and why it was chosen.
type VolumeBackend struct {
	Backend volume.Backend
	Images  volume.ImageCache
	Why     string
}

// OpenVolumeBackend opens the backend the config names.
func OpenVolumeBackend(cfg VolumeConfig, log *slog.Logger) (VolumeBackend, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	from := orFlag(cfg.DriverFrom, "--volume-driver")
	driver, why := cfg.Driver, "chosen with "+given(from, cfg.Driver)
	if driver == Auto {
		if qemuimg.Tool(cfg.QemuImg).Installed() == nil {
			driver, why = VolumeFile, given(from, Auto)+": qemu-img is installed"
		} else {
			driver, why = Fake, given(from, Auto)+": no qemu-img (Debian: qemu-utils), so volumes live in memory"
		}
	}
	switch driver {
	case Fake:
		capGB := cfg.FakeCapacityGB
		if capGB <= 0 {
			capGB = 1000
		}
		return VolumeBackend{Backend: volumefake.New(capGB), Why: why}, nil
	case VolumeFile:
		dir, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return VolumeBackend{}, err
		}
		b, err := file.New(file.Config{Dir: dir, Format: cfg.Format, QemuImg: cfg.QemuImg, Log: log.With("volume_driver", VolumeFile)})
		if err != nil {
			return VolumeBackend{}, err
		}
		vb := VolumeBackend{Backend: b, Why: fmt.Sprintf("%s; volumes are files under %s", why, dir)}
		if cfg.ImageCacheDir != "" {
			ic, err := imageCache(Config{Images: cfg.Images, Virt: VirtConfig{Libvirt: LibvirtConfig{
				ImageCacheDir: cfg.ImageCacheDir, QemuImg: cfg.QemuImg}}}, log)
			if err != nil {
				return VolumeBackend{}, err
			}
			vb.Images = ic // the same cache: a qcow2 base of each image
		}
		return vb, nil
	}
	return VolumeBackend{}, fmt.Errorf("%s must be %s, %s or %s, not %q", from, Auto, VolumeFile, Fake, cfg.Driver)
}
