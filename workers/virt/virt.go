// Package virt is the hypervisor driver interface the compute agent drives:
// spawn, destroy, power on/off, reboot, state and listing of the domains
// Stratus owns, lifecycle events, and the host's inventory. Drivers live in
// sub-packages: fake (in memory, like Nova's FakeDriver) and libvirt.
package virt

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned for a domain the hypervisor does not have.
var ErrNotFound = errors.New("domain not found")

// PowerState is what the hypervisor says about a domain. The values are
// those of models.PowerState.
type PowerState string

const (
	NoState   PowerState = "nostate"
	Running   PowerState = "running"
	Paused    PowerState = "paused"
	Shutdown  PowerState = "shutdown"
	Crashed   PowerState = "crashed"
	Suspended PowerState = "suspended"
)

// HostInfo is the host's inventory as the hypervisor sees it.
type HostInfo struct {
	VCPUs          int
	RAMMB          int64
	DiskGB         int64
	HypervisorType string // qemu, kvm, fake
	Arch           string // x86_64
}

// ImageRef names an image the driver must have locally to boot: the agent
// fetches it into the host's cache (Path) before Spawn.
type ImageRef struct {
	ID       string
	Format   string // qcow2, raw, iso, aki, ari
	Checksum string // sha256
	Size     int64
	Path     string // where the cached copy is, once fetched
}

// InstanceSpec is everything a driver needs to build a domain.
type InstanceSpec struct {
	ID          string // the instance UUID: the domain's name and identity
	Name        string // the instance's display name (the guest's hostname)
	ProjectID   string
	FlavorName  string
	VCPUs       int
	RAMMB       int
	DiskGB      int
	EphemeralGB int
	Image       ImageRef
	Kernel      *ImageRef // three-part boot: kernel …
	Ramdisk     *ImageRef // … and ramdisk
	KeyName     string    // the key pair's name …
	KeyData     string    // … and its SSH public key, for the config drive
	UserData    string
	AZ          string // availability zone, for the config drive
}

// Domain is one domain the driver reports.
type Domain struct {
	ID    string // instance UUID
	State PowerState
}

// Event says a domain changed state (started, stopped, crashed …) without
// the agent asking: the agent updates power_state from it at once.
type Event struct {
	ID     string
	State  PowerState
	Reason string
}

// Driver is a hypervisor. Every method is idempotent where it can be: Spawn
// of a domain that exists running returns nil, Destroy of a missing domain
// returns nil. Methods return ErrNotFound for unknown domains otherwise.
type Driver interface {
	Name() string
	HostInfo(ctx context.Context) (HostInfo, error)
	Spawn(ctx context.Context, spec InstanceSpec) error
	Destroy(ctx context.Context, id string) error
	PowerOn(ctx context.Context, id string) error
	// PowerOff asks the guest to shut down (ACPI) and forces it off after
	// timeout.
	PowerOff(ctx context.Context, id string, timeout time.Duration) error
	Reboot(ctx context.Context, id string, hard bool) error
	State(ctx context.Context, id string) (PowerState, error)
	// List returns the domains Stratus owns on this host (a driver
	// recognises them by their metadata and ignores all others).
	List(ctx context.Context) ([]Domain, error)
	// Events streams lifecycle events until ctx ends. A driver without
	// events returns a nil channel.
	Events(ctx context.Context) (<-chan Event, error)
	Close() error
}
