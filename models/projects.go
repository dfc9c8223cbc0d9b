package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Project is a tenant: the unit that owns resources and quotas.
type Project struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Enabled     bool      `json:"enabled"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ProjectInput is what an admin gives to create or change a project.
type ProjectInput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Enabled     *bool  `json:"enabled"`
}

func (in ProjectInput) validate() error {
	p := Problems{}
	p.Slug("name", in.Name)
	p.Text("description", in.Description, 255)
	return p.Err()
}

// CreateProject adds a project.
func (s *Store) CreateProject(ctx context.Context, c Caller, in ProjectInput) (Project, error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := in.validate(); err != nil {
		return Project{}, err
	}
	now := s.now()
	p := Project{ID: newID(), Name: in.Name, Description: in.Description, Enabled: in.Enabled == nil || *in.Enabled, CreatedAt: now, UpdatedAt: now}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&p).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return &ValidationError{Fields: map[string]string{"name": "a project with this name exists"}}
			}
			return fmt.Errorf("insert project: %w", err)
		}
		return s.audit(tx, c, AuditProjectCreate, OutcomeSuccess, "project", p.ID, p.Name, "")
	})
	return p, err
}

// GetProject finds a project by ID or name.
func (s *Store) GetProject(ctx context.Context, idOrName string) (Project, error) {
	return takeRef[Project](byRef(s.db.WithContext(ctx), "projects", idOrName), "project", idOrName)
}

// ListProjects lists all projects (operators only; users see theirs through
// ProjectsOfUser).
func (s *Store) ListProjects(ctx context.Context, o ListOptions) (Page[Project], error) {
	p, err := pageByName(s.db.WithContext(ctx).Model(&Project{}), "projects", o, func(p Project) string { return p.ID })
	if err != nil {
		return p, fmt.Errorf("list projects: %w", err)
	}
	return p, nil
}

// UpdateProject changes a project's description or enables/disables it. A
// disabled project's members can no longer act in it, and its tokens stop
// working, but nothing is deleted.
func (s *Store) UpdateProject(ctx context.Context, c Caller, id string, description *string, enabled *bool) (Project, error) {
	var p Project
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.forUpdate(tx.Where("id = ?", id)).Take(&p).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return notFound("project %q not found", id)
			}
			return fmt.Errorf("get project: %w", err)
		}
		var changes []string
		if description != nil && *description != p.Description {
			if pr := textProblem(*description, 255); pr.Text != "" {
				return invalidProblem("description", pr)
			}
			p.Description = *description
			changes = append(changes, "description")
		}
		if enabled != nil && *enabled != p.Enabled {
			if !*enabled && p.ID == c.ProjectID {
				return Invalid("enabled", "you cannot disable the project you are working in")
			}
			p.Enabled = *enabled
			changes = append(changes, fmt.Sprintf("enabled=%t", p.Enabled))
		}
		if len(changes) == 0 {
			return nil
		}
		p.UpdatedAt = s.now()
		if err := tx.Save(&p).Error; err != nil {
			return fmt.Errorf("update project: %w", err)
		}
		return s.audit(tx, c, AuditProjectUpdate, OutcomeSuccess, "project", p.ID, p.Name, strings.Join(changes, ", "))
	})
	return p, err
}

// ProjectMembership is a project a user may work in, with their role there.
type ProjectMembership struct {
	Project
	Role Role `json:"role"`
}

// ProjectsOfUser lists the enabled projects a user has a role on, with the
// strongest role, ordered by name (the project picker).
func (s *Store) ProjectsOfUser(ctx context.Context, userID string) ([]ProjectMembership, error) {
	type row struct {
		Project
		Role Role
	}
	var rows []row
	err := s.db.WithContext(ctx).Table("projects").
		Select("projects.*, role_assignments.role").
		Joins("JOIN role_assignments ON role_assignments.project_id = projects.id").
		Where("role_assignments.user_id = ? AND projects.enabled = ?", userID, true).
		Order("projects.name").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("projects of user: %w", err)
	}
	var out []ProjectMembership
	for _, r := range rows {
		if n := len(out); n > 0 && out[n-1].ID == r.ID {
			out[n-1].Role = out[n-1].Role.Max(r.Role)
			continue
		}
		out = append(out, ProjectMembership(r))
	}
	return out, nil
}
