package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ResolveSession is ResolveCaller for a web session that began at loginAt.
// A session that began before the user's last password change is over (an
// admin's reset, or a change after a suspected leak, must end every open
// session), and so is one of a deleted or disabled user: all three fail
// with ErrUnauthenticated.
func (s *Store) ResolveSession(ctx context.Context, userID, projectID string, loginAt time.Time) (Caller, error) {
	var u User
	err := s.db.WithContext(ctx).Select("id", "password_changed_at").Where("id = ?", userID).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Caller{}, ErrUnauthenticated
	} else if err != nil {
		return Caller{}, fmt.Errorf("resolve session: %w", err)
	}
	if u.PasswordChangedAt.After(loginAt) {
		return Caller{}, ErrUnauthenticated
	}
	return s.ResolveCaller(ctx, userID, projectID)
}

// RecordLogout writes the audit event of a web logout.
func (s *Store) RecordLogout(ctx context.Context, c Caller) error {
	return s.audit(s.db.WithContext(ctx), c, AuditLogout, OutcomeSuccess, "user", c.UserID, c.UserName, "")
}
