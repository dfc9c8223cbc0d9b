// Package fake is an in-memory volume backend for `stratus dev` without
// qemu-img and for tests: it keeps each volume's and snapshot's size, has
// a capacity it refuses to exceed, hands out "file" connections under a
// path that does not exist (so only the fake hypervisor can use them), and
// fails on request.
package fake

import (
	"context"
	"fmt"
	"sync"

	"stratus/models"
	"stratus/workers/volume"
)

// Backend is the fake backend.
type Backend struct {
	capacityGB int64

	mu        sync.Mutex
	volumes   map[string]int64 // volume id → GB
	snapshots map[string]int64 // location → GB
	failNext  string
}

var _ volume.Backend = (*Backend)(nil)

// New returns an empty backend of capacityGB.
func New(capacityGB int64) *Backend {
	return &Backend{capacityGB: capacityGB, volumes: map[string]int64{}, snapshots: map[string]int64{}}
}

// FailNext makes the next operation fail with msg (failure injection).
func (b *Backend) FailNext(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failNext = msg
}

func (b *Backend) fail() error {
	if b.failNext == "" {
		return nil
	}
	msg := b.failNext
	b.failNext = ""
	return fmt.Errorf("fake volume backend: %s", msg)
}

// Driver is "fake".
func (b *Backend) Driver() string { return "fake" }

func (b *Backend) usedGB() int64 {
	var n int64
	for _, gb := range b.volumes {
		n += gb
	}
	for _, gb := range b.snapshots {
		n += gb
	}
	return n
}

// Capacity reports the configured size and what is used.
func (b *Backend) Capacity(context.Context) (volume.Capacity, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return volume.Capacity{TotalGB: b.capacityGB, FreeGB: max(b.capacityGB-b.usedGB(), 0)}, nil
}

func connOf(id string) models.VolumeConnection {
	return models.VolumeConnection{Driver: "file", Path: "/fake-volumes/volume-" + id, Format: "raw"}
}

// CreateVolume records the volume.
func (b *Backend) CreateVolume(_ context.Context, v models.Volume, src volume.Source) (models.VolumeConnection, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.fail(); err != nil {
		return models.VolumeConnection{}, err
	}
	if _, ok := b.volumes[v.ID]; ok {
		return connOf(v.ID), nil
	}
	if b.usedGB()+int64(v.SizeGB) > b.capacityGB {
		return models.VolumeConnection{}, fmt.Errorf("fake volume backend: out of space")
	}
	if src.Snapshot != nil {
		if _, ok := b.snapshots[src.Snapshot.ProviderLocation]; !ok {
			return models.VolumeConnection{}, fmt.Errorf("fake volume backend: snapshot data %s is gone", src.Snapshot.ProviderLocation)
		}
	}
	if src.Progress != nil {
		src.Progress(100)
	}
	b.volumes[v.ID] = int64(v.SizeGB)
	return connOf(v.ID), nil
}

// DeleteVolume forgets the volume.
func (b *Backend) DeleteVolume(_ context.Context, v models.Volume) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.fail(); err != nil {
		return err
	}
	delete(b.volumes, v.ID)
	return nil
}

// ExtendVolume records the new size.
func (b *Backend) ExtendVolume(_ context.Context, v models.Volume, newSizeGB int, _ bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.fail(); err != nil {
		return err
	}
	if _, ok := b.volumes[v.ID]; !ok {
		return fmt.Errorf("fake volume backend: volume %s has no data", v.ID)
	}
	b.volumes[v.ID] = int64(newSizeGB)
	return nil
}

// CreateSnapshot records the snapshot (never live: nothing holds fake data).
func (b *Backend) CreateSnapshot(_ context.Context, v models.Volume, snap models.Snapshot, _ bool) (volume.SnapshotResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.fail(); err != nil {
		return volume.SnapshotResult{}, err
	}
	loc := "snapshot-" + snap.ID
	b.snapshots[loc] = int64(v.SizeGB)
	return volume.SnapshotResult{Location: loc}, nil
}

// DeleteSnapshot forgets the snapshot.
func (b *Backend) DeleteSnapshot(_ context.Context, snap models.Snapshot, _ volume.References) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.fail(); err != nil {
		return err
	}
	delete(b.snapshots, snap.ProviderLocation)
	return nil
}

// Collect has nothing to do.
func (b *Backend) Collect(context.Context, volume.ReadReferences) error { return nil }

// Counts returns how many volumes and snapshots the backend holds.
func (b *Backend) Counts() (volumes, snapshots int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.volumes), len(b.snapshots)
}
