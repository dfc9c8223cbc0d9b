package models

import (
	"context"
	"errors"
	"fmt"
)

// BootstrapInput names the first operator and, for `stratus dev`, a demo
// tenant. Empty passwords are generated.
type BootstrapInput struct {
	AdminName     string
	AdminPassword string
	AdminProject  string
	DemoProject   string // "" to skip the demo tenant
	DemoUser      string
	DemoPassword  string
}

// BootstrapResult says what was created. Passwords are filled in only for
// users created now (and only generated ones need printing).
type BootstrapResult struct {
	AdminCreated           bool
	AdminPassword          string
	AdminPasswordGenerated bool
	DemoCreated            bool
	DemoPassword           string
	DemoPasswordGenerated  bool
}

// Bootstrap creates the first system admin (with the admin role on an admin
// project), the default flavors when there are none, and optionally a demo
// project with a member user. It is
// idempotent: users that exist are left alone, so a restart never resets a
// password.
func (s *Store) Bootstrap(ctx context.Context, in BootstrapInput) (BootstrapResult, error) {
	var res BootstrapResult
	system := Caller{UserName: "bootstrap"}
	var err error
	res.AdminCreated, res.AdminPassword, res.AdminPasswordGenerated, err = s.bootstrapUser(ctx, system,
		in.AdminName, in.AdminPassword, in.AdminProject, RoleAdmin, true)
	if err != nil {
		return res, fmt.Errorf("bootstrap admin: %w", err)
	}
	if err := s.SeedFlavors(ctx); err != nil {
		return res, fmt.Errorf("seed flavors: %w", err)
	}
	if in.DemoProject != "" {
		res.DemoCreated, res.DemoPassword, res.DemoPasswordGenerated, err = s.bootstrapUser(ctx, system,
			in.DemoUser, in.DemoPassword, in.DemoProject, RoleMember, false)
		if err != nil {
			return res, fmt.Errorf("bootstrap demo user: %w", err)
		}
	}
	return res, nil
}

// bootstrapUser creates the user (and project) if missing and gives it its
// roles. An existing user is left alone — unless it holds no role at all:
// then an earlier bootstrap was interrupted after creating it, and this one
// completes it.
func (s *Store) bootstrapUser(ctx context.Context, c Caller, name, password, project string, role Role, systemAdmin bool) (created bool, pw string, generated bool, err error) {
	u, err := s.GetUser(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound):
		if password == "" {
			password, generated = randomSecret(12), true
		}
		if u, err = s.CreateUser(ctx, c, UserInput{Name: name, Password: password}); err != nil {
			return false, "", false, err
		}
		created = true
	case err != nil:
		return false, "", false, err
	default:
		roles, err := s.ListRoleAssignments(ctx, AssignmentFilter{UserID: u.ID})
		if err != nil || len(roles) > 0 {
			return false, "", false, err
		}
	}
	pr, err := s.GetProject(ctx, project)
	if errors.Is(err, ErrNotFound) {
		pr, err = s.CreateProject(ctx, c, ProjectInput{Name: project, Description: "created at bootstrap"})
	}
	if err != nil {
		return created, "", false, err
	}
	grants := []AssignmentInput{{User: u.ID, Project: pr.ID, Role: string(role)}}
	if systemAdmin {
		grants = append(grants, AssignmentInput{User: u.ID, System: true, Role: string(RoleAdmin)})
	}
	for _, g := range grants {
		if _, err := s.AssignRole(ctx, c, g); err != nil && !errors.Is(err, ErrConflict) {
			return created, "", false, err
		}
	}
	if !created {
		return false, "", false, nil
	}
	return true, password, generated, nil
}
