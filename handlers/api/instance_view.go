package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"stratus/models"
)

// Instance is an instance as the API shows it. Everything comes from the
// instance's own row — sizes and names are the copies taken at launch — so a
// page of instances costs one query whatever its length.
//
// The host's name is for operators: a tenant sees null there, and host_id
// instead — as Nova's hostId, a hash of the project and the host that tells
// whether two of the project's instances share a host (to check
// anti-affinity) without naming the cloud's machines.
type Instance struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Status           instanceStatus    `json:"status"` // Nova's summary of vm_state and task_state
	VMState          models.VMState    `json:"vm_state"`
	TaskState        *models.TaskState `json:"task_state"` // null when no task is in progress
	PowerState       models.PowerState `json:"power_state"`
	Host             *string           `json:"host"`    // operators only; null until placed
	HostID           *string           `json:"host_id"` // null until placed
	Flavor           InstanceFlavor    `json:"flavor"`
	Image            InstanceImage     `json:"image"`
	KeyPair          *string           `json:"keypair"`           // its name (at launch or the last rebuild)
	AvailabilityZone *string           `json:"availability_zone"` // as asked at launch; null for any
	ServerGroup      *string           `json:"server_group"`      // the group's ID
	Fault            *InstanceFault    `json:"fault"`             // why it is in ERROR
	// Addresses are the instance's fixed IPs by network name (Nova's
	// "addresses").
	Addresses  map[string][]models.Address `json:"addresses"`
	ProjectID  string                      `json:"project_id"`
	UserID     string                      `json:"user_id"`
	LaunchedAt *time.Time                  `json:"launched_at"`
	CreatedAt  time.Time                   `json:"created_at"`
	UpdatedAt  time.Time                   `json:"updated_at"`
}

// InstanceFlavor is the size the instance was launched with.
type InstanceFlavor struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	VCPUs       int    `json:"vcpus"`
	RAMMB       int    `json:"ram_mb"`
	DiskGB      int    `json:"disk_gb"`
	EphemeralGB int    `json:"ephemeral_gb"`
}

// InstanceImage is the image the instance was launched from.
type InstanceImage struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// InstanceFault says why an instance is in ERROR, in words for its owner.
type InstanceFault struct {
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// instanceStatus is Nova's status word (the OpenAPI enum lists them).
type instanceStatus string

// instanceView renders an instance for the caller.
func instanceView(c models.Caller, i models.Instance) Instance {
	v := Instance{
		ID: i.ID, Name: i.Name, Status: instanceStatus(i.Status()),
		VMState: i.VMState, PowerState: i.PowerState,
		Flavor:  InstanceFlavor{ID: i.FlavorID, Name: i.FlavorName, VCPUs: i.VCPUs, RAMMB: i.RAMMB, DiskGB: i.DiskGB, EphemeralGB: i.EphemeralGB},
		Image:   InstanceImage{ID: i.ImageID, Name: i.ImageName},
		KeyPair: nonEmpty(i.KeyPairName), AvailabilityZone: nonEmpty(i.AvailabilityZone), ServerGroup: nonEmpty(i.ServerGroupID),
		ProjectID: i.ProjectID, UserID: i.UserID, Addresses: map[string][]models.Address{},
		LaunchedAt: utc(i.LaunchedAt), CreatedAt: i.CreatedAt.UTC(), UpdatedAt: i.UpdatedAt.UTC(),
	}
	if i.TaskState != models.TaskNone {
		ts := i.TaskState
		v.TaskState = &ts
	}
	if i.Host != "" {
		sum := sha256.Sum224([]byte(i.ProjectID + i.Host))
		id := hex.EncodeToString(sum[:])
		v.HostID = &id
		if c.IsSystemAdmin() {
			host := i.Host
			v.Host = &host
		}
	}
	if i.FaultMessage != "" {
		f := InstanceFault{Message: i.FaultMessage}
		if i.FaultAt != nil {
			f.At = i.FaultAt.UTC()
		} else {
			f.At = i.UpdatedAt.UTC()
		}
		v.Fault = &f
	}
	return v
}

// instanceViews renders instances with their addresses (one more query
// for the whole list).
func (a *API) instanceViews(r *http.Request, c models.Caller, insts []models.Instance) ([]Instance, error) {
	ids := make([]string, len(insts))
	for i, inst := range insts {
		ids[i] = inst.ID
	}
	addrs, err := a.Store.InstanceAddresses(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	out := make([]Instance, len(insts))
	for i, inst := range insts {
		out[i] = instanceView(c, inst)
		if m, ok := addrs[inst.ID]; ok {
			out[i].Addresses = m
		}
	}
	return out, nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
