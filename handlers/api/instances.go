package api

import (
	"net/http"
	"slices"
	"strings"

	"stratus/models"
)

// InstanceList is a page of instances, newest first.
type InstanceList struct {
	Instances []Instance `json:"instances"`
	Next      *string    `json:"next"`
}

// LaunchedInstances are the instances one launch request created (count of
// them, named name-1 … name-N when more than one), all in BUILD.
type LaunchedInstances struct {
	Instances []Instance `json:"instances"`
}

// InstanceActionRequest asks for an action: a power action, a move, or a
// snapshot. Resize takes a flavor; migrate, live_migrate and evacuate
// (operators) an optional destination host; live_migrate also
// block_migration (auto, true, false); snapshot the new image's name.
type InstanceActionRequest struct {
	Action         actionName `json:"action"`
	Flavor         string     `json:"flavor,omitempty"`
	Host           string     `json:"host,omitempty"`
	BlockMigration string     `json:"block_migration,omitempty"`
	Name           string     `json:"name,omitempty"`
	// Image, and optionally Name, KeyPair ("" for none) and UserData, of
	// a rebuild; an absent KeyPair or UserData keeps the instance's.
	Image    string  `json:"image,omitempty"`
	KeyPair  *string `json:"keypair,omitempty"`
	UserData *string `json:"user_data,omitempty"`
}

// actionName is one of models.InstanceActions.
type actionName string

// InstanceActionResult is the instance in its new task; a snapshot also
// names the image it is filling.
type InstanceActionResult struct {
	Instance
	SnapshotImageID string `json:"snapshot_image_id,omitempty"`
	// ShelveImageID is the image a shelve keeps the root disk in until
	// the instance is unshelved.
	ShelveImageID string `json:"shelve_image_id,omitempty"`
}

// powerAction is one of models.PowerActions: start, stop, reboot,
// reboot_hard, pause, unpause, suspend, resume.
type powerAction string

// InstanceActionList is an instance's action log, newest first: who asked
// for what, when, and how it ended.
type InstanceActionList struct {
	Actions []models.InstanceAction `json:"actions"`
}

// statusFilter is a Nova status to filter a list by.
type statusFilter string

type instanceQuery struct {
	namedPage
	Status      statusFilter `query:"status" doc:"Only instances with this status."`
	AllProjects bool         `query:"all_projects" doc:"Operators: every project's instances."`
	ProjectID   string       `query:"project_id" format:"uuid" doc:"With all_projects: only this project's instances."`
	Host        string       `query:"host" doc:"With all_projects: only the instances on this host (its name)."`
}

// listInstances is GET /instances: the project's instances, newest first
// (deleted ones are not listed). One query per page, whatever its size.
func (a *API) listInstances(r *http.Request, c models.Caller, in instanceQuery) (InstanceList, error) {
	if in.AllProjects && !a.Policy.Allowed(&c, "compute:instance:list_all") {
		return InstanceList{}, &models.Error{Kind: models.ErrForbidden, Msg: "only operators may list every project's instances"}
	}
	p := models.Problems{}
	if !in.AllProjects {
		if in.ProjectID != "" {
			p.Add("project_id", "give it with all_projects=true")
		}
		if in.Host != "" {
			p.Add("host", "give it with all_projects=true")
		}
	}
	if err := p.Err(); err != nil {
		return InstanceList{}, err
	}
	page, err := a.Store.ListInstances(r.Context(), c, models.InstanceFilter{
		ListOptions: in.options(), Status: string(in.Status),
		AllProjects: in.AllProjects, ProjectID: in.ProjectID, Host: in.Host,
	})
	if err != nil {
		return InstanceList{}, err
	}
	out, err := a.instanceViews(r, c, page.Items)
	if err != nil {
		return InstanceList{}, err
	}
	return InstanceList{Instances: out, Next: nextLink(r, page.NextMarker)}, nil
}

// createInstances is POST /instances: launch count instances. The answer is
// 202: they are in BUILD, and the scheduler and a compute host take them
// from there (poll GET /instances/{id}). Over quota is 403 quota_exceeded,
// and no instance is created.
func (a *API) createInstances(r *http.Request, c models.Caller, in struct {
	Body models.InstanceCreate `body:"json"`
}) (LaunchedInstances, error) {
	insts, err := a.Store.CreateInstances(r.Context(), c, in.Body)
	if err != nil {
		return LaunchedInstances{}, err
	}
	out, err := a.instanceViews(r, c, insts)
	if err != nil {
		return LaunchedInstances{}, err
	}
	return LaunchedInstances{Instances: out}, nil
}

// getInstance shows one of the project's instances (a deleted one stays
// visible, with status DELETED).
func (a *API) getInstance(r *http.Request, c models.Caller, in idPath) (Instance, error) {
	inst, err := a.Store.GetInstance(r.Context(), c, in.ID)
	if err != nil {
		return Instance{}, err
	}
	out, err := a.instanceViews(r, c, []models.Instance{inst})
	if err != nil {
		return Instance{}, err
	}
	return out[0], nil
}

// deleteInstance is DELETE /instances/{id}. It always answers 202 with the
// instance: task_state "deleting" while its host destroys it, or status
// DELETED when there was nothing to destroy (never placed, or its host is
// down). Deleting again while it is being deleted is the same 202.
func (a *API) deleteInstance(r *http.Request, c models.Caller, in idPath) (Instance, error) {
	inst, err := a.Store.DeleteInstance(r.Context(), c, in.ID)
	if err != nil {
		return Instance{}, err
	}
	return instanceView(c, inst), nil
}

// instanceAction is POST /instances/{id}/actions: a power action (start,
// stop, reboot, reboot_hard, pause, unpause, suspend, resume), a snapshot
// {name}, a rebuild {image, name?, keypair?, user_data?}, shelve, unshelve
// (shelve_offload is always a 409: shelving offloads at once), or a move — resize, confirm_resize and revert_resize for the
// project's members; migrate, live_migrate and evacuate for operators. 202
// with the instance in its new task; 409 naming the state when it does not
// allow the action.
func (a *API) instanceAction(r *http.Request, c models.Caller, in struct {
	idPath
	Body InstanceActionRequest `body:"json"`
}) (InstanceActionResult, error) {
	action := string(in.Body.Action)
	var inst models.Instance
	var err error
	switch {
	case action == models.ActionSnapshot:
		var im models.Image
		if inst, im, err = a.Store.SnapshotInstance(r.Context(), c, in.ID, in.Body.Name); err != nil {
			return InstanceActionResult{}, err
		}
		return InstanceActionResult{Instance: instanceView(c, inst), SnapshotImageID: im.ID}, nil
	case action == models.ActionRebuild:
		req := models.RebuildRequest{Image: in.Body.Image, KeyPair: in.Body.KeyPair, UserData: in.Body.UserData}
		if in.Body.Name != "" {
			req.Name = &in.Body.Name
		}
		inst, err = a.Store.RebuildInstance(r.Context(), c, in.ID, req)
	case action == models.ActionShelve:
		var im models.Image
		if inst, im, err = a.Store.ShelveInstance(r.Context(), c, in.ID); err != nil {
			return InstanceActionResult{}, err
		}
		return InstanceActionResult{Instance: instanceView(c, inst), ShelveImageID: im.ID}, nil
	case action == models.ActionShelveOffload:
		inst, err = a.Store.ShelveOffloadInstance(r.Context(), c, in.ID)
	case action == models.ActionUnshelve:
		inst, err = a.Store.UnshelveInstance(r.Context(), c, in.ID)
	case slices.Contains(models.PowerActions(), action):
		inst, err = a.Store.PowerAction(r.Context(), c, in.ID, action)
	case slices.Contains(models.MoveActions(), action):
		if !a.Policy.AllowedMove(&c, action) {
			return InstanceActionResult{}, moveForbidden(action)
		}
		inst, err = a.Store.MoveInstance(r.Context(), c, in.ID, action,
			models.MoveRequest{Flavor: in.Body.Flavor, Host: in.Body.Host, BlockMigration: in.Body.BlockMigration})
	default:
		return InstanceActionResult{}, models.Invalid("action", "must be one of "+strings.Join(models.InstanceActions(), ", "))
	}
	if err != nil {
		return InstanceActionResult{}, err
	}
	return InstanceActionResult{Instance: instanceView(c, inst)}, nil
}

// moveForbidden is the refusal of a move the caller's role does not allow.
func moveForbidden(action string) error {
	if action == models.ActionResize {
		return &models.Error{Kind: models.ErrForbidden, Msg: "you may not resize instances"}
	}
	return &models.Error{Kind: models.ErrForbidden, Msg: "only operators may " + strings.ReplaceAll(action, "_", "-") + " instances"}
}

// MigrationList is an instance's moves, newest first.
type MigrationList struct {
	Migrations []models.InstanceMigration `json:"migrations"`
}

// listInstanceMigrations is GET /instances/{id}/migrations: the instance's
// moves with their progress.
func (a *API) listInstanceMigrations(r *http.Request, c models.Caller, in idPath) (MigrationList, error) {
	if _, err := a.Store.GetInstance(r.Context(), c, in.ID); err != nil {
		return MigrationList{}, err
	}
	ms, err := a.Store.ListMigrations(r.Context(), c, models.MigrationFilter{InstanceID: in.ID, AllProjects: c.IsSystemAdmin()})
	if err != nil {
		return MigrationList{}, err
	}
	return MigrationList{Migrations: nonNil(ms)}, nil
}

func (a *API) listInstanceActions(r *http.Request, c models.Caller, in idPath) (InstanceActionList, error) {
	actions, err := a.Store.ListInstanceActions(r.Context(), c, in.ID)
	if err != nil {
		return InstanceActionList{}, err
	}
	return InstanceActionList{Actions: nonNil(actions)}, nil
}
