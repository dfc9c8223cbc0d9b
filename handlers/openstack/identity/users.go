package identity

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

func (id *Identity) userView(r *http.Request, u models.User) map[string]any {
	v := map[string]any{
		"id": u.ID, "name": u.Name, "enabled": u.Enabled, "domain_id": DomainID,
		"password_expires_at": nil, "options": map[string]any{},
		"links": map[string]string{"self": id.BaseURL(r) + Prefix + "/v3/users/" + u.ID},
	}
	if u.Email != "" {
		v["email"] = u.Email
	}
	return v
}

func (id *Identity) findUser(r *http.Request, ref string) (models.User, error) {
	u, err := id.Store.GetUser(r.Context(), ref)
	if errors.Is(err, models.ErrNotFound) {
		return u, service.NotFound("Could not find user: " + ref + ".")
	}
	return u, err
}

// listUsers is GET /v3/users with the name (exact), enabled and domain_id
// filters.
func (id *Identity) listUsers(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	q := r.URL.Query()
	var list []models.User
	if name := q.Get("name"); name != "" {
		u, err := id.Store.GetUser(r.Context(), name)
		if err == nil && u.Name == name {
			list = append(list, u)
		} else if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
	} else {
		page, err := id.Store.ListUsers(r.Context(), models.ListOptions{Limit: models.MaxPageSize})
		if err != nil {
			return err
		}
		list = page.Items
	}
	out := []map[string]any{}
	for _, u := range list {
		if d := q.Get("domain_id"); d != "" && d != DomainID {
			continue
		}
		if e := q.Get("enabled"); e != "" && (e == "false" || e == "0") == u.Enabled {
			continue
		}
		out = append(out, id.userView(r, u))
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"users": out, "links": id.listLinks(r)})
	return nil
}

type userBody struct {
	User struct {
		Name     *string `json:"name"`
		Password *string `json:"password"`
		Email    *string `json:"email"`
		Enabled  *bool   `json:"enabled"`
		DomainID string  `json:"domain_id"`
		// DefaultProjectID is accepted and ignored: in Keystone it gives
		// no role either, and Stratus tokens name their project.
		DefaultProjectID string `json:"default_project_id"`
	} `json:"user"`
}

func (id *Identity) createUser(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	var in userBody
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	if in.User.DomainID != "" && in.User.DomainID != DomainID {
		return service.BadRequest("Stratus has one domain: default.")
	}
	ui := models.UserInput{Enabled: in.User.Enabled}
	if in.User.Name != nil {
		ui.Name = *in.User.Name
	}
	if in.User.Password != nil {
		ui.Password = *in.User.Password
	}
	if in.User.Email != nil {
		ui.Email = *in.User.Email
	}
	u, err := id.Store.CreateUser(r.Context(), *c, ui)
	if err != nil {
		return conflictOnDuplicate(err, "user")
	}
	service.WriteJSON(w, http.StatusCreated, map[string]any{"user": id.userView(r, u)})
	return nil
}

func (id *Identity) getUser(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	u, err := id.findUser(r, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"user": id.userView(r, u)})
	return nil
}

// updateUser is PATCH /v3/users/{id}: e-mail, enabled, and an operator's
// password reset (which revokes all the user's tokens).
func (id *Identity) updateUser(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	u, err := id.findUser(r, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	var in userBody
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	if in.User.Name != nil && *in.User.Name != u.Name {
		return service.BadRequest("Stratus users cannot be renamed.")
	}
	u, err = id.Store.UpdateUser(r.Context(), *c, u.ID, models.UserUpdate{Email: in.User.Email, Enabled: in.User.Enabled, Password: in.User.Password})
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"user": id.userView(r, u)})
	return nil
}

// userProjects is GET /v3/users/{id}/projects: a user's own projects, or
// anyone's for an operator.
func (id *Identity) userProjects(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	uid := chi.URLParam(r, "id")
	if uid != c.UserID {
		if !id.Policy.Allowed(c, "identity:project:list") {
			return service.Forbidden("You may list only your own projects.")
		}
		u, err := id.findUser(r, uid)
		if err != nil {
			return err
		}
		uid = u.ID
	}
	return id.writeUserProjects(w, r, uid)
}
