package api

import (
	"net/http"

	"stratus/models"
)

// UserList is a page of users.
type UserList struct {
	Users []models.User `json:"users"`
	Next  *string       `json:"next"`
}

func (a *API) listUsers(r *http.Request, _ models.Caller, in namedPage) (UserList, error) {
	p, err := a.Store.ListUsers(r.Context(), in.options())
	if err != nil {
		return UserList{}, err
	}
	return UserList{Users: nonNil(p.Items), Next: nextLink(r, p.NextMarker)}, nil
}

func (a *API) createUser(r *http.Request, c models.Caller, in struct {
	Body models.UserInput `body:"json"`
}) (models.User, error) {
	return a.Store.CreateUser(r.Context(), c, in.Body)
}

func (a *API) getUser(r *http.Request, _ models.Caller, in idPath) (models.User, error) {
	return a.Store.GetUser(r.Context(), in.ID)
}

// updateUser enables or disables a user, changes their e-mail, resets their
// password (which ends their sessions and revokes all their tokens) or unlocks them.
func (a *API) updateUser(r *http.Request, c models.Caller, in struct {
	idPath
	Body models.UserUpdate `body:"json"`
}) (models.User, error) {
	return a.Store.UpdateUser(r.Context(), c, in.ID, in.Body)
}
