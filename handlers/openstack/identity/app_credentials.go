package identity

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// Application credentials are Stratus' named API tokens: scoped to the
// project of the token that creates them, expiring, revocable, with the
// creator's roles there. The secret is the token itself, shown once; it
// authenticates with the application_credential method (or straight as an
// X-Auth-Token).

func (id *Identity) appCredView(r *http.Request, c *models.Caller, t models.Token, secret string) map[string]any {
	v := map[string]any{
		"id": t.ID, "name": t.Name, "description": nil, "project_id": t.ProjectID, "user_id": t.UserID,
		"expires_at": keystoneTime(t.ExpiresAt), "unrestricted": false, "access_rules": []any{},
		"roles": []map[string]string{},
		"links": map[string]string{"self": id.BaseURL(r) + Prefix + "/v3/users/" + t.UserID + "/application_credentials/" + t.ID},
	}
	if t.ProjectID == c.ProjectID {
		roles := []map[string]string{}
		for _, ro := range implied(c.ProjectRole) {
			roles = append(roles, map[string]string{"id": string(ro), "name": string(ro)})
		}
		v["roles"] = roles
	}
	if secret != "" {
		v["secret"] = secret
	}
	return v
}

// ownUser refuses another user's credentials (Keystone: 404 for them).
func ownUser(r *http.Request, c *models.Caller) error {
	if chi.URLParam(r, "id") != c.UserID {
		return service.NotFound("Could not find user: " + chi.URLParam(r, "id") + ".")
	}
	return nil
}

func (id *Identity) listAppCreds(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := ownUser(r, c); err != nil {
		return err
	}
	tokens, err := id.Store.ListAPITokens(r.Context(), *c)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	now := id.Store.Now()
	for _, t := range tokens {
		if t.RevokedAt != nil || !t.ExpiresAt.After(now) {
			continue
		}
		if n := r.URL.Query().Get("name"); n != "" && n != t.Name {
			continue
		}
		out = append(out, id.appCredView(r, c, t, ""))
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"application_credentials": out, "links": id.listLinks(r)})
	return nil
}

func (id *Identity) findAppCred(r *http.Request, c *models.Caller) (models.Token, error) {
	if err := ownUser(r, c); err != nil {
		return models.Token{}, err
	}
	ref := chi.URLParam(r, "cred")
	tokens, err := id.Store.ListAPITokens(r.Context(), *c)
	if err != nil {
		return models.Token{}, err
	}
	for _, t := range tokens {
		if (t.ID == ref || t.Name == ref) && t.RevokedAt == nil {
			return t, nil
		}
	}
	return models.Token{}, service.NotFound("Could not find Application Credential: " + ref + ".")
}

func (id *Identity) getAppCred(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	t, err := id.findAppCred(r, c)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"application_credential": id.appCredView(r, c, t, "")})
	return nil
}

func (id *Identity) createAppCred(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := ownUser(r, c); err != nil {
		return err
	}
	var in struct {
		ApplicationCredential struct {
			Name         string     `json:"name"`
			ExpiresAt    *time.Time `json:"expires_at"`
			Secret       string     `json:"secret"`
			Roles        []any      `json:"roles"`
			Unrestricted bool       `json:"unrestricted"`
		} `json:"application_credential"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	ac := in.ApplicationCredential
	switch {
	case ac.Secret != "":
		return service.BadRequest("Stratus chooses application credential secrets: leave secret out.")
	case len(ac.Roles) > 0:
		return service.BadRequest("An application credential holds the creator's roles on the project: leave roles out.")
	case ac.Unrestricted:
		return service.BadRequest("Stratus application credentials cannot create other credentials: unrestricted is not offered.")
	}
	t, err := id.Store.CreateAPIToken(r.Context(), *c, models.APITokenInput{Name: ac.Name, ExpiresAt: ac.ExpiresAt})
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusCreated, map[string]any{"application_credential": id.appCredView(r, c, t.Token, t.Secret)})
	return nil
}

func (id *Identity) deleteAppCred(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	t, err := id.findAppCred(r, c)
	if err != nil {
		return err
	}
	if err := id.Store.RevokeToken(r.Context(), *c, t.ID); err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	service.Empty(w, http.StatusNoContent)
	return nil
}
