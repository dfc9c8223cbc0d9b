package api

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"stratus/models"
)

// Host is a hypervisor host as operators see it: whether its agent is alive
// (state) and whether the scheduler may use it (enabled), what it has and
// what is claimed on it.
type Host struct {
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	State            hostState    `json:"state"` // up: its agent heartbeats
	Enabled          bool         `json:"enabled"`
	DisabledReason   *string      `json:"disabled_reason"` // why an operator disabled it; null when enabled
	AvailabilityZone string       `json:"availability_zone"`
	Driver           string       `json:"driver"`
	HypervisorType   string       `json:"hypervisor_type"`
	Arch             string       `json:"arch"`
	Address          string       `json:"address"`
	VCPUs            HostResource `json:"vcpus"`
	RAMMB            HostResource `json:"ram_mb"`
	DiskGB           HostResource `json:"disk_gb"`
	InstanceCount    int          `json:"instance_count"`
	FailedBuilds     int          `json:"failed_builds"`
	LastHeartbeat    time.Time    `json:"last_heartbeat"`
	CreatedAt        time.Time    `json:"created_at"`
	UpdatedAt        time.Time    `json:"updated_at"`
}

// HostResource is one resource of a host. The scheduler may claim up to
// capacity = (total − reserved) × allocation_ratio; used is claimed, free
// what is left (negative after a ratio was lowered under the claims).
type HostResource struct {
	Total           int64   `json:"total"`
	Reserved        int64   `json:"reserved"`
	AllocationRatio float64 `json:"allocation_ratio"`
	Capacity        int64   `json:"capacity"`
	Used            int64   `json:"used"`
	Free            int64   `json:"free"`
}

// HostList is a page of hosts, by name.
type HostList struct {
	Hosts []Host  `json:"hosts"`
	Next  *string `json:"next"`
}

// HostUpdate enables or disables a host for scheduling. Disabling needs a
// reason, so that the next operator knows why; instances on the host keep
// running.
type HostUpdate struct {
	Enabled        *bool  `json:"enabled"`
	DisabledReason string `json:"disabled_reason"`
}

// hostState is up or down.
type hostState string

const (
	hostUp   = "up"
	hostDown = "down"
)

// hostPath names a host by ID or name.
type hostPath struct {
	ID string `path:"id" doc:"The host's ID or name."`
}

func resource(total, reserved int64, ratio, capacity float64, used int64) HostResource {
	c := int64(math.Floor(capacity))
	return HostResource{Total: total, Reserved: reserved, AllocationRatio: ratio, Capacity: c, Used: used, Free: c - used}
}

func hostView(h models.Host) Host {
	v := Host{
		ID: h.ID, Name: h.Name, State: hostDown, Enabled: h.Enabled, DisabledReason: nonEmpty(h.DisabledReason),
		AvailabilityZone: h.AvailabilityZone, Driver: h.Driver, HypervisorType: h.HypervisorType, Arch: h.Arch, Address: h.Address,
		VCPUs:         resource(int64(h.VCPUs), int64(h.ReservedVCPUs), h.CPURatio, h.CapacityVCPUs(), int64(h.UsedVCPUs)),
		RAMMB:         resource(h.RAMMB, h.ReservedRAMMB, h.RAMRatio, h.CapacityRAMMB(), h.UsedRAMMB),
		DiskGB:        resource(h.DiskGB, h.ReservedDiskGB, h.DiskRatio, h.CapacityDiskGB(), h.UsedDiskGB),
		InstanceCount: h.InstanceCount, FailedBuilds: h.FailedBuilds,
		LastHeartbeat: h.LastHeartbeat.UTC(), CreatedAt: h.CreatedAt.UTC(), UpdatedAt: h.UpdatedAt.UTC(),
	}
	if h.Up {
		v.State = hostUp
	}
	return v
}

func (a *API) listHosts(r *http.Request, _ models.Caller, in namedPage) (HostList, error) {
	p, err := a.Store.ListHostsPage(r.Context(), in.options())
	if err != nil {
		return HostList{}, err
	}
	out := make([]Host, len(p.Items))
	for i, h := range p.Items {
		out[i] = hostView(h)
	}
	return HostList{Hosts: out, Next: nextLink(r, p.NextMarker)}, nil
}

func (a *API) getHost(r *http.Request, _ models.Caller, in hostPath) (Host, error) {
	h, err := a.Store.GetHost(r.Context(), in.ID)
	if err != nil {
		return Host{}, err
	}
	return hostView(h), nil
}

// updateHost is PATCH /hosts/{id}: {"enabled": false, "disabled_reason":
// "…"} takes a host out of scheduling, {"enabled": true} puts it back.
func (a *API) updateHost(r *http.Request, c models.Caller, in struct {
	hostPath
	Body HostUpdate `body:"json"`
}) (Host, error) {
	if in.Body.Enabled == nil {
		return Host{}, models.Invalid("enabled", "is required: true or false")
	}
	if *in.Body.Enabled && strings.TrimSpace(in.Body.DisabledReason) != "" {
		return Host{}, models.Invalid("disabled_reason", "give a reason only when disabling")
	}
	h, err := a.Store.SetHostEnabled(r.Context(), c, in.ID, *in.Body.Enabled, in.Body.DisabledReason)
	if err != nil {
		return Host{}, renameField(err, "reason", "disabled_reason")
	}
	return hostView(h), nil
}

// renameField names a model's field as the API's input calls it.
func renameField(err error, from, to string) error {
	var ve *models.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	fields := make(map[string]string, len(ve.Fields))
	for k, v := range ve.Fields {
		if k == from {
			k = to
		}
		fields[k] = v
	}
	return &models.ValidationError{Fields: fields}
}

// HostActionRequest names a host-level action: live_migrate (drain a host
// that is up) or evacuate (a host that is down).
type HostActionRequest struct {
	Action string `json:"action"`
}

// drainHost is POST /hosts/{id}/actions: every instance of the host through
// the instance action; the answer lists those started and those refused
// (with the reason).
func (a *API) drainHost(r *http.Request, c models.Caller, in struct {
	hostPath
	Body HostActionRequest `body:"json"`
}) (models.HostDrain, error) {
	d, err := a.Store.DrainHost(r.Context(), c, in.ID, in.Body.Action)
	if d.Started == nil {
		d.Started = []string{}
	}
	return d, err
}
