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

// hypervisors is the operators' view of the compute hosts; htmx refreshes
// its live panel (the "hypervisors-live" fragment of the same page).
func (h *Web) hypervisors(w http.ResponseWriter, r *http.Request) {
	h.renderHypervisors(w, r, http.StatusOK, "", ui.NewForm(nil))
}

// renderHypervisors shows every host; form (its reason and error) belongs
// to the host formHost, whose enable/disable form was just refused.
func (h *Web) renderHypervisors(w http.ResponseWriter, r *http.Request, status int, formHost string, form ui.Form) {
	hosts, err := h.Store.ListHosts(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.HypervisorsProps{CSRF: h.csrfToken(r), PollURL: "/admin/hypervisors", Now: h.Store.Now()}
	for _, host := range hosts {
		v := pages.HostView{Host: host, Form: ui.NewForm(nil),
			VCPU: pages.UsageBar{Used: float64(host.UsedVCPUs), Capacity: host.CapacityVCPUs(), Unit: " vCPU", Ratio: host.CPURatio},
			RAM:  pages.UsageBar{Used: float64(host.UsedRAMMB), Capacity: host.CapacityRAMMB(), Unit: " MB", Ratio: host.RAMRatio},
			Disk: pages.UsageBar{Used: float64(host.UsedDiskGB), Capacity: host.CapacityDiskGB(), Unit: " GB", Ratio: host.DiskRatio},
		}
		if host.ID == formHost {
			v.Form = form
		}
		p.Hosts = append(p.Hosts, v)
	}
	h.renderPage(w, r, status, pages.HypervisorsPage(h.shell(r, i18n.T(r.Context(), "Hypervisors"), "admin-hypervisors"), p), "hypervisors-live")
}

// setHypervisorEnabled enables a host for scheduling, or disables it with
// the reason the form must give.
func (h *Web) setHypervisorEnabled(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	enabled := r.PostFormValue("enabled") == "true"
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	host, err := h.Store.SetHostEnabled(ctx, callerOf(ctx), id, enabled, reason)
	if fields := fieldErrors(r.Context(), err); fields != nil {
		form := ui.NewForm(map[string]string{"reason": reason})
		form.Errors = fields
		h.renderHypervisors(w, r, http.StatusUnprocessableEntity, host.ID, form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if enabled {
		h.flash(r, i18n.T(r.Context(), "Host %s enabled: the scheduler places instances on it again.", host.Name))
	} else {
		h.flash(r, i18n.T(r.Context(), "Host %s disabled (%s): no new instances are placed on it.", host.Name, host.DisabledReason))
	}
	redirect(w, r, "/admin/hypervisors")
}

// projectOptions lists every project as filter choices, and their names by
// ID (one query, however many rows use them).
func (h *Web) projectOptions(r *http.Request) ([]ui.Option, map[string]string, error) {
	page, err := h.Store.ListProjects(r.Context(), models.ListOptions{Limit: models.MaxPageSize})
	if err != nil {
		return nil, nil, err
	}
	opts := make([]ui.Option, len(page.Items))
	names := make(map[string]string, len(page.Items))
	for i, p := range page.Items {
		opts[i] = ui.Option{Value: p.ID, Label: p.Name}
		names[p.ID] = p.Name
	}
	return opts, names, nil
}

// adminInstances lists every project's instances, filtered by project and
// host too.
func (h *Web) adminInstances(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lq := readInstanceList(r, "/admin/instances")
	filter := func() models.InstanceFilter {
		f := instanceFilter(lq)
		f.AllProjects, f.ProjectID, f.Host = true, lq.get("project"), lq.get("host")
		return f
	}
	page, err := h.Store.ListInstances(ctx, callerOf(ctx), filter())
	if fieldErrors(r.Context(), err) != nil {
		lq.marker = ""
		lq.set("status", "")
		page, err = h.Store.ListInstances(ctx, callerOf(ctx), filter())
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	projects, names, err := h.projectOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hosts, err := h.Store.ListHosts(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.InstancesProps{Admin: true, Name: lq.get("name"), Status: lq.get("status"), Project: lq.get("project"), Host: lq.get("host"),
		Projects: projects, Row: pages.RowContext{Admin: true, Here: lq.here(), Now: h.Store.Now()}, Pager: lq.pager(page.NextMarker)}
	for _, host := range hosts {
		p.Hosts = append(p.Hosts, ui.Option{Value: host.Name, Label: host.Name})
	}
	addrs, err := h.instanceAddresses(r, page.Items)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, inst := range page.Items {
		p.Rows = append(p.Rows, pages.InstanceRow{Inst: inst, ProjectName: names[inst.ProjectID], Addresses: addrs[inst.ID]})
	}
	h.renderPage(w, r, http.StatusOK, pages.InstancesPage(h.shell(r, i18n.T(r.Context(), "All instances"), "admin-instances"), p), "results")
}

// adminImages lists every project's images with the operators' actions
// (publish, protect, delete), which post to the image routes.
func (h *Web) adminImages(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	lq := readList(r, "/admin/images", adminPageSize, "name")
	page, err := h.Store.ListImages(ctx, c, models.ImageFilter{All: true, ListOptions: lq.options()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	_, names, err := h.projectOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.ImagesProps{Admin: true, Filter: lq.get("name"), CSRF: h.csrfToken(r), Pager: lq.pager(page.NextMarker)}
	for _, im := range page.Items {
		p.Rows = append(p.Rows, pages.ImageRow{Image: im, Own: im.RightsOf(c).Own, OwnerName: names[im.ProjectID]})
	}
	h.renderPage(w, r, http.StatusOK, pages.ImagesPage(h.shell(r, i18n.T(r.Context(), "All images"), "admin-images"), p), "results")
}

// drainHypervisor live-migrates every running instance of a host that is
// up, or evacuates every instance of a host that is down.
func (h *Web) drainHypervisor(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	action := r.PostFormValue("action")
	d, err := h.Store.DrainHost(ctx, callerOf(ctx), chi.URLParam(r, "id"), action)
	msg := i18n.T(ctx, "Evacuation: %d instances started moving, %d could not (see their pages).", len(d.Started), len(d.Refused))
	if action == "live_migrate" {
		msg = i18n.T(ctx, "Live migration: %d instances started moving, %d could not (see their pages).", len(d.Started), len(d.Refused))
	}
	h.finish(w, r, err, "/admin/hypervisors", msg)
}
