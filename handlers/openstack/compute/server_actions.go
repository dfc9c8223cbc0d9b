package compute

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// unsupported are Nova actions Stratus does not offer (yet): asked for,
// they are a clear 400 naming the action rather than a silent success.
var unsupported = []string{"lock", "unlock", "rescue", "unrescue", "changePassword", "trigger_crash_dump",
	"os-resetState", "restore", "forceDelete", "createBackup", "addFloatingIp", "removeFloatingIp", "injectNetworkInfo",
	"resetNetwork", "os-getSerialConsole", "os-getSPICEConsole", "os-getRDPConsole"}

// serverAction is POST /servers/{id}/action: the body's one key names the
// action.
func (c *Compute) serverAction(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	inst, err := c.findServer(r, caller)
	if err != nil {
		return err
	}
	var body map[string]json.RawMessage
	if err := service.Decode(w, r, &body); err != nil {
		return err
	}
	if len(body) != 1 {
		return service.BadRequest("Give exactly one action in the body, such as {\"os-start\": null}.")
	}
	for name, arg := range body {
		if ok, err := c.moveAction(w, r, caller, inst, name, arg); ok {
			return err
		}
		if ok, err := c.lifecycleAction(w, r, caller, inst, name, arg); ok {
			return err
		}
		switch name {
		case "os-start":
			return c.power(w, r, caller, inst, models.PowerStart)
		case "os-stop":
			return c.power(w, r, caller, inst, models.PowerStop)
		case "pause", "unpause", "suspend", "resume":
			return c.power(w, r, caller, inst, name) // Nova's names are Stratus' own
		case "createImage":
			var a struct {
				Name     *string           `json:"name"`
				Metadata map[string]string `json:"metadata"`
			}
			if json.Unmarshal(arg, &a) != nil || a.Name == nil {
				return service.BadRequest("Invalid input for field/attribute createImage.name: it is required.")
			}
			return c.createImage(w, r, caller, inst, *a.Name)
		case "reboot":
			var a struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(arg, &a)
			switch strings.ToUpper(a.Type) {
			case "SOFT":
				return c.power(w, r, caller, inst, models.PowerReboot)
			case "HARD":
				return c.power(w, r, caller, inst, models.PowerRebootHard)
			}
			return service.BadRequest("Invalid input for field/attribute reboot.type: must be SOFT or HARD.")
		case "os-getConsoleOutput":
			var a struct {
				Length any `json:"length"`
			}
			_ = json.Unmarshal(arg, &a)
			lines := 0
			switch n := a.Length.(type) {
			case float64:
				lines = int(n)
			case string:
				_ = json.Unmarshal([]byte(n), &lines)
			}
			if lines < -1 {
				return service.BadRequest("Invalid input for field/attribute length: must be -1 (all) or more.")
			}
			out, err := c.Store.ConsoleLog(r.Context(), *caller, inst.ID, lines)
			if err != nil {
				return err
			}
			service.WriteJSON(w, http.StatusOK, map[string]string{"output": out})
			return nil
		case "addSecurityGroup", "removeSecurityGroup":
			var a struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(arg, &a) != nil || a.Name == "" {
				return service.BadRequest("Invalid input for field/attribute " + name + ".name: it is required.")
			}
			return c.changeGroups(w, r, caller, inst, a.Name, name == "addSecurityGroup")
		case "os-getVNCConsole":
			var a struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(arg, &a)
			if a.Type != "novnc" {
				return service.BadRequest("Invalid input for field/attribute type: Stratus offers novnc consoles.")
			}
			url, err := c.openConsole(r, caller, inst)
			if err != nil {
				return err
			}
			service.WriteJSON(w, http.StatusOK, map[string]any{"console": map[string]string{"type": "novnc", "url": url}})
			return nil
		}
		for _, u := range unsupported {
			if u == name {
				return service.BadRequest("Stratus does not offer the " + name + " action.")
			}
		}
		return service.BadRequest("There is no such action: " + name)
	}
	return nil
}

// power starts, stops, reboots, pauses, unpauses, suspends or resumes: 202
// with no body, as Nova answers.
func (c *Compute) power(w http.ResponseWriter, r *http.Request, caller *models.Caller, inst models.Instance, action string) error {
	if _, err := c.Store.PowerAction(r.Context(), *caller, inst.ID, action); err != nil {
		return err
	}
	service.Empty(w, http.StatusAccepted)
	return nil
}

// createImage snapshots the server (Nova's createImage): 202 with the
// image's URL in Location, and from 2.45 its ID in the body.
func (c *Compute) createImage(w http.ResponseWriter, r *http.Request, caller *models.Caller, inst models.Instance, name string) error {
	_, im, err := c.Store.SnapshotInstance(r.Context(), *caller, inst.ID, name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", c.BaseURL(r)+"/image/v2/images/"+im.ID)
	if versionOf(r).AtLeast(2, 45) {
		service.WriteJSON(w, http.StatusAccepted, map[string]string{"image_id": im.ID})
		return nil
	}
	service.Empty(w, http.StatusAccepted)
	return nil
}

// openConsole checks the server can show a console (running, with a VNC
// server recorded by its host) and answers the web UI's noVNC page for it.
// The token the model issues is bound to the user: the page opens the
// console for that user's web session.
func (c *Compute) openConsole(r *http.Request, caller *models.Caller, inst models.Instance) (string, error) {
	if _, err := c.Store.CreateConsoleToken(r.Context(), *caller, inst.ID); err != nil {
		if errors.Is(err, models.ErrConflict) {
			return "", &service.HTTPError{Status: http.StatusConflict, Message: "Instance " + inst.ID + " is not ready: " + err.Error()}
		}
		return "", err
	}
	return c.consoleURL(r, inst), nil
}

// remoteConsole is POST /servers/{id}/remote-consoles (2.6).
func (c *Compute) remoteConsole(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	if err := needs(r, 2, 6); err != nil {
		return err
	}
	inst, err := c.findServer(r, caller)
	if err != nil {
		return err
	}
	var in struct {
		RemoteConsole struct {
			Protocol string `json:"protocol"`
			Type     string `json:"type"`
		} `json:"remote_console"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	if in.RemoteConsole.Protocol != "vnc" || in.RemoteConsole.Type != "novnc" {
		return service.BadRequest("Stratus offers the vnc protocol with the novnc type.")
	}
	url, err := c.openConsole(r, caller, inst)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"remote_console": map[string]string{"protocol": "vnc", "type": "novnc", "url": url}})
	return nil
}

// instanceActionView is one entry of Nova's os-instance-actions.
func (c *Compute) instanceActionView(r *http.Request, a models.InstanceAction, withEvents bool) map[string]any {
	v := map[string]any{
		"action": novaAction(a.Action), "instance_uuid": a.InstanceID, "message": nil, "project_id": a.ProjectID,
		"request_id": a.RequestID, "start_time": novaLaunched(&a.StartedAt), "user_id": a.UserID,
	}
	if a.Result == models.ActionError {
		v["message"] = "Error"
	}
	if versionOf(r).AtLeast(2, 58) {
		updated := a.StartedAt
		if a.FinishedAt != nil {
			updated = *a.FinishedAt
		}
		v["updated_at"] = novaLaunched(&updated)
	}
	if withEvents {
		ev := map[string]any{"event": "compute_" + a.Action, "start_time": novaLaunched(&a.StartedAt),
			"finish_time": novaLaunched(a.FinishedAt), "result": nil}
		switch a.Result {
		case models.ActionSuccess:
			ev["result"] = "Success"
		case models.ActionError:
			ev["result"] = "Error"
		}
		v["events"] = []any{ev}
	}
	return v
}

// novaAction names Stratus' actions as Nova does.
func novaAction(a string) string {
	switch a {
	case models.PowerReboot, models.PowerRebootHard:
		return "reboot"
	case models.ActionSnapshot:
		return "createImage"
	case models.ActionShelveOffload:
		return "shelveOffload"
	}
	return a
}

func (c *Compute) listInstanceActions(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	inst, err := c.findServerAny(r, caller)
	if err != nil {
		return err
	}
	actions, err := c.Store.ListInstanceActions(r.Context(), *caller, inst.ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(actions))
	for i, a := range actions {
		out[i] = c.instanceActionView(r, a, false)
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"instanceActions": out})
	return nil
}

func (c *Compute) getInstanceAction(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	inst, err := c.findServerAny(r, caller)
	if err != nil {
		return err
	}
	actions, err := c.Store.ListInstanceActions(r.Context(), *caller, inst.ID)
	if err != nil {
		return err
	}
	req := chi.URLParam(r, "request")
	for _, a := range actions {
		if a.RequestID == req && req != "" {
			service.WriteJSON(w, http.StatusOK, map[string]any{"instanceAction": c.instanceActionView(r, a, true)})
			return nil
		}
	}
	return service.NotFound("Action for request_id " + req + " on instance " + inst.ID + " not found")
}

// findServerAny is findServer that keeps deleted servers: their action log
// stays readable, as in Nova.
func (c *Compute) findServerAny(r *http.Request, caller *models.Caller) (models.Instance, error) {
	id := chi.URLParam(r, "id")
	if !models.IsUUID(id) {
		return models.Instance{}, service.NotFound("Instance " + id + " could not be found.")
	}
	inst, err := c.Store.GetInstance(r.Context(), *caller, id)
	if errors.Is(err, models.ErrNotFound) {
		return inst, service.NotFound("Instance " + id + " could not be found.")
	}
	return inst, err
}

// changeGroups adds a security group to (or removes one from) every port of
// the server.
func (c *Compute) changeGroups(w http.ResponseWriter, r *http.Request, caller *models.Caller, inst models.Instance, group string, add bool) error {
	current, err := c.Store.InstanceSecurityGroups(r.Context(), *caller, inst.ID)
	if err != nil {
		return err
	}
	var refs []string
	found := false
	for _, g := range current {
		if g.Name == group || g.ID == group {
			found = true
			if !add {
				continue
			}
		}
		refs = append(refs, g.ID)
	}
	switch {
	case add && found:
		service.Empty(w, http.StatusAccepted)
		return nil
	case add:
		refs = append(refs, group)
	case !found:
		return service.BadRequest("Security group " + group + " not associated with the instance " + inst.ID)
	}
	if _, err := c.Store.SetInstanceSecurityGroups(r.Context(), *caller, inst.ID, refs); err != nil {
		var ve *models.ValidationError
		if errors.As(err, &ve) {
			return service.NotFound("Security group " + group + " not found.")
		}
		return err
	}
	service.Empty(w, http.StatusAccepted)
	return nil
}
