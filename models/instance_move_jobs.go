package models

// The states and job kinds of instance moves (see instance_migrations.go).
// The kind strings are part of the queue's protocol: never rename them.

// VMResized is an instance whose resize or cold migration finished and
// waits to be confirmed or reverted (status VERIFY_RESIZE).
const VMResized VMState = "resized"

// Move task states (Nova's).
const (
	TaskResizePrep      TaskState = "resize_prep"
	TaskResizeMigrating TaskState = "resize_migrating"
	TaskResizeMigrated  TaskState = "resize_migrated"
	TaskResizeFinish    TaskState = "resize_finish"
	TaskResizeReverting TaskState = "resize_reverting"
	TaskMigrating       TaskState = "migrating"
	TaskRebuilding      TaskState = "rebuilding"
)

// moveTaskStates are the task states of moves, for TaskStates.
func moveTaskStates() []TaskState {
	return []TaskState{TaskResizePrep, TaskResizeMigrating, TaskResizeMigrated, TaskResizeFinish, TaskResizeReverting, TaskMigrating, TaskRebuilding}
}

// resizing reports whether a task is one of a resize or cold migration.
func resizing(t TaskState) bool {
	switch t {
	case TaskResizePrep, TaskResizeMigrating, TaskResizeMigrated, TaskResizeFinish:
		return true
	}
	return false
}

// ScheduleMove asks a scheduler for a move's destination and claims it.
type ScheduleMove struct {
	MigrationID string `json:"migration_id"`
}

func (ScheduleMove) Kind() string { return "instance.move.schedule" }

// PrepareMove asks the destination's agent to prepare the instance's files
// and its hypervisor for the incoming domain.
type PrepareMove struct {
	MigrationID string `json:"migration_id"`
}

func (PrepareMove) Kind() string { return "instance.move.prepare" }

// MigrateInstance asks the source's agent to send the instance to the
// prepared destination (cold: stopped disks; live: the running guest).
type MigrateInstance struct {
	MigrationID string `json:"migration_id"`
}

func (MigrateInstance) Kind() string { return "instance.move.migrate" }

// FinishMove asks the destination's agent to finish the arrived instance
// (a resize's new size, the power state it had).
type FinishMove struct {
	MigrationID string `json:"migration_id"`
}

func (FinishMove) Kind() string { return "instance.move.finish" }

// ConfirmMove asks the source's agent to destroy the copy it kept for a
// revert.
type ConfirmMove struct {
	MigrationID string `json:"migration_id"`
}

func (ConfirmMove) Kind() string { return "instance.move.confirm" }

// RevertMove asks the destination's agent to destroy its copy of a
// resized instance being reverted.
type RevertMove struct {
	MigrationID string `json:"migration_id"`
}

func (RevertMove) Kind() string { return "instance.move.revert" }

// FinishRevert asks the source's agent to start the copy it kept.
type FinishRevert struct {
	MigrationID string `json:"migration_id"`
}

func (FinishRevert) Kind() string { return "instance.move.finish_revert" }

// AbortMove asks the destination's agent to destroy what a failed move
// left there.
type AbortMove struct {
	MigrationID string `json:"migration_id"`
}

func (AbortMove) Kind() string { return "instance.move.abort" }

// EvacuateInstance asks the destination's agent to rebuild an instance of
// a dead host: a new root disk from its image (or its boot volume), the
// same ID, ports and volumes.
type EvacuateInstance struct {
	MigrationID string `json:"migration_id"`
}

func (EvacuateInstance) Kind() string { return "instance.evacuate" }
