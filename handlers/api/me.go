package api

import (
	"net/http"

	"stratus/models"
)

// Me is who the token stands for and where they may work.
type Me struct {
	User        Ref           `json:"user"`
	Project     *Ref          `json:"project"`      // the token's project; null when unscoped
	Roles       []models.Role `json:"roles"`        // on that project, implied roles included
	SystemRoles []models.Role `json:"system_roles"` // on the system (operators)
	// Projects are the enabled projects the user has a role on, with the
	// strongest role there: the projects a token may be scoped to.
	Projects []models.ProjectMembership `json:"projects"`
}

// getMe is GET /me.
func (a *API) getMe(r *http.Request, c models.Caller, _ none) (Me, error) {
	projects, err := a.Store.ProjectsOfUser(r.Context(), c.UserID)
	if err != nil {
		return Me{}, err
	}
	return Me{
		User: Ref{ID: c.UserID, Name: c.UserName}, Project: projectRef(c),
		Roles: implied(c.ProjectRole), SystemRoles: implied(c.SystemRole),
		Projects: nonNil(projects),
	}, nil
}
