package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
)

// instanceNetwork is the networking card of an instance's page: its ports
// (network, addresses and the floating IPs pointing at them, MAC, status)
// and its security groups, with the
// project's groups to choose from when the caller may change them.
func (h *Web) instanceNetwork(r *http.Request, inst models.Instance, here string) (pages.InstanceNetworkProps, error) {
	ctx := r.Context()
	c := callerOf(ctx)
	p := pages.InstanceNetworkProps{InstanceID: inst.ID, CSRF: h.csrfToken(r), Here: here,
		CanChange: h.allowed(ctx, "compute:instance:security_groups") && inst.ProjectID == c.ProjectID && inst.VMState != models.VMDeleted}
	ports, err := h.Store.ListPorts(ctx, c, models.PortFilter{DeviceID: []string{inst.ID}, AllProjects: c.IsSystemAdmin(),
		ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		return p, err
	}
	// The floating IPs of all the instance's ports, in one query.
	portIDs := make([]string, len(ports.Items))
	for i, pt := range ports.Items {
		portIDs[i] = pt.ID
	}
	floating := map[string][]models.FloatingIP{}
	if len(portIDs) > 0 {
		fips, err := h.Store.ListFloatingIPs(ctx, c, models.FloatingIPFilter{PortID: portIDs, AllProjects: c.IsSystemAdmin(),
			ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
		if err != nil {
			return p, err
		}
		for _, f := range fips.Items {
			floating[f.PortID] = append(floating[f.PortID], f)
		}
	}
	names := map[string]string{}
	for _, pt := range ports.Items {
		if _, ok := names[pt.NetworkID]; !ok {
			n, err := h.Store.GetNetwork(ctx, c, pt.NetworkID)
			if err != nil {
				return p, err
			}
			names[n.ID] = networkName(n)
		}
		p.Ports = append(p.Ports, pages.InstancePort{Port: pt.ForCaller(c), Network: names[pt.NetworkID], Floating: floating[pt.ID]})
	}
	p.CanFloat = h.allowed(ctx, "network:floatingip:update") && inst.ProjectID == c.ProjectID && inst.VMState != models.VMDeleted
	if len(p.Ports) == 0 {
		p.CanChange = false
		return p, nil
	}
	if p.Groups, err = h.Store.InstanceSecurityGroups(ctx, c, inst.ID); err != nil {
		return p, err
	}
	if p.CanChange {
		groups, err := h.Store.ListSecurityGroups(ctx, c, models.SecurityGroupFilter{ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
		if err != nil {
			return p, err
		}
		p.Choices = groups.Items
	}
	return p, nil
}

// setInstanceGroups gives the instance's ports exactly the groups ticked
// on its page; the hosts apply the change within seconds.
func (h *Web) setInstanceGroups(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	refs := r.PostForm["security_groups"]
	if refs == nil {
		refs = []string{}
	}
	_, err := h.Store.SetInstanceSecurityGroups(ctx, callerOf(ctx), id, refs)
	h.finish(w, r, err, "/instances/"+id, i18n.T(r.Context(), "Security groups changed: the hosts apply them within seconds."))
}
