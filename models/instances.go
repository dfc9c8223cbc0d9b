package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// VMState is what the instance is meant to be (Nova's vm_state).
type VMState string

const (
	VMBuilding  VMState = "building"
	VMActive    VMState = "active"
	VMStopped   VMState = "stopped"
	VMPaused    VMState = "paused"
	VMSuspended VMState = "suspended"
	VMError     VMState = "error"
	VMDeleted   VMState = "deleted"
)

// TaskState is the operation in progress ("" when idle; Nova's NULL).
type TaskState string

const (
	TaskNone          TaskState = ""
	TaskScheduling    TaskState = "scheduling"
	TaskSpawning      TaskState = "spawning"
	TaskPoweringOff   TaskState = "powering-off"
	TaskPoweringOn    TaskState = "powering-on"
	TaskRebooting     TaskState = "rebooting"
	TaskRebootingHard TaskState = "rebooting_hard"
	TaskDeleting      TaskState = "deleting"
)

// PowerState is what the hypervisor reports; the hypervisor is its
// authority.
type PowerState string

const (
	PowerNoState   PowerState = "nostate"
	PowerRunning   PowerState = "running"
	PowerPaused    PowerState = "paused"
	PowerShutdown  PowerState = "shutdown"
	PowerCrashed   PowerState = "crashed"
	PowerSuspended PowerState = "suspended"
)

// Instance is a virtual machine. Its size is copied from the flavor at
// creation, so changing or deleting the flavor does not change it.
type Instance struct {
	ID               string     `json:"id"`
	ProjectID        string     `json:"project_id"`
	UserID           string     `json:"user_id"`
	Name             string     `json:"name"`
	FlavorID         string     `json:"flavor_id"`
	FlavorName       string     `json:"flavor_name"`
	VCPUs            int        `json:"vcpus" gorm:"column:vcpus"`
	RAMMB            int        `json:"ram_mb" gorm:"column:ram_mb"`
	DiskGB           int        `json:"disk_gb" gorm:"column:disk_gb"`
	EphemeralGB      int        `json:"ephemeral_gb" gorm:"column:ephemeral_gb"`
	ImageID          string     `json:"image_id"`
	ImageName        string     `json:"image_name"`
	KeyPairName      string     `json:"keypair_name" gorm:"column:keypair_name"`
	KeyData          string     `json:"-"`
	UserData         string     `json:"-"`
	AvailabilityZone string     `json:"availability_zone"`
	ServerGroupID    string     `json:"server_group_id"`
	Host             string     `json:"host"`
	VMState          VMState    `json:"vm_state" gorm:"column:vm_state"`
	TaskState        TaskState  `json:"task_state"`
	PowerState       PowerState `json:"power_state"`
	FaultMessage     string     `json:"fault_message"`
	FaultAt          *time.Time `json:"fault_at"`
	BuildAttempts    int        `json:"build_attempts"`
	LaunchedAt       *time.Time `json:"launched_at"`
	DeletedAt        *time.Time `json:"deleted_at"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// Status is Nova's one-word summary of vm_state and task_state.
func (i Instance) Status() string {
	switch i.VMState {
	case VMBuilding:
		return "BUILD"
	case VMActive:
		switch i.TaskState {
		case TaskRebooting:
			return "REBOOT"
		case TaskRebootingHard:
			return "HARD_REBOOT"
		}
		return "ACTIVE"
	case VMStopped:
		if i.TaskState == TaskRebootingHard {
			return "HARD_REBOOT"
		}
		return "SHUTOFF"
	case VMPaused:
		return "PAUSED"
	case VMSuspended:
		return "SUSPENDED"
	case VMError:
		return "ERROR"
	case VMDeleted:
		return "DELETED"
	}
	return "UNKNOWN"
}

// InTransition reports whether the instance is changing (a UI polls it).
func (i Instance) InTransition() bool {
	return i.TaskState != TaskNone || i.VMState == VMBuilding
}

// InstanceFilter narrows ListInstances.
type InstanceFilter struct {
	ListOptions
	Status      string // Nova status, e.g. ACTIVE
	Host        string // operators only
	ProjectID   string // operators only, with AllProjects
	AllProjects bool   // operators: every project
	Deleted     bool   // include deleted instances
	IDs         []string
}

// ListInstances lists instances newest first, scoped to the caller's
// project (operators may ask for all projects).
func (s *Store) ListInstances(ctx context.Context, c Caller, f InstanceFilter) (Page[Instance], error) {
	q := s.db.WithContext(ctx).Model(&Instance{})
	if f.AllProjects && c.IsSystemAdmin() {
		if f.ProjectID != "" {
			q = q.Where("project_id = ?", f.ProjectID)
		}
		if f.Host != "" {
			q = q.Where("host = ?", f.Host)
		}
	} else {
		q = q.Where("project_id = ?", c.ProjectID)
	}
	if !f.Deleted {
		q = q.Where("deleted_at IS NULL")
	}
	if len(f.IDs) > 0 {
		q = q.Where("id IN ?", f.IDs)
	}
	if f.Status != "" {
		cond, args, ok := statusCondition(f.Status)
		if !ok {
			return Page[Instance]{}, Invalid("status", "unknown status")
		}
		q = q.Where(cond, args...)
	}
	q = nameFilter(q, "instances", f.ListOptions)
	if f.Marker != "" {
		var m Instance
		if err := q.Session(&gorm.Session{}).Select("id", "created_at").Where("id = ?", f.Marker).Take(&m).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return Page[Instance]{}, Invalid("marker", "no item with this ID in the list")
			}
			return Page[Instance]{}, fmt.Errorf("find marker: %w", err)
		}
		q = q.Where("(created_at < ? OR (created_at = ? AND id < ?))", m.CreatedAt, m.CreatedAt, m.ID)
	}
	p, err := finishPage(q.Order("created_at DESC, id DESC"), f.ListOptions, func(i Instance) string { return i.ID })
	if err != nil {
		return p, fmt.Errorf("list instances: %w", err)
	}
	return p, nil
}

// statusCondition turns a Nova status into a SQL condition.
func statusCondition(status string) (string, []any, bool) {
	switch status {
	case "BUILD":
		return "vm_state = ?", []any{VMBuilding}, true
	case "ACTIVE":
		return "vm_state = ? AND task_state NOT IN ?", []any{VMActive, []TaskState{TaskRebooting, TaskRebootingHard}}, true
	case "REBOOT":
		return "vm_state = ? AND task_state = ?", []any{VMActive, TaskRebooting}, true
	case "HARD_REBOOT":
		return "task_state = ?", []any{TaskRebootingHard}, true
	case "SHUTOFF":
		return "vm_state = ? AND task_state <> ?", []any{VMStopped, TaskRebootingHard}, true
	case "PAUSED":
		return "vm_state = ?", []any{VMPaused}, true
	case "SUSPENDED":
		return "vm_state = ?", []any{VMSuspended}, true
	case "ERROR":
		return "vm_state = ?", []any{VMError}, true
	case "DELETED":
		return "vm_state = ?", []any{VMDeleted}, true
	}
	return "", nil, false
}

// GetInstance finds one of the caller's project's instances (operators:
// any instance) by ID.
func (s *Store) GetInstance(ctx context.Context, c Caller, id string) (Instance, error) {
	return s.getInstance(s.db.WithContext(ctx), c, id)
}

func (s *Store) getInstance(tx *gorm.DB, c Caller, id string) (Instance, error) {
	var i Instance
	q := tx.Where("id = ?", id)
	if !c.IsSystemAdmin() {
		q = q.Where("project_id = ?", c.ProjectID)
	}
	err := q.Take(&i).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return i, notFound("instance %q not found", id)
	}
	if err != nil {
		return i, fmt.Errorf("get instance: %w", err)
	}
	return i, nil
}

// InstanceByID reads an instance for a worker (workers act for the
// system, not for a project). Not found is ErrNotFound.
func (s *Store) InstanceByID(ctx context.Context, id string) (Instance, error) {
	var i Instance
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&i).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return i, notFound("instance %q not found", id)
	}
	if err != nil {
		return i, fmt.Errorf("get instance: %w", err)
	}
	return i, nil
}

// HostInstances lists the live (not deleted) instances placed on a host.
func (s *Store) HostInstances(ctx context.Context, host string) ([]Instance, error) {
	var out []Instance
	if err := s.db.WithContext(ctx).Where("host = ? AND vm_state <> ?", host, VMDeleted).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("host instances: %w", err)
	}
	return out, nil
}
