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
	p, err := d.Store.GetProject(r.Context(), ref)
	if errors.Is(err, models.ErrNotFound) {
		return "", NotFound("Project " + ref + " could not be found.")
	}
	return p.ID, err
}
