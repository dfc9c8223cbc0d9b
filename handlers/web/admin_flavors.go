package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
	"stratus/views/ui"
)

func (h *Web) adminFlavors(w http.ResponseWriter, r *http.Request) {
	h.renderAdminFlavors(w, r, http.StatusOK, ui.NewForm(map[string]string{"is_public": "true", "vcpus": "1", "ram_mb": "512", "disk_gb": "1", "ephemeral_gb": "0"}))
}

// renderAdminFlavors lists every flavor, enabled or not, with the projects
// a private one is shared with, and the create form.
func (h *Web) renderAdminFlavors(w http.ResponseWriter, r *http.Request, status int, form ui.Form) {
	ctx := r.Context()
	flavors, err := h.Store.ListFlavors(ctx, callerOf(ctx), true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	opts, names, err := h.projectOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.AdminFlavorsProps{Form: form, CSRF: h.csrfToken(r)}
	for _, o := range opts {
		p.ProjectNames = append(p.ProjectNames, o.Label)
	}
	access, err := h.Store.FlavorAccess(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, f := range flavors {
		row := pages.AdminFlavorRow{Flavor: f}
		if !f.IsPublic {
			for _, id := range access[f.ID] {
				row.Projects = append(row.Projects, names[id])
			}
		}
		p.Items = append(p.Items, row)
	}
	h.render(w, r, status, pages.AdminFlavorsPage(h.shell(r, i18n.T(r.Context(), "Flavors"), "admin-flavors"), p))
}

// createFlavor adds a flavor; a private one is shared with the listed
// projects.
func (h *Web) createFlavor(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := ui.NewForm(nil)
	for _, k := range []string{"name", "description", "vcpus", "ram_mb", "disk_gb", "ephemeral_gb", "projects"} {
		form.Values[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	public := r.PostFormValue("is_public") == "true"
	if public {
		form.Values["is_public"] = "true"
	}
	num := func(k string) int {
		n, err := strconv.Atoi(form.Get(k))
		if err != nil {
			form.Errors[k] = i18n.T(r.Context(), "must be a whole number")
		}
		return n
	}
	in := models.FlavorInput{Name: form.Get("name"), Description: form.Get("description"), VCPUs: num("vcpus"), RAMMB: num("ram_mb"),
		DiskGB: num("disk_gb"), EphemeralGB: num("ephemeral_gb"), IsPublic: &public}
	for _, p := range strings.Split(form.Get("projects"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			in.Projects = append(in.Projects, p)
		}
	}
	if len(in.Projects) > 0 && public {
		form.Errors["projects"] = i18n.T(r.Context(), "a public flavor is for every project: untick Public to limit it")
	}
	if form.HasErrors() {
		h.renderAdminFlavors(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	f, err := h.Store.CreateFlavor(ctx, callerOf(ctx), in)
	if h.formFailed(r, err, &form) {
		h.renderAdminFlavors(w, r, httpStatus(err), form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, i18n.T(r.Context(), "Flavor %s created.", f.Name))
	redirect(w, r, "/admin/flavors")
}

func (h *Web) setFlavorDisabled(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	disabled := r.PostFormValue("disabled") == "true"
	f, err := h.Store.UpdateFlavor(ctx, callerOf(ctx), chi.URLParam(r, "id"), models.FlavorUpdate{Disabled: &disabled})
	done := i18n.T(r.Context(), "Flavor %s enabled.", f.Name)
	if disabled {
		done = i18n.T(r.Context(), "Flavor %s disabled: no new instances use it; existing ones keep their size.", f.Name)
	}
	h.finish(w, r, err, "/admin/flavors", done)
}

func (h *Web) deleteFlavor(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	id := chi.URLParam(r, "id")
	f, err := h.Store.GetFlavor(ctx, c, id)
	if err == nil {
		err = h.Store.DeleteFlavor(ctx, c, id)
	}
	h.finish(w, r, err, "/admin/flavors", i18n.T(r.Context(), "Flavor %s deleted. Instances of it keep their size.", f.Name))
}
