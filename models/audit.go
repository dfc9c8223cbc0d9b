package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Audit actions. They name identity events an operator must be able to
// reconstruct: who logged in (or failed to), who changed whose rights.
const (
	AuditLogin           = "login"
	AuditLogout          = "logout"
	AuditLockout         = "lockout"
	AuditUserCreate      = "user.create"
	AuditUserUpdate      = "user.update"
	AuditUserPassword    = "user.password_reset"
	AuditUserUnlock      = "user.unlock"
	AuditProjectCreate   = "project.create"
	AuditProjectUpdate   = "project.update"
	AuditRoleAssign      = "role.assign"
	AuditRoleRevoke      = "role.revoke"
	AuditTokenCreate     = "token.create"
	AuditTokenRevoke     = "token.revoke"
	AuditQuotaUpdate     = "quota.update"
	AuditQuotaReset      = "quota.reset"
	AuditHostUpdate      = "host.update"
	OutcomeSuccess       = "success"
	OutcomeFailure       = "failure"
	auditDetailMaxLength = 1024
)

// AuditEvent is one row of the audit log.
type AuditEvent struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	Action     string    `json:"action"`
	Outcome    string    `json:"outcome"`
	ActorID    string    `json:"actor_id"`
	ActorName  string    `json:"actor_name"`
	TargetType string    `json:"target_type"`
	TargetID   string    `json:"target_id"`
	TargetName string    `json:"target_name"`
	ProjectID  string    `json:"project_id"`
	Detail     string    `json:"detail"`
	RemoteAddr string    `json:"remote_addr"`
	RequestID  string    `json:"request_id"`
}

// audit writes an event in tx (so it commits with the change it records).
func (s *Store) audit(tx *gorm.DB, c Caller, action, outcome, targetType, targetID, targetName, detail string) error {
	// Names may come from a login form: cut them to the columns' sizes
	// rather than fail to audit the attempt.
	detail = truncate(detail, auditDetailMaxLength)
	c.UserName = truncate(c.UserName, 64)
	targetName = truncate(targetName, 255)
	e := AuditEvent{
		At: s.now(), Action: action, Outcome: outcome,
		ActorID: c.UserID, ActorName: c.UserName,
		TargetType: targetType, TargetID: targetID, TargetName: targetName,
		ProjectID: c.ProjectID, Detail: detail,
		RemoteAddr: c.RemoteAddr, RequestID: c.RequestID,
	}
	if err := tx.Create(&e).Error; err != nil {
		return fmt.Errorf("write audit event %s: %w", action, err)
	}
	return nil
}

// AuditFilter narrows the audit log.
type AuditFilter struct {
	Action  string
	Actor   string // actor name, exact
	Outcome string
	Limit   int
	Marker  int64 // ID of the last event seen: the next page is older
}

// ListAuditEvents returns events newest first. Only system admins may call
// it (the policy says so at the route).
func (s *Store) ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, int64, error) {
	q := s.db.WithContext(ctx).Model(&AuditEvent{})
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Actor != "" {
		q = q.Where("actor_name = ?", f.Actor)
	}
	if f.Outcome != "" {
		q = q.Where("outcome = ?", f.Outcome)
	}
	if f.Marker > 0 {
		q = q.Where("id < ?", f.Marker)
	}
	n := ListOptions{Limit: f.Limit}.limit()
	var rows []AuditEvent
	if err := q.Order("id DESC").Limit(n + 1).Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("list audit events: %w", err)
	}
	var next int64
	if len(rows) > n {
		rows = rows[:n]
		next = rows[n-1].ID
	}
	return rows, next, nil
}
