package identity

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

func (id *Identity) domainView(r *http.Request) map[string]any {
	return map[string]any{
		"id": DomainID, "name": DomainName, "description": "The default domain", "enabled": true,
		"tags": []string{}, "options": map[string]any{},
		"links": map[string]string{"self": id.BaseURL(r) + Prefix + "/v3/domains/" + DomainID},
	}
}

func (id *Identity) listDomains(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	out := []any{}
	q := r.URL.Query()
	if n := q.Get("name"); n == "" || n == DomainName {
		out = append(out, id.domainView(r))
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"domains": out, "links": id.listLinks(r)})
	return nil
}

func (id *Identity) getDomain(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	if d := chi.URLParam(r, "id"); d != DomainID && d != DomainName {
		return service.NotFound("Could not find domain: " + d + ".")
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"domain": id.domainView(r)})
	return nil
}

func (id *Identity) projectView(r *http.Request, p models.Project) map[string]any {
	return map[string]any{
		"id": p.ID, "name": p.Name, "description": p.Description, "enabled": p.Enabled,
		"domain_id": DomainID, "parent_id": DomainID, "is_domain": false, "tags": []string{}, "options": map[string]any{},
		"links": map[string]string{"self": id.BaseURL(r) + Prefix + "/v3/projects/" + p.ID},
	}
}

// findProject is a project named by ID (Keystone's paths take IDs; names
// are accepted too, as Stratus' own API does).
func (id *Identity) findProject(r *http.Request, ref string) (models.Project, error) {
	p, err := id.Store.GetProject(r.Context(), ref)
	if errors.Is(err, models.ErrNotFound) {
		return p, service.NotFound("Could not find project: " + ref + ".")
	}
	return p, err
}

// listProjects is GET /v3/projects with Keystone's filters: name (exact),
// enabled, domain_id.
func (id *Identity) listProjects(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	q := r.URL.Query()
	var list []models.Project
	if name := q.Get("name"); name != "" {
		p, err := id.Store.GetProject(r.Context(), name)
		if err == nil && p.Name == name {
			list = append(list, p)
		} else if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
	} else {
		page, err := id.Store.ListProjects(r.Context(), models.ListOptions{Limit: models.MaxPageSize})
		if err != nil {
			return err
		}
		list = page.Items
	}
	out := []map[string]any{}
	for _, p := range list {
		if d := q.Get("domain_id"); d != "" && d != DomainID {
			continue
		}
		if e := q.Get("enabled"); e != "" && (e == "false" || e == "0") == p.Enabled {
			continue
		}
		out = append(out, id.projectView(r, p))
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"projects": out, "links": id.listLinks(r)})
	return nil
}

type projectBody struct {
	Project struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
		Enabled     *bool   `json:"enabled"`
		DomainID    string  `json:"domain_id"`
		ParentID    string  `json:"parent_id"`
		IsDomain    bool    `json:"is_domain"`
	} `json:"project"`
}

func (b projectBody) check() error {
	p := b.Project
	switch {
	case p.DomainID != "" && p.DomainID != DomainID:
		return service.BadRequest("Stratus has one domain: default.")
	case p.ParentID != "" && p.ParentID != DomainID:
		return service.BadRequest("Stratus projects are not nested: parent_id must be the default domain.")
	case p.IsDomain:
		return service.BadRequest("Stratus has one domain: a project cannot be a domain.")
	}
	return nil
}

func (id *Identity) createProject(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	var in projectBody
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	pi := models.ProjectInput{Enabled: in.Project.Enabled}
	if in.Project.Name != nil {
		pi.Name = *in.Project.Name
	}
	if in.Project.Description != nil {
		pi.Description = *in.Project.Description
	}
	p, err := id.Store.CreateProject(r.Context(), *c, pi)
	if err != nil {
		return conflictOnDuplicate(err, "project")
	}
	service.WriteJSON(w, http.StatusCreated, map[string]any{"project": id.projectView(r, p)})
	return nil
}

// conflictOnDuplicate answers a duplicate name with Keystone's 409.
func conflictOnDuplicate(err error, what string) error {
	var ve *models.ValidationError
	if errors.As(err, &ve) && len(ve.Fields) == 1 && strings.HasSuffix(ve.Fields["name"], " exists") {
		return &service.HTTPError{Status: http.StatusConflict, Message: "Conflict occurred attempting to store " + what + " - " + ve.Fields["name"] + "."}
	}
	return err
}

func (id *Identity) getProject(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	p, err := id.findProject(r, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"project": id.projectView(r, p)})
	return nil
}

func (id *Identity) updateProject(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	p, err := id.findProject(r, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	var in projectBody
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	if in.Project.Name != nil && *in.Project.Name != p.Name {
		return service.BadRequest("Stratus projects cannot be renamed.")
	}
	p, err = id.Store.UpdateProject(r.Context(), *c, p.ID, in.Project.Description, in.Project.Enabled)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"project": id.projectView(r, p)})
	return nil
}
