package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// WakeListener is where one process takes wake-up hints for one target
// ("" = the schedulers, else a compute host's name). See
// migrations/0005_wake_listeners.sql.
type WakeListener struct {
	Owner     string
	Target    string
	Addr      string
	UpdatedAt time.Time
}

// RegisterWakeListener records that owner's process takes hints for
// targets at addr, replacing what owner registered before.
func (s *Store) RegisterWakeListener(ctx context.Context, owner, addr string, targets []string) error {
	if owner == "" || addr == "" || len(owner) > 128 || len(addr) > 255 {
		return Invalid("wake_listener", "an owner (≤128 characters) and an address (≤255) are required")
	}
	now := s.now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("owner = ?", owner).Delete(&WakeListener{}).Error; err != nil {
			return err
		}
		if len(targets) == 0 {
			return nil
		}
		rows := make([]WakeListener, len(targets))
		for i, t := range targets {
			rows[i] = WakeListener{Owner: owner, Target: t, Addr: addr, UpdatedAt: now}
		}
		return tx.Create(&rows).Error
	})
	if err != nil {
		return fmt.Errorf("register wake listener: %w", err)
	}
	return nil
}

// RefreshWakeListener marks owner's rows as still alive. It returns false
// when there are none (pruned while the process could not reach the
// database): the caller registers again.
func (s *Store) RefreshWakeListener(ctx context.Context, owner string) (bool, error) {
	res := s.db.WithContext(ctx).Model(&WakeListener{}).Where("owner = ?", owner).Update("updated_at", s.now())
	if res.Error != nil {
		return false, fmt.Errorf("refresh wake listener: %w", res.Error)
	}
	return res.RowsAffected > 0, nil
}

// UnregisterWakeListener forgets owner's listener (its process stops).
func (s *Store) UnregisterWakeListener(ctx context.Context, owner string) error {
	if err := s.db.WithContext(ctx).Where("owner = ?", owner).Delete(&WakeListener{}).Error; err != nil {
		return fmt.Errorf("unregister wake listener: %w", err)
	}
	return nil
}

// WakeListeners lists the listeners refreshed since the given time.
func (s *Store) WakeListeners(ctx context.Context, since time.Time) ([]WakeListener, error) {
	var out []WakeListener
	if err := s.db.WithContext(ctx).Where("updated_at >= ?", since).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list wake listeners: %w", err)
	}
	return out, nil
}

// PruneWakeListeners deletes listeners not refreshed for olderThan: their
// process was killed.
func (s *Store) PruneWakeListeners(ctx context.Context, olderThan time.Duration) (int64, error) {
	res := s.db.WithContext(ctx).Where("updated_at < ?", s.now().Add(-olderThan)).Delete(&WakeListener{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune wake listeners: %w", res.Error)
	}
	return res.RowsAffected, nil
}
