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
	// DemoNetwork, when set, gives the demo project a network of that
	// name with one subnet (DemoCIDR) unless it has a network already,
	// so that a newcomer's first launch has an address. Operators'
	// bootstraps never invent networks.
	DemoNetwork string
	DemoCIDR    string
	// ExternalNetwork, when set, is an external network (router:external)
	// on ExternalCIDR made when none of that name exists, and DemoRouter
	// the demo project's router from DemoNetwork to it (see
	// bootstrapExternal). Operators' bootstraps never invent them.
	ExternalNetwork string
	ExternalCIDR    string
	DemoRouter      string
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
		if in.DemoNetwork != "" {
			if err := s.bootstrapDemoNetwork(ctx, in); err != nil {
				return res, fmt.Errorf("bootstrap demo network: %w", err)
			}
		}
	}
	if in.ExternalNetwork != "" {
		if err := s.bootstrapExternal(ctx, in); err != nil {
			return res, fmt.Errorf("bootstrap external network: %w", err)
		}
	}
	return res, nil
}

// bootstrapDemoNetwork gives the demo project its network and subnet when
// it has no network of its own: a restart leaves an existing one (or
// another the tenant made) alone.
func (s *Store) bootstrapDemoNetwork(ctx context.Context, in BootstrapInput) error {
	pr, err := s.GetProject(ctx, in.DemoProject)
	if err != nil {
		return err
	}
	demo := Caller{UserName: "bootstrap", ProjectID: pr.ID, ProjectName: pr.Name, ProjectRole: RoleMember}
	var own int64
	if err := s.db.WithContext(ctx).Model(&Network{}).Where("project_id = ?", pr.ID).Count(&own).Error; err != nil {
		return fmt.Errorf("count the demo project's networks: %w", err)
	}
	if own > 0 {
		return nil
	}
	cidr := in.DemoCIDR
	if cidr == "" {
		cidr = "10.0.0.0/24"
	}
	_, _, err = s.CreateNetworkWithSubnet(ctx, demo, NetworkInput{Name: in.DemoNetwork},
		SubnetInput{Name: in.DemoNetwork + "-subnet", CIDR: cidr})
	return err
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
