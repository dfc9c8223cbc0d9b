package libvirt_test

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"stratus/workers/qemuimg"
	"stratus/workers/virt/libvirt"
)

// BenchmarkSnapshotCopy1GB is the disk copy of a snapshot (and a shelve)
// of a 1 GB root disk full of data: a qcow2 overlay, as an instance's root
// disk is, whose 1 GB of data sits half in the cached base image (random)
// and half in the overlay (written by qemu-io), flattened by CopyDisk into one qcow2 file. It
// reports the copy's seconds and MB/s (qemu-img, no libvirt needed).
func BenchmarkSnapshotCopy1GB(b *testing.B) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		b.Skip("qemu-img is not installed")
	}
	ctx := context.Background()
	dir := b.TempDir()
	const size = 1 << 30
	raw := filepath.Join(dir, "data.raw")
	f, err := os.Create(raw)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size/2); err != nil {
		b.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	base, root := filepath.Join(dir, "base.qcow2"), filepath.Join(dir, "disk.qcow2")
	run := func(args ...string) {
		b.Helper()
		if _, err := qemuimg.Tool("").Run(ctx, args...); err != nil {
			b.Fatal(err)
		}
	}
	run("convert", "-q", "-f", "raw", "-O", "qcow2", raw, base)
	run("create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", root, "1G")
	// The guest's writes: the second half of the disk (a non-zero
	// pattern, which qemu-img copies like any data), in the overlay.
	if out, err := exec.Command("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 512M 512M", root).CombinedOutput(); err != nil {
		// Without qemu-io, the overlay stays empty: the base holds half.
		b.Logf("qemu-io unavailable (%v: %s): only the base's 512 MB hold data", err, out)
	}
	os.Remove(raw)
	b.ResetTimer()
	var took time.Duration
	for i := 0; i < b.N; i++ {
		dst := filepath.Join(dir, "snap.qcow2")
		os.Remove(dst)
		start := time.Now()
		if err := libvirt.CopyDisk(ctx, "", root, dst); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
	}
	sec := took.Seconds() / float64(b.N)
	b.ReportMetric(sec, "s/copy")
	b.ReportMetric(float64(size)/(1<<20)/sec, "MB/s")
}
