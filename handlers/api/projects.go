package api

import (
	"net/http"

	"stratus/models"
)

// ProjectList is a page of projects.
type ProjectList struct {
	Projects []models.Project `json:"projects"`
	Next     *string          `json:"next"`
}

// ProjectUpdate changes a project; absent fields stay as they are.
type ProjectUpdate struct {
	Description *string `json:"description"`
	Enabled     *bool   `json:"enabled"`
}

func (a *API) listProjects(r *http.Request, _ models.Caller, in namedPage) (ProjectList, error) {
	p, err := a.Store.ListProjects(r.Context(), in.options())
	if err != nil {
		return ProjectList{}, err
	}
	return ProjectList{Projects: nonNil(p.Items), Next: nextLink(r, p.NextMarker)}, nil
}

func (a *API) createProject(r *http.Request, c models.Caller, in struct {
	Body models.ProjectInput `body:"json"`
}) (models.Project, error) {
	return a.Store.CreateProject(r.Context(), c, in.Body)
}

func (a *API) getProject(r *http.Request, _ models.Caller, in idPath) (models.Project, error) {
	return a.Store.GetProject(r.Context(), in.ID)
}

func (a *API) updateProject(r *http.Request, c models.Caller, in struct {
	idPath
	Body ProjectUpdate `body:"json"`
}) (models.Project, error) {
	return a.Store.UpdateProject(r.Context(), c, in.ID, in.Body.Description, in.Body.Enabled)
}
