package models

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Action results.
const (
	ActionRunning = "running"
	ActionSuccess = "success"
	ActionError   = "error"
)

// InstanceAction is one line of an instance's action log: who asked for
// what, when, and how it ended.
type InstanceAction struct {
	ID         int64      `json:"id"`
	InstanceID string     `json:"instance_id"`
	ProjectID  string     `json:"-"`
	Action     string     `json:"action"`
	UserID     string     `json:"user_id"`
	UserName   string     `json:"user_name"`
	RequestID  string     `json:"request_id"`
	Result     string     `json:"result"`
	Message    string     `json:"message"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// systemActor is who acts when Stratus itself changes an instance (power
// sync, build timeout).
func systemActor() Caller { return Caller{UserName: "system"} }

// startAction opens an action log entry in tx.
func (s *Store) startAction(tx *gorm.DB, c Caller, inst Instance, action string) error {
	a := InstanceAction{InstanceID: inst.ID, ProjectID: inst.ProjectID, Action: action, UserID: c.UserID,
		UserName: c.UserName, RequestID: c.RequestID, Result: ActionRunning, StartedAt: s.now()}
	if err := tx.Create(&a).Error; err != nil {
		return fmt.Errorf("record action %s: %w", action, err)
	}
	return nil
}

// recordAction writes a finished action (an event Stratus observed).
func (s *Store) recordAction(tx *gorm.DB, c Caller, inst Instance, action, result, message string) error {
	now := s.now()
	a := InstanceAction{InstanceID: inst.ID, ProjectID: inst.ProjectID, Action: action, UserID: c.UserID,
		UserName: c.UserName, RequestID: c.RequestID, Result: result, Message: faultText(message, 1024), StartedAt: now, FinishedAt: &now}
	if err := tx.Create(&a).Error; err != nil {
		return fmt.Errorf("record action %s: %w", action, err)
	}
	return nil
}

// finishAction closes the instance's open entries (there is one per task;
// closing all also closes one left open by a crashed worker).
func (s *Store) finishAction(tx *gorm.DB, instanceID, result, message string) error {
	err := tx.Model(&InstanceAction{}).Where("instance_id = ? AND result = ?", instanceID, ActionRunning).
		Updates(map[string]any{"result": result, "message": faultText(message, 1024), "finished_at": s.now()}).Error
	if err != nil {
		return fmt.Errorf("finish action: %w", err)
	}
	return nil
}

// ListInstanceActions returns an instance's action log, newest first.
func (s *Store) ListInstanceActions(ctx context.Context, c Caller, instanceID string) ([]InstanceAction, error) {
	if _, err := s.GetInstance(ctx, c, instanceID); err != nil {
		return nil, err
	}
	var out []InstanceAction
	if err := s.db.WithContext(ctx).Where("instance_id = ?", instanceID).Order("id DESC").Limit(MaxPageSize).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list instance actions: %w", err)
	}
	return out, nil
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
