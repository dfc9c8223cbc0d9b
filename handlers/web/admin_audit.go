package web

import (
	"net/http"
	"strconv"

	"stratus/models"
	"stratus/views/i18n"
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
		models.AuditQuotaUpdate, models.AuditQuotaReset,
		models.AuditJobRetry, models.AuditJobCancel,
	}
}

func (h *Web) audit(w http.ResponseWriter, r *http.Request) {
	lq := readList(r, "/admin/audit", 50, "action", "actor", "outcome")
	events, next, err := h.Store.ListAuditEvents(r.Context(), models.AuditFilter{
		Action: lq.get("action"), Actor: lq.get("actor"), Outcome: lq.get("outcome"), Limit: lq.limit, Marker: lq.seqMarker(),
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.AuditProps{Events: events, Action: lq.get("action"), Actor: lq.get("actor"), Outcome: lq.get("outcome"),
		Actions: auditActions(), Pager: lq.pager(strconv.FormatInt(next, 10))}
	h.renderPage(w, r, http.StatusOK, pages.AuditPage(h.shell(r, i18n.T(r.Context(), "Audit log"), "admin-audit"), p), "results")
}
