package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// ListRoleAssignmentsPage lists assignments ordered by user name, then
// scope (system first, then projects by name), then role, a page at a time.
// o.Marker is the ID of the last assignment of the previous page; o.Name is
// not used (assignments have no name: filter by user or project).
func (s *Store) ListRoleAssignmentsPage(ctx context.Context, f AssignmentFilter, o ListOptions) (Page[RoleAssignmentView], error) {
	q := s.assignmentsQuery(s.db.WithContext(ctx))
	if f.UserID != "" {
		q = q.Where("role_assignments.user_id = ?", f.UserID)
	}
	if f.ProjectID != "" {
		q = q.Where("role_assignments.project_id = ?", f.ProjectID)
	}
	// (user name, project name, role) is unique: names are unique and a
	// user holds a role on a scope once.
	const projectName = "COALESCE(projects.name, '')"
	if o.Marker != "" {
		var m RoleAssignmentView
		err := q.Session(&gorm.Session{}).Where("role_assignments.id = ?", o.Marker).Take(&m).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Page[RoleAssignmentView]{}, Invalid("marker", "no item with this ID in the list")
		} else if err != nil {
			return Page[RoleAssignmentView]{}, fmt.Errorf("list role assignments: %w", err)
		}
		q = q.Where("(users.name > ? OR (users.name = ? AND ("+projectName+" > ? OR ("+projectName+" = ? AND role_assignments.role > ?))))",
			m.UserName, m.UserName, m.ProjectName, m.ProjectName, m.Role)
	}
	q = q.Order("users.name, " + projectName + ", role_assignments.role")
	p, err := finishPage(q, o, func(v RoleAssignmentView) string { return v.ID })
	if err != nil {
		return p, fmt.Errorf("list role assignments: %w", err)
	}
	return p, nil
}
