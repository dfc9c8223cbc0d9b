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

// ErrNoRootDisk is SnapshotDisk's answer for a domain whose root disk is a
// volume.
var ErrNoRootDisk = errors.New("the domain's root disk is a volume")

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
	// Volumes are the block storage volumes attached to the instance; one
	// with Boot set is its root disk (Image is then not used for the disk).
	Volumes []VolumeDisk
	// NICs are the instance's network interfaces, in the order the launch
	// asked for them. The host network driver has made their bridges,
	// DHCP entries and firewall chains before Spawn is called.
	NICs []NIC
}

// NIC is one network interface of an instance: a tap device the
// hypervisor creates on the network's bridge when the domain starts, and
// what the guest is told about it (network_data.json on the config drive).
type NIC struct {
	PortID    string
	NetworkID string
	MAC       string
	Bridge    string // brq<network id[:11]>, made by the host network driver
	Tap       string // tap<port id[:11]>: the device the firewall chains match
	MTU       int
	Subnets   []NICSubnet // one per fixed IP
}

// NICSubnet is one fixed IP of a NIC with its subnet's settings.
type NICSubnet struct {
	IP      string
	CIDR    string // 10.0.0.0/24
	Gateway string // "" = none
	DNS     []string
	DHCP    bool // the guest takes the address by DHCP
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
