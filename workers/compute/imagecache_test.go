package compute

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"stratus/models"
)

// bytesSource serves the same bytes for every image and counts downloads.
type bytesSource struct {
	data  []byte
	opens atomic.Int32
}

func (s *bytesSource) Open(context.Context, models.Image) (io.ReadCloser, error) {
	s.opens.Add(1)
	return io.NopCloser(bytes.NewReader(s.data)), nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestFileCache(t *testing.T) {
	data := []byte("a kernel, say")
	const id = "6f1f1a8e-9c1d-4b8a-8e0e-6f7c2a7e9b10"
	tests := []struct {
		name     string
		checksum string
		size     int64
		wantErr  error
	}{
		{"verified and kept", sha(data), int64(len(data)), nil},
		{"checksum mismatch refused", sha([]byte("something else")), int64(len(data)), ErrChecksumMismatch},
		{"size mismatch refused", sha(data), 3, ErrChecksumMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			src := &bytesSource{data: data}
			c := &FileCache{Dir: dir, Source: src}
			im := models.Image{ID: id, DiskFormat: "aki", Checksum: tt.checksum, SizeBytes: tt.size}
			path, err := c.Fetch(context.Background(), im)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Fetch error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				left, _ := filepath.Glob(filepath.Join(dir, "*"))
				hidden, _ := filepath.Glob(filepath.Join(dir, ".*"))
				if len(left)+len(hidden) != 0 {
					t.Errorf("a refused download left files behind: %v %v", left, hidden)
				}
				return
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("cached file = %q, %v", got, err)
			}
			if _, err := c.Fetch(context.Background(), im); err != nil {
				t.Fatal(err)
			}
			if n := src.opens.Load(); n != 1 {
				t.Errorf("downloaded %d times, want once", n)
			}
		})
	}
}

func TestFileCachePrepare(t *testing.T) {
	data := []byte("raw disk bytes")
	src := &bytesSource{data: data}
	var formats []string
	c := &FileCache{Dir: t.TempDir(), Source: src, Prepare: func(_ context.Context, format, from, to string) error {
		formats = append(formats, format)
		return os.WriteFile(to, []byte("converted"), 0o644)
	}}
	path, err := c.Fetch(context.Background(), models.Image{ID: "6f1f1a8e-9c1d-4b8a-8e0e-6f7c2a7e9b11", DiskFormat: "raw", Checksum: sha(data)})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "converted" || len(formats) != 1 || formats[0] != "raw" {
		t.Errorf("prepare not applied: %q %v", b, formats)
	}
	if _, err := c.Fetch(context.Background(), models.Image{ID: "../etc", Checksum: sha(data)}); err == nil {
		t.Error("a malformed image id was fetched")
	}
}
