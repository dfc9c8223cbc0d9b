package api

import (
	"net/http"

	"stratus/models"
)

// RoleAssignmentList is a page of role assignments.
type RoleAssignmentList struct {
	RoleAssignments []models.RoleAssignmentView `json:"role_assignments"`
	Next            *string                     `json:"next"`
}

type roleAssignmentQuery struct {
	page
	UserID    string `query:"user_id" format:"uuid" doc:"Only this user's assignments."`
	ProjectID string `query:"project_id" format:"uuid" doc:"Only assignments on this project."`
}

func (a *API) listRoleAssignments(r *http.Request, _ models.Caller, in roleAssignmentQuery) (RoleAssignmentList, error) {
	p, err := a.Store.ListRoleAssignmentsPage(r.Context(),
		models.AssignmentFilter{UserID: in.UserID, ProjectID: in.ProjectID},
		models.ListOptions{Limit: in.Limit, Marker: in.Marker})
	if err != nil {
		return RoleAssignmentList{}, err
	}
	return RoleAssignmentList{RoleAssignments: nonNil(p.Items), Next: nextLink(r, p.NextMarker)}, nil
}

// createRoleAssignment grants a role on a project or (system: true) on the
// system. Granting one the user holds already is 409.
func (a *API) createRoleAssignment(r *http.Request, c models.Caller, in struct {
	Body models.AssignmentInput `body:"json"`
}) (models.RoleAssignmentView, error) {
	return a.Store.AssignRole(r.Context(), c, in.Body)
}

// deleteRoleAssignment revokes an assignment; the last system admin's is 409.
func (a *API) deleteRoleAssignment(r *http.Request, c models.Caller, in idPath) (none, error) {
	return none{}, a.Store.RevokeRole(r.Context(), c, in.ID)
}
