package virt

import (
	"context"
	"errors"
	"time"
)

// ErrDetachTimeout is a detach the guest did not complete in time: it may
// still hold the disk (mounted, or ignoring the unplug request).
var ErrDetachTimeout = errors.New("the guest did not release the disk in time")

// VolumeDisk is a block storage volume as a hypervisor attaches it: a file
// on storage every host mounts at the same path (Driver "file"), or a
// network disk such as a Ceph RBD image (Driver "rbd": Name is
// pool/image, Hosts and Ports its monitors). Serial is the volume ID, which
// the guest sees as the disk's serial.
type VolumeDisk struct {
	Serial       string
	Device       string // the target name asked for (vdb …); guests may name it otherwise
	Driver       string
	Path         string
	Format       string // raw or qcow2
	Name         string
	Hosts        []string
	Ports        []string
	AuthUsername string
	SecretUUID   string
	Boot         bool // the instance's root disk
}

// Volumes is implemented by drivers that attach block storage volumes.
// Attach and detach change the running domain (when it runs) and its
// definition, so a stopped instance has the volume at its next start.
type Volumes interface {
	AttachVolume(ctx context.Context, id string, disk VolumeDisk) error
	// DetachVolume removes the disk with this serial. With a timeout it
	// waits for the guest to release it (ErrDetachTimeout after); with 0
	// it does not wait (an operator's forced detach). A missing disk is
	// fine.
	DetachVolume(ctx context.Context, id, serial string, timeout time.Duration) error
	// ExtendVolume grows an attached disk under the running guest.
	ExtendVolume(ctx context.Context, id, serial string, sizeBytes int64) error
	// SnapshotVolume switches an attached file disk to the overlay, which
	// the driver creates on top of the current data (an external
	// disk-only snapshot): the data up to now stays as it is.
	SnapshotVolume(ctx context.Context, id, serial string, overlay VolumeDisk) error
	// AttachedVolumes lists the serials of the volumes a domain has.
	AttachedVolumes(ctx context.Context, id string) ([]string, error)
}

// DefaultDetachTimeout is how long a detach waits for the guest.
const DefaultDetachTimeout = 60 * time.Second
