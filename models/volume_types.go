package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// VolumeType names a kind of storage (Cinder's volume type): operators map
// it to a backend ("" lets the scheduler pick any), make it public or give
// it to chosen projects, and mark one the default.
type VolumeType struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Backend     string    `json:"backend"`
	IsPublic    bool      `json:"is_public"`
	IsDefault   bool      `json:"is_default"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`

	Projects []string `json:"projects,omitempty" gorm:"-"` // project access of a private type
}

// DefaultVolumeTypeName is the type a store without types creates on first
// use, so that a volume can always be created (Cinder's __DEFAULT__).
const DefaultVolumeTypeName = "__DEFAULT__"

// VolumeTypeInput creates or changes a type. Nil pointers leave a field
// as it is on update.
type VolumeTypeInput struct {
	Name        *string  `json:"name"`
	Description *string  `json:"description"`
	Backend     *string  `json:"backend"`
	IsPublic    *bool    `json:"is_public"`
	IsDefault   *bool    `json:"is_default"`
	Projects    []string `json:"projects"` // replaces the access list when not nil
}

// typeVisible restricts a volume type query to those the caller may use.
func typeVisible(q *gorm.DB, c Caller) *gorm.DB {
	if c.IsSystemAdmin() {
		return q
	}
	return q.Where("volume_types.is_public = ? OR volume_types.id IN (SELECT volume_type_id FROM volume_type_access WHERE project_id = ?)",
		true, c.ProjectID)
}

// ListVolumeTypes lists the types the caller may use (operators: all), by
// name.
func (s *Store) ListVolumeTypes(ctx context.Context, c Caller, o ListOptions) (Page[VolumeType], error) {
	if err := s.ensureDefaultVolumeType(ctx); err != nil {
		return Page[VolumeType]{}, err
	}
	p, err := pageByName(typeVisible(s.db.WithContext(ctx).Model(&VolumeType{}), c), "volume_types", o,
		func(t VolumeType) string { return t.ID })
	if err != nil {
		return p, fmt.Errorf("list volume types: %w", err)
	}
	return p, s.loadTypeAccess(s.db.WithContext(ctx), p.Items)
}

func (s *Store) loadTypeAccess(db *gorm.DB, types []VolumeType) error {
	if len(types) == 0 {
		return nil
	}
	ids := make([]string, len(types))
	byID := make(map[string]int, len(types))
	for i, t := range types {
		ids[i] = t.ID
		byID[t.ID] = i
	}
	var rows []struct{ VolumeTypeID, ProjectID string }
	if err := db.Table("volume_type_access").Where("volume_type_id IN ?", ids).Find(&rows).Error; err != nil {
		return fmt.Errorf("read volume type access: %w", err)
	}
	for _, r := range rows {
		i := byID[r.VolumeTypeID]
		types[i].Projects = append(types[i].Projects, r.ProjectID)
	}
	return nil
}

// GetVolumeType finds a type the caller may use, by ID or name.
func (s *Store) GetVolumeType(ctx context.Context, c Caller, ref string) (VolumeType, error) {
	t, err := s.getVolumeType(s.db.WithContext(ctx), c, ref)
	if err != nil {
		return t, err
	}
	types := []VolumeType{t}
	err = s.loadTypeAccess(s.db.WithContext(ctx), types)
	return types[0], err
}

func (s *Store) getVolumeType(db *gorm.DB, c Caller, ref string) (VolumeType, error) {
	return takeRef[VolumeType](typeVisible(byRef(db.Model(&VolumeType{}), "volume_types", ref), c), "volume type", ref)
}

// defaultVolumeType is the type a volume gets when none is asked for.
func (s *Store) defaultVolumeType(db *gorm.DB) (VolumeType, error) {
	var t VolumeType
	err := db.Where("is_default = ?", true).Order("created_at").Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return t, notFound("there is no default volume type: choose one")
	}
	return t, err
}

// ensureDefaultVolumeType creates __DEFAULT__ (any backend, public,
// default) when there is no type at all, as Cinder does.
func (s *Store) ensureDefaultVolumeType(ctx context.Context) error {
	var n int64
	if err := s.db.WithContext(ctx).Model(&VolumeType{}).Count(&n).Error; err != nil {
		return fmt.Errorf("count volume types: %w", err)
	}
	if n > 0 {
		return nil
	}
	now := s.now()
	t := VolumeType{ID: newID(), Name: DefaultVolumeTypeName, Description: "Default Volume Type", IsPublic: true,
		IsDefault: true, CreatedAt: now, UpdatedAt: now}
	err := s.db.WithContext(ctx).Create(&t).Error
	if err != nil && !errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("create the default volume type: %w", err)
	}
	return nil
}

func checkTypeInput(in VolumeTypeInput, creating bool) error {
	p := Problems{}
	if in.Name != nil {
		*in.Name = strings.TrimSpace(*in.Name)
		p.Name("name", *in.Name, 64)
	} else if creating {
		p.Add("name", "is required")
	}
	if in.Description != nil && len(*in.Description) > 255 {
		p.Add("description", "must be at most 255 characters")
	}
	if in.Backend != nil && (len(*in.Backend) > 64 || strings.ContainsAny(*in.Backend, " /")) {
		p.Add("backend", "must be a backend name (at most 64 characters, no spaces or slashes)")
	}
	return p.Err()
}

// CreateVolumeType adds a type (operators).
func (s *Store) CreateVolumeType(ctx context.Context, c Caller, in VolumeTypeInput) (VolumeType, error) {
	if err := checkTypeInput(in, true); err != nil {
		return VolumeType{}, err
	}
	now := s.now()
	t := VolumeType{ID: newID(), Name: *in.Name, IsPublic: true, CreatedAt: now, UpdatedAt: now}
	applyTypeInput(&t, in)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if t.IsDefault {
			if err := tx.Model(&VolumeType{}).Where("is_default = ?", true).Update("is_default", false).Error; err != nil {
				return err
			}
		}
		if err := tx.Create(&t).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return Invalid("name", "a volume type with this name exists")
			}
			return fmt.Errorf("create volume type: %w", err)
		}
		return s.setTypeAccess(tx, &t, in.Projects)
	})
	return t, err
}

func applyTypeInput(t *VolumeType, in VolumeTypeInput) {
	if in.Name != nil {
		t.Name = *in.Name
	}
	if in.Description != nil {
		t.Description = *in.Description
	}
	if in.Backend != nil {
		t.Backend = *in.Backend
	}
	if in.IsPublic != nil {
		t.IsPublic = *in.IsPublic
	}
	if in.IsDefault != nil {
		t.IsDefault = *in.IsDefault
	}
}

// setTypeAccess replaces a type's project list (nil: unchanged).
func (s *Store) setTypeAccess(tx *gorm.DB, t *VolumeType, projects []string) error {
	if projects == nil {
		return nil
	}
	if err := tx.Exec("DELETE FROM volume_type_access WHERE volume_type_id = ?", t.ID).Error; err != nil {
		return fmt.Errorf("clear volume type access: %w", err)
	}
	t.Projects = nil
	for _, ref := range projects {
		pr, err := projectRef(tx, "projects", ref)
		if err != nil {
			return err
		}
		if err := tx.Exec("INSERT INTO volume_type_access (volume_type_id, project_id) VALUES (?, ?)", t.ID, pr.ID).Error; err != nil {
			return fmt.Errorf("grant volume type access: %w", err)
		}
		t.Projects = append(t.Projects, pr.ID)
	}
	return nil
}

// UpdateVolumeType changes a type (operators). Existing volumes keep the
// backend they are on.
func (s *Store) UpdateVolumeType(ctx context.Context, c Caller, ref string, in VolumeTypeInput) (VolumeType, error) {
	if err := checkTypeInput(in, false); err != nil {
		return VolumeType{}, err
	}
	var t VolumeType
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if t, err = takeRef[VolumeType](s.forUpdate(byRef(tx.Model(&VolumeType{}), "volume_types", ref)), "volume type", ref); err != nil {
			return err
		}
		applyTypeInput(&t, in)
		t.UpdatedAt = s.now()
		if t.IsDefault {
			if err := tx.Model(&VolumeType{}).Where("is_default = ? AND id <> ?", true, t.ID).Update("is_default", false).Error; err != nil {
				return err
			}
		}
		if err := tx.Model(&VolumeType{}).Where("id = ?", t.ID).Updates(map[string]any{
			"name": t.Name, "description": t.Description, "backend": t.Backend, "is_public": t.IsPublic,
			"is_default": t.IsDefault, "updated_at": t.UpdatedAt,
		}).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return Invalid("name", "a volume type with this name exists")
			}
			return fmt.Errorf("update volume type: %w", err)
		}
		return s.setTypeAccess(tx, &t, in.Projects)
	})
	if err != nil {
		return t, err
	}
	return s.GetVolumeType(ctx, c, t.ID)
}

// DeleteVolumeType removes a type no volume uses (operators).
func (s *Store) DeleteVolumeType(ctx context.Context, c Caller, ref string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		t, err := takeRef[VolumeType](s.forUpdate(byRef(tx.Model(&VolumeType{}), "volume_types", ref)), "volume type", ref)
		if err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&Volume{}).Where("volume_type_id = ?", t.ID).Count(&n).Error; err != nil {
			return fmt.Errorf("count volumes of type: %w", err)
		}
		if n > 0 {
			return conflict("volume type %s is used by %d volume(s)", t.Name, n)
		}
		return tx.Where("id = ?", t.ID).Delete(&VolumeType{}).Error
	})
}
