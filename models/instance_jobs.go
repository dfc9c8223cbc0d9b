package models

// Job kinds of the instance life cycle. The kind strings are part of the
// queue's protocol: never rename them.

// ScheduleInstance asks a scheduler to place an instance. ExcludeHosts are
// hosts where an earlier attempt failed. Spec carries what placement needs
// (Nova's RequestSpec), so a decision does not have to read the instance
// first; the placement itself checks the instance still waits.
type ScheduleInstance struct {
	InstanceID   string       `json:"instance_id"`
	ExcludeHosts []string     `json:"exclude_hosts,omitempty"`
	Spec         *RequestSpec `json:"spec,omitempty"`
}

// RequestSpec is an instance's placement request.
type RequestSpec struct {
	VCPUs            int    `json:"vcpus"`
	RAMMB            int    `json:"ram_mb"`
	DiskGB           int    `json:"disk_gb"`
	EphemeralGB      int    `json:"ephemeral_gb"`
	AvailabilityZone string `json:"availability_zone,omitempty"`
	ServerGroupID    string `json:"server_group_id,omitempty"`
	ImageID          string `json:"image_id"`
}

// SpecOf is the placement request of an instance.
func SpecOf(i Instance) *RequestSpec {
	return &RequestSpec{VCPUs: i.VCPUs, RAMMB: i.RAMMB, DiskGB: i.DiskGB, EphemeralGB: i.EphemeralGB,
		AvailabilityZone: i.AvailabilityZone, ServerGroupID: i.ServerGroupID, ImageID: i.ImageID}
}

// Instance is the part of an instance the spec describes (for filters and
// the claim).
func (r RequestSpec) Instance(id string) Instance {
	return Instance{ID: id, VCPUs: r.VCPUs, RAMMB: r.RAMMB, DiskGB: r.DiskGB, EphemeralGB: r.EphemeralGB,
		AvailabilityZone: r.AvailabilityZone, ServerGroupID: r.ServerGroupID, ImageID: r.ImageID}
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
	PowerPause      = "pause"   // vCPUs stopped, memory kept
	PowerUnpause    = "unpause" // …and running again
	PowerSuspend    = "suspend" // memory saved to disk (libvirt managed save)
	PowerResume     = "resume"  // …and restored
)

// PowerInstance asks the host's agent to start, stop, reboot, pause,
// unpause, suspend or resume.
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
