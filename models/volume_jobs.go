package models

// Job kinds of block storage. Those of the volume service are targeted at
// VolumeTarget(backend); those that touch a guest run on the instance's
// compute host. The kind strings are part of the queue's protocol: never
// rename them.

// CreateVolume asks the backend's volume service to make a volume's data:
// blank, from an image, from a snapshot or as a clone of another volume.
type CreateVolume struct {
	VolumeID string `json:"volume_id"`
}

func (CreateVolume) Kind() string { return "volume.create" }

// DeleteVolume asks the volume service to delete a volume's data.
type DeleteVolume struct {
	VolumeID string `json:"volume_id"`
}

func (DeleteVolume) Kind() string { return "volume.delete" }

// ExtendVolume asks the volume service to grow a volume. For an attached
// volume the service then hands the live part to the compute host
// (ExtendVolumeLive).
type ExtendVolume struct {
	VolumeID  string `json:"volume_id"`
	NewSizeGB int    `json:"new_size_gb"`
	OldSizeGB int    `json:"old_size_gb"` // what a failed extend goes back to
}

func (ExtendVolume) Kind() string { return "volume.extend" }

// CreateSnapshot asks the volume service to take a snapshot. For an
// attached volume on a backend whose data the guest holds open (file), the
// service hands the live part to the compute host (SnapshotVolumeLive).
type CreateSnapshot struct {
	SnapshotID string `json:"snapshot_id"`
}

func (CreateSnapshot) Kind() string { return "volume.snapshot.create" }

// DeleteSnapshot asks the volume service to delete a snapshot's data.
type DeleteSnapshot struct {
	SnapshotID string `json:"snapshot_id"`
}

func (DeleteSnapshot) Kind() string { return "volume.snapshot.delete" }

// AttachVolume asks the instance's compute host to attach a volume (live
// when the instance runs, and to its definition for the next start).
type AttachVolume struct {
	VolumeID   string `json:"volume_id"`
	InstanceID string `json:"instance_id"`
}

func (AttachVolume) Kind() string { return "volume.attach" }

// DetachVolume asks the instance's compute host to detach a volume. Force
// (operators) removes the disk without waiting for the guest.
type DetachVolume struct {
	VolumeID   string `json:"volume_id"`
	InstanceID string `json:"instance_id"`
	Force      bool   `json:"force,omitempty"`
	// Cleanup: the database already forgot the attachment (a forced
	// detach); the host only removes the disk, best effort.
	Cleanup bool `json:"cleanup,omitempty"`
}

func (DetachVolume) Kind() string { return "volume.detach" }

// ExtendVolumeLive asks the compute host to grow an attached volume under
// the running guest (libvirt's block resize), which then sees the new
// size.
type ExtendVolumeLive struct {
	VolumeID   string `json:"volume_id"`
	InstanceID string `json:"instance_id"`
	NewSizeGB  int    `json:"new_size_gb"`
	OldSizeGB  int    `json:"old_size_gb"`
}

func (ExtendVolumeLive) Kind() string { return "volume.extend_live" }

// SnapshotVolumeLive asks the compute host to switch an attached volume's
// disk to a new overlay (an external disk-only snapshot), freezing what was
// written so far as the snapshot's data: crash-consistent.
type SnapshotVolumeLive struct {
	SnapshotID string           `json:"snapshot_id"`
	VolumeID   string           `json:"volume_id"`
	InstanceID string           `json:"instance_id"`
	Overlay    VolumeConnection `json:"overlay"`  // the volume's new active data
	Frozen     string           `json:"frozen"`   // the snapshot's data (provider location)
	Previous   VolumeConnection `json:"previous"` // the volume's connection before
}

func (SnapshotVolumeLive) Kind() string { return "volume.snapshot_live" }
