package api

import (
	"net/http"
	"slices"

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

// InstanceActionRequest asks for a power action.
type InstanceActionRequest struct {
	Action powerAction `json:"action"`
}

// powerAction is start, stop, reboot or reboot_hard.
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
func (a *API) listInstances(r *http.Request, in instanceQuery) (InstanceList, error) {
	c, err := caller(r)
	if err != nil {
		return InstanceList{}, err
	}
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
	out := make([]Instance, len(page.Items))
	for i, inst := range page.Items {
		out[i] = instanceView(c, inst)
	}
	return InstanceList{Instances: out, Next: nextLink(r, page.NextMarker)}, nil
}

// createInstances is POST /instances: launch count instances. The answer is
// 202: they are in BUILD, and the scheduler and a compute host take them
// from there (poll GET /instances/{id}). Over quota is 403 quota_exceeded,
// and no instance is created.
func (a *API) createInstances(r *http.Request, in struct {
	Body models.InstanceCreate `body:"json"`
}) (LaunchedInstances, error) {
	c, err := caller(r)
	if err != nil {
		return LaunchedInstances{}, err
	}
	insts, err := a.Store.CreateInstances(r.Context(), c, in.Body)
	if err != nil {
		return LaunchedInstances{}, err
	}
	out := make([]Instance, len(insts))
	for i, inst := range insts {
		out[i] = instanceView(c, inst)
	}
	return LaunchedInstances{Instances: out}, nil
}

// getInstance shows one of the project's instances (a deleted one stays
// visible, with status DELETED).
func (a *API) getInstance(r *http.Request, in idPath) (Instance, error) {
	c, err := caller(r)
	if err != nil {
		return Instance{}, err
	}
	inst, err := a.Store.GetInstance(r.Context(), c, in.ID)
	if err != nil {
		return Instance{}, err
	}
	return instanceView(c, inst), nil
}

// deleteInstance is DELETE /instances/{id}. It always answers 202 with the
// instance: task_state "deleting" while its host destroys it, or status
// DELETED when there was nothing to destroy (never placed, or its host is
// down). Deleting again while it is being deleted is the same 202.
func (a *API) deleteInstance(r *http.Request, in idPath) (Instance, error) {
	c, err := caller(r)
	if err != nil {
		return Instance{}, err
	}
	inst, err := a.Store.DeleteInstance(r.Context(), c, in.ID)
	if err != nil {
		return Instance{}, err
	}
	return instanceView(c, inst), nil
}

// instanceAction is POST /instances/{id}/actions: start, stop, reboot or
// reboot_hard. 202 with the instance in its new task; 409 while another
// task runs or when the state does not allow it (stopping a stopped one).
func (a *API) instanceAction(r *http.Request, in struct {
	idPath
	Body InstanceActionRequest `body:"json"`
}) (Instance, error) {
	c, err := caller(r)
	if err != nil {
		return Instance{}, err
	}
	if !slices.Contains(models.PowerActions(), string(in.Body.Action)) {
		return Instance{}, models.Invalid("action", "must be start, stop, reboot or reboot_hard")
	}
	inst, err := a.Store.PowerAction(r.Context(), c, in.ID, string(in.Body.Action))
	if err != nil {
		return Instance{}, err
	}
	return instanceView(c, inst), nil
}

func (a *API) listInstanceActions(r *http.Request, in idPath) (InstanceActionList, error) {
	c, err := caller(r)
	if err != nil {
		return InstanceActionList{}, err
	}
	actions, err := a.Store.ListInstanceActions(r.Context(), c, in.ID)
	if err != nil {
		return InstanceActionList{}, err
	}
	return InstanceActionList{Actions: nonNil(actions)}, nil
}
