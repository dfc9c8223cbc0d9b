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

// routers lists the project's routers (their gateway and how many
// interfaces each has) beside the form that creates one.
func (h *Web) routers(w http.ResponseWriter, r *http.Request) {
	h.renderRouters(w, r, http.StatusOK, ui.NewForm(nil))
}

func (h *Web) renderRouters(w http.ResponseWriter, r *http.Request, status int, form ui.Form) {
	ctx := r.Context()
	c := callerOf(ctx)
	lq := readList(r, "/routers", 50)
	page, err := h.Store.ListRouters(ctx, c, models.RouterFilter{ListOptions: lq.options()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ext, err := h.externalNetworks(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ifaces, err := h.Store.ListPorts(ctx, c, models.PortFilter{DeviceOwner: []string{models.DeviceOwnerRouterInterface},
		ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	count := map[string]int{}
	for _, pt := range ifaces.Items {
		count[pt.DeviceID]++
	}
	names := map[string]string{}
	for _, n := range ext {
		names[n.ID] = networkName(n)
	}
	p := pages.RoutersProps{Pager: lq.pager(page.NextMarker), Form: form, External: ext, CSRF: h.csrfToken(r), Here: "/routers",
		CanCreate: h.allowed(ctx, "network:router:create"), CanDelete: h.allowed(ctx, "network:router:delete")}
	for _, rt := range page.Items {
		row := pages.RouterRow{Router: rt.ForCaller(c), Interfaces: count[rt.ID]}
		if gw := rt.ExternalGatewayInfo; gw != nil {
			row.Gateway = names[gw.NetworkID]
			if row.Gateway == "" {
				row.Gateway = gw.NetworkID
			}
		}
		p.Rows = append(p.Rows, row)
	}
	h.render(w, r, status, pages.RoutersPage(h.shell(r, i18n.T(ctx, "Routers"), "routers"), p))
}

// externalNetworks are the router:external networks the caller may take a
// gateway or floating IPs from.
func (h *Web) externalNetworks(r *http.Request) ([]models.Network, error) {
	ctx := r.Context()
	yes := true
	page, err := h.Store.ListNetworks(ctx, callerOf(ctx), models.NetworkFilter{RouterExternal: &yes,
		ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	return page.Items, err
}

// gatewayField is the form's name for the model's gateway network field.
func gatewayField(form *ui.Form) {
	for k, v := range form.Errors {
		if strings.HasPrefix(k, "external_gateway_info") {
			form.Errors["network_id"] = v
			delete(form.Errors, k)
		}
	}
}

// createRouter makes a router, with its gateway when an external network
// is chosen; a refused field comes back beside it and nothing is written.
func (h *Web) createRouter(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := ui.NewForm(map[string]string{"name": strings.TrimSpace(r.PostFormValue("name")),
		"network_id": strings.TrimSpace(r.PostFormValue("network_id"))})
	in := models.RouterInput{Name: form.Get("name")}
	if form.Get("network_id") != "" {
		in.ExternalGatewayInfo = &models.GatewayInput{NetworkID: form.Get("network_id")}
	}
	rt, err := h.Store.CreateRouter(ctx, callerOf(ctx), in)
	if h.formFailed(r, err, &form) {
		gatewayField(&form)
		h.renderRouters(w, r, httpStatus(err), form)
		return
	}
	if st := httpStatus(err); err != nil && st == http.StatusForbidden {
		form.Error = h.userMessage(r, err) // over quota
		h.renderRouters(w, r, st, form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, i18n.T(ctx, "Router %s created.", routerName(rt)))
	redirect(w, r, "/routers/"+rt.ID)
}

func routerName(rt models.Router) string {
	if rt.Name != "" {
		return rt.Name
	}
	return rt.ID
}

// routerForms are the router page's two forms (gateway, interface) with
// what the last post left in them.
type routerForms struct{ gateway, iface ui.Form }

// router is one router's page.
func (h *Web) router(w http.ResponseWriter, r *http.Request) {
	h.renderRouter(w, r, http.StatusOK, routerForms{ui.NewForm(nil), ui.NewForm(nil)})
}

func (h *Web) renderRouter(w http.ResponseWriter, r *http.Request, status int, forms routerForms) {
	ctx := r.Context()
	c := callerOf(ctx)
	rt, err := h.Store.GetRouter(ctx, c, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	own := rt.ProjectID == c.ProjectID || c.IsSystemAdmin()
	p := pages.RouterDetailProps{Router: rt.ForCaller(c), GatewayForm: forms.gateway, InterfaceForm: forms.iface,
		CSRF: h.csrfToken(r), Here: "/routers/" + rt.ID,
		CanUpdate: own && h.allowed(ctx, "network:router:update"), CanDelete: own && h.allowed(ctx, "network:router:delete"),
		CanAdd:    own && h.allowed(ctx, "network:router:add_router_interface"),
		CanRemove: own && h.allowed(ctx, "network:router:remove_router_interface")}
	if p.External, err = h.externalNetworks(r); err != nil {
		h.fail(w, r, err)
		return
	}
	if gw := rt.ExternalGatewayInfo; gw != nil {
		p.Gateway = gw.NetworkID
		for _, n := range p.External {
			if n.ID == gw.NetworkID {
				p.Gateway = networkName(n)
			}
		}
	}
	owner := c
	owner.ProjectID = rt.ProjectID // an operator looking at another project's router
	ports, err := h.Store.ListPorts(ctx, owner, models.PortFilter{DeviceID: []string{rt.ID}, DeviceOwner: []string{models.DeviceOwnerRouterInterface},
		ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	subnets, err := h.Store.ListSubnets(ctx, owner, models.SubnetFilter{ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	nets, err := h.Store.ListNetworks(ctx, owner, models.NetworkFilter{ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	netByID := map[string]models.Network{}
	for _, n := range nets.Items {
		netByID[n.ID] = n
	}
	snByID := map[string]models.Subnet{}
	for _, sn := range subnets.Items {
		snByID[sn.ID] = sn
	}
	attached := map[string]bool{}
	for _, pt := range ports.Items {
		ri := pages.RouterInterface{Port: pt, Network: pt.NetworkID}
		if n, ok := netByID[pt.NetworkID]; ok {
			ri.Network = networkName(n)
		}
		if len(pt.FixedIPs) > 0 {
			ri.Subnet = snByID[pt.FixedIPs[0].SubnetID]
			ri.Subnet.ID = pt.FixedIPs[0].SubnetID
			attached[ri.Subnet.ID] = true
		}
		p.Interfaces = append(p.Interfaces, ri)
	}
	// The subnets an interface may be added on: those of the project's own
	// networks, not yet on this router.
	for _, sn := range subnets.Items {
		n, ok := netByID[sn.NetworkID]
		if !ok || n.ProjectID != rt.ProjectID || n.RouterExternal || attached[sn.ID] {
			continue
		}
		p.Subnets = append(p.Subnets, pages.SubnetChoice{Subnet: sn, Network: networkName(n)})
	}
	h.renderPage(w, r, status, pages.RouterDetailPage(h.shell(r, routerName(rt), "routers"), p), "router-live")
}

// ownRouter reads the route's router for an action on it: another
// project's is a 404 whatever the form says.
func (h *Web) ownRouter(w http.ResponseWriter, r *http.Request) (models.Router, bool) {
	ctx := r.Context()
	rt, err := h.Store.GetRouter(ctx, callerOf(ctx), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return rt, false
	}
	return rt, true
}

// setRouterGateway gives the router its gateway on the chosen external
// network (replacing the one it had).
func (h *Web) setRouterGateway(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rt, ok := h.ownRouter(w, r)
	if !ok {
		return
	}
	form := ui.NewForm(map[string]string{"network_id": strings.TrimSpace(r.PostFormValue("network_id"))})
	fresh := ui.NewForm(nil)
	if form.Get("network_id") == "" {
		form.Errors["network_id"] = i18n.T(ctx, "choose an external network")
		h.renderRouter(w, r, http.StatusUnprocessableEntity, routerForms{form, fresh})
		return
	}
	_, err := h.Store.UpdateRouter(ctx, callerOf(ctx), rt.ID, models.RouterUpdate{
		ExternalGatewayInfo: models.GatewayUpdate{Set: true, Info: &models.GatewayInput{NetworkID: form.Get("network_id")}}})
	if fieldErrors(r.Context(), err) != nil {
		h.formFailed(r, err, &form)
		gatewayField(&form)
		h.renderRouter(w, r, httpStatus(err), routerForms{form, fresh})
		return
	}
	h.finish(w, r, err, "/routers/"+rt.ID, i18n.T(ctx, "Router %s now has its gateway on the external network.", routerName(rt)))
}

// clearRouterGateway takes the router's gateway away (409 while floating
// IPs reach their ports through it).
func (h *Web) clearRouterGateway(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rt, ok := h.ownRouter(w, r)
	if !ok {
		return
	}
	_, err := h.Store.UpdateRouter(ctx, callerOf(ctx), rt.ID, models.RouterUpdate{ExternalGatewayInfo: models.GatewayUpdate{Set: true}})
	h.finish(w, r, err, "/routers/"+rt.ID, i18n.T(ctx, "Router %s no longer has a gateway.", routerName(rt)))
}

// addRouterInterface attaches a subnet: the router takes its gateway IP.
func (h *Web) addRouterInterface(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rt, ok := h.ownRouter(w, r)
	if !ok {
		return
	}
	form := ui.NewForm(map[string]string{"subnet_id": strings.TrimSpace(r.PostFormValue("subnet_id"))})
	fresh := ui.NewForm(nil)
	if form.Get("subnet_id") == "" {
		form.Errors["subnet_id"] = i18n.T(ctx, "choose a subnet")
		h.renderRouter(w, r, http.StatusUnprocessableEntity, routerForms{fresh, form})
		return
	}
	info, err := h.Store.AddRouterInterface(ctx, callerOf(ctx), rt.ID, models.RouterInterfaceInput{SubnetID: form.Get("subnet_id")})
	if fieldErrors(r.Context(), err) != nil {
		h.formFailed(r, err, &form)
		h.renderRouter(w, r, httpStatus(err), routerForms{fresh, form})
		return
	}
	label := info.SubnetID
	if sn, err := h.Store.GetSubnet(ctx, callerOf(ctx), info.SubnetID); err == nil {
		label = sn.CIDR
	}
	h.finish(w, r, err, "/routers/"+rt.ID, i18n.T(ctx, "Interface added on subnet %s.", label))
}

// removeRouterInterface detaches a subnet (409 while floating IPs reach
// their ports through it).
func (h *Web) removeRouterInterface(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rt, ok := h.ownRouter(w, r)
	if !ok {
		return
	}
	_, err := h.Store.RemoveRouterInterface(ctx, callerOf(ctx), rt.ID, models.RouterInterfaceInput{SubnetID: strings.TrimSpace(r.PostFormValue("subnet_id"))})
	h.finish(w, r, err, "/routers/"+rt.ID, i18n.T(ctx, "Interface removed."))
}

// deleteRouter deletes a router without interfaces; a refusal (409: it
// still has some) is shown on its page.
func (h *Web) deleteRouter(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	err := h.Store.DeleteRouter(ctx, callerOf(ctx), id)
	back := "/routers"
	if err != nil {
		back = "/routers/" + id
	}
	h.finish(w, r, err, back, i18n.T(ctx, "Router deleted."))
}
