package web

import (
	"net/http"

	"stratus/models"
	"stratus/views/pages"
)

// overview is the home page: the user, their roles, the current project —
// or, for a user without a project, what to do about it.
func (h *Web) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	u, err := h.Store.GetUser(ctx, c.UserID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ms, err := h.Store.ProjectsOfUser(ctx, c.UserID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.OverviewProps{
		User: u, Caller: c, Memberships: ms,
		CanTokens: h.allowed(ctx, "identity:token:list"),
		CanAdmin:  h.allowed(ctx, "identity:project:list"),
	}
	for i := range ms {
		if ms[i].ID == c.ProjectID {
			p.Project = &ms[i].Project
		}
	}
	h.render(w, r, http.StatusOK, pages.OverviewPage(h.shell(r, "Overview", "overview"), p))
}

// switchProject changes the session's current project, only to one the user
// has a role on (checked by resolving the caller in it), and returns to the
// page the picker was on.
func (h *Web) switchProject(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	projectID := r.PostFormValue("project")
	nc, err := h.Store.ResolveCaller(ctx, c.UserID, projectID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if projectID == "" || !models.IsUUID(projectID) || nc.ProjectID != projectID {
		// Unknown, disabled, or not theirs: one answer for all, so the
		// picker cannot be used to probe other tenants' project IDs.
		h.errorPage(w, r, http.StatusForbidden, "You may not do this", "You have no role on that project.")
		return
	}
	h.Sessions.Put(ctx, keyProjectID, nc.ProjectID)
	h.flash(r, "You are now working in project "+nc.ProjectName+".")
	to := safeNext(r.PostFormValue("next"))
	if to == "" {
		to = "/"
	}
	redirect(w, r, to)
}
