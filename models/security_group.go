package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// DefaultSecurityGroup is the name of the group every project gets on first
// use: all egress, ingress only from members of the same group.
const DefaultSecurityGroup = "default"

// SecurityGroup is a set of allow rules applied to ports (Neutron's).
// Everything a rule does not allow is dropped.
type SecurityGroup struct {
	ID          string              `json:"id"`
	ProjectID   string              `json:"project_id"`
	Name        string              `json:"name"`
	Description string              `json:"description"`
	Stateful    bool                `json:"stateful" gorm:"-"`
	Rules       []SecurityGroupRule `json:"security_group_rules" gorm:"-"`
	CreatedAt   time.Time           `json:"created_at"`
	UpdatedAt   time.Time           `json:"updated_at"`
}

// SecurityGroupInput creates a security group.
type SecurityGroupInput struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// SecurityGroupUpdate renames a group; nil fields stay.
type SecurityGroupUpdate struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
}

// ensureDefaultGroup returns the project's default group, creating it (with
// Neutron's default rules) on first use. Call it under the project's lock.
func (s *Store) ensureDefaultGroup(tx *gorm.DB, projectID string) (string, error) {
	var ids []string
	if err := tx.Table("default_security_groups").Where("project_id = ?", projectID).Pluck("security_group_id", &ids).Error; err != nil {
		return "", fmt.Errorf("read default group: %w", err)
	}
	if len(ids) == 1 {
		return ids[0], nil
	}
	now := s.now()
	g := SecurityGroup{ID: newID(), ProjectID: projectID, Name: DefaultSecurityGroup, Description: "Default security group",
		CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&g).Error; err != nil {
		return "", fmt.Errorf("create default group: %w", err)
	}
	if err := tx.Exec("INSERT INTO default_security_groups (project_id, security_group_id) VALUES (?, ?)", projectID, g.ID).Error; err != nil {
		return "", fmt.Errorf("record default group: %w", err)
	}
	for _, r := range []SecurityGroupRule{
		{Direction: DirectionEgress, Ethertype: EthertypeIPv4},
		{Direction: DirectionIngress, Ethertype: EthertypeIPv4, RemoteGroupID: g.ID},
	} {
		r.ID, r.ProjectID, r.SecurityGroupID, r.CreatedAt = newID(), projectID, g.ID, now
		r.Fingerprint = r.fingerprint()
		if err := tx.Create(&r).Error; err != nil {
			return "", fmt.Errorf("create default rule: %w", err)
		}
	}
	return g.ID, nil
}

// EnsureDefaultSecurityGroup makes the project's default group exist (the
// first list of groups shows it, as in Neutron).
func (s *Store) EnsureDefaultSecurityGroup(ctx context.Context, c Caller) error {
	if c.ProjectID == "" {
		return nil
	}
	var n int64
	if err := s.db.WithContext(ctx).Table("default_security_groups").Where("project_id = ?", c.ProjectID).Count(&n).Error; err != nil {
		return fmt.Errorf("read default group: %w", err)
	}
	if n > 0 {
		return nil
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockProject(tx, c.ProjectID); err != nil {
			return err
		}
		_, err := s.ensureDefaultGroup(tx, c.ProjectID)
		return err
	})
}

// CreateSecurityGroup adds an empty group (Neutron adds egress-allow rules
// to a new group: so does Stratus) to the caller's project.
func (s *Store) CreateSecurityGroup(ctx context.Context, c Caller, in SecurityGroupInput) (SecurityGroup, error) {
	in.Name = strings.TrimSpace(in.Name)
	p := Problems{}
	p.Text("name", in.Name, 255)
	p.Text("description", in.Description, 255)
	if in.Name == "" {
		p.Add("name", "is required")
	}
	if in.Name == DefaultSecurityGroup {
		p.Add("name", "default is the project's own default group")
	}
	if c.ProjectID == "" {
		p.Add("project", "choose a project first")
	}
	if err := p.Err(); err != nil {
		return SecurityGroup{}, err
	}
	now := s.now()
	g := SecurityGroup{ID: newID(), ProjectID: c.ProjectID, Name: in.Name, Description: in.Description, Stateful: true,
		CreatedAt: now, UpdatedAt: now}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockProject(tx, c.ProjectID); err != nil {
			return err
		}
		if _, err := s.ensureDefaultGroup(tx, c.ProjectID); err != nil {
			return err
		}
		if err := s.checkQuota(tx, c.ProjectID, Usage{SecurityGroups: 1, SecurityGroupRules: 1}); err != nil {
			return err
		}
		if err := tx.Create(&g).Error; err != nil {
			return fmt.Errorf("insert security group: %w", err)
		}
		r := SecurityGroupRule{ID: newID(), ProjectID: c.ProjectID, SecurityGroupID: g.ID, Direction: DirectionEgress,
			Ethertype: EthertypeIPv4, CreatedAt: now}
		r.Fingerprint = r.fingerprint()
		if err := tx.Create(&r).Error; err != nil {
			return fmt.Errorf("insert egress rule: %w", err)
		}
		g.Rules = []SecurityGroupRule{r.view()}
		return nil
	})
	return g, err
}

// SecurityGroupFilter narrows ListSecurityGroups.
type SecurityGroupFilter struct {
	ListOptions
	Match
}

// ListSecurityGroups lists the project's groups by name with their rules,
// creating the default group on first use.
func (s *Store) ListSecurityGroups(ctx context.Context, c Caller, f SecurityGroupFilter) (Page[SecurityGroup], error) {
	if err := s.EnsureDefaultSecurityGroup(ctx, c); err != nil {
		return Page[SecurityGroup]{}, err
	}
	db := s.db.WithContext(ctx)
	q := f.Match.where(db.Model(&SecurityGroup{}).Where("security_groups.project_id = ?", c.ProjectID), "security_groups")
	p, err := pageByName(q, "security_groups", f.ListOptions, func(g SecurityGroup) string { return g.ID })
	if err != nil {
		return p, fmt.Errorf("list security groups: %w", err)
	}
	return p, fillRules(db, p.Items)
}

func fillRules(db *gorm.DB, groups []SecurityGroup) error {
	if len(groups) == 0 {
		return nil
	}
	ids := make([]string, len(groups))
	at := map[string]int{}
	for i := range groups {
		ids[i], at[groups[i].ID] = groups[i].ID, i
		groups[i].Rules, groups[i].Stateful = []SecurityGroupRule{}, true
	}
	var rules []SecurityGroupRule
	if err := db.Where("security_group_id IN ?", ids).Order("created_at, id").Find(&rules).Error; err != nil {
		return fmt.Errorf("security group rules: %w", err)
	}
	for _, r := range rules {
		groups[at[r.SecurityGroupID]].Rules = append(groups[at[r.SecurityGroupID]].Rules, r.view())
	}
	return nil
}

// GetSecurityGroup finds one of the project's groups by ID or name, with
// its rules.
func (s *Store) GetSecurityGroup(ctx context.Context, c Caller, ref string) (SecurityGroup, error) {
	db := s.db.WithContext(ctx)
	g, err := s.getSecurityGroup(db, c, ref)
	if err != nil {
		return g, err
	}
	gs := []SecurityGroup{g}
	err = fillRules(db, gs)
	return gs[0], err
}

func (s *Store) getSecurityGroup(tx *gorm.DB, c Caller, ref string) (SecurityGroup, error) {
	q := tx.Model(&SecurityGroup{}).Where("security_groups.project_id = ?", c.ProjectID)
	if IsUUID(ref) {
		return takeRef[SecurityGroup](q.Where("security_groups.id = ?", ref), "security group", ref)
	}
	return takeNamed[SecurityGroup](q.Where("security_groups.name = ?", ref), "security group",
		notFound("security group %q not found", ref), conflict("several security groups are named %q: give the ID", ref))
}

// UpdateSecurityGroup renames a group (the default group keeps its name).
func (s *Store) UpdateSecurityGroup(ctx context.Context, c Caller, ref string, in SecurityGroupUpdate) (SecurityGroup, error) {
	p := Problems{}
	if in.Name != nil {
		*in.Name = strings.TrimSpace(*in.Name)
		p.Text("name", *in.Name, 255)
		if *in.Name == "" || *in.Name == DefaultSecurityGroup {
			p.Add("name", "must not be empty or default")
		}
	}
	if in.Description != nil {
		p.Text("description", *in.Description, 255)
	}
	if err := p.Err(); err != nil {
		return SecurityGroup{}, err
	}
	var g SecurityGroup
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if g, err = s.getSecurityGroup(s.forUpdate(tx), c, ref); err != nil {
			return err
		}
		set := map[string]any{"updated_at": s.now()}
		if in.Name != nil {
			if g.Name == DefaultSecurityGroup {
				return conflict("the default security group cannot be renamed")
			}
			set["name"] = *in.Name
		}
		if in.Description != nil {
			set["description"] = *in.Description
		}
		return tx.Model(&SecurityGroup{}).Where("id = ?", g.ID).Updates(set).Error
	})
	if err != nil {
		return g, err
	}
	return s.GetSecurityGroup(ctx, c, g.ID)
}

// DeleteSecurityGroup removes a group no port uses (the default group
// stays while the project exists, as in Neutron). Rules of other groups
// that name it as their remote group go with it.
func (s *Store) DeleteSecurityGroup(ctx context.Context, c Caller, ref string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		g, err := s.getSecurityGroup(s.forUpdate(tx), c, ref)
		if err != nil {
			return err
		}
		if g.Name == DefaultSecurityGroup {
			var def int64
			if err := tx.Table("default_security_groups").Where("security_group_id = ?", g.ID).Count(&def).Error; err != nil {
				return fmt.Errorf("read default group: %w", err)
			}
			if def > 0 {
				return conflict("the default security group cannot be deleted")
			}
		}
		var used int64
		if err := tx.Table("port_security_groups").Where("security_group_id = ?", g.ID).Count(&used).Error; err != nil {
			return fmt.Errorf("count ports: %w", err)
		}
		if used > 0 {
			return conflict("security group %s is in use by %d port(s)", g.Name, used)
		}
		if err := tx.Where("security_group_id = ? OR remote_group_id = ?", g.ID, g.ID).Delete(&SecurityGroupRule{}).Error; err != nil {
			return fmt.Errorf("delete rules: %w", err)
		}
		if err := tx.Where("id = ?", g.ID).Delete(&SecurityGroup{}).Error; err != nil {
			return fmt.Errorf("delete security group: %w", err)
		}
		return bumpNetworkRevision(tx)
	})
}
