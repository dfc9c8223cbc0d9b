package compute

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// Nova's move actions over the same model intents as the API: resize,
// confirmResize, revertResize (members), and the operators' migrate,
// os-migrateLive and evacuate; os-migrations lists moves.

// moveAction runs one move action of POST /servers/{id}/action; ok is
// false for an action that is not a move.
func (c *Compute) moveAction(w http.ResponseWriter, r *http.Request, caller *models.Caller, inst models.Instance,
	name string, arg json.RawMessage) (ok bool, err error) {
	var action string
	var in models.MoveRequest
	status := http.StatusAccepted
	switch name {
	case "resize":
		var a struct {
			FlavorRef string `json:"flavorRef"`
		}
		if json.Unmarshal(arg, &a) != nil || a.FlavorRef == "" {
			return true, service.BadRequest("Invalid input for field/attribute resize.flavorRef: it is required.")
		}
		action, in.Flavor = models.ActionResize, a.FlavorRef
	case "confirmResize":
		action, status = models.ActionConfirmResize, http.StatusNoContent
	case "revertResize":
		action = models.ActionRevertResize
	case "migrate":
		var a struct {
			Host *string `json:"host"`
		}
		_ = json.Unmarshal(arg, &a) // null: the scheduler picks
		action = models.ActionMigrate
		if a.Host != nil {
			in.Host = *a.Host
		}
	case "os-migrateLive":
		var a struct {
			Host           *string `json:"host"`
			BlockMigration any     `json:"block_migration"`
		}
		if json.Unmarshal(arg, &a) != nil {
			return true, service.BadRequest("Invalid input for field/attribute os-migrateLive.")
		}
		action = models.ActionLiveMigrate
		if a.Host != nil {
			in.Host = *a.Host
		}
		switch v := a.BlockMigration.(type) {
		case nil:
		case bool:
			in.BlockMigration = fmt.Sprint(v)
		case string:
			in.BlockMigration = strings.ToLower(v)
		}
	case "evacuate":
		var a struct {
			Host *string `json:"host"`
		}
		_ = json.Unmarshal(arg, &a)
		action, status = models.ActionEvacuate, http.StatusOK
		if a.Host != nil {
			in.Host = *a.Host
		}
	default:
		return false, nil
	}
	if !c.Policy.AllowedMove(caller, action) {
		return true, &service.HTTPError{Status: http.StatusForbidden, Message: "Policy doesn't allow " + name + " to be performed."}
	}
	if _, err := c.Store.MoveInstance(r.Context(), *caller, inst.ID, action, in); err != nil {
		return true, err
	}
	if status == http.StatusOK {
		service.WriteJSON(w, status, map[string]any{})
	} else {
		service.Empty(w, status)
	}
	return true, nil
}

// listMigrations is GET /os-migrations (operators): every project's moves,
// newest first, in Nova's shape.
func (c *Compute) listMigrations(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	q := r.URL.Query()
	ms, err := c.Store.ListMigrations(r.Context(), *caller, models.MigrationFilter{AllProjects: true,
		InstanceID: q.Get("instance_uuid"), Status: q.Get("status"), Host: q.Get("host")})
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(ms))
	for i, m := range ms {
		out = append(out, map[string]any{
			"id": len(ms) - i, "uuid": m.ID, "instance_uuid": m.InstanceID, "migration_type": string(m.Type), "status": m.Status,
			"source_compute": m.SourceCompute, "dest_compute": m.DestCompute, "source_node": m.SourceCompute, "dest_node": m.DestCompute,
			"dest_host": m.DestCompute, "old_instance_type_id": m.OldFlavorID, "new_instance_type_id": m.NewFlavorID,
			"project_id": m.ProjectID, "created_at": novaLaunched(&m.CreatedAt), "updated_at": novaLaunched(&m.UpdatedAt),
		})
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"migrations": out})
	return nil
}
