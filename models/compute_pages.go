package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Paged lists of the compute resources, for the API (limit and marker, as
// every list there). The unpaged ListFlavors, ListKeyPairs, ListServerGroups
// and ListHosts stay for the UI's selects and the scheduler.

// ListFlavorsPage lists the flavors the caller may use, smallest first.
// all (operators only; ignored for anyone else) adds disabled flavors and
// those not shared with the caller's project.
func (s *Store) ListFlavorsPage(ctx context.Context, c Caller, all bool, o ListOptions) (Page[Flavor], error) {
	all = all && c.IsSystemAdmin()
	q := visibleFlavors(s.db.WithContext(ctx).Model(&Flavor{}), c.ProjectID, all)
	if !all {
		q = q.Where("flavors.disabled = ?", false)
	}
	q = nameFilter(q, "flavors", o)
	if o.Marker != "" {
		var m Flavor
		err := q.Session(&gorm.Session{}).Where("flavors.id = ?", o.Marker).Take(&m).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Page[Flavor]{}, Invalid("marker", "no item with this ID in the list")
		} else if err != nil {
			return Page[Flavor]{}, fmt.Errorf("list flavors: %w", err)
		}
		// After the marker in (vcpus, ram_mb, disk_gb, name) order; names
		// are unique, so the order is total.
		q = q.Where(`(flavors.vcpus > ? OR (flavors.vcpus = ? AND (flavors.ram_mb > ? OR (flavors.ram_mb = ? AND
			(flavors.disk_gb > ? OR (flavors.disk_gb = ? AND flavors.name > ?))))))`,
			m.VCPUs, m.VCPUs, m.RAMMB, m.RAMMB, m.DiskGB, m.DiskGB, m.Name)
	}
	p, err := finishPage(q.Order("flavors.vcpus, flavors.ram_mb, flavors.disk_gb, flavors.name"), o, func(f Flavor) string { return f.ID })
	if err != nil {
		return p, fmt.Errorf("list flavors: %w", err)
	}
	return p, nil
}

// ListKeyPairsPage lists the caller's project's key pairs by name.
func (s *Store) ListKeyPairsPage(ctx context.Context, c Caller, o ListOptions) (Page[KeyPair], error) {
	q := s.db.WithContext(ctx).Model(&KeyPair{}).Where("keypairs.project_id = ?", c.ProjectID)
	p, err := pageByName(q, "keypairs", o, func(k KeyPair) string { return k.ID })
	if err != nil {
		return p, fmt.Errorf("list key pairs: %w", err)
	}
	return p, nil
}

// ListServerGroupsPage lists the caller's project's server groups by name,
// with their members.
func (s *Store) ListServerGroupsPage(ctx context.Context, c Caller, o ListOptions) (Page[ServerGroup], error) {
	db := s.db.WithContext(ctx)
	q := db.Model(&ServerGroup{}).Where("server_groups.project_id = ?", c.ProjectID)
	p, err := pageByName(q, "server_groups", o, func(g ServerGroup) string { return g.ID })
	if err != nil {
		return p, fmt.Errorf("list server groups: %w", err)
	}
	if err := fillMembers(db, p.Items); err != nil {
		return Page[ServerGroup]{}, err
	}
	return p, nil
}

// ListHostsPage lists the hosts by name (operators).
func (s *Store) ListHostsPage(ctx context.Context, o ListOptions) (Page[Host], error) {
	p, err := pageByName(s.db.WithContext(ctx).Model(&Host{}), "hosts", o, func(h Host) string { return h.ID })
	if err != nil {
		return p, fmt.Errorf("list hosts: %w", err)
	}
	return p, nil
}

// fillMembers sets each group's live members (instance IDs, oldest first)
// with one query for all of them.
func fillMembers(db *gorm.DB, groups []ServerGroup) error {
	if len(groups) == 0 {
		return nil
	}
	ids := make([]string, len(groups))
	idx := make(map[string]int, len(groups))
	for i, g := range groups {
		ids[i], idx[g.ID] = g.ID, i
		groups[i].Members = []string{}
	}
	type row struct{ ID, ServerGroupID string }
	var rows []row
	if err := db.Model(&Instance{}).Select("id, server_group_id").
		Where("server_group_id IN ? AND deleted_at IS NULL", ids).Order("created_at, id").Scan(&rows).Error; err != nil {
		return fmt.Errorf("server group members: %w", err)
	}
	for _, r := range rows {
		i := idx[r.ServerGroupID]
		groups[i].Members = append(groups[i].Members, r.ID)
	}
	return nil
}
