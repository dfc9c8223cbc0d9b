package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Server group policies.
const (
	PolicyAffinity     = "affinity"      // all members on one host
	PolicyAntiAffinity = "anti-affinity" // every member on a different host
)

// ServerGroup groups instances for (anti-)affinity placement.
type ServerGroup struct {
	ID        string    `json:"id"`
	ProjectID string    `json:"project_id"`
	Name      string    `json:"name"`
	Policy    string    `json:"policy"`
	CreatedAt time.Time `json:"created_at"`
	Members   []string  `json:"members" gorm:"-"`
}

// ServerGroupInput creates a server group.
type ServerGroupInput struct {
	Name   string `json:"name"`
	Policy string `json:"policy"`
}

// CreateServerGroup adds a server group to the caller's project.
func (s *Store) CreateServerGroup(ctx context.Context, c Caller, in ServerGroupInput) (ServerGroup, error) {
	in.Name = strings.TrimSpace(in.Name)
	p := Problems{}
	p.Slug("name", in.Name)
	if in.Policy != PolicyAffinity && in.Policy != PolicyAntiAffinity {
		p.Add("policy", "must be affinity or anti-affinity")
	}
	if c.ProjectID == "" {
		p.Add("project", "choose a project first")
	}
	if err := p.Err(); err != nil {
		return ServerGroup{}, err
	}
	g := ServerGroup{ID: newID(), ProjectID: c.ProjectID, Name: in.Name, Policy: in.Policy, CreatedAt: s.now(), Members: []string{}}
	if err := s.db.WithContext(ctx).Create(&g).Error; err != nil {
		return g, fmt.Errorf("insert server group: %w", err)
	}
	return g, nil
}

// ListServerGroups lists the project's server groups with their members.
func (s *Store) ListServerGroups(ctx context.Context, c Caller) ([]ServerGroup, error) {
	var out []ServerGroup
	db := s.db.WithContext(ctx)
	if err := db.Where("project_id = ?", c.ProjectID).Order("name").Limit(MaxPageSize).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list server groups: %w", err)
	}
	if err := fillMembers(db, out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetServerGroup finds one of the project's server groups by ID or name,
// with its members.
func (s *Store) GetServerGroup(ctx context.Context, c Caller, idOrName string) (ServerGroup, error) {
	db := s.db.WithContext(ctx)
	g, err := s.getServerGroup(db, c.ProjectID, idOrName)
	if err != nil {
		return g, err
	}
	groups := []ServerGroup{g}
	err = fillMembers(db, groups)
	return groups[0], err
}

func (s *Store) getServerGroup(tx *gorm.DB, projectID, idOrName string) (ServerGroup, error) {
	q := tx.Where("server_groups.project_id = ?", projectID)
	return takeRef[ServerGroup](byRef(q, "server_groups", idOrName), "server group", idOrName)
}

// DeleteServerGroup removes a server group; its members stay, ungrouped.
func (s *Store) DeleteServerGroup(ctx context.Context, c Caller, idOrName string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		g, err := s.getServerGroup(tx, c.ProjectID, idOrName)
		if err != nil {
			return err
		}
		if err := tx.Model(&Instance{}).Where("server_group_id = ?", g.ID).Update("server_group_id", "").Error; err != nil {
			return fmt.Errorf("ungroup members: %w", err)
		}
		return tx.Delete(&ServerGroup{}, "id = ?", g.ID).Error
	})
}

// GroupPlacement is what the scheduler needs about an instance's group: its
// policy and the hosts its other live members are on.
type GroupPlacement struct {
	Policy string
	Hosts  map[string]int // host name → members there
}

// ServerGroupPlacement reads the group's policy and member hosts.
func (s *Store) ServerGroupPlacement(ctx context.Context, groupID, exceptInstance string) (GroupPlacement, error) {
	var g ServerGroup
	db := s.db.WithContext(ctx)
	if err := db.Where("id = ?", groupID).Take(&g).Error; err != nil {
		return GroupPlacement{}, fmt.Errorf("get server group: %w", err)
	}
	var hosts []string
	if err := db.Model(&Instance{}).Where("server_group_id = ? AND id <> ? AND deleted_at IS NULL AND host <> ''", groupID, exceptInstance).
		Pluck("host", &hosts).Error; err != nil {
		return GroupPlacement{}, fmt.Errorf("server group hosts: %w", err)
	}
	gp := GroupPlacement{Policy: g.Policy, Hosts: map[string]int{}}
	for _, h := range hosts {
		gp.Hosts[h]++
	}
	return gp, nil
}
