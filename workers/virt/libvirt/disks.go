package libvirt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"stratus/workers/qemuimg"
)

// The files of one instance live in <instances-dir>/<uuid>/ (Nova's
// layout): the root disk overlay, the ephemeral disk, the config drive, the
// kernel and ramdisk of a three-part image, and the serial console log.
const (
	fileRootDisk    = "disk"
	fileEphemeral   = "disk.eph0"
	fileConfigDrive = "disk.config"
	fileKernel      = "kernel"
	fileRamdisk     = "ramdisk"
	fileConsoleLog  = "console.log"
)

// instanceDir is where an instance's files are. The ID is checked so that
// a malformed one can never name a path outside the instances directory.
func (d *Driver) instanceDir(id string) (string, error) {
	if !validUUID(id) {
		return "", fmt.Errorf("bad instance id %q", id)
	}
	return filepath.Join(d.cfg.InstancesDir, id), nil
}

// ConsoleLogPath is where the serial console of an instance is logged.
func (d *Driver) ConsoleLogPath(id string) string {
	dir, err := d.instanceDir(id)
	if err != nil {
		return ""
	}
	return filepath.Join(dir, fileConsoleLog)
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// qemuImg runs the configured qemu-img and returns its stdout.
func (d *Driver) qemuImg(ctx context.Context, args ...string) ([]byte, error) {
	return qemuimg.Tool(d.cfg.QemuImg).Run(ctx, args...)
}

func (d *Driver) imageInfo(ctx context.Context, path string) (qemuimg.Info, error) {
	return qemuimg.Tool(d.cfg.QemuImg).Info(ctx, path)
}

// createOverlay makes a qcow2 overlay on base, grown to sizeGB (0 keeps the
// image's size). A flavor disk smaller than the image is refused, as Nova
// refuses it ("flavor's disk is too small for requested image").
func (d *Driver) createOverlay(ctx context.Context, base, path string, sizeGB int) error {
	// The overlay records its backing file's path as given, and qemu
	// resolves a relative one against the overlay's own directory.
	base, err := filepath.Abs(base)
	if err != nil {
		return err
	}
	info, err := d.imageInfo(ctx, base)
	if err != nil {
		return err
	}
	size := info.VirtualSize
	if sizeGB > 0 {
		want := int64(sizeGB) << 30
		if want < info.VirtualSize {
			return fmt.Errorf("the flavor's root disk (%d GB) is smaller than the image (%d bytes)", sizeGB, info.VirtualSize)
		}
		size = want
	}
	_ = os.Remove(path) // a half-made disk of an earlier attempt
	_, err = d.qemuImg(ctx, "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, path, fmt.Sprint(size))
	return err
}

// createBlank makes an empty qcow2 disk of sizeGB. (Nova also formats an
// ephemeral disk; we leave it unformatted for the guest to format.)
func (d *Driver) createBlank(ctx context.Context, path string, sizeGB int) error {
	_ = os.Remove(path)
	_, err := d.qemuImg(ctx, "create", "-q", "-f", "qcow2", path, fmt.Sprintf("%dG", sizeGB))
	return err
}

// PrepareImage turns a downloaded, verified image into what this driver
// boots from, once per image per host: disk images (qcow2 or raw) become a
// qcow2 base for overlays; kernels, ramdisks and ISOs are kept as they are.
// It is the image cache's last step; dst appears atomically.
func PrepareImage(ctx context.Context, qemuImg, format, src, dst string) error {
	tmp := dst + ".part"
	_ = os.Remove(tmp)
	defer os.Remove(tmp)
	switch format {
	case "qcow2", "raw":
		// -f names the source format, so a raw image that happens to
		// look like qcow2 is never probed (OSSN-0075).
		if _, err := qemuimg.Tool(qemuImg).Run(ctx, "convert", "-q", "-f", format, "-O", "qcow2", src, tmp); err != nil {
			return err
		}
	case "aki", "ari", "iso":
		if err := copyFile(src, tmp); err != nil {
			return err
		}
	default:
		return fmt.Errorf("cannot boot images of format %q", format)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// removeInstanceFiles deletes an instance's directory; a missing one is
// fine.
func (d *Driver) removeInstanceFiles(id string) error {
	dir, err := d.instanceDir(id)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove instance files: %w", err)
	}
	return nil
}
