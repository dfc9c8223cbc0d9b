package identity

import (
	"net/http"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// v3 is the identity version Stratus speaks (Keystone's 3.14 document).
func (id *Identity) v3(r *http.Request) map[string]any {
	return map[string]any{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []map[string]string{{"rel": "self", "href": id.BaseURL(r) + Prefix + "/v3/"}},
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
	}
}

// versions is GET /identity: 300 Multiple Choices, as Keystone answers.
func (id *Identity) versions(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	service.WriteJSON(w, http.StatusMultipleChoices, map[string]any{"versions": map[string]any{"values": []any{id.v3(r)}}})
	return nil
}

func (id *Identity) version(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	service.WriteJSON(w, http.StatusOK, map[string]any{"version": id.v3(r)})
	return nil
}
