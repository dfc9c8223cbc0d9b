package compute

import (
	"encoding/base64"
	"encoding/json"
	"net/http"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// lifecycleAction handles Nova's rebuild, shelve, shelveOffload and
// unshelve; ok is false for any other action.
func (c *Compute) lifecycleAction(w http.ResponseWriter, r *http.Request, caller *models.Caller, inst models.Instance,
	name string, arg json.RawMessage) (ok bool, err error) {
	switch name {
	case "rebuild":
		var a struct {
			ImageRef string  `json:"imageRef"`
			Name     *string `json:"name"`
			UserData *string `json:"user_data"`
		}
		if json.Unmarshal(arg, &a) != nil || a.ImageRef == "" {
			return true, service.BadRequest("Invalid input for field/attribute rebuild.imageRef: it is required.")
		}
		in := models.RebuildRequest{Image: a.ImageRef, Name: a.Name}
		if a.UserData != nil {
			b, err := base64.StdEncoding.DecodeString(*a.UserData)
			if err != nil {
				return true, service.BadRequest("Invalid input for field/attribute user_data: it must be base64.")
			}
			ud := string(b)
			in.UserData = &ud
		}
		inst, err := c.Store.RebuildInstance(r.Context(), *caller, inst.ID, in)
		if err != nil {
			return true, err
		}
		return true, c.writeServer(w, r, caller, http.StatusAccepted, inst) // Nova answers the server
	case "shelve":
		_, _, err = c.Store.ShelveInstance(r.Context(), *caller, inst.ID)
	case "shelveOffload":
		_, err = c.Store.ShelveOffloadInstance(r.Context(), *caller, inst.ID)
	case "unshelve":
		// {"unshelve": null}; from 2.77 {"unshelve": {"availability_zone":
		// "az"}} places the server in that zone.
		var a *struct {
			AvailabilityZone *string `json:"availability_zone"`
		}
		if json.Unmarshal(arg, &a) != nil {
			return true, service.BadRequest("Invalid input for field/attribute unshelve: it must be null or an object.")
		}
		zone := ""
		if a != nil && a.AvailabilityZone != nil {
			if !versionOf(r).AtLeast(2, 77) {
				return true, service.BadRequest("Invalid input for field/attribute unshelve.availability_zone: it needs microversion 2.77 or later.")
			}
			if zone = *a.AvailabilityZone; zone == "" {
				return true, service.BadRequest("Invalid input for field/attribute unshelve.availability_zone: it must name a zone.")
			}
		}
		_, err = c.Store.UnshelveInstanceToZone(r.Context(), *caller, inst.ID, zone)
	default:
		return false, nil
	}
	if err != nil {
		return true, err
	}
	service.Empty(w, http.StatusAccepted)
	return true, nil
}
