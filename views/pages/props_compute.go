package pages

import (
	"fmt"
	"strconv"
	"time"

	"stratus/models"
	"stratus/views/ui"
)

// InstancesProps is a list of instances: the project's, or (Admin) every
// project's with project and host filters.
type InstancesProps struct {
	Rows     []InstanceRow
	Name     string // name filter
	Status   string // status filter
	FirstURL string
	NextURL  string
	Row      RowContext
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

// RowContext is what every row of a list shares.
type RowContext struct {
	CSRF      string
	Here      string // the list's URI: actions return here
	CanAct    bool   // start, stop, reboot
	CanDelete bool
	Admin     bool // project and host columns, no actions
	Now       time.Time
}

// InstanceRow is one instance in a list.
type InstanceRow struct {
	Inst        models.Instance
	ProjectName string // admin list only
}

// InstanceStatuses are the statuses the list filter offers.
func InstanceStatuses() []ui.Option {
	out := []ui.Option{{Value: "", Label: "Any status"}}
	for _, s := range []string{"ACTIVE", "BUILD", "SHUTOFF", "REBOOT", "HARD_REBOOT", "ERROR"} {
		out = append(out, ui.Option{Value: s, Label: s})
	}
	return out
}

// InstanceActions are the actions an instance's state allows.
type InstanceActions struct {
	Start, Stop, Reboot, RebootHard, Delete bool
}

// Any reports whether some action is allowed.
func (a InstanceActions) Any() bool { return a.Start || a.Stop || a.Reboot || a.RebootHard || a.Delete }

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
	}
}

// StatusTone colours an instance's status.
func StatusTone(status string) ui.Tone {
	switch status {
	case "ACTIVE":
		return ui.Green
	case "BUILD", "REBOOT", "HARD_REBOOT":
		return ui.Blue
	case "ERROR":
		return ui.Red
	case "PAUSED", "SUSPENDED":
		return ui.Amber
	}
	return ui.Gray
}

// TaskLabel says what an instance is doing, for people.
func TaskLabel(t models.TaskState) string {
	switch t {
	case models.TaskScheduling:
		return "scheduling"
	case models.TaskSpawning:
		return "spawning"
	case models.TaskPoweringOff:
		return "powering off"
	case models.TaskPoweringOn:
		return "powering on"
	case models.TaskRebooting:
		return "rebooting"
	case models.TaskRebootingHard:
		return "hard rebooting"
	case models.TaskDeleting:
		return "deleting"
	}
	return string(t)
}

// Age is how long ago t was, in the largest unit that fits ("3m", "2h",
// "5d").
func Age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return strconv.Itoa(max(0, int(d.Seconds()))) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
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

// Text is "3 of 10", "3 (no limit)".
func (q QuotaMeter) Text() string {
	used := strconv.FormatInt(q.Used, 10) + q.Unit
	if q.Limit == models.Unlimited {
		return used + " (no limit)"
	}
	return used + " of " + strconv.FormatInt(q.Limit, 10) + q.Unit
}

// Short is the compact figure a chart prints over its bar: "3/10",
// "2.5/50 GB", "4/∞".
func (q QuotaMeter) Short() string {
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
		return "Instances", ""
	case models.QuotaVCPUs:
		return "vCPUs", ""
	case models.QuotaRAMMB:
		return "RAM", " MB"
	case models.QuotaKeyPairs:
		return "Key pairs", ""
	case models.QuotaImages:
		return "Images", ""
	}
	return resource, ""
}

// ImagesProps is the project's image list.
type ImagesProps struct {
	Rows      []ImageRow
	Filter    string
	FirstURL  string
	NextURL   string
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

// HumanBytes formats a size ("1.5 GiB").
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// MB formats a RAM size in MB as people read it ("512 MB", "8 GB").
func MB(mb int) string {
	if mb >= 1024 && mb%1024 == 0 {
		return strconv.Itoa(mb/1024) + " GB"
	}
	return strconv.Itoa(mb) + " MB"
}

func itoa(n int) string { return strconv.Itoa(n) }
