package virt

import (
	"context"
	"errors"
)

// ErrSharedStorage is a cold move asked of hosts that share the instances
// directory: the destination would write over the very files the source
// keeps for a revert.
var ErrSharedStorage = errors.New("the hosts share the instances directory: cold moves need each host's own")

// MigrationTarget is what a destination prepared for an incoming instance:
// the source's hypervisor sends the domain there. Drivers fill the fields
// they use; the agents pass it through the database as JSON.
type MigrationTarget struct {
	Host string `json:"host"`
	// URI is the destination hypervisor's address as the source's
	// hypervisor dials it (libvirt peer-to-peer: qemu+tcp://addr/system).
	URI string `json:"uri,omitempty"`
	// MigrateURI is where the guest's memory and disks stream to
	// (tcp://addr).
	MigrateURI string `json:"migrate_uri,omitempty"`
	// XML is the domain as the destination defines it: its own paths.
	XML string `json:"xml,omitempty"`
	// Disks are the devices to copy when storage is not shared.
	Disks []string `json:"disks,omitempty"`
	// Shared says the destination found the instance's files already in
	// its instances directory: the hosts share it, nothing to copy.
	Shared bool `json:"shared,omitempty"`
}

// MigrateOptions tune one migration.
type MigrateOptions struct {
	// Live keeps the guest running while its memory is copied; otherwise
	// the instance is stopped and only its disks move (its domain arrives
	// paused and is finished by FinishIncoming).
	Live bool
	// CopyDisks copies the local disks (block migration).
	CopyDisks bool
	// Progress is called now and then while the migration runs.
	Progress func(MigrationStats)
}

// MigrationStats is a migration's progress (bytes) and, at its end, the
// guest's downtime.
type MigrationStats struct {
	MemoryTotal, MemoryProcessed, MemoryRemaining int64
	DiskTotal, DiskProcessed, DiskRemaining       int64
	DowntimeMS                                    int64
}

// Migrations is implemented by drivers that move instances between hosts.
// The destination prepares, the source migrates, the destination finishes;
// each step may run again.
type Migrations interface {
	// PrepareIncoming makes the instance's files on the destination (for
	// the spec's size: the instance as it runs on the source) and says
	// where the source sends it.
	PrepareIncoming(ctx context.Context, spec InstanceSpec) (MigrationTarget, error)
	// Migrate sends a domain to a prepared destination. A cold migration
	// leaves the source's domain defined and stopped, with its disks as
	// they were (a revert starts it again); a live one leaves nothing
	// running on the source (CleanupSource removes its files). A failed
	// live migration leaves the guest running on the source.
	Migrate(ctx context.Context, id string, t MigrationTarget, opts MigrateOptions) (MigrationStats, error)
	// FinishIncoming makes the arrived domain what spec says — a resize's
	// new vCPUs, memory and larger disks — and runs it when powerOn.
	FinishIncoming(ctx context.Context, spec InstanceSpec, live, powerOn bool) error
	// CleanupSource removes what a live migration left on the source (its
	// files, unless the hosts share them).
	CleanupSource(ctx context.Context, id string, shared bool) error
}
