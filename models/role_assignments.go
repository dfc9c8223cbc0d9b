package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// SystemScope is the ProjectID of a system-scope assignment (an operator).
const SystemScope = ""

// RoleAssignment gives a user a role on a project or on the system.
type RoleAssignment struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	ProjectID string    `json:"project_id"` // "" = system scope
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// RoleAssignmentView is an assignment with the names an admin reads.
type RoleAssignmentView struct {
	RoleAssignment
	UserName    string `json:"user_name"`
	ProjectName string `json:"project_name"` // "" for system scope
}

// AssignmentInput names the user, the scope (a project, or System) and the
// role. User and Project may be IDs or names.
type AssignmentInput struct {
	User    string `json:"user"`
	Project string `json:"project"`
	System  bool   `json:"system"`
	Role    string `json:"role"`
}

// AssignRole grants a role. Granting one that exists already is a conflict.
func (s *Store) AssignRole(ctx context.Context, c Caller, in AssignmentInput) (RoleAssignmentView, error) {
	p := Problems{}
	role, err := ParseRole(in.Role)
	if err != nil {
		p.Add("role", err.Error())
	}
	if in.User == "" {
		p.Add("user", "is required")
	}
	if in.System == (in.Project != "") {
		p.Add("project", "give either a project or system=true")
	}
	if err := p.Err(); err != nil {
		return RoleAssignmentView{}, err
	}
	var v RoleAssignmentView
	err = s.tx(ctx, func(tx *gorm.DB) error {
		u, err := s.getUser(tx, in.User)
		if errors.Is(err, ErrNotFound) {
			return Invalid("user", "no such user")
		} else if err != nil {
			return err
		}
		v, err = s.assignRole(tx, c, u, in, role)
		return err
	})
	return v, err
}

// assignRole writes one assignment (and its audit event) in tx.
func (s *Store) assignRole(tx *gorm.DB, c Caller, u User, in AssignmentInput, role Role) (RoleAssignmentView, error) {
	a := RoleAssignment{ID: newID(), UserID: u.ID, ProjectID: SystemScope, Role: role, CreatedAt: s.now()}
	v := RoleAssignmentView{UserName: u.Name}
	if !in.System {
		pr, err := projectRef(tx, "project", in.Project)
		if err != nil {
			return v, err
		}
		a.ProjectID, v.ProjectName = pr.ID, pr.Name
	}
	if err := tx.Create(&a).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return v, conflict("%s already has the %s role there", u.Name, role)
		}
		return v, fmt.Errorf("insert role assignment: %w", err)
	}
	v.RoleAssignment = a
	return v, s.audit(tx, c, AuditRoleAssign, OutcomeSuccess, "user", u.ID, u.Name, scopeText(v))
}

func scopeText(v RoleAssignmentView) string {
	if v.ProjectID == SystemScope {
		return fmt.Sprintf("%s on system", v.Role)
	}
	return fmt.Sprintf("%s on project %s", v.Role, v.ProjectName)
}

// RevokeRole removes an assignment. An operator cannot remove the last
// system admin role, or the cloud would have no operator.
func (s *Store) RevokeRole(ctx context.Context, c Caller, assignmentID string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var v RoleAssignmentView
		err := s.assignmentsQuery(tx).Where("role_assignments.id = ?", assignmentID).Take(&v).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return notFound("role assignment %q not found", assignmentID)
		} else if err != nil {
			return fmt.Errorf("get role assignment: %w", err)
		}
		if v.ProjectID == SystemScope && v.Role == RoleAdmin {
			// Locked, so two operators revoking two admins at once cannot
			// both see "one left besides me".
			var admins []string
			if err := s.forUpdate(tx.Model(&RoleAssignment{}).Where("project_id = ? AND role = ?", SystemScope, RoleAdmin)).
				Pluck("id", &admins).Error; err != nil {
				return fmt.Errorf("count system admins: %w", err)
			}
			if len(admins) <= 1 {
				return conflict("this is the last system admin assignment; assign another operator first")
			}
		}
		if err := tx.Delete(&RoleAssignment{}, "id = ?", assignmentID).Error; err != nil {
			return fmt.Errorf("delete role assignment: %w", err)
		}
		return s.audit(tx, c, AuditRoleRevoke, OutcomeSuccess, "user", v.UserID, v.UserName, scopeText(v))
	})
}

// AssignmentFilter narrows ListRoleAssignments; empty fields match all.
type AssignmentFilter struct {
	UserID    string
	ProjectID string
}

func (s *Store) assignmentsQuery(tx *gorm.DB) *gorm.DB {
	return tx.Table("role_assignments").
		Select("role_assignments.*, users.name AS user_name, COALESCE(projects.name, '') AS project_name").
		Joins("JOIN users ON users.id = role_assignments.user_id").
		Joins("LEFT JOIN projects ON projects.id = role_assignments.project_id")
}

// ListRoleAssignments lists assignments, ordered by user then scope.
func (s *Store) ListRoleAssignments(ctx context.Context, f AssignmentFilter) ([]RoleAssignmentView, error) {
	q := s.assignmentsQuery(s.db.WithContext(ctx))
	if f.UserID != "" {
		q = q.Where("role_assignments.user_id = ?", f.UserID)
	}
	if f.ProjectID != "" {
		q = q.Where("role_assignments.project_id = ?", f.ProjectID)
	}
	var out []RoleAssignmentView
	if err := q.Order("users.name, project_name, role_assignments.role").Limit(MaxPageSize).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("list role assignments: %w", err)
	}
	return out, nil
}

// ResolveCaller builds the Caller for a user acting in a project (""
// for unscoped). It fails with ErrUnauthenticated when the user is gone or
// disabled, and drops the project when it is disabled or the user has no
// role on it any more.
func (s *Store) ResolveCaller(ctx context.Context, userID, projectID string) (Caller, error) {
	db := s.db.WithContext(ctx)
	var u User
	if err := db.Select("id", "name", "enabled", "locale").Where("id = ?", userID).Take(&u).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Caller{}, ErrUnauthenticated
		}
		return Caller{}, fmt.Errorf("resolve caller: %w", err)
	}
	if !u.Enabled {
		return Caller{}, ErrUnauthenticated
	}
	c := Caller{UserID: u.ID, UserName: u.Name, Locale: u.Locale}
	type row struct {
		ProjectID      string
		Role           Role
		ProjectName    string
		ProjectEnabled bool
	}
	var rows []row
	err := db.Table("role_assignments").
		Select("role_assignments.project_id, role_assignments.role, COALESCE(projects.name, '') AS project_name, COALESCE(projects.enabled, ?) AS project_enabled", false).
		Joins("LEFT JOIN projects ON projects.id = role_assignments.project_id").
		Where("role_assignments.user_id = ? AND role_assignments.project_id IN (?, ?)", userID, SystemScope, projectID).
		Scan(&rows).Error
	if err != nil {
		return Caller{}, fmt.Errorf("resolve caller roles: %w", err)
	}
	for _, r := range rows {
		switch {
		case r.ProjectID == SystemScope:
			c.SystemRole = c.SystemRole.Max(r.Role)
		case r.ProjectEnabled:
			c.ProjectID, c.ProjectName = r.ProjectID, r.ProjectName
			c.ProjectRole = c.ProjectRole.Max(r.Role)
		}
	}
	return c, nil
}
