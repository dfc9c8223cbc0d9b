package compute

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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
		in, err := rebuildRequest(r, arg)
		if err != nil {
			return true, err
		}
		inst, err := c.Store.RebuildInstance(r.Context(), *caller, inst.ID, in)
		var ve *models.ValidationError
		if errors.As(err, &ve) && ve.Fields["keypair"] != "" {
			return true, service.BadRequest("Invalid key_name provided.") // as a launch says
		}
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

// rebuildRequest translates Nova's rebuild: imageRef, name, key_name (from
// microversion 2.54: a key pair of the caller's, or null for none) and
// user_data (from 2.57: base64, or null for none). Below its microversion
// a field is a 400 naming it, as Nova's schema refuses it. adminPass is
// ignored, as on a create: Stratus has no guest agent and puts no password
// in the config drive. preserve_ephemeral true is refused by the model for
// a server with an ephemeral disk, which the rebuild makes anew.
func rebuildRequest(r *http.Request, arg json.RawMessage) (models.RebuildRequest, error) {
	var a struct {
		ImageRef          string  `json:"imageRef"`
		Name              *string `json:"name"`
		PreserveEphemeral bool    `json:"preserve_ephemeral"`
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(arg, &fields) != nil {
		return models.RebuildRequest{}, service.BadRequest("Invalid input for field/attribute rebuild: it must be an object.")
	}
	var typ *json.UnmarshalTypeError
	if err := json.Unmarshal(arg, &a); errors.As(err, &typ) {
		return models.RebuildRequest{}, service.BadRequest(fmt.Sprintf("Invalid input for field/attribute rebuild.%s: expected %s.", typ.Field, typ.Type))
	} else if err != nil || a.ImageRef == "" {
		return models.RebuildRequest{}, service.BadRequest("Invalid input for field/attribute rebuild.imageRef: it is required.")
	}
	in := models.RebuildRequest{Image: a.ImageRef, Name: a.Name, PreserveEphemeral: a.PreserveEphemeral}
	v := versionOf(r)
	// nullable reads a field that is a string or null (for none, the
	// model's ""): nil when absent.
	nullable := func(name string, major, minor int) (*string, error) {
		raw, ok := fields[name]
		if !ok {
			return nil, nil
		}
		if !v.AtLeast(major, minor) {
			return nil, service.BadRequest(fmt.Sprintf("Invalid input for field/attribute rebuild.%s: it needs microversion %d.%d or later.", name, major, minor))
		}
		var s *string
		if json.Unmarshal(raw, &s) != nil {
			return nil, service.BadRequest(fmt.Sprintf("Invalid input for field/attribute rebuild.%s: it must be a string or null.", name))
		}
		if s == nil {
			return new(string), nil
		}
		return s, nil
	}
	var err error
	if in.KeyPair, err = nullable("key_name", 2, 54); err != nil {
		return in, err
	}
	if string(fields["key_name"]) == `""` {
		return in, service.BadRequest("Invalid input for field/attribute rebuild.key_name: it names a key pair, or is null for none.")
	}
	if in.UserData, err = nullable("user_data", 2, 57); err != nil {
		return in, err
	}
	if in.UserData != nil && *in.UserData != "" {
		b, err := base64.StdEncoding.DecodeString(*in.UserData)
		if err != nil {
			return in, service.BadRequest("Invalid input for field/attribute rebuild.user_data: it must be base64.")
		}
		ud := string(b)
		in.UserData = &ud
	}
	return in, nil
}
