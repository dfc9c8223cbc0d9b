package service

import (
	"errors"
	"net/http"

	"stratus/models"
)

// QuotaProject is the project (ID or name) a quota route names: the
// caller's own needs nothing more; another needs compute:quota:get (an
// operator). denied is the refusal in the service's own words.
func (d Deps) QuotaProject(r *http.Request, c *models.Caller, ref, denied string) (string, error) {
	if ref == c.ProjectID {
		return ref, nil
	}
	if !d.Policy.Allowed(c, "compute:quota:get") {
		return "", Forbidden(denied)
	}
	return d.Project(r, ref)
}

// Project is the ID of the project (ID or name) a route names, or the
// services' 404 naming it.
func (d Deps) Project(r *http.Request, ref string) (string, error) {
	p, err := d.Store.GetProject(r.Context(), ref)
	if errors.Is(err, models.ErrNotFound) {
		return "", NotFound("Project " + ref + " could not be found.")
	}
	return p.ID, err
}
