package api

import (
	"net/http"

	"stratus/models"
)

// quotaResource names what a quota limits: instances, vcpus, ram_mb,
// keypairs, images.
type quotaResource string

// QuotaUse is one resource's limit and what the project uses of it.
type QuotaUse struct {
	Limit int64 `json:"limit"` // -1: unlimited
	Used  int64 `json:"used"`
}

// QuotaSet is a project's quotas: every resource with its limit and use.
type QuotaSet struct {
	ProjectID string                     `json:"project_id"`
	Resources map[quotaResource]QuotaUse `json:"resources"`
}

// quotaPath names a project by ID or name.
type quotaPath struct {
	Project string `path:"project" doc:"The project's ID or name."`
}

func quotaSet(projectID string, lines []models.QuotaLine) QuotaSet {
	q := QuotaSet{ProjectID: projectID, Resources: make(map[quotaResource]QuotaUse, len(lines))}
	for _, l := range lines {
		q.Resources[quotaResource(l.Resource)] = QuotaUse{Limit: l.Limit, Used: l.Used}
	}
	return q
}

// usage is GET /usage: the caller's project's limits and use.
func (a *API) usage(r *http.Request, c models.Caller, _ none) (QuotaSet, error) {
	lines, err := a.Store.ProjectQuotas(r.Context(), c.ProjectID)
	if err != nil {
		return QuotaSet{}, err
	}
	return quotaSet(c.ProjectID, lines), nil
}

func (a *API) getQuotas(r *http.Request, _ models.Caller, in quotaPath) (QuotaSet, error) {
	pr, err := a.Store.GetProject(r.Context(), in.Project)
	if err != nil {
		return QuotaSet{}, err
	}
	lines, err := a.Store.ProjectQuotas(r.Context(), pr.ID)
	if err != nil {
		return QuotaSet{}, err
	}
	return quotaSet(pr.ID, lines), nil
}

// setQuotas is PUT /quotas/{project}: {"instances": 20, "vcpus": -1, …}
// sets the limits named (-1 is unlimited) and leaves the others as they are.
func (a *API) setQuotas(r *http.Request, c models.Caller, in struct {
	quotaPath
	Body map[quotaResource]int64 `body:"json"`
}) (QuotaSet, error) {
	pr, err := a.Store.GetProject(r.Context(), in.Project)
	if err != nil {
		return QuotaSet{}, err
	}
	limits := make(map[string]int64, len(in.Body))
	for k, v := range in.Body {
		limits[string(k)] = v
	}
	lines, err := a.Store.SetQuotas(r.Context(), c, pr.ID, limits)
	if err != nil {
		return QuotaSet{}, err
	}
	return quotaSet(pr.ID, lines), nil
}

// resetQuotas is DELETE /quotas/{project}: the limits named by ?resource=
// (every resource without one) go back to the defaults.
func (a *API) resetQuotas(r *http.Request, c models.Caller, in struct {
	quotaPath
	Resources []quotaResource `query:"resource" doc:"A resource to reset (repeat it for several); without one, every resource."`
}) (QuotaSet, error) {
	pr, err := a.Store.GetProject(r.Context(), in.Project)
	if err != nil {
		return QuotaSet{}, err
	}
	resources := models.QuotaResources()
	if len(in.Resources) > 0 {
		resources = make([]string, len(in.Resources))
		for i, res := range in.Resources {
			resources[i] = string(res)
		}
	}
	lines, err := a.Store.ResetQuotas(r.Context(), c, pr.ID, resources)
	if err != nil {
		return QuotaSet{}, err
	}
	return quotaSet(pr.ID, lines), nil
}
