package api

import (
	"net/http"

	"stratus/models"
)

// ServerGroupList is a page of the project's server groups, by name, each
// with its live members.
type ServerGroupList struct {
	ServerGroups []models.ServerGroup `json:"server_groups"`
	Next         *string              `json:"next"`
}

// serverGroupPath names a server group of the caller's project by ID or
// name.
type serverGroupPath struct {
	ID string `path:"id" doc:"The server group's ID or name."`
}

func (a *API) listServerGroups(r *http.Request, c models.Caller, in namedPage) (ServerGroupList, error) {
	p, err := a.Store.ListServerGroupsPage(r.Context(), c, in.options())
	if err != nil {
		return ServerGroupList{}, err
	}
	return ServerGroupList{ServerGroups: nonNil(p.Items), Next: nextLink(r, p.NextMarker)}, nil
}

// createServerGroup adds a group whose members the scheduler places on one
// host (affinity) or on different hosts (anti-affinity).
func (a *API) createServerGroup(r *http.Request, c models.Caller, in struct {
	Body models.ServerGroupInput `body:"json"`
}) (models.ServerGroup, error) {
	return a.Store.CreateServerGroup(r.Context(), c, in.Body)
}

func (a *API) getServerGroup(r *http.Request, c models.Caller, in serverGroupPath) (models.ServerGroup, error) {
	return a.Store.GetServerGroup(r.Context(), c, in.ID)
}

// deleteServerGroup removes a group; its members stay, ungrouped.
func (a *API) deleteServerGroup(r *http.Request, c models.Caller, in serverGroupPath) (none, error) {
	return none{}, a.Store.DeleteServerGroup(r.Context(), c, in.ID)
}
