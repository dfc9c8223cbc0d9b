package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// webSession is one scs session row.
type webSession struct {
	Token  string
	Data   []byte
	Expiry time.Time
}

func (webSession) TableName() string { return "sessions" }

// SessionStore keeps web sessions in the database so that any serve process
// can read a session another wrote, and sessions survive restarts. It
// implements scs.Store and scs.CtxStore.
type SessionStore struct{ s *Store }

// Sessions returns the scs store backed by this database.
func (s *Store) Sessions() SessionStore { return SessionStore{s: s} }

// FindCtx returns a live session's data.
func (ss SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var row webSession
	err := ss.s.db.WithContext(ctx).Where("token = ? AND expiry > ?", token, ss.s.now()).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("find session: %w", err)
	}
	return row.Data, true, nil
}

// CommitCtx writes (inserts or replaces) a session.
func (ss SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	row := webSession{Token: token, Data: b, Expiry: expiry.UTC()}
	err := ss.s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "token"}},
		DoUpdates: clause.AssignmentColumns([]string{"data", "expiry"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("commit session: %w", err)
	}
	return nil
}

// DeleteCtx removes a session (logout, token renewal).
func (ss SessionStore) DeleteCtx(ctx context.Context, token string) error {
	if err := ss.s.db.WithContext(ctx).Where("token = ?", token).Delete(&webSession{}).Error; err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Find, Commit and Delete satisfy scs.Store for callers without a context.
func (ss SessionStore) Find(token string) ([]byte, bool, error) {
	return ss.FindCtx(context.Background(), token)
}

func (ss SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return ss.CommitCtx(context.Background(), token, b, expiry)
}

func (ss SessionStore) Delete(token string) error {
	return ss.DeleteCtx(context.Background(), token)
}

// PruneSessions deletes expired sessions.
func (s *Store) PruneSessions(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Where("expiry < ?", s.now()).Delete(&webSession{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}
