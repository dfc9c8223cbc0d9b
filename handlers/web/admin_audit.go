package web

import (
	"net/http"
	"strconv"
	"strings"

	"stratus/models"
	"stratus/views/pages"
)

// auditActions are the actions the audit filter offers.
func auditActions() []string {
	return []string{
		models.AuditLogin, models.AuditLogout, models.AuditLockout,
		models.AuditUserCreate, models.AuditUserUpdate, models.AuditUserPassword, models.AuditUserUnlock,
		models.AuditProjectCreate, models.AuditProjectUpdate,
		models.AuditRoleAssign, models.AuditRoleRevoke,
		models.AuditTokenCreate, models.AuditTokenRevoke,
		models.AuditJobRetry, models.AuditJobCancel,
	}
}

func (h *Web) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := pages.AuditProps{
		Action:  q.Get("action"),
		Actor:   strings.TrimSpace(q.Get("actor")),
		Outcome: q.Get("outcome"),
		Actions: auditActions(),
	}
	marker, _ := strconv.ParseInt(q.Get("marker"), 10, 64)
	events, next, err := h.Store.ListAuditEvents(r.Context(), models.AuditFilter{
		Action: p.Action, Actor: p.Actor, Outcome: p.Outcome, Limit: 50, Marker: marker,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Events = events
	filters := []string{"action", p.Action, "actor", p.Actor, "outcome", p.Outcome}
	if marker > 0 {
		p.FirstURL = listURL("/admin/audit", filters...)
	}
	if next > 0 {
		p.NextURL = listURL("/admin/audit", append(filters, "marker", strconv.FormatInt(next, 10))...)
	}
	h.renderPage(w, r, http.StatusOK, pages.AuditPage(h.shell(r, "Audit log", "admin-audit"), p), "results")
}
