package compute

import (
	"maps"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// novaQuota maps Nova's quota names to Stratus' resources. The others Nova
// shows are limits Stratus does not have as quotas: they are shown as Nova's
// fixed defaults, for clients that read them.
var novaQuota = map[string]string{
	"instances": models.QuotaInstances, "cores": models.QuotaVCPUs, "ram": models.QuotaRAMMB, "key_pairs": models.QuotaKeyPairs,
}

var fixedQuota = map[string]int64{
	"metadata_items": 128, "injected_files": 5, "injected_file_content_bytes": 10240, "injected_file_path_bytes": 255,
	"server_groups": 10, "server_group_members": 10,
}

// quotaSet renders lines as Nova's quota_set; detail adds in_use.
func quotaSet(r *http.Request, projectID string, lines []models.QuotaLine, detail bool) map[string]any {
	byRes := map[string]models.QuotaLine{}
	for _, l := range lines {
		byRes[l.Resource] = l
	}
	qs := map[string]any{"id": projectID}
	put := func(name string, limit, used int64) {
		if detail {
			qs[name] = map[string]int64{"limit": limit, "in_use": used, "reserved": 0}
		} else {
			qs[name] = limit
		}
	}
	for nova, res := range novaQuota {
		put(nova, byRes[res].Limit, byRes[res].Used)
	}
	for name, limit := range fixedQuota {
		put(name, limit, 0)
	}
	if !versionOf(r).AtLeast(2, 36) {
		for _, name := range []string{"fixed_ips", "floating_ips", "security_groups", "security_group_rules", "networks"} {
			put(name, -1, 0)
		}
	}
	return qs
}

func (c *Compute) writeQuotaSet(w http.ResponseWriter, r *http.Request, caller *models.Caller, detail bool) error {
	pid, err := c.QuotaProject(r, caller, chi.URLParam(r, "project"),
		"Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.")
	if err != nil {
		return err
	}
	lines, err := c.Store.ProjectQuotas(r.Context(), pid)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": quotaSet(r, pid, lines, detail)})
	return nil
}

func (c *Compute) getQuotaSet(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	return c.writeQuotaSet(w, r, caller, false)
}

func (c *Compute) getQuotaSetDetail(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	return c.writeQuotaSet(w, r, caller, true)
}

func (c *Compute) getQuotaDefaults(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	limits := models.DefaultQuotas()
	for k, v := range c.Store.Options().DefaultQuotas {
		limits[k] = v
	}
	lines := make([]models.QuotaLine, 0, len(limits))
	for k, v := range limits {
		lines = append(lines, models.QuotaLine{Resource: k, Limit: v})
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": quotaSet(r, chi.URLParam(r, "project"), lines, false)})
	return nil
}

// setQuotaSet is PUT /os-quota-sets/{project} (operators).
func (c *Compute) setQuotaSet(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	var in struct {
		QuotaSet map[string]any `json:"quota_set"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	limits := map[string]int64{}
	for k, v := range in.QuotaSet {
		if k == "force" {
			continue
		}
		res, ok := novaQuota[k]
		if !ok {
			return service.BadRequest("Stratus does not limit " + k + " with a quota.")
		}
		n, ok := v.(float64)
		if !ok || n != float64(int64(n)) {
			return service.BadRequest("Invalid input for field/attribute " + k + ": must be an integer.")
		}
		limits[res] = int64(n)
	}
	project, err := c.Project(r, chi.URLParam(r, "project"))
	if err != nil {
		return err
	}
	lines, err := c.Store.SetQuotas(r.Context(), *caller, project, limits)
	if err != nil {
		return err
	}
	qs := quotaSet(r, project, lines, false)
	delete(qs, "id")
	service.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": qs})
	return nil
}

// deleteQuotaSet is DELETE /os-quota-sets/{project} (operators): the
// project's compute limits go back to the defaults; Nova answers 202 with
// no body. Stratus has no per-user quotas, so ?user_id (Nova's reset of
// one user's) is refused rather than taken for the whole project's.
func (c *Compute) deleteQuotaSet(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	if service.QueryOf(r).Has("user_id") {
		return service.BadRequest("Stratus has no per-user quotas: user_id cannot be given.")
	}
	project, err := c.Project(r, chi.URLParam(r, "project"))
	if err != nil {
		return err
	}
	if _, err := c.Store.ResetQuotas(r.Context(), *caller, project, slices.Sorted(maps.Values(novaQuota))); err != nil {
		return err
	}
	service.Empty(w, http.StatusAccepted)
	return nil
}

// limits is GET /limits: the caller's project's absolute limits and usage.
func (c *Compute) limits(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	lines, err := c.Store.ProjectQuotas(r.Context(), caller.ProjectID)
	if err != nil {
		return err
	}
	q := map[string]models.QuotaLine{}
	for _, l := range lines {
		q[l.Resource] = l
	}
	abs := map[string]any{
		"maxTotalInstances": q[models.QuotaInstances].Limit, "totalInstancesUsed": q[models.QuotaInstances].Used,
		"maxTotalCores": q[models.QuotaVCPUs].Limit, "totalCoresUsed": q[models.QuotaVCPUs].Used,
		"maxTotalRAMSize": q[models.QuotaRAMMB].Limit, "totalRAMUsed": q[models.QuotaRAMMB].Used,
		"maxTotalKeypairs": q[models.QuotaKeyPairs].Limit,
		"maxServerMeta":    fixedQuota["metadata_items"], "maxImageMeta": fixedQuota["metadata_items"],
		"maxPersonality": fixedQuota["injected_files"], "maxPersonalitySize": fixedQuota["injected_file_content_bytes"],
		"maxServerGroups": fixedQuota["server_groups"], "maxServerGroupMembers": fixedQuota["server_group_members"],
		"totalServerGroupsUsed": 0,
	}
	if !versionOf(r).AtLeast(2, 36) {
		// The network limits 2.36 dropped, from the network quotas (the
		// ones `openstack quota show` reads), so the two agree.
		abs["maxSecurityGroups"], abs["totalSecurityGroupsUsed"] = q[models.QuotaSecurityGroups].Limit, q[models.QuotaSecurityGroups].Used
		abs["maxSecurityGroupRules"] = q[models.QuotaSecurityGroupRules].Limit
		abs["maxTotalFloatingIps"], abs["totalFloatingIpsUsed"] = q[models.QuotaFloatingIPs].Limit, q[models.QuotaFloatingIPs].Used
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": abs}})
	return nil
}
