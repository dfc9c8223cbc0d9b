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

func (h *Web) adminUsers(w http.ResponseWriter, r *http.Request) {
	lq := readList(r, "/admin/users", adminPageSize, "name")
	page, err := h.Store.ListUsers(r.Context(), lq.options())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.Store.Now()
	p := pages.UsersProps{Filter: lq.get("name"), Rows: make([]pages.UserRow, len(page.Items)), Pager: lq.pager(page.NextMarker)}
	for i, u := range page.Items {
		p.Rows[i] = pages.UserRow{User: u, Locked: u.Locked(now)}
	}
	h.renderPage(w, r, http.StatusOK, pages.UsersPage(h.shell(r, i18n.T(r.Context(), "Users"), "admin-users"), p), "results")
}

// projectNames suggests project names in role forms.
func (h *Web) projectNames(r *http.Request) ([]string, error) {
	page, err := h.Store.ListProjects(r.Context(), models.ListOptions{Limit: models.MaxPageSize})
	if err != nil {
		return nil, err
	}
	names := make([]string, len(page.Items))
	for i, p := range page.Items {
		names[i] = p.Name
	}
	return names, nil
}

func (h *Web) newUserPage(w http.ResponseWriter, r *http.Request) {
	h.renderNewUser(w, r, http.StatusOK, ui.NewForm(map[string]string{"role": string(models.RoleMember)}))
}

func (h *Web) renderNewUser(w http.ResponseWriter, r *http.Request, status int, form ui.Form) {
	names, err := h.projectNames(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, status, pages.UserNewPage(h.shell(r, i18n.T(r.Context(), "New user"), "admin-users"), pages.UserNewProps{Form: form, ProjectNames: names}))
}

// createUser creates a user and, when a project is named, gives them a first
// role there, in one transaction: a typo in the project or role creates
// nothing.
func (h *Web) createUser(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	form := ui.NewForm(map[string]string{
		"name":    strings.TrimSpace(r.PostFormValue("name")),
		"email":   strings.TrimSpace(r.PostFormValue("email")),
		"project": strings.TrimSpace(r.PostFormValue("project")),
		"role":    r.PostFormValue("role"),
	})
	password := r.PostFormValue("password") // never put back into the form
	var first *models.AssignmentInput
	if form.Get("project") != "" {
		if !h.allowed(ctx, "identity:role_assignment:create") {
			form.Errors["project"] = i18n.T(r.Context(), "your role does not allow assigning roles")
			h.renderNewUser(w, r, http.StatusForbidden, form)
			return
		}
		first = &models.AssignmentInput{Project: form.Get("project"), Role: form.Get("role")}
	}
	u, v, err := h.Store.CreateUserWithRole(ctx, c, models.UserInput{Name: form.Get("name"), Email: form.Get("email"), Password: password}, first)
	if h.formFailed(r, err, &form) {
		h.renderNewUser(w, r, httpStatus(err), form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	msg := i18n.T(r.Context(), "User %s created.", u.Name)
	if v != nil {
		msg = i18n.T(r.Context(), "User %s created with the %s role on %s.", u.Name, string(v.Role), v.ProjectName)
	}
	h.flash(r, msg)
	redirect(w, r, "/admin/users/"+u.ID)
}

func (h *Web) adminUser(w http.ResponseWriter, r *http.Request) {
	h.renderUser(w, r, http.StatusOK, chi.URLParam(r, "id"), userForms{})
}

// userForms are the forms of the user page that may come back with errors.
type userForms struct {
	role     *ui.Form
	password *ui.Form
}

func (h *Web) renderUser(w http.ResponseWriter, r *http.Request, status int, id string, f userForms) {
	ctx := r.Context()
	u, err := h.Store.GetUser(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	as, err := h.Store.ListRoleAssignments(ctx, models.AssignmentFilter{UserID: u.ID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names, err := h.projectNames(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.UserDetailProps{
		User: u, Locked: u.Locked(h.Store.Now()), IsSelf: u.ID == callerOf(ctx).UserID, Assignments: as, ProjectNames: names,
		RoleForm:     ui.NewForm(map[string]string{"scope": "project", "role": string(models.RoleMember)}),
		PasswordForm: ui.NewForm(nil),
	}
	if f.role != nil {
		p.RoleForm = *f.role
	}
	if f.password != nil {
		p.PasswordForm = *f.password
	}
	h.render(w, r, status, pages.UserDetailPage(h.shell(r, u.Name, "admin-users"), p))
}

// updateUser applies one change and goes back to the user's page with a
// message; a refusal the user can read (e.g. disabling yourself) becomes a
// flash error.
func (h *Web) updateUser(w http.ResponseWriter, r *http.Request, up models.UserUpdate, done string) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	u, err := h.Store.UpdateUser(ctx, callerOf(ctx), id, up)
	h.finish(w, r, err, "/admin/users/"+id, strings.ReplaceAll(done, "{user}", u.Name))
}

func (h *Web) setUserEnabled(w http.ResponseWriter, r *http.Request) {
	enabled := r.PostFormValue("enabled") == "true"
	done := i18n.T(r.Context(), "{user} enabled.")
	if !enabled {
		done = i18n.T(r.Context(), "{user} disabled: they can no longer sign in, and their sessions and tokens stop working.")
	}
	h.updateUser(w, r, models.UserUpdate{Enabled: &enabled}, done)
}

func (h *Web) unlockUser(w http.ResponseWriter, r *http.Request) {
	h.updateUser(w, r, models.UserUpdate{Unlock: true}, "{user} unlocked.")
}

func (h *Web) resetPassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	password := r.PostFormValue("password")
	form := ui.NewForm(nil)
	if password == "" {
		form.Errors["password"] = i18n.T(r.Context(), "is required")
		h.renderUser(w, r, http.StatusUnprocessableEntity, id, userForms{password: &form})
		return
	}
	u, err := h.Store.UpdateUser(ctx, callerOf(ctx), id, models.UserUpdate{Password: &password})
	if h.formFailed(r, err, &form) {
		h.renderUser(w, r, httpStatus(err), id, userForms{password: &form})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, i18n.T(r.Context(), "Password of %s reset; their sessions and API tokens have ended.", u.Name))
	redirect(w, r, "/admin/users/"+u.ID)
}

func (h *Web) assignRole(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	form := ui.NewForm(map[string]string{
		"scope":   r.PostFormValue("scope"),
		"project": strings.TrimSpace(r.PostFormValue("project")),
		"role":    r.PostFormValue("role"),
	})
	u, err := h.Store.GetUser(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in := models.AssignmentInput{User: u.ID, Role: form.Get("role")}
	switch form.Get("scope") {
	case "system":
		in.System = true
	case "project":
		in.Project = form.Get("project")
		if in.Project == "" {
			form.Errors["project"] = i18n.T(r.Context(), "name the project, or choose the system scope")
		}
	default:
		form.Errors["scope"] = i18n.T(r.Context(), "choose a project or the system")
	}
	if form.HasErrors() {
		h.renderUser(w, r, http.StatusUnprocessableEntity, id, userForms{role: &form})
		return
	}
	v, err := h.Store.AssignRole(ctx, callerOf(ctx), in)
	if h.formFailed(r, err, &form) {
		h.renderUser(w, r, httpStatus(err), id, userForms{role: &form})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	where := i18n.T(r.Context(), "the system")
	if v.ProjectName != "" {
		where = v.ProjectName
	}
	h.flash(r, i18n.T(r.Context(), "%s now has the %s role on %s.", u.Name, string(v.Role), where))
	redirect(w, r, "/admin/users/"+u.ID)
}

// revokeRole removes an assignment, which must be this user's: the URL's
// user is checked against the assignment, not trusted.
func (h *Web) revokeRole(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, aid := chi.URLParam(r, "id"), chi.URLParam(r, "assignment")
	u, err := h.Store.GetUser(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	as, err := h.Store.ListRoleAssignments(ctx, models.AssignmentFilter{UserID: u.ID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var found *models.RoleAssignmentView
	for i := range as {
		if as[i].ID == aid {
			found = &as[i]
		}
	}
	if found == nil {
		h.errorPage(w, r, http.StatusNotFound, i18n.T(r.Context(), "Not found"), i18n.T(r.Context(), "This user has no such role assignment."))
		return
	}
	where := i18n.T(r.Context(), "the system")
	if found.ProjectName != "" {
		where = found.ProjectName
	}
	err = h.Store.RevokeRole(ctx, callerOf(ctx), aid)
	h.finish(w, r, err, "/admin/users/"+u.ID, i18n.T(r.Context(), "Removed the %s role on %s from %s.", string(found.Role), where, u.Name))
}
