package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
	"stratus/views/ui"
)

// networks lists the networks the project may use (its own and the shared
// ones) with their subnets and port counts, above a drawing of the
// project's instances on them.
func (h *Web) networks(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	lq := readList(r, "/networks", 50, "name")
	page, err := h.Store.ListNetworks(ctx, c, models.NetworkFilter{ListOptions: lq.options()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows, err := h.networkRows(r, page.Items)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.NetworksProps{Rows: rows, Pager: lq.pager(page.NextMarker), CanCreate: h.allowed(ctx, "network:network:create")}
	if p.Topology, err = h.topology(r, rows); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, pages.NetworksPage(h.shell(r, i18n.T(r.Context(), "Networks"), "networks"), p))
}

// networkRows adds their subnets and port counts to networks, in two
// queries whatever their number.
func (h *Web) networkRows(r *http.Request, nets []models.Network) ([]pages.NetworkRow, error) {
	ctx := r.Context()
	c := callerOf(ctx)
	ids := make([]string, len(nets))
	for i, n := range nets {
		ids[i] = n.ID
	}
	counts, err := h.Store.NetworkPortCounts(ctx, c, ids)
	if err != nil {
		return nil, err
	}
	subnets, err := h.Store.ListSubnets(ctx, c, models.SubnetFilter{ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		return nil, err
	}
	byNet := map[string][]models.Subnet{}
	for _, sn := range subnets.Items {
		byNet[sn.NetworkID] = append(byNet[sn.NetworkID], sn)
	}
	rows := make([]pages.NetworkRow, len(nets))
	for i, n := range nets {
		rows[i] = pages.NetworkRow{Net: n, Subnets: byNet[n.ID], Ports: counts[n.ID], Own: n.ProjectID == c.ProjectID}
	}
	return rows, nil
}

// topology gathers what the drawing shows: the networks of the list, the
// project's instances with a port on them and its routers.
func (h *Web) topology(r *http.Request, rows []pages.NetworkRow) (pages.Topology, error) {
	ctx := r.Context()
	c := callerOf(ctx)
	ports, err := h.Store.ListPorts(ctx, c, models.PortFilter{ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		return pages.Topology{}, err
	}
	var ids []string
	for _, pt := range ports.Items {
		if strings.HasPrefix(pt.DeviceOwner, models.DeviceOwnerComputePrefix) && pt.DeviceID != "" {
			ids = append(ids, pt.DeviceID)
		}
	}
	var insts []models.Instance
	if len(ids) > 0 {
		page, err := h.Store.ListInstances(ctx, c, models.InstanceFilter{IDs: ids, ListOptions: models.ListOptions{Limit: len(ids)}})
		if err != nil {
			return pages.Topology{}, err
		}
		insts = page.Items
	}
	var routers []models.Router
	if h.allowed(ctx, "network:router:list") {
		page, err := h.Store.ListRouters(ctx, c, models.RouterFilter{ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
		if err != nil {
			return pages.Topology{}, err
		}
		routers = page.Items
	}
	return pages.BuildTopology(rows, insts, ports.Items, routers), nil
}

func (h *Web) newNetworkPage(w http.ResponseWriter, r *http.Request) {
	h.renderNewNetwork(w, r, http.StatusOK, ui.NewForm(map[string]string{"enable_dhcp": "true"}))
}

func (h *Web) renderNewNetwork(w http.ResponseWriter, r *http.Request, status int, form ui.Form) {
	ctx := r.Context()
	c := callerOf(ctx)
	p := pages.NetworkNewProps{Form: form, CanShare: h.allowed(ctx, "network:network:share")}
	quotas, err := h.Store.ProjectQuotas(ctx, c.ProjectID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, q := range quotas {
		if q.Resource == models.QuotaNetworks || q.Resource == models.QuotaSubnets {
			p.Quotas = append(p.Quotas, quotaMeter(r.Context(), q))
		}
	}
	h.render(w, r, status, pages.NetworkNewPage(h.shell(r, i18n.T(r.Context(), "New network"), "networks"), p))
}

// subnetFields are the subnet part of the network form and of a network's
// "add a subnet" form.
var subnetFields = []string{"subnet_name", "cidr", "gateway_ip", "no_gateway", "enable_dhcp", "dns_nameservers", "pool_start", "pool_end"}

// readSubnetForm reads a subnet form into form and the model's input.
// Empty gateway is the default (the first address); "no gateway" is none.
func readSubnetForm(r *http.Request, form *ui.Form) models.SubnetInput {
	for _, k := range subnetFields {
		form.Values[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	dhcp := form.Get("enable_dhcp") != ""
	in := models.SubnetInput{Name: form.Get("subnet_name"), CIDR: form.Get("cidr"), EnableDHCP: &dhcp,
		DNSNameservers: strings.FieldsFunc(form.Get("dns_nameservers"), func(r rune) bool { return r == ',' || r == ' ' })}
	switch {
	case form.Get("no_gateway") != "":
		in.GatewayIP = models.Nullable{Set: true}
	case form.Get("gateway_ip") != "":
		in.GatewayIP = models.NullString(form.Get("gateway_ip"))
	}
	start, end := form.Get("pool_start"), form.Get("pool_end")
	switch {
	case start != "" && end != "":
		in.AllocationPools = []models.PoolRequest{{Start: start, End: end}}
	case start != "" || end != "":
		form.Errors["allocation_pools"] = i18n.T(r.Context(), "give both the first and the last address of the pool, or neither")
	}
	return in
}

// subnetErrors puts a model refusal of a subnet form beside its fields (a
// pool's problem under the pool) and reports whether it did.
func (h *Web) subnetErrors(r *http.Request, err error, form *ui.Form) bool {
	if !h.formFailed(r, err, form) {
		return false
	}
	for k, v := range form.Errors {
		if strings.HasPrefix(k, "allocation_pools") && k != "allocation_pools" {
			form.Errors["allocation_pools"] = v
			delete(form.Errors, k)
		}
	}
	return true
}

// createNetwork makes a network and its first subnet in one transaction:
// a refused field comes back beside it and nothing is written.
func (h *Web) createNetwork(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	form := ui.NewForm(map[string]string{"name": strings.TrimSpace(r.PostFormValue("name")), "shared": r.PostFormValue("shared")})
	sub := readSubnetForm(r, &form)
	if form.HasErrors() {
		h.renderNewNetwork(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	n, _, err := h.Store.CreateNetworkWithSubnet(ctx, c, models.NetworkInput{Name: form.Get("name"), Shared: form.Get("shared") != ""}, sub)
	if h.subnetErrors(r, err, &form) {
		h.renderNewNetwork(w, r, httpStatus(err), form)
		return
	}
	if st := httpStatus(err); err != nil && st == http.StatusForbidden {
		form.Error = h.userMessage(r, err) // over quota, or a member sharing
		h.renderNewNetwork(w, r, st, form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, i18n.T(r.Context(), "Network %s created.", networkName(n)))
	redirect(w, r, "/networks/"+n.ID)
}

func networkName(n models.Network) string {
	if n.Name != "" {
		return n.Name
	}
	return n.ID
}

// network is one network's page.
func (h *Web) network(w http.ResponseWriter, r *http.Request) {
	h.renderNetwork(w, r, http.StatusOK, ui.NewForm(map[string]string{"enable_dhcp": "true"}))
}

func (h *Web) renderNetwork(w http.ResponseWriter, r *http.Request, status int, subnetForm ui.Form) {
	ctx := r.Context()
	c := callerOf(ctx)
	n, err := h.Store.GetNetwork(ctx, c, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	own := n.ProjectID == c.ProjectID || c.IsSystemAdmin()
	p := pages.NetworkDetailProps{Net: n, Own: own, SubnetForm: subnetForm, CSRF: h.csrfToken(r), Here: "/networks/" + n.ID,
		CanDelete: own && h.allowed(ctx, "network:network:delete"),
		CanSubnet: own && h.allowed(ctx, "network:subnet:create"),
		CanShare:  h.allowed(ctx, "network:network:share")}
	subnets, err := h.Store.ListSubnets(ctx, c, models.SubnetFilter{NetworkID: []string{n.ID}, ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Subnets = subnets.Items
	ports, err := h.Store.ListPorts(ctx, c, models.PortFilter{NetworkID: []string{n.ID}, AllProjects: c.IsSystemAdmin(),
		ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var ids []string
	for _, pt := range ports.Items {
		if strings.HasPrefix(pt.DeviceOwner, models.DeviceOwnerComputePrefix) {
			ids = append(ids, pt.DeviceID)
		}
	}
	names := map[string]string{}
	if len(ids) > 0 {
		insts, err := h.Store.ListInstances(ctx, c, models.InstanceFilter{IDs: ids, AllProjects: c.IsSystemAdmin(),
			ListOptions: models.ListOptions{Limit: len(ids)}})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, i := range insts.Items {
			names[i.ID] = i.Name
		}
	}
	for _, pt := range ports.Items {
		p.Ports = append(p.Ports, pages.PortRow{Port: pt.ForCaller(c), Instance: names[pt.DeviceID]})
	}
	h.renderPage(w, r, status, pages.NetworkDetailPage(h.shell(r, networkName(n), "networks"), p), "network-live")
}

// deleteNetwork deletes a network without ports in use; a refusal (ports
// in use: 409) is shown on its page.
func (h *Web) deleteNetwork(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	err := h.Store.DeleteNetwork(ctx, callerOf(ctx), id)
	back := "/networks"
	if err != nil {
		back = "/networks/" + id
	}
	h.finish(w, r, err, back, i18n.T(r.Context(), "Network deleted."))
}

// setNetworkShared shares a network with every project, or stops (operators).
func (h *Web) setNetworkShared(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	shared := r.PostFormValue("shared") == "true"
	n, err := h.Store.UpdateNetwork(ctx, callerOf(ctx), id, models.NetworkUpdate{Shared: &shared})
	done := i18n.T(r.Context(), "Network %s is no longer shared.", networkName(n))
	if shared {
		done = i18n.T(r.Context(), "Network %s is shared with every project.", networkName(n))
	}
	h.finish(w, r, err, "/networks/"+id, done)
}

// createSubnet adds a subnet to a network from its page; a refused field
// comes back beside it.
func (h *Web) createSubnet(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	id := chi.URLParam(r, "id")
	// Another project's network is a 404 whatever the form says.
	if _, err := h.Store.GetNetwork(ctx, c, id); err != nil {
		h.fail(w, r, err)
		return
	}
	form := ui.NewForm(nil)
	in := readSubnetForm(r, &form)
	if form.HasErrors() {
		h.renderNetwork(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	in.NetworkID = id
	sn, err := h.Store.CreateSubnet(ctx, c, in)
	if h.subnetErrors(r, err, &form) {
		if v, ok := form.Errors["name"]; ok { // the form's subnet_name
			form.Errors["subnet_name"] = v
			delete(form.Errors, "name")
		}
		h.renderNetwork(w, r, httpStatus(err), form)
		return
	}
	if st := httpStatus(err); err != nil && st == http.StatusForbidden {
		form.Error = h.userMessage(r, err)
		h.renderNetwork(w, r, st, form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, i18n.T(r.Context(), "Subnet %s added.", sn.CIDR))
	redirect(w, r, "/networks/"+id)
}

// deleteSubnet deletes a subnet no port holds an address of.
func (h *Web) deleteSubnet(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	sn, err := h.Store.GetSubnet(ctx, c, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	err = h.Store.DeleteSubnet(ctx, c, sn.ID)
	h.finish(w, r, err, "/networks/"+sn.NetworkID, i18n.T(r.Context(), "Subnet %s deleted.", sn.CIDR))
}
