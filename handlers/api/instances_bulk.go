package api

import (
	"net/http"
	"slices"
	"strings"

	"stratus/handlers/httpx"
	"stratus/models"
)

// BulkActionRequest starts, stops or reboots several instances at once.
type BulkActionRequest struct {
	Action    powerAction `json:"action"`    // one of models.PowerActions
	Instances []string    `json:"instances"` // their IDs (at most 200)
}

// BulkDeleteRequest deletes several instances at once.
type BulkDeleteRequest struct {
	Instances []string `json:"instances"` // their IDs (at most 200)
}

// BulkResults says what a bulk request did to each instance, in the order
// given (an ID given twice is taken once).
type BulkResults struct {
	Results []BulkResult `json:"results"`
}

// BulkResult is one instance's outcome: status 202 with the instance in its
// new task, or the status and error its own request would have had (409
// while another task runs, 404 for an ID of no instance of the project).
type BulkResult struct {
	ID       string    `json:"id"`
	Status   int       `json:"status"`
	Instance *Instance `json:"instance,omitempty"`
	Error    *problem  `json:"error,omitempty"`
}

// bulkInstanceAction is POST /instances/bulk/actions: one power action on
// each instance, each accepted or refused on its own (the answer is 202;
// each result has its own status).
func (a *API) bulkInstanceAction(r *http.Request, c models.Caller, in struct {
	Body BulkActionRequest `body:"json"`
}) (BulkResults, error) {
	if !slices.Contains(models.PowerActions(), string(in.Body.Action)) {
		return BulkResults{}, models.Invalid("action", "must be one of "+strings.Join(models.PowerActions(), ", "))
	}
	return a.bulk(r, c, string(in.Body.Action), in.Body.Instances)
}

// bulkDeleteInstances is POST /instances/bulk/delete.
func (a *API) bulkDeleteInstances(r *http.Request, c models.Caller, in struct {
	Body BulkDeleteRequest `body:"json"`
}) (BulkResults, error) {
	return a.bulk(r, c, models.ActionDelete, in.Body.Instances)
}

func (a *API) bulk(r *http.Request, c models.Caller, action string, ids []string) (BulkResults, error) {
	outcomes, err := a.Store.BulkInstanceAction(r.Context(), c, action, ids)
	if err != nil {
		return BulkResults{}, renameField(err, "selected", "instances")
	}
	out := BulkResults{Results: make([]BulkResult, len(outcomes))}
	for i, o := range outcomes {
		res := BulkResult{ID: o.ID, Status: http.StatusAccepted}
		if o.Err != nil {
			p := httpx.ProblemFor(o.Err)
			res.Status, res.Error = p.Status, &problem{Code: p.Code, Message: p.Message, Fields: p.Fields}
		} else {
			v := instanceView(c, o.Instance)
			res.Instance = &v
		}
		out.Results[i] = res
	}
	return out, nil
}
