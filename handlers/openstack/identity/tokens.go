package identity

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"stratus/handlers/httpx"
	"stratus/handlers/openstack/service"
	"stratus/models"
)

// authRequest is POST /v3/auth/tokens.
type authRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password struct {
				User struct {
					ID       string  `json:"id"`
					Name     string  `json:"name"`
					Password string  `json:"password"`
					Domain   *domRef `json:"domain"`
				} `json:"user"`
			} `json:"password"`
			ApplicationCredential struct {
				ID     string `json:"id"`
				Name   string `json:"name"`
				Secret string `json:"secret"`
			} `json:"application_credential"`
		} `json:"identity"`
		// Scope is absent (unscoped), or names a project or the system.
		Scope *struct {
			Project *struct {
				ID     string  `json:"id"`
				Name   string  `json:"name"`
				Domain *domRef `json:"domain"`
			} `json:"project"`
			System *struct {
				All bool `json:"all"`
			} `json:"system"`
			Domain *domRef `json:"domain"`
		} `json:"scope"`
	} `json:"auth"`
}

// domRef names a domain by ID or name; only Default exists.
type domRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (d *domRef) isDefault() bool {
	return d == nil || (d.ID == "" && d.Name == "") || d.ID == DomainID || (d.ID == "" && strings.EqualFold(d.Name, DomainName))
}

// unauthorized is Keystone's answer to a failed authentication: the same
// for every reason, so it tells nothing about which names exist.
func unauthorized() error {
	return &service.HTTPError{Status: http.StatusUnauthorized, Message: "The request you have made requires authentication."}
}

// issueToken is POST /v3/auth/tokens: 201 with the token in X-Subject-Token
// and its description (user, scope, roles, catalog) in the body.
func (id *Identity) issueToken(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	var in authRequest
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	ident := in.Auth.Identity
	switch {
	case len(ident.Methods) == 1 && ident.Methods[0] == "application_credential":
		return id.appCredToken(w, r, in)
	case len(ident.Methods) != 1 || ident.Methods[0] != "password":
		return service.BadRequest("Stratus authenticates with the password or application_credential method.")
	}
	u := ident.Password.User
	if u.Password == "" || (u.ID == "" && u.Name == "") {
		return service.BadRequest("Give the user's password and its id, or its name and domain.")
	}
	if !u.Domain.isDefault() {
		return unauthorized()
	}
	name := u.Name
	if u.ID != "" {
		// Users are looked up by name at login: find the name for the ID.
		user, err := id.Store.GetUser(r.Context(), u.ID)
		if errors.Is(err, models.ErrNotFound) || (err == nil && user.ID != u.ID) {
			return unauthorized()
		} else if err != nil {
			return err
		}
		name = user.Name
	}
	project, system := "", false
	if s := in.Auth.Scope; s != nil {
		switch {
		case s.Project != nil:
			if s.Project.ID == "" && !s.Project.Domain.isDefault() {
				return unauthorized()
			}
			project = s.Project.ID
			if project == "" {
				project = s.Project.Name
			}
			if project == "" {
				return service.BadRequest("Name the project by id, or by name and domain.")
			}
		case s.System != nil && s.System.All:
			system = true
		case s.Domain != nil:
			return unauthorized() // Stratus has project and system scope only
		}
	}
	issued, err := id.Store.IssueLoginToken(r.Context(), models.LoginInput{
		Username: name, Password: u.Password, RemoteAddr: httpx.RemoteHost(r), RequestID: httpx.RequestID(r),
	}, project)
	if errors.Is(err, models.ErrUnauthenticated) || errors.Is(err, models.ErrForbidden) {
		return unauthorized()
	} else if err != nil {
		return err
	}
	if system && issued.Caller.SystemRole == "" {
		_ = id.Store.RevokeToken(r.Context(), issued.Caller, issued.Token.ID)
		return unauthorized()
	}
	w.Header().Set("X-Subject-Token", issued.Secret)
	service.WriteJSON(w, http.StatusCreated, map[string]any{
		"token": id.tokenBody(r, issued.Token, issued.Caller, []string{"password"}, true),
	})
	return nil
}

// appCredToken authenticates with an application credential: a Stratus API
// token, whose secret is itself the token (it expires when the credential
// does, and revoking the credential revokes it).
func (id *Identity) appCredToken(w http.ResponseWriter, r *http.Request, in authRequest) error {
	ac := in.Auth.Identity.ApplicationCredential
	if ac.Secret == "" {
		return service.BadRequest("Give the application credential's id and secret.")
	}
	t, c, err := id.Store.InspectToken(r.Context(), ac.Secret)
	if errors.Is(err, models.ErrUnauthenticated) || (err == nil && (t.Kind != models.TokenAPI || (ac.ID != "" && ac.ID != t.ID))) {
		return unauthorized()
	} else if err != nil {
		return err
	}
	w.Header().Set("X-Subject-Token", ac.Secret)
	service.WriteJSON(w, http.StatusCreated, map[string]any{
		"token": id.tokenBody(r, t, c, []string{"application_credential"}, true),
	})
	return nil
}

// tokenBody describes a token as Keystone does. Stratus stores no scope
// kind: a token without a project is system-scoped when its user has a
// system role, else unscoped.
func (id *Identity) tokenBody(r *http.Request, t models.Token, c models.Caller, methods []string, withCatalog bool) map[string]any {
	audit := base64.RawURLEncoding.EncodeToString([]byte(t.ID))[:22]
	body := map[string]any{
		"methods": methods,
		"user": map[string]any{
			"id": c.UserID, "name": c.UserName, "password_expires_at": nil,
			"domain": map[string]string{"id": DomainID, "name": DomainName},
		},
		"audit_ids":  []string{audit},
		"expires_at": keystoneTime(t.ExpiresAt),
		"issued_at":  keystoneTime(t.CreatedAt),
	}
	var roles []models.Role
	switch {
	case c.ProjectID != "":
		body["project"] = map[string]any{"id": c.ProjectID, "name": c.ProjectName, "domain": map[string]string{"id": DomainID, "name": DomainName}}
		body["is_domain"] = false
		roles = implied(c.ProjectRole)
	case c.SystemRole != "":
		body["system"] = map[string]bool{"all": true}
		roles = implied(c.SystemRole)
	}
	if roles != nil {
		refs := make([]map[string]string, len(roles))
		for i, ro := range roles {
			refs[i] = map[string]string{"id": string(ro), "name": string(ro)}
		}
		body["roles"] = refs
		if withCatalog {
			body["catalog"] = id.Catalog(r, c.ProjectID)
		}
	}
	return body
}

// keystoneTime is Keystone's time format: UTC, microseconds, Z.
func keystoneTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// implied lists a role with the roles it implies, strongest first (as
// Keystone lists inferred roles).
func implied(r models.Role) []models.Role {
	var out []models.Role
	for i := len(models.Roles) - 1; i >= 0; i-- {
		if r.AtLeast(models.Roles[i]) {
			out = append(out, models.Roles[i])
		}
	}
	return out
}

// subject resolves X-Subject-Token. A user may look at and revoke their
// own tokens; operators and service accounts (system readers) at anyone's.
func (id *Identity) subject(r *http.Request, c *models.Caller) (models.Token, models.Caller, error) {
	secret := r.Header.Get("X-Subject-Token")
	if secret == "" {
		return models.Token{}, models.Caller{}, service.BadRequest("The X-Subject-Token header is required.")
	}
	t, sc, err := id.Store.InspectToken(r.Context(), secret)
	if errors.Is(err, models.ErrUnauthenticated) || (err == nil && sc.UserID != c.UserID && !c.SystemRole.AtLeast(models.RoleReader)) {
		return t, sc, service.NotFound("Failed to validate token.")
	}
	return t, sc, err
}

// validateToken is GET /v3/auth/tokens: the subject token described (with
// its catalog unless ?nocatalog).
func (id *Identity) validateToken(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	t, sc, err := id.subject(r, c)
	if err != nil {
		return err
	}
	method := "password"
	if t.Kind == models.TokenAPI {
		method = "application_credential"
	}
	w.Header().Set("X-Subject-Token", r.Header.Get("X-Subject-Token"))
	_, noCatalog := r.URL.Query()["nocatalog"]
	service.WriteJSON(w, http.StatusOK, map[string]any{"token": id.tokenBody(r, t, sc, []string{method}, !noCatalog)})
	return nil
}

// checkToken is HEAD /v3/auth/tokens: 200 for a valid subject, 404 not.
func (id *Identity) checkToken(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if _, _, err := id.subject(r, c); err != nil {
		return err
	}
	w.Header().Set("X-Subject-Token", r.Header.Get("X-Subject-Token"))
	service.Empty(w, http.StatusOK)
	return nil
}

// revokeToken is DELETE /v3/auth/tokens.
func (id *Identity) revokeToken(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	secret := r.Header.Get("X-Subject-Token")
	if secret == "" {
		return service.BadRequest("The X-Subject-Token header is required.")
	}
	if err := id.Store.RevokeTokenSecret(r.Context(), *c, secret); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return service.NotFound("Failed to validate token.")
		}
		return err
	}
	service.Empty(w, http.StatusNoContent)
	return nil
}

// catalog is GET /v3/auth/catalog.
func (id *Identity) catalog(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if c.ProjectID == "" && c.SystemRole == "" {
		return service.Forbidden("An unscoped token has no catalog.")
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{
		"catalog": id.Catalog(r, c.ProjectID),
		"links":   map[string]any{"self": id.BaseURL(r) + Prefix + "/v3/auth/catalog", "previous": nil, "next": nil},
	})
	return nil
}

// authProjects is GET /v3/auth/projects: where this user may scope a token.
func (id *Identity) authProjects(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	return id.writeUserProjects(w, r, c.UserID)
}

func (id *Identity) writeUserProjects(w http.ResponseWriter, r *http.Request, userID string) error {
	ms, err := id.Store.ProjectsOfUser(r.Context(), userID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(ms))
	for i, m := range ms {
		out[i] = id.projectView(r, m.Project)
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"projects": out, "links": id.listLinks(r)})
	return nil
}

// authSystem is GET /v3/auth/system.
func (id *Identity) authSystem(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	system := []map[string]bool{}
	if c.SystemRole != "" {
		system = append(system, map[string]bool{"all": true})
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"system": system, "links": id.listLinks(r)})
	return nil
}

func (id *Identity) authDomains(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	service.WriteJSON(w, http.StatusOK, map[string]any{"domains": []any{}, "links": id.listLinks(r)})
	return nil
}

func (id *Identity) listLinks(r *http.Request) map[string]any {
	return map[string]any{"self": id.BaseURL(r) + r.URL.RequestURI(), "previous": nil, "next": nil}
}
