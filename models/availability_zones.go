package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// zoneExists says whether some host is in availability zone zone: a
// launch or an unshelve may ask for it.
func zoneExists(db *gorm.DB, zone string) (bool, error) {
	var n int64
	if err := db.Model(&Host{}).Where("availability_zone = ?", zone).Count(&n).Error; err != nil {
		return false, fmt.Errorf("check availability zone: %w", err)
	}
	return n > 0, nil
}

// AvailabilityZones lists the zones a launch may ask for: those of the
// enabled hosts, by name. Zone names are not tenant data, but a caller
// without a project has nothing to launch, so it gets none.
func (s *Store) AvailabilityZones(ctx context.Context, c Caller) ([]string, error) {
	out := []string{}
	if c.ProjectID == "" && !c.IsSystemAdmin() {
		return out, nil
	}
	err := s.db.WithContext(ctx).Model(&Host{}).Where("enabled = ?", true).
		Distinct("availability_zone").Order("availability_zone").Pluck("availability_zone", &out).Error
	if err != nil {
		return nil, fmt.Errorf("list availability zones: %w", err)
	}
	return out, nil
}
