package compute

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// Hypervisors and services are Stratus' compute hosts, seen the way Nova
// shows nova-compute services and their hypervisors (operators only).

func hostState(h models.Host) (state, status string) {
	state, status = "down", "disabled"
	if h.Up {
		state = "up"
	}
	if h.Enabled {
		status = "enabled"
	}
	return state, status
}

func hypervisorView(r *http.Request, h models.Host, detail bool) map[string]any {
	state, status := hostState(h)
	v := map[string]any{"id": h.ID, "hypervisor_hostname": h.Name, "state": state, "status": status}
	if !detail {
		return v
	}
	hvType := strings.ToUpper(h.HypervisorType)
	if hvType == "" {
		hvType = strings.ToUpper(h.Driver)
	}
	v["host_ip"] = h.Address
	v["hypervisor_type"], v["hypervisor_version"] = hvType, 1
	v["vcpus"], v["vcpus_used"] = h.VCPUs, h.UsedVCPUs
	v["memory_mb"], v["memory_mb_used"], v["free_ram_mb"] = h.RAMMB, h.UsedRAMMB, int64(h.FreeRAMMB())
	v["local_gb"], v["local_gb_used"], v["free_disk_gb"] = h.DiskGB, h.UsedDiskGB, int64(h.FreeDiskGB())
	v["disk_available_least"] = int64(h.FreeDiskGB())
	v["current_workload"], v["running_vms"] = 0, h.InstanceCount
	v["service"] = map[string]any{"host": h.Name, "id": h.ID, "disabled_reason": nullable(h.DisabledReason)}
	if versionOf(r).AtLeast(2, 28) {
		v["cpu_info"] = map[string]any{"arch": h.Arch}
	} else {
		v["cpu_info"] = `{"arch": "` + h.Arch + `"}`
	}
	return v
}

func (c *Compute) writeHypervisors(w http.ResponseWriter, r *http.Request, detail bool) error {
	hosts, err := c.Store.ListHosts(r.Context())
	if err != nil {
		return err
	}
	pattern := r.URL.Query().Get("hypervisor_hostname_pattern")
	out := []map[string]any{}
	for _, h := range hosts {
		if pattern == "" || strings.Contains(h.Name, pattern) {
			out = append(out, hypervisorView(r, h, detail))
		}
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"hypervisors": out})
	return nil
}

func (c *Compute) listHypervisors(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	return c.writeHypervisors(w, r, false)
}

func (c *Compute) listHypervisorsDetail(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	return c.writeHypervisors(w, r, true)
}

func (c *Compute) findHost(r *http.Request) (models.Host, error) {
	id := chi.URLParam(r, "id")
	h, err := c.Store.GetHost(r.Context(), id)
	if errors.Is(err, models.ErrNotFound) {
		return h, service.NotFound("Hypervisor with ID " + id + " could not be found.")
	}
	return h, err
}

func (c *Compute) getHypervisor(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	h, err := c.findHost(r)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"hypervisor": hypervisorView(r, h, true)})
	return nil
}

func (c *Compute) hypervisorStatistics(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	hosts, err := c.Store.ListHosts(r.Context())
	if err != nil {
		return err
	}
	var s struct {
		vcpus, vcpusUsed, runningVMs                    int64
		mem, memUsed, freeRAM, disk, diskUsed, freeDisk int64
	}
	for _, h := range hosts {
		s.vcpus += int64(h.VCPUs)
		s.vcpusUsed += int64(h.UsedVCPUs)
		s.mem += h.RAMMB
		s.memUsed += h.UsedRAMMB
		s.freeRAM += int64(h.FreeRAMMB())
		s.disk += h.DiskGB
		s.diskUsed += h.UsedDiskGB
		s.freeDisk += int64(h.FreeDiskGB())
		s.runningVMs += int64(h.InstanceCount)
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"hypervisor_statistics": map[string]any{
		"count": len(hosts), "vcpus": s.vcpus, "vcpus_used": s.vcpusUsed, "memory_mb": s.mem, "memory_mb_used": s.memUsed,
		"free_ram_mb": s.freeRAM, "local_gb": s.disk, "local_gb_used": s.diskUsed, "free_disk_gb": s.freeDisk,
		"disk_available_least": s.freeDisk, "current_workload": 0, "running_vms": s.runningVMs,
	}})
	return nil
}

func serviceView(h models.Host) map[string]any {
	state, status := hostState(h)
	return map[string]any{
		"id": h.ID, "binary": "nova-compute", "host": h.Name, "zone": h.AvailabilityZone, "status": status, "state": state,
		"updated_at": novaUpdated(h.LastHeartbeat), "disabled_reason": nullable(h.DisabledReason), "forced_down": false,
	}
}

// listServices lists the compute services (one per host; Stratus'
// schedulers and API servers keep no service records).
func (c *Compute) listServices(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	hosts, err := c.Store.ListHosts(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out := []map[string]any{}
	for _, h := range hosts {
		if b := q.Get("binary"); b != "" && b != "nova-compute" {
			continue
		}
		if host := q.Get("host"); host != "" && host != h.Name {
			continue
		}
		out = append(out, serviceView(h))
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"services": out})
	return nil
}

// updateService is PUT /os-services/{id} (2.53): enable, or disable with a
// reason. Stratus marks hosts down from their heartbeats, so forced_down
// cannot be set.
func (c *Compute) updateService(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	if err := needs(r, 2, 53); err != nil {
		return err
	}
	h, err := c.findHost(r)
	if err != nil {
		return err
	}
	var in struct {
		Status         string `json:"status"`
		DisabledReason string `json:"disabled_reason"`
		ForcedDown     *bool  `json:"forced_down"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	if in.ForcedDown != nil && *in.ForcedDown {
		return service.BadRequest("Stratus marks hosts down from their heartbeats: forced_down cannot be set.")
	}
	switch in.Status {
	case "enabled":
		h, err = c.Store.SetHostEnabled(r.Context(), *caller, h.ID, true, "")
	case "disabled":
		reason := in.DisabledReason
		if reason == "" {
			reason = "disabled through the compute API by " + caller.UserName
		}
		h, err = c.Store.SetHostEnabled(r.Context(), *caller, h.ID, false, reason)
	case "":
		if in.ForcedDown == nil {
			return service.BadRequest("Invalid input for field/attribute status: must be enabled or disabled.")
		}
	default:
		return service.BadRequest("Invalid input for field/attribute status: must be enabled or disabled.")
	}
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"service": serviceView(h)})
	return nil
}
