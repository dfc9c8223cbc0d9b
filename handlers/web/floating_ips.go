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

// floatingIPs lists the project's floating IPs (what each points at)
// beside the form that allocates one.
func (h *Web) floatingIPs(w http.ResponseWriter, r *http.Request) {
	h.renderFloatingIPs(w, r, http.StatusOK, ui.NewForm(nil))
}

func (h *Web) renderFloatingIPs(w http.ResponseWriter, r *http.Request, status int, form ui.Form) {
	ctx := r.Context()
	c := callerOf(ctx)
	lq := readList(r, "/floating-ips", 50)
	page, err := h.Store.ListFloatingIPs(ctx, c, models.FloatingIPFilter{ListOptions: lq.options()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ext, err := h.externalNetworks(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(ext) > 0 && form.Get("floating_network_id") == "" {
		form.Values["floating_network_id"] = ext[0].ID
	}
	targets, err := h.addressTargets(r, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	netNames := map[string]string{}
	for _, n := range ext {
		netNames[n.ID] = networkName(n)
	}
	p := pages.FloatingIPsProps{Pager: lq.pager(page.NextMarker), External: ext, Form: form, CSRF: h.csrfToken(r), Here: "/floating-ips",
		CanCreate: h.allowed(ctx, "network:floatingip:create"), CanUpdate: h.allowed(ctx, "network:floatingip:update"),
		CanDelete: h.allowed(ctx, "network:floatingip:delete"), CanAssocNew: len(targets.options) > 0}
	for _, f := range page.Items {
		row := pages.FloatingIPRow{IP: f, Network: netNames[f.FloatingNetworkID]}
		if row.Network == "" {
			row.Network = shortID(f.FloatingNetworkID)
		}
		if t, ok := targets.byPort[f.PortID]; ok {
			row.Instance, row.InstanceID = t.name, t.id
		}
		p.Rows = append(p.Rows, row)
	}
	h.render(w, r, status, pages.FloatingIPsPage(h.shell(r, i18n.T(ctx, "Floating IPs"), "floating-ips"), p))
}

// createFloatingIP allocates an address of the chosen external network; a
// refused field comes back beside it, an exhausted quota as the form's
// message.
func (h *Web) createFloatingIP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := ui.NewForm(map[string]string{"floating_network_id": strings.TrimSpace(r.PostFormValue("floating_network_id"))})
	if form.Get("floating_network_id") == "" {
		form.Errors["floating_network_id"] = i18n.T(ctx, "choose an external network")
		h.renderFloatingIPs(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	f, err := h.Store.CreateFloatingIP(ctx, callerOf(ctx), models.FloatingIPInput{FloatingNetworkID: form.Get("floating_network_id")})
	if h.formFailed(r, err, &form) {
		h.renderFloatingIPs(w, r, httpStatus(err), form)
		return
	}
	if st := httpStatus(err); err != nil && st == http.StatusForbidden {
		form.Error = h.userMessage(r, err) // over quota
		h.renderFloatingIPs(w, r, st, form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, i18n.T(ctx, "Floating IP %s allocated.", f.FloatingIPAddress))
	redirect(w, r, "/floating-ips")
}

// target is an instance a port belongs to.
type target struct{ id, name string }

// targets are the fixed IPs a floating IP may be associated with, as a
// select's options ("port-id/address"), and the instance of each port.
type targets struct {
	options []ui.Option
	byPort  map[string]target
}

// addressTargets lists the fixed IPs of the project's instances (of one
// instance when instanceID is set) that no floating IP points at yet, and
// the instance of every port.
func (h *Web) addressTargets(r *http.Request, instanceID string) (targets, error) {
	ctx := r.Context()
	out := targets{byPort: map[string]target{}}
	all, err := h.Store.FloatingIPTargets(ctx, callerOf(ctx), instanceID)
	if err != nil {
		return out, err
	}
	for _, t := range all {
		out.byPort[t.PortID] = target{id: t.InstanceID, name: t.InstanceName}
		if t.FloatingIP == "" {
			out.options = append(out.options, ui.Option{Value: t.PortID + "/" + t.FixedIP, Label: t.InstanceName + " · " + t.FixedIP + " (" + t.NetworkName + ")"})
		}
	}
	return out, nil
}

// readTarget splits a target choice into its port and fixed IP.
func readTarget(v string) (port, fixed string) {
	port, fixed, _ = strings.Cut(strings.TrimSpace(v), "/")
	return port, fixed
}

// associatePage is the form that points a floating IP at an instance's
// address.
func (h *Web) associatePage(w http.ResponseWriter, r *http.Request) {
	h.renderAssociate(w, r, http.StatusOK, ui.NewForm(nil))
}

func (h *Web) renderAssociate(w http.ResponseWriter, r *http.Request, status int, form ui.Form) {
	ctx := r.Context()
	f, err := h.Store.GetFloatingIP(ctx, callerOf(ctx), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.addressTargets(r, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.AssociateProps{Title: i18n.T(ctx, "Associate floating IP %s", f.FloatingIPAddress), Action: "/floating-ips/" + f.ID + "/associate",
		Back: "/floating-ips", Floating: f.FloatingIPAddress, Targets: t.options, Form: form, CSRF: h.csrfToken(r)}
	h.render(w, r, status, pages.AssociatePage(h.shell(r, p.Title, "floating-ips"), p))
}

// associateFloatingIP points the floating IP at the chosen address (moving
// it from the one it had). A refused field comes back beside it; the
// model's 409 (no router joins the address's network to the floating IP's
// external network) as the form's message, which says which router.
func (h *Web) associateFloatingIP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := ui.NewForm(map[string]string{"target": strings.TrimSpace(r.PostFormValue("target"))})
	port, fixed := readTarget(form.Get("target"))
	if port == "" {
		form.Errors["target"] = i18n.T(ctx, "choose an instance's address")
		h.renderAssociate(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	f, err := h.Store.UpdateFloatingIP(ctx, callerOf(ctx), chi.URLParam(r, "id"), models.FloatingIPUpdate{PortID: models.NullString(port), FixedIPAddress: fixed})
	if h.associateFailed(r, err, &form) {
		h.renderAssociate(w, r, httpStatus(err), form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, i18n.T(ctx, "Floating IP %s now points at %s: the hosts apply it within seconds.", f.FloatingIPAddress, f.FixedIPAddress))
	redirect(w, r, "/floating-ips")
}

// associateFailed puts an association's refusal in its form: the port and
// fixed IP fields are the form's one "target" choice.
func (h *Web) associateFailed(r *http.Request, err error, form *ui.Form) bool {
	if !h.formFailed(r, err, form) {
		return false
	}
	for _, k := range []string{"port_id", "fixed_ip_address"} {
		if v, ok := form.Errors[k]; ok {
			form.Errors["target"] = v
			delete(form.Errors, k)
		}
	}
	if v, ok := form.Errors["floating_network_id"]; ok {
		form.Errors["floating_ip"] = v
		delete(form.Errors, "floating_network_id")
	}
	return true
}

// floatingBack is where a floating IP's action returns: its "next" field
// when that is an instance's page, else the floating IP list.
func floatingBack(r *http.Request) string {
	if next := safeNext(r.PostFormValue("next")); strings.HasPrefix(next, "/instances/") {
		return next
	}
	return "/floating-ips"
}

// disassociateFloatingIP frees the floating IP from its address; it stays
// with the project.
func (h *Web) disassociateFloatingIP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := h.Store.UpdateFloatingIP(ctx, callerOf(ctx), chi.URLParam(r, "id"), models.FloatingIPUpdate{PortID: models.Nullable{Set: true}})
	h.finish(w, r, err, floatingBack(r), i18n.T(ctx, "Floating IP %s disassociated.", f.FloatingIPAddress))
}

// releaseFloatingIP gives the address back to the external network.
func (h *Web) releaseFloatingIP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	f, err := h.Store.GetFloatingIP(ctx, c, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	err = h.Store.DeleteFloatingIP(ctx, c, f.ID)
	h.finish(w, r, err, "/floating-ips", i18n.T(ctx, "Floating IP %s released.", f.FloatingIPAddress))
}

// instanceFloatingPage is the form that gives an instance a floating IP:
// one the project holds, or a new one from an external network, pointed
// at one of the instance's addresses.
func (h *Web) instanceFloatingPage(w http.ResponseWriter, r *http.Request) {
	h.renderInstanceFloating(w, r, http.StatusOK, ui.NewForm(nil))
}

// newFloating prefixes the choice that allocates a floating IP from an
// external network.
const newFloating = "new:"

func (h *Web) renderInstanceFloating(w http.ResponseWriter, r *http.Request, status int, form ui.Form) {
	ctx := r.Context()
	c := callerOf(ctx)
	inst, ok := h.liveInstance(w, r)
	if !ok {
		return
	}
	t, err := h.addressTargets(r, inst.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	fips, err := h.Store.ListFloatingIPs(ctx, c, models.FloatingIPFilter{ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ext, err := h.externalNetworks(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var choices []ui.Option
	for _, f := range fips.Items {
		if f.PortID == "" {
			choices = append(choices, ui.Option{Value: f.ID, Label: f.FloatingIPAddress})
		}
	}
	if h.allowed(ctx, "network:floatingip:create") {
		for _, n := range ext {
			choices = append(choices, ui.Option{Value: newFloating + n.ID, Label: i18n.T(ctx, "A new one from %s", networkName(n))})
		}
	}
	here := "/instances/" + inst.ID
	p := pages.AssociateProps{Title: i18n.T(ctx, "Associate a floating IP with %s", inst.Name), Action: here + "/floating-ip", Back: here,
		FloatingChoices: choices, Targets: t.options, Form: form, CSRF: h.csrfToken(r)}
	h.render(w, r, status, pages.AssociatePage(h.shell(r, p.Title, "instances"), p))
}

// associateInstanceFloating points a floating IP (allocating it first when
// a new one is asked for, in the same transaction) at one of the
// instance's addresses.
func (h *Web) associateInstanceFloating(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	inst, ok := h.liveInstance(w, r)
	if !ok {
		return
	}
	form := ui.NewForm(map[string]string{"floating_ip": strings.TrimSpace(r.PostFormValue("floating_ip")),
		"target": strings.TrimSpace(r.PostFormValue("target"))})
	port, fixed := readTarget(form.Get("target"))
	if form.Get("floating_ip") == "" {
		form.Errors["floating_ip"] = i18n.T(ctx, "choose a floating IP")
	}
	if port == "" {
		form.Errors["target"] = i18n.T(ctx, "choose an instance's address")
	} else if t, err := h.addressTargets(r, inst.ID); err != nil {
		h.fail(w, r, err)
		return
	} else if _, ok := t.byPort[port]; !ok {
		form.Errors["target"] = i18n.T(ctx, "not an address of this instance")
	}
	if form.HasErrors() {
		h.renderInstanceFloating(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	var f models.FloatingIP
	var err error
	if netID, ok := strings.CutPrefix(form.Get("floating_ip"), newFloating); ok {
		if !h.allowed(ctx, "network:floatingip:create") {
			h.denied(w, r, models.ErrForbidden)
			return
		}
		f, err = h.Store.CreateFloatingIP(ctx, c, models.FloatingIPInput{FloatingNetworkID: netID, PortID: port, FixedIPAddress: fixed})
	} else {
		f, err = h.Store.UpdateFloatingIP(ctx, c, form.Get("floating_ip"), models.FloatingIPUpdate{PortID: models.NullString(port), FixedIPAddress: fixed})
		if httpStatus(err) == http.StatusNotFound {
			err = models.Invalid("floating_ip", i18n.N("no such floating IP in this project"))
		}
	}
	if h.associateFailed(r, err, &form) {
		h.renderInstanceFloating(w, r, httpStatus(err), form)
		return
	}
	if st := httpStatus(err); err != nil && st == http.StatusForbidden {
		form.Error = h.userMessage(r, err) // over quota
		h.renderInstanceFloating(w, r, st, form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, i18n.T(ctx, "Floating IP %s now points at %s: the hosts apply it within seconds.", f.FloatingIPAddress, f.FixedIPAddress))
	redirect(w, r, "/instances/"+inst.ID)
}
