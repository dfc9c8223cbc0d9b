package virt

import "context"

// Lifecycle is what a driver does for the tenant's actions beyond power:
// pause and suspend (the instance keeps its host), and a copy of the root
// disk for snapshots and shelving. The agent asks for it with a type
// assertion; a driver without it refuses those actions.
type Lifecycle interface {
	// Pause stops a running domain's vCPUs; its memory stays in RAM.
	Pause(ctx context.Context, id string) error
	// Unpause runs a paused domain's vCPUs again.
	Unpause(ctx context.Context, id string) error
	// Suspend saves a running or paused domain's memory to disk and stops
	// it (libvirt's managed save); State reports Suspended afterwards.
	Suspend(ctx context.Context, id string) error
	// Resume restores a suspended domain, running.
	Resume(ctx context.Context, id string) error
	// SnapshotDisk copies the domain's root disk, as it is now, to dst: a
	// stand-alone qcow2 file (no backing file) that boots elsewhere. A
	// running guest keeps running; its writes after the copy began are not
	// in it. A domain booted from a volume has no root disk here
	// (ErrNoRootDisk).
	SnapshotDisk(ctx context.Context, id, dst string) error
}
