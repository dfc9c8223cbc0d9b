// Package volume is the volume service (cinder-volume): a process that
// owns one storage backend, registers it and reports its capacity, claims
// the volume jobs targeted at it (create — blank, from an image, a snapshot
// or another volume —, delete, extend, snapshot create and delete) and
// collects backend data nothing references any more. Backends live in
// sub-packages behind the Backend interface: file (raw/qcow2 files on a
// directory every compute host mounts at the same path) and a fake for
// tests; a network backend such as Ceph RBD implements the same interface
// and hands compute hosts an "rbd" connection.
package volume

import (
	"context"
	"errors"

	"stratus/models"
)

// Capacity is a backend's size.
type Capacity struct {
	TotalGB int64
	FreeGB  int64
}

// Source is what a new volume's data is made from: nothing (blank), an
// image file on this host, a snapshot's data, or another volume's.
type Source struct {
	ImagePath   string // a qcow2 file (the image cache's prepared base)
	Snapshot    *models.Snapshot
	Volume      *models.Volume
	Progress    func(pct int) // called while an image is written
	ImageFormat string        // format of ImagePath
}

// SnapshotResult is a snapshot taken (Location names its data) or to be
// finished by the compute host of an attached volume (Live).
type SnapshotResult struct {
	Location string
	// VolumeConnection is where the volume's active data now is, when the
	// snapshot moved it; nil when it did not.
	VolumeConnection *models.VolumeConnection
	// Live: the guest holds the volume open, so its host must switch the
	// disk to this overlay (an external snapshot); Location is then what
	// the overlay freezes.
	Live *models.VolumeConnection
}

// References are what the database points at on a backend: a backend
// never deletes data any of them reaches.
type References struct {
	Volumes   []models.Volume
	Snapshots []models.Snapshot
}

// ReadReferences reads the References of the backend. It reads every
// volume and snapshot on the backend, so Collect calls it only when it
// has data whose fate depends on them.
type ReadReferences func(ctx context.Context) (References, error)

// ErrInUse is data the backend cannot change because a guest holds it.
var ErrInUse = errors.New("the volume's data is held open by a running guest")

// Backend is one storage backend. Every method is idempotent: a job that
// runs twice must leave the same result. Errors are written for the volume's
// owner (they become its fault message).
type Backend interface {
	// Driver names the backend's kind ("file", "rbd", "fake").
	Driver() string
	Capacity(ctx context.Context) (Capacity, error)
	// CreateVolume makes a volume's data and says how hosts reach it.
	CreateVolume(ctx context.Context, v models.Volume, src Source) (models.VolumeConnection, error)
	// DeleteVolume removes a volume's own data; data it shares with
	// snapshots stays. A volume already gone is fine.
	DeleteVolume(ctx context.Context, v models.Volume) error
	// ExtendVolume grows a volume to newSizeGB. For an attached volume a
	// backend whose data the guest holds open does nothing here: the
	// compute host grows it under the guest.
	ExtendVolume(ctx context.Context, v models.Volume, newSizeGB int, attached bool) error
	CreateSnapshot(ctx context.Context, v models.Volume, snap models.Snapshot, attached bool) (SnapshotResult, error)
	// DeleteSnapshot removes a snapshot's data once nothing needs it
	// (volumes made from it keep theirs).
	DeleteSnapshot(ctx context.Context, snap models.Snapshot, refs References) error
	// Collect deletes data left for later (a snapshot's data still needed
	// when it was deleted) that nothing needs any more. It reads the
	// references only when it has such data, which most runs have not: it
	// runs periodically and after every volume's delete.
	Collect(ctx context.Context, refs ReadReferences) error
}
