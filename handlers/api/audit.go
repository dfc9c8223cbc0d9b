package api

import (
	"net/http"

	"stratus/models"
)

// AuditEventList is a page of the audit log, newest first.
type AuditEventList struct {
	AuditEvents []models.AuditEvent `json:"audit_events"`
	Next        *string             `json:"next"`
}

type auditQuery struct {
	seqPage
	Action  string `query:"action" doc:"Only this action, e.g. login, role.assign, token.create."`
	Actor   string `query:"actor" doc:"Only events by this user name (exact)."`
	Outcome string `query:"outcome" enum:"success,failure" doc:"Only events with this outcome."`
}

func (a *API) listAuditEvents(r *http.Request, _ models.Caller, in auditQuery) (AuditEventList, error) {
	events, next, err := a.Store.ListAuditEvents(r.Context(), models.AuditFilter{
		Action: in.Action, Actor: in.Actor, Outcome: in.Outcome, Limit: in.Limit, Marker: in.Marker,
	})
	if err != nil {
		return AuditEventList{}, err
	}
	return AuditEventList{AuditEvents: nonNil(events), Next: nextSeq(r, next)}, nil
}
