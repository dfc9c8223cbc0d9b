package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
	"stratus/views/ui"
)

func (h *Web) launchPage(w http.ResponseWriter, r *http.Request) {
	form := ui.NewForm(map[string]string{"count": "1"})
	if im := r.URL.Query().Get("image"); models.IsUUID(im) {
		form.Values["image"] = im
	}
	h.renderLaunch(w, r, http.StatusOK, form)
}

// renderLaunch shows the launch form with what the project may launch with
// (models.LaunchOptions: bootable images, flavors marked with whether one
// more instance fits the quota, key pairs, server groups, zones).
func (h *Web) renderLaunch(w http.ResponseWriter, r *http.Request, status int, form ui.Form) {
	ctx := r.Context()
	o, err := h.Store.LaunchOptions(ctx, callerOf(ctx))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.LaunchProps{Form: form, Images: o.Images, KeyPairs: o.KeyPairs, ServerGroups: o.ServerGroups, Zones: o.Zones,
		MaxUserData: models.MaxUserDataBytes, MaxCount: models.MaxInstancesPerRequest}
	if p.Networks, p.SecurityGroups, err = h.launchNetworking(r, &form); err != nil {
		h.fail(w, r, err)
		return
	}
	p.Form = form
	for _, q := range o.Quotas {
		p.Quotas = append(p.Quotas, quotaMeter(r.Context(), q))
	}
	for _, f := range o.Flavors {
		p.Flavors = append(p.Flavors, pages.FlavorChoice{Flavor: f.Flavor, Fits: f.Fits(), Reason: excessReason(r.Context(), f.Excess)})
	}
	h.render(w, r, status, pages.LaunchPage(h.shell(r, i18n.T(r.Context(), "Launch instances"), "instances"), p))
}

// launchNetworking lists the networks (the project's and the shared ones,
// external ones left out) and security groups a launch may pick. On the
// form's first showing it ticks the only network, when there is one, and
// the default group.
func (h *Web) launchNetworking(r *http.Request, form *ui.Form) ([]models.Network, []models.SecurityGroup, error) {
	ctx := r.Context()
	c := callerOf(ctx)
	var nets []models.Network
	if h.allowed(ctx, "network:network:list") {
		page, err := h.Store.ListNetworks(ctx, c, models.NetworkFilter{ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
		if err != nil {
			return nil, nil, err
		}
		for _, n := range page.Items {
			if !n.RouterExternal {
				nets = append(nets, n)
			}
		}
	}
	var groups []models.SecurityGroup
	if h.allowed(ctx, "network:security_group:list") {
		page, err := h.Store.ListSecurityGroups(ctx, c, models.SecurityGroupFilter{ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
		if err != nil {
			return nil, nil, err
		}
		groups = page.Items
	}
	if _, posted := form.Values["networks"]; !posted {
		if len(nets) == 1 {
			form.Values["networks"] = nets[0].ID
		}
		for _, g := range groups {
			if g.Name == models.DefaultSecurityGroup {
				form.Values["security_groups"] = g.ID
			}
		}
	}
	return nets, groups, nil
}

// excessReason says, for people, why a flavor does not fit the quota.
func excessReason(ctx context.Context, ex *models.QuotaExcess) string {
	switch {
	case ex == nil:
		return ""
	case ex.Resource == models.QuotaInstances:
		return i18n.T(ctx, "The project's instance quota is used up.")
	case ex.Resource == models.QuotaRAMMB:
		return i18n.T(ctx, "Needs %s of RAM; the quota has %s left.", pages.MB(int(ex.Want)), pages.MB(int(ex.Free())))
	}
	label, unit := pages.QuotaLabel(ex.Resource)
	return i18n.T(ctx, "Needs %s%s %s; the quota has %s left.", strconv.FormatInt(ex.Want, 10), unit, i18n.Known(ctx, label), strconv.FormatInt(ex.Free(), 10))
}

func quotaMeter(ctx context.Context, q models.QuotaLine) pages.QuotaMeter {
	label, unit := pages.QuotaLabel(q.Resource)
	return pages.QuotaMeter{Resource: q.Resource, Label: i18n.Known(ctx, label), Unit: unit, Used: q.Used, Limit: q.Limit}
}

// launchFields are the launch form's fields, as the form names them.
var launchFields = []string{"name", "image", "flavor", "keypair", "count", "availability_zone", "server_group", "user_data"}

// launch creates the instances and goes to the list, where their rows
// follow the build live. Errors come back beside their fields, with what
// was typed kept.
func (h *Web) launch(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := ui.NewForm(nil)
	for _, k := range launchFields {
		form.Values[k] = r.PostFormValue(k)
	}
	form.Values["name"] = strings.TrimSpace(form.Values["name"])
	count, err := strconv.Atoi(strings.TrimSpace(form.Get("count")))
	if err != nil || count < 1 {
		// Not a number, or 0 (which the model reads as "not given"): let
		// the model say what it must be, with the other fields' errors.
		count = -1
	}
	in := models.InstanceCreate{
		Name: form.Get("name"), Image: form.Get("image"), Flavor: form.Get("flavor"), KeyPair: form.Get("keypair"),
		Count: count, AvailabilityZone: form.Get("availability_zone"), ServerGroup: form.Get("server_group"),
		UserData: form.Get("user_data"), SecurityGroups: r.PostForm["security_groups"],
	}
	// The networks ticked, in the form's order; none ticked on a form that
	// offered some is a launch without a NIC.
	for _, id := range r.PostForm["networks"] {
		in.Networks = append(in.Networks, models.NetworkRequest{Network: id})
	}
	in.NoNetworks = len(in.Networks) == 0 && r.PostFormValue("networks_offered") != ""
	form.Values["networks"] = strings.Join(r.PostForm["networks"], ",")
	form.Values["security_groups"] = strings.Join(r.PostForm["security_groups"], ",")
	insts, err := h.Store.CreateInstances(ctx, callerOf(ctx), in)
	if fields := fieldErrors(r.Context(), err); fields != nil {
		for k, v := range fields {
			if strings.HasPrefix(k, "networks[") {
				k = "networks" // networks[0].fixed_ip and the like
			}
			if _, ok := form.Values[k]; ok {
				form.Errors[k] = v
			} else {
				form.Error = v // e.g. "project": no current project
			}
		}
		h.renderLaunch(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	if errors.Is(err, models.ErrQuotaExceeded) || errors.Is(err, models.ErrConflict) {
		form.Error = h.userMessage(r, err)
		h.renderLaunch(w, r, httpStatus(err), form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names := make([]string, len(insts))
	for i, inst := range insts {
		names[i] = inst.Name
	}
	h.flash(r, i18n.T(r.Context(), "Launching %s.", strings.Join(names, ", ")))
	redirect(w, r, "/instances")
}
