package models

// The instance state vocabularies, listed for documentation (the API's
// OpenAPI enums) and validation. Add a state here when adding its constant.

// VMStates lists every vm_state.
func VMStates() []VMState {
	return []VMState{VMBuilding, VMActive, VMStopped, VMPaused, VMSuspended, VMError, VMDeleted}
}

// TaskStates lists every task_state but TaskNone (no task).
func TaskStates() []TaskState {
	return []TaskState{TaskScheduling, TaskSpawning, TaskPoweringOff, TaskPoweringOn, TaskRebooting, TaskRebootingHard, TaskDeleting}
}

// PowerStates lists every power_state.
func PowerStates() []PowerState {
	return []PowerState{PowerNoState, PowerRunning, PowerPaused, PowerShutdown, PowerCrashed, PowerSuspended}
}

// InstanceStatuses lists the Nova status summaries Instance.Status returns
// (UNKNOWN only for a vm_state this list does not know).
func InstanceStatuses() []string {
	return []string{"BUILD", "ACTIVE", "SHUTOFF", "PAUSED", "SUSPENDED", "REBOOT", "HARD_REBOOT", "ERROR", "DELETED"}
}

// PowerActions lists the actions PowerAction takes.
func PowerActions() []string {
	return []string{PowerStart, PowerStop, PowerReboot, PowerRebootHard}
}
