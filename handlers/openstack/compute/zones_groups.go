package compute

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

func (c *Compute) listZones(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	zones, err := c.Store.AvailabilityZones(r.Context(), *caller)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(zones))
	for i, z := range zones {
		out[i] = map[string]any{"zoneName": z, "zoneState": map[string]bool{"available": true}, "hosts": nil}
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": out})
	return nil
}

// listZonesDetail is the operators' view: every zone with its hosts and
// their compute service's state.
func (c *Compute) listZonesDetail(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	hosts, err := c.Store.ListHosts(r.Context())
	if err != nil {
		return err
	}
	zones := map[string]map[string]any{}
	avail := map[string]bool{}
	var order []string
	for _, h := range hosts {
		z, ok := zones[h.AvailabilityZone]
		if !ok {
			z = map[string]any{}
			zones[h.AvailabilityZone] = z
			order = append(order, h.AvailabilityZone)
		}
		up := h.Up && h.Enabled
		avail[h.AvailabilityZone] = avail[h.AvailabilityZone] || up
		z[h.Name] = map[string]any{"nova-compute": map[string]any{
			"available": up, "active": h.Enabled, "updated_at": h.LastHeartbeat.UTC().Format("2006-01-02T15:04:05.000000"),
		}}
	}
	out := make([]map[string]any, 0, len(order))
	for _, name := range order {
		out = append(out, map[string]any{"zoneName": name, "zoneState": map[string]bool{"available": avail[name]}, "hosts": zones[name]})
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": out})
	return nil
}

func serverGroupView(r *http.Request, g models.ServerGroup, userID string) map[string]any {
	members := g.Members
	if members == nil {
		members = []string{}
	}
	v := map[string]any{"id": g.ID, "name": g.Name, "members": members}
	ver := versionOf(r)
	if ver.AtLeast(2, 64) {
		v["policy"], v["rules"] = g.Policy, map[string]any{}
	} else {
		v["policies"], v["metadata"] = []string{g.Policy}, map[string]any{}
	}
	if ver.AtLeast(2, 13) {
		v["project_id"], v["user_id"] = g.ProjectID, userID
	}
	return v
}

func (c *Compute) listServerGroups(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	groups, err := c.Store.ListServerGroups(r.Context(), *caller)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(groups))
	for i, g := range groups {
		out[i] = serverGroupView(r, g, "")
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"server_groups": out})
	return nil
}

// createServerGroup takes policies: [p] (before 2.64) or policy: p.
// Stratus places affinity and anti-affinity strictly (no soft- variants).
func (c *Compute) createServerGroup(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	var in struct {
		ServerGroup struct {
			Name     string         `json:"name"`
			Policies []string       `json:"policies"`
			Policy   string         `json:"policy"`
			Rules    map[string]any `json:"rules"`
		} `json:"server_group"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	g := in.ServerGroup
	policy := g.Policy
	if versionOf(r).AtLeast(2, 64) {
		if len(g.Policies) > 0 {
			return service.BadRequest("Invalid input for field/attribute server_group: use policy, not policies, since microversion 2.64.")
		}
	} else if len(g.Policies) == 1 {
		policy = g.Policies[0]
	} else {
		return service.BadRequest("Invalid input for field/attribute policies: give exactly one policy.")
	}
	if len(g.Rules) > 0 {
		return service.BadRequest("Stratus server groups take no rules.")
	}
	sg, err := c.Store.CreateServerGroup(r.Context(), *caller, models.ServerGroupInput{Name: g.Name, Policy: policy})
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"server_group": serverGroupView(r, sg, caller.UserID)})
	return nil
}

func (c *Compute) findServerGroup(r *http.Request, caller *models.Caller) (models.ServerGroup, error) {
	id := chi.URLParam(r, "id")
	g, err := c.Store.GetServerGroup(r.Context(), *caller, id)
	if errors.Is(err, models.ErrNotFound) {
		return g, service.NotFound("Instance group " + id + " could not be found.")
	}
	return g, err
}

func (c *Compute) getServerGroup(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	g, err := c.findServerGroup(r, caller)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"server_group": serverGroupView(r, g, "")})
	return nil
}

func (c *Compute) deleteServerGroup(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	g, err := c.findServerGroup(r, caller)
	if err != nil {
		return err
	}
	if err := c.Store.DeleteServerGroup(r.Context(), *caller, g.ID); err != nil {
		return err
	}
	service.Empty(w, http.StatusNoContent)
	return nil
}

// novaUpdated is an updated_at as Nova's services show it.
func novaUpdated(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000")
}
