package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Flavor is an instance size: vCPUs, RAM, root and ephemeral disk. Public
// flavors are usable by every project; others only by the projects in
// flavor_access.
type Flavor struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	VCPUs       int               `json:"vcpus" gorm:"column:vcpus"`
	RAMMB       int               `json:"ram_mb" gorm:"column:ram_mb"`
	DiskGB      int               `json:"disk_gb" gorm:"column:disk_gb"`
	EphemeralGB int               `json:"ephemeral_gb" gorm:"column:ephemeral_gb"`
	IsPublic    bool              `json:"is_public"`
	Disabled    bool              `json:"disabled"`
	ExtraSpecs  map[string]string `json:"extra_specs" gorm:"serializer:json"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// FlavorInput creates a flavor (operators only).
type FlavorInput struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	VCPUs       int               `json:"vcpus"`
	RAMMB       int               `json:"ram_mb"`
	DiskGB      int               `json:"disk_gb"`
	EphemeralGB int               `json:"ephemeral_gb"`
	IsPublic    *bool             `json:"is_public"`
	ExtraSpecs  map[string]string `json:"extra_specs"`
	Projects    []string          `json:"projects"` // IDs or names; for non-public flavors
}

func (in FlavorInput) validate() error {
	p := Problems{}
	p.Slug("name", in.Name)
	p.Text("description", in.Description, 255)
	if in.VCPUs < 1 || in.VCPUs > 512 {
		p.Add("vcpus", "must be 1–512")
	}
	if in.RAMMB < 64 || in.RAMMB > 4<<20 {
		p.Add("ram_mb", "must be 64 MB – 4 TB")
	}
	if in.DiskGB < 0 || in.DiskGB > 65536 {
		p.Add("disk_gb", "must be 0–65536")
	}
	if in.EphemeralGB < 0 || in.EphemeralGB > 65536 {
		p.Add("ephemeral_gb", "must be 0–65536")
	}
	if len(in.ExtraSpecs) > 64 {
		p.Add("extra_specs", "at most 64 entries")
	}
	for k, v := range in.ExtraSpecs {
		if k == "" || len(k) > 255 || len(v) > 255 {
			p.Add("extra_specs", "keys and values must be 1–255 characters")
		}
	}
	return p.Err()
}

// CreateFlavor adds a flavor.
func (s *Store) CreateFlavor(ctx context.Context, c Caller, in FlavorInput) (Flavor, error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := in.validate(); err != nil {
		return Flavor{}, err
	}
	now := s.now()
	f := Flavor{ID: newID(), Name: in.Name, Description: in.Description, VCPUs: in.VCPUs, RAMMB: in.RAMMB,
		DiskGB: in.DiskGB, EphemeralGB: in.EphemeralGB, IsPublic: in.IsPublic == nil || *in.IsPublic,
		ExtraSpecs: in.ExtraSpecs, CreatedAt: now, UpdatedAt: now}
	if f.ExtraSpecs == nil {
		f.ExtraSpecs = map[string]string{}
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&f).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return Invalid("name", "a flavor with this name exists")
			}
			return fmt.Errorf("insert flavor: %w", err)
		}
		for _, pr := range in.Projects {
			if err := s.addFlavorAccess(tx, f.ID, pr); err != nil {
				return err
			}
		}
		return nil
	})
	return f, err
}

func (s *Store) addFlavorAccess(tx *gorm.DB, flavorID, project string) error {
	pr, err := projectRef(tx, "projects", project)
	if err != nil {
		return err
	}
	err = tx.Exec("INSERT INTO flavor_access (flavor_id, project_id) VALUES (?, ?)", flavorID, pr.ID).Error
	if err != nil && !errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("add flavor access: %w", err)
	}
	return nil
}

// FlavorUpdate changes what may change on a flavor without surprising the
// instances using it: description, public flag, disabled flag, project
// access. Sizes are immutable (Nova's rule): create a new flavor instead.
type FlavorUpdate struct {
	Description   *string  `json:"description"`
	IsPublic      *bool    `json:"is_public"`
	Disabled      *bool    `json:"disabled"`
	AddProjects   []string `json:"add_projects"`
	RemoveProject []string `json:"remove_projects"`
}

// UpdateFlavor applies a FlavorUpdate.
func (s *Store) UpdateFlavor(ctx context.Context, c Caller, id string, up FlavorUpdate) (Flavor, error) {
	var f Flavor
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.forUpdate(tx.Where("id = ?", id)).Take(&f).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return notFound("flavor %q not found", id)
		} else if err != nil {
			return fmt.Errorf("get flavor: %w", err)
		}
		if up.Description != nil {
			if pr := textProblem(*up.Description, 255); pr.Text != "" {
				return invalidProblem("description", pr)
			}
			f.Description = *up.Description
		}
		if up.IsPublic != nil {
			f.IsPublic = *up.IsPublic
		}
		if up.Disabled != nil {
			f.Disabled = *up.Disabled
		}
		f.UpdatedAt = s.now()
		if err := tx.Save(&f).Error; err != nil {
			return fmt.Errorf("update flavor: %w", err)
		}
		for _, pr := range up.AddProjects {
			if err := s.addFlavorAccess(tx, f.ID, pr); err != nil {
				return err
			}
		}
		for _, pr := range up.RemoveProject {
			p, err := projectRef(tx, "remove_projects", pr)
			if err != nil {
				return err
			}
			if err := tx.Exec("DELETE FROM flavor_access WHERE flavor_id = ? AND project_id = ?", f.ID, p.ID).Error; err != nil {
				return fmt.Errorf("remove flavor access: %w", err)
			}
		}
		return nil
	})
	return f, err
}

// DeleteFlavor removes a flavor. Instances keep a copy of their size, so
// deleting a flavor in use is allowed (as in Nova).
func (s *Store) DeleteFlavor(ctx context.Context, c Caller, id string) error {
	res := s.db.WithContext(ctx).Where("id = ?", id).Delete(&Flavor{})
	if res.Error != nil {
		return fmt.Errorf("delete flavor: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return notFound("flavor %q not found", id)
	}
	return nil
}

// visibleFlavors limits a flavor query to what project may use: public ones
// and those shared with it. Operators (allProjects) see every flavor.
func visibleFlavors(q *gorm.DB, projectID string, allProjects bool) *gorm.DB {
	if allProjects {
		return q
	}
	return q.Where("flavors.is_public = ? OR flavors.id IN (SELECT flavor_id FROM flavor_access WHERE project_id = ?)", true, projectID)
}

// ListFlavors lists the flavors the caller may use (all of them for a system
// admin who asks for all), smallest first.
func (s *Store) ListFlavors(ctx context.Context, c Caller, all bool) ([]Flavor, error) {
	var out []Flavor
	q := visibleFlavors(s.db.WithContext(ctx).Model(&Flavor{}), c.ProjectID, all && c.IsSystemAdmin())
	if !all {
		q = q.Where("disabled = ?", false)
	}
	if err := q.Order("vcpus, ram_mb, disk_gb, name").Limit(MaxPageSize).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list flavors: %w", err)
	}
	return out, nil
}

// GetFlavor finds a flavor the caller may use, by ID or name.
func (s *Store) GetFlavor(ctx context.Context, c Caller, idOrName string) (Flavor, error) {
	return s.getFlavor(s.db.WithContext(ctx), c, idOrName)
}

func (s *Store) getFlavor(tx *gorm.DB, c Caller, idOrName string) (Flavor, error) {
	q := visibleFlavors(tx.Model(&Flavor{}), c.ProjectID, c.IsSystemAdmin())
	return takeRef[Flavor](byRef(q, "flavors", idOrName), "flavor", idOrName)
}

// FlavorAccess maps each non-public flavor to the projects it is shared
// with, in one query (for listing every flavor).
func (s *Store) FlavorAccess(ctx context.Context) (map[string][]string, error) {
	type row struct{ FlavorID, ProjectID string }
	var rows []row
	if err := s.db.WithContext(ctx).Raw("SELECT flavor_id, project_id FROM flavor_access ORDER BY flavor_id, project_id").
		Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read flavor access: %w", err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.FlavorID] = append(out[r.FlavorID], r.ProjectID)
	}
	return out, nil
}

// FlavorProjects lists the projects a non-public flavor is shared with.
func (s *Store) FlavorProjects(ctx context.Context, flavorID string) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Raw("SELECT project_id FROM flavor_access WHERE flavor_id = ? ORDER BY project_id", flavorID).Scan(&ids).Error
	return ids, err
}

// seedFlavors are the flavors a new cloud starts with (Nova's classic set
// plus a tiny one for test guests).
func seedFlavors() []FlavorInput {
	return []FlavorInput{
		{Name: "m1.nano", VCPUs: 1, RAMMB: 128, DiskGB: 1, Description: "for tiny test guests"},
		{Name: "m1.tiny", VCPUs: 1, RAMMB: 512, DiskGB: 1},
		{Name: "m1.small", VCPUs: 1, RAMMB: 2048, DiskGB: 10},
		{Name: "m1.medium", VCPUs: 2, RAMMB: 4096, DiskGB: 20},
		{Name: "m1.large", VCPUs: 4, RAMMB: 8192, DiskGB: 40},
	}
}

// SeedFlavors creates the default flavors when the cloud has none.
func (s *Store) SeedFlavors(ctx context.Context) error {
	var n int64
	if err := s.db.WithContext(ctx).Model(&Flavor{}).Count(&n).Error; err != nil {
		return fmt.Errorf("count flavors: %w", err)
	}
	if n > 0 {
		return nil
	}
	for _, in := range seedFlavors() {
		if _, err := s.CreateFlavor(ctx, Caller{UserName: "bootstrap"}, in); err != nil && !errors.Is(err, ErrInvalid) {
			return err
		}
	}
	return nil
}
