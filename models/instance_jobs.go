package models

// Job kinds of the instance life cycle. The kind strings are part of the
// queue's protocol: never rename them.

// ScheduleInstance asks a scheduler to place an instance. Attempt counts
// builds; ExcludeHosts are hosts where an earlier attempt failed.
type ScheduleInstance struct {
	InstanceID   string   `json:"instance_id"`
	ExcludeHosts []string `json:"exclude_hosts,omitempty"`
}

func (ScheduleInstance) Kind() string { return "instance.schedule" }

// SpawnInstance asks the chosen host's agent to build the instance.
type SpawnInstance struct {
	InstanceID   string   `json:"instance_id"`
	ExcludeHosts []string `json:"exclude_hosts,omitempty"` // carried for a reschedule
}

func (SpawnInstance) Kind() string { return "instance.spawn" }

// Power actions.
const (
	PowerStart      = "start"
	PowerStop       = "stop"
	PowerReboot     = "reboot"
	PowerRebootHard = "reboot_hard"
)

// PowerInstance asks the host's agent to start, stop or reboot.
type PowerInstance struct {
	InstanceID string `json:"instance_id"`
	Action     string `json:"action"`
}

func (PowerInstance) Kind() string { return "instance.power" }

// DeleteInstance asks the host's agent to destroy the instance and its disks.
type DeleteInstance struct {
	InstanceID string `json:"instance_id"`
}

func (DeleteInstance) Kind() string { return "instance.delete" }

// MaxBuildAttempts is how many hosts a build is tried on before the instance
// goes to ERROR.
const MaxBuildAttempts = 3
