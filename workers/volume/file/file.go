// Package file is the "file" volume backend (like Cinder's NFS driver):
// each volume is a raw or qcow2 file in one directory that every compute
// host mounts at the same path (NFS in production; one shared directory in
// tests), so a host attaches a volume by its path. qemu-img makes the files:
// blank volumes, images written onto volumes (with progress), clones, and
// grows them. Snapshots are qcow2 backing chains, as Cinder's NFS driver
// keeps them: taking one freezes the volume's current file (the snapshot's
// data) and continues the volume on a new overlay, "volume-<id>.<snap-id>";
// a volume made from a snapshot is an overlay on the frozen file. Deleting
// a snapshot first copies into each file backed by it what that file still
// needs (a safe qemu-img rebase onto the snapshot's own backing); when a
// running guest holds such a file open, the frozen file stays, marked, until
// Collect can finish the job. A file the database references is never
// deleted.
package file

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/google/uuid"

	"stratus/models"
	"stratus/workers/qemuimg"
	"stratus/workers/volume"
)

// Config sets up the backend.
type Config struct {
	Dir     string // the shared directory (absolute, the same on every host)
	Format  string // format of new volumes: qcow2 (thin, default) or raw
	QemuImg string // qemu-img binary (default from PATH)
	// MaxChain is how many files a volume's backing chain may have before
	// a snapshot flattens its new active file (default 8).
	MaxChain int
	Log      *slog.Logger
}

// Backend is the file backend. It is safe for concurrent use by the jobs
// of different volumes (the models serialise the jobs of one volume).
type Backend struct {
	cfg Config
	log *slog.Logger
}

var _ volume.Backend = (*Backend)(nil)

// deletedSuffix marks a snapshot's file whose snapshot is gone but whose
// data a file still needs (Collect removes it later).
const deletedSuffix = ".deleted"

// New checks the directory and qemu-img.
func New(cfg Config) (*Backend, error) {
	if cfg.Dir == "" {
		return nil, errors.New("the file volume backend needs a directory")
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = abs
	switch cfg.Format {
	case "":
		cfg.Format = "qcow2"
	case "qcow2", "raw":
	default:
		return nil, fmt.Errorf("volume format must be qcow2 or raw, not %q", cfg.Format)
	}
	if err := qemuimg.Tool(cfg.QemuImg).Installed(); err != nil {
		return nil, fmt.Errorf("the file volume backend needs qemu-img (Debian: qemu-utils): %w", err)
	}
	if cfg.MaxChain <= 0 {
		cfg.MaxChain = 8
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	// 0755: qemu runs unprivileged and must reach the files.
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("volume directory: %w", err)
	}
	return &Backend{cfg: cfg, log: cfg.Log}, nil
}

// Driver is "file".
func (b *Backend) Driver() string { return "file" }

// Dir is the backend's directory.
func (b *Backend) Dir() string { return b.cfg.Dir }

// Capacity is the directory's file system.
func (b *Backend) Capacity(context.Context) (volume.Capacity, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(b.cfg.Dir, &st); err != nil {
		return volume.Capacity{}, fmt.Errorf("statfs %s: %w", b.cfg.Dir, err)
	}
	return volume.Capacity{TotalGB: int64(st.Blocks) * st.Bsize >> 30, FreeGB: int64(st.Bavail) * st.Bsize >> 30}, nil
}

// volumePath is a volume's first file. IDs are checked so that no input
// can name a path outside the directory.
func (b *Backend) volumePath(id string) (string, error) {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return "", fmt.Errorf("bad volume id %q", id)
	}
	return filepath.Join(b.cfg.Dir, "volume-"+id), nil
}

// inDir resolves a provider location (a file name in the directory).
func (b *Backend) inDir(name string) (string, error) {
	if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("bad provider location %q", name)
	}
	return filepath.Join(b.cfg.Dir, name), nil
}

// activePath is where a volume's data is now.
func (b *Backend) activePath(v models.Volume) (string, error) {
	if v.Connection != nil && v.Connection.Path != "" {
		if filepath.Dir(v.Connection.Path) != b.cfg.Dir {
			return "", fmt.Errorf("volume %s is at %s, outside this backend's directory %s", v.ID, v.Connection.Path, b.cfg.Dir)
		}
		return v.Connection.Path, nil
	}
	return b.volumePath(v.ID)
}

func conn(path, format string) models.VolumeConnection {
	return models.VolumeConnection{Driver: "file", Path: path, Format: format}
}

// CreateVolume writes the volume's file under a temporary name and renames
// it when complete, so a file named for a volume is always whole; a failed
// write removes its partial file.
func (b *Backend) CreateVolume(ctx context.Context, v models.Volume, src volume.Source) (models.VolumeConnection, error) {
	dst, err := b.volumePath(v.ID)
	if err != nil {
		return models.VolumeConnection{}, err
	}
	if info, err := b.info(ctx, dst); err == nil {
		return conn(dst, info.Format), nil // made by an earlier attempt
	}
	tmp := dst + ".part"
	_ = os.Remove(tmp)
	written := false
	defer func() {
		if !written {
			_ = os.Remove(tmp) // a failed attempt leaves nothing half-written
		}
	}()
	size := strconv.FormatInt(int64(v.SizeGB)<<30, 10)
	format := b.cfg.Format
	switch {
	case src.Snapshot != nil:
		base, err := b.inDir(src.Snapshot.ProviderLocation)
		if err != nil {
			return models.VolumeConnection{}, err
		}
		bi, err := b.info(ctx, base)
		if err != nil {
			return models.VolumeConnection{}, fmt.Errorf("the snapshot's data is unreadable: %w", err)
		}
		format = "qcow2" // an overlay on the snapshot's frozen file
		_, err = b.qemuImg(ctx, "create", "-q", "-f", "qcow2", "-F", bi.Format, "-b", base, tmp, size)
		if err != nil {
			return models.VolumeConnection{}, err
		}
	case src.Volume != nil:
		from, err := b.activePath(*src.Volume)
		if err != nil {
			return models.VolumeConnection{}, err
		}
		fi, err := b.info(ctx, from)
		if err != nil {
			return models.VolumeConnection{}, fmt.Errorf("the source volume's data is unreadable: %w", err)
		}
		if err := b.convert(ctx, fi.Format, from, tmp, nil); err != nil {
			return models.VolumeConnection{}, err
		}
		if _, err := b.qemuImg(ctx, "resize", "-q", "-f", format, tmp, size); err != nil {
			return models.VolumeConnection{}, err
		}
	case src.ImagePath != "":
		inFormat := src.ImageFormat
		if inFormat == "" {
			inFormat = "qcow2"
		}
		ii, err := b.info(ctx, src.ImagePath)
		if err != nil {
			return models.VolumeConnection{}, fmt.Errorf("the image is unreadable: %w", err)
		}
		if ii.VirtualSize > int64(v.SizeGB)<<30 {
			return models.VolumeConnection{}, fmt.Errorf("the image's disk (%d bytes) is larger than the volume (%d GB)", ii.VirtualSize, v.SizeGB)
		}
		if err := b.convert(ctx, inFormat, src.ImagePath, tmp, src.Progress); err != nil {
			return models.VolumeConnection{}, err
		}
		if _, err := b.qemuImg(ctx, "resize", "-q", "-f", format, tmp, size); err != nil {
			return models.VolumeConnection{}, err
		}
	default:
		if _, err := b.qemuImg(ctx, "create", "-q", "-f", format, tmp, size); err != nil {
			return models.VolumeConnection{}, err
		}
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return models.VolumeConnection{}, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return models.VolumeConnection{}, err
	}
	written = true
	return conn(dst, format), nil
}

// convert copies src into a new file of the backend's format, reporting
// progress (qemu-img convert -p prints "(12.34/100%)" lines).
func (b *Backend) convert(ctx context.Context, inFormat, src, dst string, progress func(int)) error {
	args := []string{"convert", "-f", inFormat, "-O", b.cfg.Format}
	if b.cfg.Format == "qcow2" {
		args = append(args, "-o", "preallocation=off")
	}
	if progress == nil {
		_, err := b.qemuImg(ctx, append(args, "-q", src, dst)...)
		return err
	}
	return b.tool().RunProgress(ctx, progress, append(args, "-p", src, dst)...)
}

// DeleteVolume removes the volume's active file. Files below it in its
// chain belong to snapshots (kept) or to deleted snapshots (Collect).
func (b *Backend) DeleteVolume(ctx context.Context, v models.Volume) error {
	first, err := b.volumePath(v.ID)
	if err != nil {
		return err
	}
	_ = os.Remove(first + ".part")
	active, err := b.activePath(v)
	if err != nil {
		return err
	}
	kids, err := b.children(ctx, active)
	if err != nil {
		return err
	}
	if len(kids) > 0 {
		return fmt.Errorf("volume %s's data backs %s: not deleted", v.ID, strings.Join(kids, ", "))
	}
	if err := os.Remove(active); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete volume file: %w", err)
	}
	return nil
}

// ExtendVolume grows the active file; an attached one is grown by its
// host (qemu holds the file).
func (b *Backend) ExtendVolume(ctx context.Context, v models.Volume, newSizeGB int, attached bool) error {
	if attached {
		return nil
	}
	path, err := b.activePath(v)
	if err != nil {
		return err
	}
	info, err := b.info(ctx, path)
	if err != nil {
		return err
	}
	want := int64(newSizeGB) << 30
	if info.VirtualSize >= want {
		return nil // done by an earlier attempt
	}
	_, err = b.qemuImg(ctx, "resize", "-q", "-f", info.Format, path, strconv.FormatInt(want, 10))
	return err
}

// CreateSnapshot freezes the volume's active file and continues the volume
// on an overlay. An attached volume's overlay is made by its host's
// hypervisor (Live); an available one's here — flattened when the chain
// has grown past MaxChain.
func (b *Backend) CreateSnapshot(ctx context.Context, v models.Volume, snap models.Snapshot, attached bool) (volume.SnapshotResult, error) {
	active, err := b.activePath(v)
	if err != nil {
		return volume.SnapshotResult{}, err
	}
	if _, err := uuid.Parse(snap.ID); err != nil {
		return volume.SnapshotResult{}, fmt.Errorf("bad snapshot id %q", snap.ID)
	}
	overlay := filepath.Join(b.cfg.Dir, "volume-"+v.ID+"."+snap.ID)
	res := volume.SnapshotResult{Location: filepath.Base(active)}
	if attached {
		c := conn(overlay, "qcow2")
		res.Live = &c
		return res, nil
	}
	ai, err := b.info(ctx, active)
	if err != nil {
		return res, err
	}
	tmp := overlay + ".part"
	_ = os.Remove(tmp)
	written := false
	defer func() {
		if !written {
			_ = os.Remove(tmp) // a failed attempt leaves no partial overlay
		}
	}()
	if _, err := b.qemuImg(ctx, "create", "-q", "-f", "qcow2", "-F", ai.Format, "-b", active, tmp); err != nil {
		return res, err
	}
	if depth, err := b.chainDepth(ctx, tmp); err == nil && depth > b.cfg.MaxChain {
		b.log.Info("flattening a long snapshot chain", "volume", v.ID, "depth", depth)
		if _, err := b.qemuImg(ctx, "rebase", "-q", "-f", "qcow2", "-b", "", tmp); err != nil {
			return res, err
		}
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return res, err
	}
	if err := os.Rename(tmp, overlay); err != nil {
		return res, err
	}
	written = true
	c := conn(overlay, "qcow2")
	res.VolumeConnection = &c
	return res, nil
}

// DeleteSnapshot removes a snapshot's frozen file once every file backed
// by it has what it needs.
func (b *Backend) DeleteSnapshot(ctx context.Context, snap models.Snapshot, refs volume.References) error {
	if snap.ProviderLocation == "" {
		return nil
	}
	path, err := b.inDir(snap.ProviderLocation)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	// From now on the file is data of a deleted snapshot: mark it first,
	// so that if we stop halfway Collect finishes.
	if err := os.WriteFile(path+deletedSuffix, []byte(snap.ID+"\n"), 0o644); err != nil {
		return fmt.Errorf("mark snapshot file: %w", err)
	}
	refs.Snapshots = without(refs.Snapshots, snap.ID)
	_, err = b.release(ctx, path, refs)
	return err
}

func without(snaps []models.Snapshot, id string) []models.Snapshot {
	out := snaps[:0:0]
	for _, s := range snaps {
		if s.ID != id {
			out = append(out, s)
		}
	}
	return out
}

// release tries to remove a marked file: it rebases the files backed by it
// onto its own backing (skipping those a guest holds open) and deletes it
// when none is left and the database references it nowhere. It reports
// whether the file is gone.
func (b *Backend) release(ctx context.Context, path string, refs volume.References) (bool, error) {
	if referenced(path, refs) {
		return false, nil
	}
	info, err := b.info(ctx, path)
	if errors.Is(err, os.ErrNotExist) {
		_ = os.Remove(path + deletedSuffix)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	kids, err := b.children(ctx, path)
	if err != nil {
		return false, err
	}
	held := 0
	for _, kid := range kids {
		args := []string{"rebase", "-q", "-f", "qcow2"}
		if info.BackingFile != "" {
			args = append(args, "-F", info.BackingFormat, "-b", info.BackingFile)
		} else {
			args = append(args, "-b", "")
		}
		if _, err := b.qemuImg(ctx, append(args, kid)...); err != nil {
			if isLockError(err) {
				held++
				b.log.Info("a guest holds a file that needs a deleted snapshot's data; kept until it is released",
					"snapshot_file", path, "held_by", kid)
				continue
			}
			return false, err
		}
	}
	if held > 0 {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("delete snapshot file: %w", err)
	}
	_ = os.Remove(path + deletedSuffix)
	return true, nil
}

// referenced reports whether the database points at path.
func referenced(path string, refs volume.References) bool {
	for _, v := range refs.Volumes {
		if v.Connection != nil && v.Connection.Path == path {
			return true
		}
	}
	for _, s := range refs.Snapshots {
		if s.ProviderLocation == filepath.Base(path) {
			return true
		}
	}
	return false
}

// Collect retries every marked file.
func (b *Backend) Collect(ctx context.Context, read volume.ReadReferences) error {
	marks, err := filepath.Glob(filepath.Join(b.cfg.Dir, "*"+deletedSuffix))
	if err != nil || len(marks) == 0 {
		return err
	}
	refs, err := read(ctx)
	if err != nil {
		return err
	}
	for _, m := range marks {
		path := strings.TrimSuffix(m, deletedSuffix)
		gone, err := b.release(ctx, path, refs)
		if err != nil {
			b.log.Warn("collect snapshot file", "file", path, "err", err)
			continue
		}
		if gone {
			b.log.Info("deleted the data of a deleted snapshot", "file", path)
		}
	}
	return nil
}

// Files lists the data files in the directory (for tests and operators).
func (b *Backend) Files() ([]string, error) {
	entries, err := os.ReadDir(b.cfg.Dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// info reads a file's header; -U reads files a running guest holds. A
// backing file's format qemu-img does not name is read from its own header.
func (b *Backend) info(ctx context.Context, path string) (qemuimg.Info, error) {
	if _, err := os.Stat(path); err != nil {
		return qemuimg.Info{}, err
	}
	info, err := b.tool().Info(ctx, path, "-U")
	if err != nil {
		return qemuimg.Info{}, err
	}
	if info.BackingFile != "" && info.BackingFormat == "" {
		if bi, err := b.info(ctx, info.BackingFile); err == nil {
			info.BackingFormat = bi.Format
		}
	}
	return info, nil
}

// chainDepth counts the files of path's backing chain, itself included.
func (b *Backend) chainDepth(ctx context.Context, path string) (int, error) {
	n := 0
	for path != "" && n < 1000 {
		info, err := b.info(ctx, path)
		if err != nil {
			return n, err
		}
		n++
		path = info.BackingFile
	}
	return n, nil
}

// children lists the files directly backed by path.
func (b *Backend) children(ctx context.Context, path string) ([]string, error) {
	entries, err := os.ReadDir(b.cfg.Dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasSuffix(name, deletedSuffix) || strings.HasSuffix(name, ".part") {
			continue
		}
		p := filepath.Join(b.cfg.Dir, name)
		if p == path {
			continue
		}
		info, err := b.info(ctx, p)
		if err != nil {
			continue // not an image (or vanished meanwhile)
		}
		if info.BackingFile == path {
			out = append(out, p)
		}
	}
	return out, nil
}

func isLockError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "lock") && (strings.Contains(msg, "Failed to get") || strings.Contains(msg, "another process"))
}

func (b *Backend) tool() qemuimg.Tool { return qemuimg.Tool(b.cfg.QemuImg) }

// qemuImg runs qemu-img and returns its stdout.
func (b *Backend) qemuImg(ctx context.Context, args ...string) ([]byte, error) {
	return b.tool().Run(ctx, args...)
}
