package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/models"
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
	h.renderPage(w, r, status, pages.HypervisorsPage(h.shell(r, "Hypervisors", "admin-hypervisors"), p), "hypervisors-live")
}

// setHypervisorEnabled enables a host for scheduling, or disables it with
// the reason the form must give.
func (h *Web) setHypervisorEnabled(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	enabled := r.PostFormValue("enabled") == "true"
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	host, err := h.Store.SetHostEnabled(ctx, callerOf(ctx), id, enabled, reason)
	if fields := fieldErrors(err); fields != nil {
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
		h.flash(r, "Host "+host.Name+" enabled: the scheduler places instances on it again.")
	} else {
		h.flash(r, "Host "+host.Name+" disabled ("+host.DisabledReason+"): no new instances are placed on it.")
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
	lq := readInstanceQuery(r)
	f := lq.filter()
	f.AllProjects, f.ProjectID, f.Host = true, lq.project, lq.host
	page, err := h.Store.ListInstances(ctx, callerOf(ctx), f)
	if fieldErrors(err) != nil {
		lq.marker, lq.status = "", ""
		f = lq.filter()
		f.AllProjects, f.ProjectID, f.Host = true, lq.project, lq.host
		page, err = h.Store.ListInstances(ctx, callerOf(ctx), f)
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
	here := lq.url("/admin/instances", lq.marker)
	p := pages.InstancesProps{Admin: true, Name: lq.name, Status: lq.status, Project: lq.project, Host: lq.host, Projects: projects,
		Row: pages.RowContext{Admin: true, Here: here, Now: h.Store.Now()}}
	for _, host := range hosts {
		p.Hosts = append(p.Hosts, ui.Option{Value: host.Name, Label: host.Name})
	}
	for _, inst := range page.Items {
		p.Rows = append(p.Rows, pages.InstanceRow{Inst: inst, ProjectName: names[inst.ProjectID]})
	}
	if lq.marker != "" {
		p.FirstURL = lq.url("/admin/instances", "")
	}
	if page.NextMarker != "" {
		p.NextURL = lq.url("/admin/instances", page.NextMarker)
	}
	h.renderPage(w, r, http.StatusOK, pages.InstancesPage(h.shell(r, "All instances", "admin-instances"), p), "results")
}

// adminImages lists every project's images with the operators' actions
// (publish, protect, delete), which post to the image routes.
func (h *Web) adminImages(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	q := r.URL.Query()
	name, marker := strings.TrimSpace(q.Get("name")), q.Get("marker")
	page, err := h.Store.ListImages(ctx, c, models.ImageFilter{All: true, ListOptions: models.ListOptions{Name: name, Marker: marker, Limit: adminPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	_, names, err := h.projectOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.ImagesProps{Admin: true, Filter: name, CSRF: h.csrfToken(r)}
	for _, im := range page.Items {
		p.Rows = append(p.Rows, pages.ImageRow{Image: im, Own: im.ProjectID == c.ProjectID, OwnerName: names[im.ProjectID]})
	}
	if marker != "" {
		p.FirstURL = listURL("/admin/images", "name", name)
	}
	if page.NextMarker != "" {
		p.NextURL = listURL("/admin/images", "name", name, "marker", page.NextMarker)
	}
	h.renderPage(w, r, http.StatusOK, pages.ImagesPage(h.shell(r, "All images", "admin-images"), p), "results")
}
