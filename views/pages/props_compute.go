package pages

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/ui"
)

// InstancesProps is a list of instances: the project's, or (Admin) every
// project's with project and host filters.
type InstancesProps struct {
	Rows   []InstanceRow
	Name   string // name filter
	Status string // status filter
	Pager  ui.PagerLinks
	Row    RowContext
	CSRF   string // of the row actions' and the bulk actions' forms
	// Polling is set when a row is in transition: the list then asks
	// /instances/rows for those rows every second.
	Polling bool
	// Admin: every project's instances, with these filters.
	Admin    bool
	Project  string
	Host     string
	Projects []ui.Option
	Hosts    []ui.Option
}

// InstanceDeleteProps is the question asked before an instance is deleted.
type InstanceDeleteProps struct {
	Inst models.Instance
	Back string // where Cancel and the deletion return (the list it came from)
	CSRF string
}

// RowContext is what every row of a list shares.
type RowContext struct {
	Here      string // the list's URI: actions return here
	CanAct    bool   // start, stop, reboot
	CanDelete bool
	Admin     bool // project and host columns, no actions
	CanFloat  bool // associate floating IPs
	Now       time.Time
}

// InstanceRow is one instance in a list.
type InstanceRow struct {
	Inst        models.Instance
	ProjectName string // admin list only
	// Addresses are its fixed and floating IPs by network name (Nova's
	// "addresses").
	Addresses map[string][]models.Address
}

// NetAddresses are an instance's addresses on one network.
type NetAddresses struct {
	Network string
	Addrs   []models.Address
}

// AddressList is an instance's addresses by network, networks by name.
func AddressList(addrs map[string][]models.Address) []NetAddresses {
	out := make([]NetAddresses, 0, len(addrs))
	for n, a := range addrs {
		out = append(out, NetAddresses{Network: n, Addrs: a})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Network < out[j].Network })
	return out
}

// InstanceStatuses are the statuses the list filter offers.
func InstanceStatuses() []ui.Option {
	out := []ui.Option{{Value: "", Label: i18n.N("Any status")}}
	for _, s := range []string{"ACTIVE", "BUILD", "SHUTOFF", "REBOOT", "HARD_REBOOT", "PAUSED", "SUSPENDED", "SHELVED_OFFLOADED", "ERROR"} {
		out = append(out, ui.Option{Value: s, Label: s})
	}
	return out
}

// InstanceActions are the actions an instance's state allows.
type InstanceActions struct {
	Start, Stop, Reboot, RebootHard, Delete bool
	Pause, Unpause, Suspend, Resume         bool
	Snapshot                                bool
	Rebuild, Shelve, Unshelve               bool
}

// Any reports whether some action is allowed.
func (a InstanceActions) Any() bool {
	return a.Start || a.Stop || a.Reboot || a.RebootHard || a.Delete || a.Pause || a.Unpause || a.Suspend || a.Resume || a.Snapshot ||
		a.Rebuild || a.Shelve || a.Unshelve
}

// ActionsFor says which actions the instance's state allows now (the model
// decides for real; this only hides buttons that would be refused).
func ActionsFor(i models.Instance) InstanceActions {
	idle := i.TaskState == models.TaskNone
	placed := i.Host != ""
	vm := i.VMState
	return InstanceActions{
		Start:      idle && placed && vm == models.VMStopped,
		Stop:       idle && placed && (vm == models.VMActive || vm == models.VMError && i.PowerState == models.PowerRunning),
		Reboot:     idle && placed && vm == models.VMActive,
		RebootHard: placed && (idle || i.TaskState == models.TaskRebooting) && (vm == models.VMActive || vm == models.VMStopped || vm == models.VMError),
		Delete: vm != models.VMDeleted && i.TaskState != models.TaskDeleting &&
			(idle || i.TaskState == models.TaskScheduling || vm == models.VMError),
		Pause:    models.PowerActionAllowed(i, models.PowerPause),
		Unpause:  models.PowerActionAllowed(i, models.PowerUnpause),
		Suspend:  models.PowerActionAllowed(i, models.PowerSuspend),
		Resume:   models.PowerActionAllowed(i, models.PowerResume),
		Snapshot: models.SnapshotAllowed(i),
		Rebuild:  models.RebuildAllowed(i),
		Shelve:   models.ShelveAllowed(i),
		Unshelve: models.UnshelveAllowed(i),
	}
}

// StatusTone colours an instance's status.
func StatusTone(status string) ui.Tone {
	switch status {
	case "ACTIVE":
		return ui.Green
	case "BUILD", "REBOOT", "HARD_REBOOT", "REBUILD":
		return ui.Blue
	case "ERROR":
		return ui.Red
	case "PAUSED", "SUSPENDED", "SHELVED", "SHELVED_OFFLOADED":
		return ui.Amber
	}
	return ui.Gray
}

// TaskLabel says what an instance is doing, for people.
func TaskLabel(t models.TaskState) string {
	switch t {
	case models.TaskScheduling:
		return i18n.N("scheduling")
	case models.TaskSpawning:
		return i18n.N("spawning")
	case models.TaskPoweringOff:
		return i18n.N("powering off")
	case models.TaskPoweringOn:
		return i18n.N("powering on")
	case models.TaskRebooting:
		return i18n.N("rebooting")
	case models.TaskRebootingHard:
		return i18n.N("hard rebooting")
	case models.TaskDeleting:
		return i18n.N("deleting")
	case models.TaskImageSnapshot:
		return i18n.N("taking a snapshot")
	case models.TaskRebuilding:
		return i18n.N("rebuilding")
	case models.TaskShelving:
		return i18n.N("shelving")
	case models.TaskUnshelving:
		return i18n.N("unshelving")
	}
	return string(t)
}

// InstanceDetailProps is one instance's page.
type InstanceDetailProps struct {
	Inst      models.Instance
	Log       []models.InstanceAction
	Tab       string // "overview" or "log"
	Actions   InstanceActions
	CanAct    bool
	CanDelete bool
	ShowHost  bool // operators see the host
	CSRF      string
	Here      string // this page's URI (what the live panel re-fetches)
	Volumes   InstanceVolumesProps
	Moves     MoveProps
	Network   InstanceNetworkProps
	// Snapshots are the images taken of the instance (an upload shows
	// its progress); SnapshotName is the snapshot form's suggested name.
	Snapshots    []models.Image
	SnapshotName string
	// RebuildImages are the images the rebuild dialog offers (those the
	// project may launch).
	RebuildImages []ui.Option
}

// SnapshotsSaving reports whether a snapshot of the instance is still
// being uploaded (the live panel polls meanwhile).
func (p InstanceDetailProps) SnapshotsSaving() bool {
	for _, im := range p.Snapshots {
		if im.Status == models.ImageSaving {
			return true
		}
	}
	return false
}

// LaunchProps is the launch form.
type LaunchProps struct {
	Form         ui.Form
	Images       []models.Image
	Flavors      []FlavorChoice
	KeyPairs     []models.KeyPair
	ServerGroups []models.ServerGroup
	Zones        []string
	Quotas       []QuotaMeter
	MaxUserData  int
	MaxCount     int
	// Networks and SecurityGroups are on offer; the form's "networks"
	// and "security_groups" values are the ticked IDs, comma-separated.
	Networks       []models.Network
	SecurityGroups []models.SecurityGroup
}

// Ticked reports whether a multi-choice field of the form holds id.
func (p LaunchProps) Ticked(field, id string) bool {
	return slices.Contains(strings.Split(p.Form.Get(field), ","), id)
}

// FlavorChoice is a flavor on the launch form, and whether one more
// instance of it fits the project's remaining quota (Reason says why not).
type FlavorChoice struct {
	Flavor models.Flavor
	Fits   bool
	Reason string
}

// QuotaMeter is one quota resource's use, ready to draw.
type QuotaMeter struct {
	Resource string
	Label    string
	Used     int64
	Limit    int64 // -1 unlimited
	Unit     string
}

// Percent is the share of the limit in use (0 when unlimited).
func (q QuotaMeter) Percent() int {
	if q.Limit <= 0 {
		if q.Limit == 0 && q.Used > 0 {
			return 100
		}
		return 0
	}
	return int(min(100, q.Used*100/q.Limit))
}

// Text is "3 of 10", "3 (no limit)", "1.5 GiB of 100 GiB".
func (q QuotaMeter) Text(ctx context.Context) string {
	if q.Unit == UnitBytes {
		if q.Limit == models.Unlimited {
			return i18n.T(ctx, "%s (no limit)", i18n.Bytes(ctx, q.Used))
		}
		return i18n.T(ctx, "%s of %s", i18n.Bytes(ctx, q.Used), i18n.Bytes(ctx, q.Limit))
	}
	used := strconv.FormatInt(q.Used, 10) + q.Unit
	if q.Limit == models.Unlimited {
		return i18n.T(ctx, "%s (no limit)", used)
	}
	return i18n.T(ctx, "%s of %s", used, strconv.FormatInt(q.Limit, 10)+q.Unit)
}

// Short is the compact figure a chart prints over its bar: "3/10",
// "2.5/50 GB", "4/∞".
func (q QuotaMeter) Short(ctx context.Context) string {
	if q.Unit == UnitBytes {
		if q.Limit == models.Unlimited {
			return i18n.Bytes(ctx, q.Used) + "/∞"
		}
		return i18n.Bytes(ctx, q.Used) + "/" + i18n.Bytes(ctx, q.Limit)
	}
	f := func(n int64) string { return strconv.FormatInt(n, 10) }
	unit := ""
	if q.Unit == " MB" && (q.Limit >= 1024 || q.Limit == models.Unlimited && q.Used >= 1024) {
		f = func(n int64) string { return trimFloat(float64(n*10/1024) / 10) }
		unit = " GB"
	}
	if q.Limit == models.Unlimited {
		return f(q.Used) + "/∞" + unit
	}
	return f(q.Used) + "/" + f(q.Limit) + unit
}

// QuotaLabel names a quota resource for people.
func QuotaLabel(resource string) (label, unit string) {
	switch resource {
	case models.QuotaInstances:
		return i18n.N("Instances"), ""
	case models.QuotaVCPUs:
		return i18n.N("vCPUs"), ""
	case models.QuotaRAMMB:
		return i18n.N("RAM"), " MB"
	case models.QuotaKeyPairs:
		return i18n.N("Key pairs"), ""
	case models.QuotaImages:
		return i18n.N("Images"), ""
	case models.QuotaNetworks:
		return i18n.N("Networks"), ""
	case models.QuotaSubnets:
		return i18n.N("Subnets"), ""
	case models.QuotaPorts:
		return i18n.N("Ports"), ""
	case models.QuotaSecurityGroups:
		return i18n.N("Security groups"), ""
	case models.QuotaSecurityGroupRules:
		return i18n.N("SG rules"), ""
	case models.QuotaRouters:
		return i18n.N("Routers"), ""
	case models.QuotaFloatingIPs:
		return i18n.N("Floating IPs"), ""
	case models.QuotaObjectBytes:
		return i18n.N("Object storage"), UnitBytes
	case models.QuotaObjects:
		return i18n.N("Objects"), ""
	case models.QuotaVolumes:
		return i18n.N("Volumes"), ""
	case models.QuotaGigabytes:
		return i18n.N("Volume storage"), " GB"
	case models.QuotaSnapshots:
		return i18n.N("Snapshots"), ""
	}
	return resource, ""
}

// ImagesProps is the project's image list.
type ImagesProps struct {
	Rows      []ImageRow
	Filter    string
	Pager     ui.PagerLinks
	CanCreate bool
	CSRF      string
	// Admin: every project's images, with operator actions.
	Admin bool
}

// ImageRow is one image in a list.
type ImageRow struct {
	Image     models.Image
	Own       bool   // the current project owns it
	OwnerName string // admin list only
}

// ImageFormProps is the create form, or an image's edit form (Image set).
type ImageFormProps struct {
	Form     ui.Form
	Image    *models.Image
	Kernels  []models.Image // aki images the caller may use
	Ramdisks []models.Image // ari images
	IsAdmin  bool           // may publish public images
	Own      bool           // the caller's project owns the image (may edit)
	CanEdit  bool
	CanDel   bool
	CanUp    bool
}

// UploadProps is an image's upload page.
type UploadProps struct {
	Image    models.Image
	MaxBytes int64
}

// KeyPairsProps is the key pair page.
type KeyPairsProps struct {
	Items     []models.KeyPair
	Form      ui.Form
	Created   *models.NewKeyPair // a generated pair: its private key shown once
	CanCreate bool
	CanDelete bool
}

// FlavorsProps is the project's flavor list.
type FlavorsProps struct {
	Items []models.Flavor
}

// HypervisorsProps is the operators' host view.
type HypervisorsProps struct {
	Hosts   []HostView
	CSRF    string
	PollURL string
	Now     time.Time
}

// HostView is one host with its usage against capacity.
type HostView struct {
	Host models.Host
	VCPU UsageBar
	RAM  UsageBar
	Disk UsageBar
	Form ui.Form // the enable/disable form (reason error)
}

// UsageBar is a used/capacity pair.
type UsageBar struct {
	Used     float64
	Capacity float64
	Unit     string
	Ratio    float64 // allocation ratio
}

// Percent is the share used, 0–100.
func (u UsageBar) Percent() int {
	if u.Capacity <= 0 {
		return 0
	}
	return int(min(100, u.Used*100/u.Capacity))
}

// Text is "3 / 16 vCPU".
func (u UsageBar) Text() string {
	return trimFloat(u.Used) + " / " + trimFloat(u.Capacity) + u.Unit
}

func trimFloat(f float64) string {
	if f == float64(int64(f)) {
		return strconv.FormatInt(int64(f), 10)
	}
	return fmt.Sprintf("%.1f", f)
}

// AdminFlavorsProps is the operators' flavor page.
type AdminFlavorsProps struct {
	Items        []AdminFlavorRow
	Form         ui.Form
	ProjectNames []string
	CSRF         string
}

// AdminFlavorRow is a flavor with the projects it is shared with.
type AdminFlavorRow struct {
	Flavor   models.Flavor
	Projects []string // names
}

// UnitBytes marks a quota counted in bytes (shown as KiB, MiB, GiB …).
const UnitBytes = " B"

// MB formats a RAM size in MB as people read it ("512 MB", "8 GB").
func MB(mb int) string {
	if mb >= 1024 && mb%1024 == 0 {
		return strconv.Itoa(mb/1024) + " GB"
	}
	return strconv.Itoa(mb) + " MB"
}

func itoa(n int) string { return strconv.Itoa(n) }
