package compute

import (
	"net/http"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

func (c *Compute) v21(r *http.Request) map[string]any {
	return map[string]any{
		"id": "v2.1", "status": "CURRENT", "version": MaxVersion.String(), "min_version": MinVersion.String(),
		"updated": "2013-07-23T11:33:21Z",
		"links": []map[string]string{
			{"rel": "self", "href": c.BaseURL(r) + Prefix + "/v2.1/"},
			{"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
		},
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}},
	}
}

func (c *Compute) versions(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	service.WriteJSON(w, http.StatusOK, map[string]any{"versions": []any{c.v21(r)}})
	return nil
}

func (c *Compute) version(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	service.WriteJSON(w, http.StatusOK, map[string]any{"version": c.v21(r)})
	return nil
}
