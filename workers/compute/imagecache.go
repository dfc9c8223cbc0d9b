package compute

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"stratus/models"
	"stratus/workers"
)

// ImageSource streams an image's bytes from wherever the cloud keeps them.
type ImageSource interface {
	Open(ctx context.Context, im models.Image) (io.ReadCloser, error)
}

// HTTPImageSource downloads images from the API (GET
// /api/v1/images/{id}/file) with a service account's token: what a compute
// host that does not share the API servers' disk uses.
type HTTPImageSource struct {
	BaseURL string // e.g. https://cloud.example.com
	Token   string // an API token of a system reader (the compute service account)
	Client  *http.Client
}

// DownloadClient is an HTTP client for image downloads: it gives up on an
// API that does not answer, but not on a long download that keeps moving
// (the job's own timeout bounds that).
func DownloadClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       90 * time.Second,
	}}
}

// Open starts the download.
func (s HTTPImageSource) Open(ctx context.Context, im models.Image) (io.ReadCloser, error) {
	u := strings.TrimRight(s.BaseURL, "/") + "/api/v1/images/" + url.PathEscape(im.ID) + "/file"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	c := s.Client
	if c == nil {
		c = DownloadClient()
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download image: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("download image: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return resp.Body, nil
}

// StoreImageSource reads images straight from the image store of this
// process (`stratus dev`, where the API and the host share a disk).
type StoreImageSource struct{ Store *models.Store }

// Open opens the stored file as the compute service (a system reader).
func (s StoreImageSource) Open(ctx context.Context, im models.Image) (io.ReadCloser, error) {
	f, _, err := s.Store.OpenImageFile(ctx, models.Caller{UserName: "compute", SystemRole: models.RoleReader}, im.ID)
	return f, err
}

// ErrChecksumMismatch means the bytes fetched are not the image that was
// uploaded (corrupted or tampered with on the way): they are thrown away.
var ErrChecksumMismatch = errors.New("image checksum mismatch")

// FileCache is the host's image cache: each image is fetched once, its
// SHA-256 checked against the one recorded at upload, turned by Prepare into
// what the driver boots from (a qcow2 base for disks), and kept as
// <Dir>/<image-id> for every later instance of it.
type FileCache struct {
	Dir     string
	Source  ImageSource
	Prepare func(ctx context.Context, format, src, dst string) error // nil: keep the bytes as fetched
	Log     *slog.Logger

	mu    sync.Mutex
	locks map[string]chan struct{} // one per image: a semaphore of one, waitable with a context
}

// Fetch returns the cached path of an image, fetching it first if needed.
// Concurrent fetches of one image download it once.
func (c *FileCache) Fetch(ctx context.Context, im models.Image) (string, error) {
	if !models.IsUUID(im.ID) {
		return "", fmt.Errorf("bad image id %q", im.ID)
	}
	if len(im.Checksum) != 64 {
		return "", fmt.Errorf("image %s has no SHA-256 checksum to verify", im.ID)
	}
	// An absolute path: it becomes a qcow2 backing file and libvirt XML.
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return "", fmt.Errorf("image cache: %w", err)
	}
	final := filepath.Join(dir, im.ID)
	stamp := final + ".sha256"
	lock := c.lock(im.ID)
	select {
	case lock <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("wait for the download of image %s: %w", im.ID, ctx.Err())
	}
	defer func() { <-lock }()
	if b, err := os.ReadFile(stamp); err == nil && strings.TrimSpace(string(b)) == im.Checksum {
		if _, err := os.Stat(final); err == nil {
			return final, nil
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("image cache: %w", err)
	}
	start := time.Now()
	tmp, err := c.download(ctx, dir, im)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp)
	fetched := time.Since(start)
	prep := c.Prepare
	if prep == nil {
		prep = func(_ context.Context, _, src, dst string) error { return os.Rename(src, dst) }
	}
	if err := prep(ctx, im.DiskFormat, tmp, final); err != nil {
		err = fmt.Errorf("prepare image %s: %w", im.ID, err)
		if ctx.Err() == nil {
			// Its verified bytes cannot be used (qemu-img cannot read
			// them): fetching them again will not help.
			err = workers.Terminal(err)
		}
		return "", err
	}
	if err := os.WriteFile(stamp, []byte(im.Checksum+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("image cache: %w", err)
	}
	if c.Log != nil {
		c.Log.Info("image cached", "image", im.ID, "format", im.DiskFormat, "bytes", im.SizeBytes,
			"fetch_ms", fetched.Milliseconds(), "prepare_ms", (time.Since(start) - fetched).Milliseconds())
	}
	return final, nil
}

// download streams the image to a temporary file in the cache, hashing it,
// and keeps it only when its size and SHA-256 are the recorded ones.
func (c *FileCache) download(ctx context.Context, dir string, im models.Image) (string, error) {
	r, err := c.Source.Open(ctx, im)
	if err != nil {
		return "", err
	}
	defer r.Close()
	f, err := os.CreateTemp(dir, ".fetch-"+im.ID+"-*")
	if err != nil {
		return "", fmt.Errorf("image cache: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != im.Checksum {
			err = fmt.Errorf("%w: image %s should have SHA-256 %s, the %d bytes fetched have %s",
				ErrChecksumMismatch, im.ID, im.Checksum, n, got)
		} else if im.SizeBytes > 0 && n != im.SizeBytes {
			err = fmt.Errorf("%w: image %s should be %d bytes, got %d", ErrChecksumMismatch, im.ID, im.SizeBytes, n)
		}
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func (c *FileCache) lock(id string) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.locks == nil {
		c.locks = map[string]chan struct{}{}
	}
	l, ok := c.locks[id]
	if !ok {
		l = make(chan struct{}, 1)
		c.locks[id] = l
	}
	return l
}
