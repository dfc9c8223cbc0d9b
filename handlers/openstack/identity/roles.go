package identity

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// Roles: reader, member and admin, whose IDs are their names.

func (id *Identity) roleView(r *http.Request, role models.Role) map[string]any {
	desc := map[models.Role]string{
		models.RoleReader: "Read the project's resources (or, on the system, every project's)",
		models.RoleMember: "Create and act on the project's resources; implies reader",
		models.RoleAdmin:  "Manage the project (on the system: operate the cloud); implies member",
	}[role]
	return map[string]any{
		"id": string(role), "name": string(role), "domain_id": nil, "description": desc, "options": map[string]any{},
		"links": map[string]string{"self": id.BaseURL(r) + Prefix + "/v3/roles/" + string(role)},
	}
}

func (id *Identity) listRoles(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	out := []map[string]any{}
	name := r.URL.Query().Get("name")
	for _, role := range models.Roles {
		if name == "" || name == string(role) {
			out = append(out, id.roleView(r, role))
		}
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"roles": out, "links": id.listLinks(r)})
	return nil
}

func findRole(ref string) (models.Role, error) {
	role, err := models.ParseRole(ref)
	if err != nil {
		return "", service.NotFound("Could not find role: " + ref + ".")
	}
	return role, nil
}

func (id *Identity) getRole(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	role, err := findRole(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"role": id.roleView(r, role)})
	return nil
}

// listAssignments is GET /v3/role_assignments. With ?effective, implied
// roles are listed too (an admin assignment shows member and reader), as
// Keystone expands inference rules.
func (id *Identity) listAssignments(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	q := r.URL.Query()
	f := models.AssignmentFilter{UserID: q.Get("user.id"), ProjectID: q.Get("scope.project.id")}
	if f.UserID != "" {
		u, err := id.Store.GetUser(r.Context(), f.UserID)
		if errors.Is(err, models.ErrNotFound) {
			service.WriteJSON(w, http.StatusOK, map[string]any{"role_assignments": []any{}, "links": id.listLinks(r)})
			return nil
		} else if err != nil {
			return err
		}
		f.UserID = u.ID
	}
	if q.Get("group.id") != "" || q.Get("scope.domain.id") != "" {
		service.WriteJSON(w, http.StatusOK, map[string]any{"role_assignments": []any{}, "links": id.listLinks(r)})
		return nil
	}
	list, err := id.Store.ListRoleAssignments(r.Context(), f)
	if err != nil {
		return err
	}
	_, systemOnly := q["scope.system"]
	_, effective := q["effective"]
	_, names := q["include_names"]
	out := []map[string]any{}
	for _, a := range list {
		if systemOnly && a.ProjectID != models.SystemScope {
			continue
		}
		roles := []models.Role{a.Role}
		if effective {
			roles = implied(a.Role)
		}
		for _, role := range roles {
			if rid := q.Get("role.id"); rid != "" && rid != string(role) {
				continue
			}
			out = append(out, id.assignmentView(r, a, role, names))
		}
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"role_assignments": out, "links": id.listLinks(r)})
	return nil
}

func (id *Identity) assignmentView(r *http.Request, a models.RoleAssignmentView, role models.Role, names bool) map[string]any {
	dom := map[string]string{"id": DomainID, "name": DomainName}
	user := map[string]any{"id": a.UserID}
	ro := map[string]any{"id": string(role)}
	var scope map[string]any
	base := id.BaseURL(r) + Prefix + "/v3"
	link := base + "/system/users/" + a.UserID + "/roles/" + string(role)
	if a.ProjectID == models.SystemScope {
		scope = map[string]any{"system": map[string]bool{"all": true}}
	} else {
		p := map[string]any{"id": a.ProjectID}
		if names {
			p["name"], p["domain"] = a.ProjectName, dom
		}
		scope = map[string]any{"project": p}
		link = base + "/projects/" + a.ProjectID + "/users/" + a.UserID + "/roles/" + string(role)
	}
	if names {
		user["name"], user["domain"] = a.UserName, dom
		ro["name"] = string(role)
	}
	return map[string]any{"role": ro, "user": user, "scope": scope, "links": map[string]string{"assignment": link}}
}

// grantTarget resolves the path of a grant: user, role and project ("" for
// the system).
func (id *Identity) grantTarget(r *http.Request, system bool) (models.User, models.Role, models.Project, error) {
	var p models.Project
	role, err := findRole(chi.URLParam(r, "role"))
	if err != nil {
		return models.User{}, "", p, err
	}
	u, err := id.findUser(r, chi.URLParam(r, "user"))
	if err != nil {
		return u, "", p, err
	}
	if !system {
		if p, err = id.findProject(r, chi.URLParam(r, "project")); err != nil {
			return u, "", p, err
		}
	}
	return u, role, p, nil
}

// assignment finds the user's assignment of role on the project (or the
// system), if any.
func (id *Identity) assignment(r *http.Request, u models.User, role models.Role, p models.Project) (*models.RoleAssignmentView, error) {
	list, err := id.Store.ListRoleAssignments(r.Context(), models.AssignmentFilter{UserID: u.ID, ProjectID: p.ID})
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		if a.ProjectID == p.ID && a.Role == role {
			return &a, nil
		}
	}
	return nil, nil
}

func (id *Identity) grant(w http.ResponseWriter, r *http.Request, c *models.Caller, system bool) error {
	u, role, p, err := id.grantTarget(r, system)
	if err != nil {
		return err
	}
	_, err = id.Store.AssignRole(r.Context(), *c, models.AssignmentInput{User: u.ID, Project: p.ID, System: system, Role: string(role)})
	if err != nil && !errors.Is(err, models.ErrConflict) { // granting twice is not an error in Keystone
		return err
	}
	service.Empty(w, http.StatusNoContent)
	return nil
}

func (id *Identity) checkGrant(w http.ResponseWriter, r *http.Request, system bool) error {
	u, role, p, err := id.grantTarget(r, system)
	if err != nil {
		return err
	}
	a, err := id.assignment(r, u, role, p)
	if err != nil {
		return err
	}
	if a == nil {
		return service.NotFound("Could not find role assignment.")
	}
	service.Empty(w, http.StatusNoContent)
	return nil
}

func (id *Identity) revoke(w http.ResponseWriter, r *http.Request, c *models.Caller, system bool) error {
	u, role, p, err := id.grantTarget(r, system)
	if err != nil {
		return err
	}
	a, err := id.assignment(r, u, role, p)
	if err != nil {
		return err
	}
	if a == nil {
		return service.NotFound("Could not find role assignment.")
	}
	if err := id.Store.RevokeRole(r.Context(), *c, a.ID); err != nil {
		return err
	}
	service.Empty(w, http.StatusNoContent)
	return nil
}

// userRoles lists a user's roles on a project or the system.
func (id *Identity) userRoles(w http.ResponseWriter, r *http.Request, system bool) error {
	u, err := id.findUser(r, chi.URLParam(r, "user"))
	if err != nil {
		return err
	}
	var p models.Project
	if !system {
		if p, err = id.findProject(r, chi.URLParam(r, "project")); err != nil {
			return err
		}
	}
	list, err := id.Store.ListRoleAssignments(r.Context(), models.AssignmentFilter{UserID: u.ID, ProjectID: p.ID})
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, a := range list {
		if a.ProjectID == p.ID {
			out = append(out, id.roleView(r, a.Role))
		}
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"roles": out, "links": id.listLinks(r)})
	return nil
}

func (id *Identity) projectUserRoles(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	return id.userRoles(w, r, false)
}
func (id *Identity) systemUserRoles(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	return id.userRoles(w, r, true)
}
func (id *Identity) grantProjectRole(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	return id.grant(w, r, c, false)
}
func (id *Identity) grantSystemRole(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	return id.grant(w, r, c, true)
}
func (id *Identity) checkProjectRole(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	return id.checkGrant(w, r, false)
}
func (id *Identity) checkSystemRole(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	return id.checkGrant(w, r, true)
}
func (id *Identity) revokeProjectRole(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	return id.revoke(w, r, c, false)
}
func (id *Identity) revokeSystemRole(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	return id.revoke(w, r, c, true)
}
