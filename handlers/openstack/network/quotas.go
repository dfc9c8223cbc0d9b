package network

import (
	"maps"
	"net/http"
	"slices"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// neutronQuota maps Neutron's quota names to Stratus' resources.
var neutronQuota = map[string]string{
	"network": models.QuotaNetworks, "subnet": models.QuotaSubnets, "port": models.QuotaPorts,
	"security_group": models.QuotaSecurityGroups, "security_group_rule": models.QuotaSecurityGroupRules,
	"router": models.QuotaRouters, "floatingip": models.QuotaFloatingIPs,
}

func quotaBody(lines []models.QuotaLine, detail bool) map[string]any {
	byRes := map[string]models.QuotaLine{}
	for _, l := range lines {
		byRes[l.Resource] = l
	}
	out := map[string]any{}
	for name, res := range neutronQuota {
		if detail {
			out[name] = map[string]int64{"limit": byRes[res].Limit, "used": byRes[res].Used, "reserved": 0}
		} else {
			out[name] = byRes[res].Limit
		}
	}
	return out
}

func (n *Network) writeQuota(w http.ResponseWriter, r *http.Request, c *models.Caller, detail bool) error {
	pid, err := n.QuotaProject(r, c, urlParam(r, "project"), "Only operators may see other projects' quotas.")
	if err != nil {
		return err
	}
	lines, err := n.Store.ProjectQuotas(r.Context(), pid)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"quota": quotaBody(lines, detail)})
	return nil
}

func (n *Network) getQuota(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	return n.writeQuota(w, r, c, false)
}

func (n *Network) getQuotaDetails(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	return n.writeQuota(w, r, c, true)
}

// listQuotas lists the limits of the projects whose networking quotas an
// operator set (operators), as Neutron lists the projects with rows in its
// quota table: the others have the defaults. A fixed number of queries
// whatever the number of projects.
func (n *Network) listQuotas(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	ids, err := n.Store.ProjectsWithOwnQuotas(r.Context(), slices.Sorted(maps.Values(neutronQuota)))
	if err != nil {
		return err
	}
	limits, err := n.Store.QuotaLimitsOf(r.Context(), ids)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, id := range ids {
		lines := make([]models.QuotaLine, 0, len(limits[id]))
		for res, limit := range limits[id] {
			lines = append(lines, models.QuotaLine{Resource: res, Limit: limit})
		}
		q := quotaBody(lines, false)
		q["project_id"], q["tenant_id"] = id, id
		out = append(out, q)
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"quotas": out})
	return nil
}

// setQuota is PUT /v2.0/quotas/{project} (operators).
func (n *Network) setQuota(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	var in struct {
		Quota map[string]any `json:"quota"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	limits := map[string]int64{}
	for k, v := range in.Quota {
		res, ok := neutronQuota[k]
		if !ok {
			return service.BadRequest("Unrecognized attribute(s) '" + k + "': Stratus limits network, subnet, port, security_group and security_group_rule.")
		}
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return service.BadRequest("Invalid input for " + k + ": must be an integer.")
		}
		limits[res] = int64(f)
	}
	project, err := n.Project(r, urlParam(r, "project"))
	if err != nil {
		return err
	}
	lines, err := n.Store.SetQuotas(r.Context(), *c, project, limits)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"quota": quotaBody(lines, false)})
	return nil
}

// deleteQuota is DELETE /v2.0/quotas/{project} (operators): the project's
// networking limits go back to the defaults, and it leaves the list of
// projects with quotas of their own; Neutron answers 204.
func (n *Network) deleteQuota(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	project, err := n.Project(r, urlParam(r, "project"))
	if err != nil {
		return err
	}
	if _, err := n.Store.ResetQuotas(r.Context(), *c, project, slices.Sorted(maps.Values(neutronQuota))); err != nil {
		return err
	}
	service.Empty(w, http.StatusNoContent)
	return nil
}
