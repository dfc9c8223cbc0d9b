package objectstore_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stratus/models/objectstore"
)

const key = "00112233445566778899aabbccddeeff"

func TestDirLifecycle(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := objectstore.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.Put(ctx, key, strings.NewReader("hello")); err != nil || n != 5 {
		t.Fatalf("put: %d %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(root, "00", "11", key)); err != nil {
		t.Errorf("not fanned out: %v", err)
	}
	b, err := d.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	// A blob deleted while open stays readable (a reader of the old
	// version of an overwritten object finishes it).
	if err := d.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(b)
	b.Close()
	if string(data) != "hello" || b.Size() != 5 {
		t.Errorf("read %q after delete", data)
	}
	if _, err := d.Open(ctx, key); !errors.Is(err, objectstore.ErrNotFound) {
		t.Errorf("open of a deleted blob: %v", err)
	}
	if err := d.Delete(ctx, key); err != nil {
		t.Errorf("a second delete: %v", err)
	}

	// Copy is a hard link with fresh times, independent of its source.
	if _, err := d.Put(ctx, key, strings.NewReader("source")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	_ = os.Chtimes(filepath.Join(root, "00", "11", key), old, old)
	dst := "ffeeddccbbaa99887766554433221100"
	if err := d.Copy(ctx, key, dst); err != nil {
		t.Fatal(err)
	}
	_ = d.Delete(ctx, key)
	seen := map[string]time.Time{}
	_ = d.Walk(ctx, func(k string, at time.Time) error { seen[k] = at; return nil })
	if len(seen) != 1 || time.Since(seen[dst]) > time.Minute {
		t.Errorf("walk after copy: %v", seen)
	}
	if err := d.Copy(ctx, key, "abababababababababababababababab"); !errors.Is(err, objectstore.ErrNotFound) {
		t.Errorf("copy of a missing blob: %v", err)
	}

	for _, bad := range []string{"../etc/passwd", "", "UPPER1234", "a/b"} {
		if _, err := d.Put(ctx, bad, strings.NewReader("x")); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}

// TestDirFailedPutLeavesNothing: a body that breaks, or a cancelled
// context, leaves no blob and no temporary file.
func TestDirFailedPutLeavesNothing(t *testing.T) {
	root := t.TempDir()
	d, err := objectstore.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	broken := io.MultiReader(strings.NewReader("part"), errReader{})
	if _, err := d.Put(context.Background(), key, broken); err == nil {
		t.Error("a broken body was stored")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Put(ctx, key, strings.NewReader("data")); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled put: %v", err)
	}
	var files []string
	_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("left behind: %v", files)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
