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

func (h *Web) adminProjects(w http.ResponseWriter, r *http.Request) {
	lq := readList(r, "/admin/projects", adminPageSize, "name")
	page, err := h.Store.ListProjects(r.Context(), lq.options())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.ProjectsProps{Items: page.Items, Filter: lq.get("name"), Pager: lq.pager(page.NextMarker)}
	h.renderPage(w, r, http.StatusOK, pages.ProjectsPage(h.shell(r, i18n.T(r.Context(), "Projects"), "admin-projects"), p), "results")
}

func (h *Web) newProjectPage(w http.ResponseWriter, r *http.Request) {
	form := ui.NewForm(map[string]string{"enabled": "true"})
	h.render(w, r, http.StatusOK, pages.ProjectNewPage(h.shell(r, i18n.T(r.Context(), "New project"), "admin-projects"), pages.ProjectNewProps{Form: form}))
}

func (h *Web) createProject(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	enabled := r.PostFormValue("enabled") == "true"
	form := ui.NewForm(map[string]string{
		"name":        strings.TrimSpace(r.PostFormValue("name")),
		"description": strings.TrimSpace(r.PostFormValue("description")),
		"enabled":     r.PostFormValue("enabled"),
	})
	pr, err := h.Store.CreateProject(ctx, callerOf(ctx), models.ProjectInput{
		Name: form.Get("name"), Description: form.Get("description"), Enabled: &enabled,
	})
	if fields := fieldErrors(r.Context(), err); fields != nil {
		form.Errors = fields
		h.render(w, r, http.StatusUnprocessableEntity,
			pages.ProjectNewPage(h.shell(r, i18n.T(r.Context(), "New project"), "admin-projects"), pages.ProjectNewProps{Form: form}))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, i18n.T(r.Context(), "Project %s created.", pr.Name))
	redirect(w, r, "/admin/projects/"+pr.ID)
}

func (h *Web) adminProject(w http.ResponseWriter, r *http.Request) {
	form := ui.NewForm(map[string]string{"role": string(models.RoleMember)})
	h.renderProject(w, r, http.StatusOK, chi.URLParam(r, "id"), form)
}

func (h *Web) renderProject(w http.ResponseWriter, r *http.Request, status int, id string, form ui.Form) {
	h.renderProjectQuotas(w, r, status, id, form, ui.NewForm(nil))
}

// renderProjectQuotas is renderProject with the quota form's input and
// errors (after a refused quota change).
func (h *Web) renderProjectQuotas(w http.ResponseWriter, r *http.Request, status int, id string, form, quotaForm ui.Form) {
	ctx := r.Context()
	pr, err := h.Store.GetProject(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var quotas []models.QuotaLine
	if h.allowed(ctx, "compute:quota:get") {
		if quotas, err = h.Store.ProjectQuotas(ctx, pr.ID); err != nil {
			h.fail(w, r, err)
			return
		}
		for _, q := range quotas {
			if _, typed := quotaForm.Values[q.Resource]; !typed {
				quotaForm.Values[q.Resource] = strconv.FormatInt(q.Limit, 10)
			}
		}
	}
	members, err := h.Store.ListRoleAssignments(ctx, models.AssignmentFilter{ProjectID: pr.ID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	users, err := h.Store.ListUsers(ctx, models.ListOptions{Limit: models.MaxPageSize})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names := make([]string, len(users.Items))
	for i, u := range users.Items {
		names[i] = u.Name
	}
	p := pages.ProjectDetailProps{Project: pr, Members: members, MemberForm: form, UserNames: names,
		IsCurrent: pr.ID == callerOf(ctx).ProjectID, Quotas: quotas, QuotaForm: quotaForm,
		CanSetQuota: h.allowed(ctx, "compute:quota:update")}
	h.render(w, r, status, pages.ProjectDetailPage(h.shell(r, pr.Name, "admin-projects"), p))
}

func (h *Web) setProjectEnabled(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	enabled := r.PostFormValue("enabled") == "true"
	pr, err := h.Store.UpdateProject(ctx, callerOf(ctx), id, nil, &enabled)
	done := i18n.T(r.Context(), "Project %s enabled.", pr.Name)
	if !enabled {
		done = i18n.T(r.Context(), "Project %s disabled: its members can no longer work in it.", pr.Name)
	}
	h.finish(w, r, err, "/admin/projects/"+id, done)
}

func (h *Web) addProjectMember(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	form := ui.NewForm(map[string]string{
		"user": strings.TrimSpace(r.PostFormValue("user")),
		"role": r.PostFormValue("role"),
	})
	pr, err := h.Store.GetProject(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.Store.AssignRole(ctx, callerOf(ctx), models.AssignmentInput{User: form.Get("user"), Project: pr.ID, Role: form.Get("role")})
	if ok := h.formFailed(r, err, &form); ok {
		h.renderProject(w, r, httpStatus(err), id, form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, i18n.T(r.Context(), "%s now has the %s role on %s.", v.UserName, string(v.Role), pr.Name))
	redirect(w, r, "/admin/projects/"+pr.ID)
}

// setProjectQuotas overrides a project's quota limits (-1: no limit). Every
// limit is checked before any is saved; a refused form comes back with its
// input and the errors beside the fields.
func (h *Web) setProjectQuotas(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	form := ui.NewForm(nil)
	limits := map[string]int64{}
	for _, res := range models.QuotaResources() {
		v := strings.TrimSpace(r.PostFormValue(res))
		if v == "" {
			continue
		}
		form.Values[res] = v
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			form.Errors[res] = i18n.T(r.Context(), "must be a whole number (-1 for no limit)")
			continue
		}
		limits[res] = n
	}
	if !form.HasErrors() {
		_, err := h.Store.SetQuotas(ctx, callerOf(ctx), id, limits)
		if fields := fieldErrors(r.Context(), err); fields != nil {
			form.Errors = fields
		} else if err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if form.HasErrors() {
		h.renderProjectQuotas(w, r, http.StatusUnprocessableEntity, id, ui.NewForm(map[string]string{"role": string(models.RoleMember)}), form)
		return
	}
	h.flash(r, i18n.T(r.Context(), "Quotas saved."))
	redirect(w, r, "/admin/projects/"+id+"#quotas")
}

// resetProjectQuotas puts every limit of a project back to the defaults.
func (h *Web) resetProjectQuotas(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	_, err := h.Store.ResetQuotas(ctx, callerOf(ctx), id, models.QuotaResources())
	h.finish(w, r, err, "/admin/projects/"+id+"#quotas", i18n.T(ctx, "Quotas reset to the defaults."))
}
