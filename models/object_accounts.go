package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Account is a project's Swift account: its totals, its metadata (lower-case
// header names) and its quotas (-1: none).
type Account struct {
	ProjectID  string
	Containers int64
	Objects    int64
	Bytes      int64
	Metadata   map[string]string
	CreatedAt  time.Time
	QuotaBytes int64
	QuotaCount int64
}

type accountRow struct {
	ProjectID string            `gorm:"primaryKey"`
	Metadata  map[string]string `gorm:"serializer:json"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (accountRow) TableName() string { return "object_accounts" }

// objectTotals sums a project's containers.
func objectTotals(tx *gorm.DB, project string) (containers, objects, bytes int64, err error) {
	var t struct{ Containers, Objects, Bytes int64 }
	err = tx.Raw(`SELECT COUNT(*) AS containers, COALESCE(SUM(object_count), 0) AS objects, COALESCE(SUM(bytes_used), 0) AS bytes
		FROM object_containers WHERE project_id = ?`, project).Scan(&t).Error
	if err != nil {
		return 0, 0, 0, fmt.Errorf("sum object usage: %w", err)
	}
	return t.Containers, t.Objects, t.Bytes, nil
}

// GetAccount reads a project's account. Every project has one: it exists
// as soon as the project does (Swift's account autocreation).
func (s *Store) GetAccount(ctx context.Context, project string) (Account, error) {
	db := s.db.WithContext(ctx)
	var pr Project
	if err := db.Select("id, created_at").Where("id = ?", project).Take(&pr).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return Account{}, notFound("account not found")
	} else if err != nil {
		return Account{}, fmt.Errorf("get project: %w", err)
	}
	a := Account{ProjectID: project, CreatedAt: pr.CreatedAt, Metadata: map[string]string{}}
	var err error
	if a.Containers, a.Objects, a.Bytes, err = objectTotals(db, project); err != nil {
		return a, err
	}
	var row accountRow
	if err := db.Where("project_id = ?", project).Take(&row).Error; err == nil {
		a.Metadata = row.Metadata
	} else if !errors.Is(err, gorm.ErrRecordNotFound) {
		return a, fmt.Errorf("get account: %w", err)
	}
	limits, err := s.quotaLimits(db, project)
	if err != nil {
		return a, err
	}
	a.QuotaBytes, a.QuotaCount = limits[QuotaObjectBytes], limits[QuotaObjects]
	return a, nil
}

// quotaMeta are the account metadata names Swift's account quotas use:
// only operators set quotas (Stratus' quotas), so a tenant may not.
func quotaMeta(name string) bool {
	return strings.HasPrefix(name, "x-account-meta-quota-")
}

// UpdateAccount changes a project's account metadata (POST on the account).
func (s *Store) UpdateAccount(ctx context.Context, project string, set map[string]string, remove []string) error {
	for k := range set {
		if quotaMeta(k) {
			return forbidden("account quotas are set by an operator (Stratus project quotas), not by metadata")
		}
	}
	for _, k := range remove {
		if quotaMeta(k) {
			return forbidden("account quotas are set by an operator (Stratus project quotas), not by metadata")
		}
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockProject(tx, project); err != nil {
			return notFound("account not found")
		}
		var row accountRow
		err := tx.Where("project_id = ?", project).Take(&row).Error
		now := s.now()
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			row = accountRow{ProjectID: project, CreatedAt: now}
		case err != nil:
			return fmt.Errorf("get account: %w", err)
		}
		row.Metadata = mergeMetadata(row.Metadata, set, remove)
		row.UpdatedAt = now
		if err := checkMetadata("account", row.Metadata); err != nil {
			return err
		}
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error
	})
}

// TempURLKeys are the keys a temporary URL for an object of the container
// may be signed with: the account's and the container's (Swift's
// Temp-URL-Key and Temp-URL-Key-2 of each).
func (s *Store) TempURLKeys(ctx context.Context, project, container string) ([]string, error) {
	var keys []string
	add := func(meta map[string]string, kind string) {
		for _, suffix := range []string{"temp-url-key", "temp-url-key-2"} {
			if k := meta["x-"+kind+"-meta-"+suffix]; k != "" {
				keys = append(keys, k)
			}
		}
	}
	var row accountRow
	if err := s.db.WithContext(ctx).Where("project_id = ?", project).Take(&row).Error; err == nil {
		add(row.Metadata, "account")
	} else if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("get account: %w", err)
	}
	if container != "" {
		if c, err := s.GetContainer(ctx, project, container); err == nil {
			add(c.Metadata, "container")
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	return keys, nil
}

// EnsureTempURLKey returns the account's temporary URL key, creating a
// random one when it has none (the web UI's "create temporary URL").
func (s *Store) EnsureTempURLKey(ctx context.Context, project string) (string, error) {
	var key string
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockProject(tx, project); err != nil {
			return err
		}
		var row accountRow
		err := tx.Where("project_id = ?", project).Take(&row).Error
		now := s.now()
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			row = accountRow{ProjectID: project, CreatedAt: now, Metadata: map[string]string{}}
		case err != nil:
			return fmt.Errorf("get account: %w", err)
		}
		if key = row.Metadata["x-account-meta-temp-url-key"]; key != "" {
			return nil
		}
		key = randomSecret(24)
		row.Metadata = mergeMetadata(row.Metadata, map[string]string{"x-account-meta-temp-url-key": key}, nil)
		row.UpdatedAt = now
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error
	})
	return key, err
}
