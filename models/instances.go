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
	// VMShelved is an instance shelved but still on its host (Nova keeps
	// it there until it is offloaded; Stratus offloads at once, so it is
	// seen only while shelving finishes).
	VMShelved VMState = "shelved"
	// VMShelvedOffloaded is a shelved instance no host runs or holds:
	// its root disk is a snapshot image, its ports and volumes are kept.
	VMShelvedOffloaded VMState = "shelved_offloaded"
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
	TaskPausing       TaskState = "pausing"
	TaskUnpausing     TaskState = "unpausing"
	TaskSuspending    TaskState = "suspending"
	TaskResuming      TaskState = "resuming"
	// TaskImageSnapshot: the root disk is being copied; the instance is
	// usable again once the copy is made (the upload runs after it).
	TaskImageSnapshot TaskState = "image_snapshot"
	TaskShelving      TaskState = "shelving"
	TaskUnshelving    TaskState = "unshelving"
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
	ID          string `json:"id"`
	ProjectID   string `json:"project_id"`
	UserID      string `json:"user_id"`
	Name        string `json:"name"`
	FlavorID    string `json:"flavor_id"`
	FlavorName  string `json:"flavor_name"`
	VCPUs       int    `json:"vcpus" gorm:"column:vcpus"`
	RAMMB       int    `json:"ram_mb" gorm:"column:ram_mb"`
	DiskGB      int    `json:"disk_gb" gorm:"column:disk_gb"`
	EphemeralGB int    `json:"ephemeral_gb" gorm:"column:ephemeral_gb"`
	ImageID     string `json:"image_id"`
	ImageName   string `json:"image_name"`
	// ShelvedImageID is the snapshot a shelved instance boots from when
	// unshelved ("" otherwise).
	ShelvedImageID   string     `json:"-"`
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
		switch {
		case i.TaskState == TaskRebooting:
			return "REBOOT"
		case i.TaskState == TaskRebootingHard:
			return "HARD_REBOOT"
		case i.TaskState == TaskMigrating:
			return "MIGRATING"
		case resizing(i.TaskState):
			return "RESIZE"
		case i.TaskState == TaskRebuilding:
			return "REBUILD"
		}
		return "ACTIVE"
	case VMStopped:
		switch {
		case i.TaskState == TaskRebootingHard:
			return "HARD_REBOOT"
		case resizing(i.TaskState):
			return "RESIZE"
		case i.TaskState == TaskRebuilding:
			return "REBUILD"
		}
		return "SHUTOFF"
	case VMResized:
		if i.TaskState == TaskResizeReverting {
			return "REVERT_RESIZE"
		}
		return "VERIFY_RESIZE"
	case VMPaused:
		return "PAUSED"
	case VMSuspended:
		return "SUSPENDED"
	case VMError:
		if i.TaskState == TaskRebuilding {
			return "REBUILD"
		}
		return "ERROR"
	case VMDeleted:
		return "DELETED"
	case VMShelved:
		return "SHELVED"
	case VMShelvedOffloaded:
		return "SHELVED_OFFLOADED"
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
	Host        string // on this host, within the scope (handlers let operators use it)
	ProjectID   string // operators only, with AllProjects
	AllProjects bool   // operators: every project
	Deleted     bool   // include deleted instances
	IDs         []string
	FlavorID    string // launched with this flavor
	ImageID     string // launched from this image
	// VolumeAttachable lists only the instances a volume may be attached
	// to now (VolumeAttachAllowed).
	VolumeAttachable bool
	// ChangedSince lists only instances changed since then, deleted ones
	// included (Nova's changes-since: how a client catches up).
	ChangedSince *time.Time
}

// ListInstances lists instances newest first, scoped to the caller's
// project (operators may ask for all projects).
func (s *Store) ListInstances(ctx context.Context, c Caller, f InstanceFilter) (Page[Instance], error) {
	q := s.db.WithContext(ctx).Model(&Instance{})
	if f.AllProjects && c.IsSystemAdmin() {
		if f.ProjectID != "" {
			q = q.Where("project_id = ?", f.ProjectID)
		}
	} else {
		q = q.Where("project_id = ?", c.ProjectID)
	}
	if f.Host != "" && c.IsSystemAdmin() { // an operator's filter
		q = q.Where("host = ?", f.Host)
	}
	if f.ChangedSince != nil {
		q = q.Where("updated_at >= ?", f.ChangedSince.UTC())
	} else if !f.Deleted {
		q = q.Where("deleted_at IS NULL")
	}
	if f.FlavorID != "" {
		q = q.Where("flavor_id = ?", f.FlavorID)
	}
	if f.ImageID != "" {
		q = q.Where("image_id = ?", f.ImageID)
	}
	if len(f.IDs) > 0 {
		q = q.Where("id IN ?", f.IDs)
	}
	if f.VolumeAttachable {
		q = q.Where(volumeAttachableCondition, TaskNone, attachableStates)
	}
	if f.Status != "" {
		cond, args, ok := statusCondition(f.Status)
		if !ok {
			return Page[Instance]{}, Invalid("status", "unknown status")
		}
		q = q.Where(cond, args...)
	}
	q = nameFilter(q, "instances", f.ListOptions)
	p, err := pageNewestFirst(q, "instances", f.ListOptions, func(i Instance) string { return i.ID })
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
		return "vm_state = ? AND task_state NOT IN ?", []any{VMActive, append([]TaskState{TaskRebooting, TaskRebootingHard}, moveTaskStates()...)}, true
	case "RESIZE":
		return "vm_state IN ? AND task_state IN ?", []any{[]VMState{VMActive, VMStopped},
			[]TaskState{TaskResizePrep, TaskResizeMigrating, TaskResizeMigrated, TaskResizeFinish}}, true
	case "VERIFY_RESIZE":
		return "vm_state = ? AND task_state <> ?", []any{VMResized, TaskResizeReverting}, true
	case "REVERT_RESIZE":
		return "vm_state = ? AND task_state = ?", []any{VMResized, TaskResizeReverting}, true
	case "MIGRATING":
		return "vm_state = ? AND task_state = ?", []any{VMActive, TaskMigrating}, true
	case "SHELVED":
		return "vm_state = ?", []any{VMShelved}, true
	case "SHELVED_OFFLOADED":
		return "vm_state = ?", []any{VMShelvedOffloaded}, true
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

// InstanceStates is the part of an instance a host's agent compares with
// its hypervisor.
type InstanceStates struct {
	ID         string
	VMState    VMState
	TaskState  TaskState
	PowerState PowerState
	UpdatedAt  time.Time // SyncPowerState's seen
}

// HostInstances lists the states of the live (not deleted) instances
// placed on a host: five narrow columns, not whole rows with their user
// data.
func (s *Store) HostInstances(ctx context.Context, host string) ([]InstanceStates, error) {
	var out []InstanceStates
	if err := s.db.WithContext(ctx).Model(&Instance{}).Select("id", "vm_state", "task_state", "power_state", "updated_at").
		Where("host = ? AND vm_state <> ?", host, VMDeleted).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("host instances: %w", err)
	}
	return out, nil
}

// PowerSyncWanted says whether SyncPowerState would change an instance the
// hypervisor reports in power state p: only an idle, built instance whose
// recorded power state differs. The agent asks before opening a
// transaction, so a sync where nothing changed writes nothing.
func (i InstanceStates) PowerSyncWanted(p PowerState) bool {
	return i.TaskState == TaskNone && i.VMState != VMDeleted && i.VMState != VMBuilding && i.PowerState != p
}
