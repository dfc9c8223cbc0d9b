package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Dir keeps blobs as files in a directory: root/ab/cd/abcd…, two levels of
// 256 subdirectories so that no directory grows huge. A Put writes a
// temporary file in root/.tmp, fsyncs it, renames it into place and fsyncs
// the directory, so a blob is either whole and durable or absent. Open
// files survive a Delete (POSIX unlink), which is what lets a reader finish
// the old version of an object that is being replaced.
type Dir struct {
	root string
	tmp  string
	// made remembers fan-out directories known to exist, to skip a mkdir
	// (and its fsync) on the hot path.
	made sync.Map
}

// tmpMaxAge is how old a temporary file must be before a new Dir removes
// it as a crash's leftover: no upload takes a day, and other processes
// sharing the directory may be writing theirs.
const tmpMaxAge = 24 * time.Hour

// NewDir opens (creating it if needed) a blob directory and removes
// temporary files that a crashed process left more than a day ago.
func NewDir(root string) (*Dir, error) {
	if root == "" {
		return nil, errors.New("objectstore: no directory given")
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("object directory: %w", err)
	}
	d := &Dir{root: root, tmp: filepath.Join(root, ".tmp")}
	if err := os.MkdirAll(d.tmp, 0o750); err != nil {
		return nil, fmt.Errorf("create object directory: %w", err)
	}
	entries, err := os.ReadDir(d.tmp)
	if err != nil {
		return nil, fmt.Errorf("read object temp directory: %w", err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > tmpMaxAge {
			_ = os.Remove(filepath.Join(d.tmp, e.Name()))
		}
	}
	return d, nil
}

// Name implements Backend.
func (d *Dir) Name() string { return "dir" }

// Root is the directory the blobs are in.
func (d *Dir) Root() string { return d.root }

func (d *Dir) path(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("objectstore: bad key %q", key)
	}
	return filepath.Join(d.root, key[0:2], key[2:4], key), nil
}

// Put implements Backend.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	final, err := d.path(key)
	if err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(d.tmp, key+".*")
	if err != nil {
		return 0, fmt.Errorf("create temporary blob: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	n, err := copyWithWriteback(f, ctxReader{ctx, r})
	if err != nil {
		return n, err
	}
	if err := f.Sync(); err != nil {
		return n, fmt.Errorf("sync blob: %w", err)
	}
	if err := f.Close(); err != nil {
		return n, fmt.Errorf("close blob: %w", err)
	}
	if err := d.place(f.Name(), final); err != nil {
		return n, err
	}
	done = true
	return n, nil
}

// place renames a finished temporary file to its final name and makes the
// rename durable.
func (d *Dir) place(tmp, final string) error {
	dir := filepath.Dir(final)
	if err := d.ensureDir(dir); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("store blob: %w", err)
	}
	return syncDir(dir)
}

// ensureDir creates a fan-out directory (and makes its creation durable)
// the first time it is needed.
func (d *Dir) ensureDir(dir string) error {
	if _, ok := d.made.Load(dir); ok {
		return nil
	}
	parent := filepath.Dir(dir)
	for _, p := range []string{parent, dir} {
		err := os.Mkdir(p, 0o750)
		switch {
		case err == nil:
			if err := syncDir(filepath.Dir(p)); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist):
		default:
			return fmt.Errorf("create blob directory: %w", err)
		}
	}
	d.made.Store(dir, true)
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open blob directory: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync blob directory: %w", err)
	}
	return nil
}

// Open implements Backend.
func (d *Dir) Open(_ context.Context, key string) (Blob, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("stat blob: %w", err)
	}
	return fileBlob{File: f, size: st.Size()}, nil
}

// fileBlob is an open blob file. It embeds *os.File so that net/http finds
// the file under it and sends it with sendfile.
type fileBlob struct {
	*os.File
	size int64
}

func (b fileBlob) Size() int64 { return b.size }

// Copy implements Backend with a hard link — blobs never change, so two
// keys may share one file — or, across file systems, by copying the bytes.
func (d *Dir) Copy(ctx context.Context, src, dst string) error {
	from, err := d.path(src)
	if err != nil {
		return err
	}
	to, err := d.path(dst)
	if err != nil {
		return err
	}
	if err := d.ensureDir(filepath.Dir(to)); err != nil {
		return err
	}
	err = os.Link(from, to)
	switch {
	case err == nil:
		// The new name must not look old to the orphan sweep before its
		// row commits: the link shares the source's (old) times.
		now := time.Now()
		if err := os.Chtimes(to, now, now); err != nil {
			_ = os.Remove(to)
			return fmt.Errorf("touch copied blob: %w", err)
		}
		return syncDir(filepath.Dir(to))
	case errors.Is(err, fs.ErrNotExist):
		return ErrNotFound
	case errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EMLINK) || errors.Is(err, syscall.EPERM):
		b, err := d.Open(ctx, src)
		if err != nil {
			return err
		}
		defer b.Close()
		_, err = d.Put(ctx, dst, b)
		return err
	}
	return fmt.Errorf("link blob: %w", err)
}

// Delete implements Backend.
func (d *Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}

// Walk implements Backend. Temporary files are not blobs and are skipped.
func (d *Dir) Walk(ctx context.Context, fn func(key string, written time.Time) error) error {
	return filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked
			}
			return err
		}
		if e.IsDir() {
			if p == d.tmp {
				return filepath.SkipDir
			}
			return ctx.Err()
		}
		if !e.Type().IsRegular() || !ValidKey(e.Name()) {
			return nil
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		return fn(e.Name(), info.ModTime())
	})
}

// ctxReader stops a copy when its context ends (a cancelled request, a
// server shutting down) instead of at the next EOF.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// writebackEvery is how much is written before the kernel is asked to
// start putting it on disk.
const writebackEvery = 8 << 20

// copyWithWriteback copies r into f, starting the disk writeback of every
// writebackEvery bytes as it goes.
func copyWithWriteback(f *os.File, r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var n, flushed int64
	for {
		m, rerr := r.Read(buf)
		if m > 0 {
			if _, err := f.Write(buf[:m]); err != nil {
				return n, fmt.Errorf("write blob: %w", err)
			}
			n += int64(m)
			if n-flushed >= writebackEvery {
				startWriteback(f, flushed, n-flushed)
				flushed = n
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}
