package models

// The instance state vocabularies, listed for documentation (the API's
// OpenAPI enums) and validation. Add a state here when adding its constant.

// VMStates lists every vm_state.
func VMStates() []VMState {
	return []VMState{VMBuilding, VMActive, VMStopped, VMPaused, VMSuspended, VMError, VMDeleted, VMResized, VMShelved, VMShelvedOffloaded}
}

// TaskStates lists every task_state but TaskNone (no task).
func TaskStates() []TaskState {
	return append([]TaskState{TaskScheduling, TaskSpawning, TaskPoweringOff, TaskPoweringOn, TaskRebooting, TaskRebootingHard, TaskDeleting,
		TaskPausing, TaskUnpausing, TaskSuspending, TaskResuming, TaskImageSnapshot, TaskShelving, TaskUnshelving}, moveTaskStates()...)
}

// PowerStates lists every power_state.
func PowerStates() []PowerState {
	return []PowerState{PowerNoState, PowerRunning, PowerPaused, PowerShutdown, PowerCrashed, PowerSuspended}
}

// InstanceStatuses lists the Nova status summaries Instance.Status returns
// (UNKNOWN only for a vm_state this list does not know).
func InstanceStatuses() []string {
	return []string{"BUILD", "ACTIVE", "SHUTOFF", "PAUSED", "SUSPENDED", "REBOOT", "HARD_REBOOT", "ERROR", "DELETED", "RESIZE", "VERIFY_RESIZE", "REVERT_RESIZE", "MIGRATING", "REBUILD", "SHELVED", "SHELVED_OFFLOADED"}
}

// PowerActions lists the actions PowerAction takes.
func PowerActions() []string {
	return []string{PowerStart, PowerStop, PowerReboot, PowerRebootHard, PowerPause, PowerUnpause, PowerSuspend, PowerResume}
}

// ActionSnapshot is the instance action that makes an image of its root
// disk (SnapshotInstance).
const ActionSnapshot = "snapshot"

// InstanceActions lists every action POST /instances/{id}/actions takes.
func InstanceActions() []string {
	return append(append(PowerActions(), MoveActions()...), ActionSnapshot, ActionRebuild, ActionShelve, ActionShelveOffload, ActionUnshelve)
}
