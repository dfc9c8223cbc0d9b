package models_test

import (
	"context"
	"errors"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// The vCPU quota counts the vCPUs of the project's instances (the usage
// query's "vcpus" column must reach Usage.VCPUs, whose Go name gorm would
// otherwise map to another column) and refuses what would exceed it.
func TestVCPUQuotaCountsAndRefuses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		if _, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "app", Flavor: "m1.medium", Image: b.image.ID, Count: 2}); err != nil {
			t.Fatal(err)
		}
		lines, err := s.ProjectQuotas(ctx, b.member.ProjectID)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if l.Resource == models.QuotaVCPUs && l.Used != 4 {
				t.Errorf("vCPUs used %d, want 4 (2 × m1.medium)", l.Used)
			}
		}
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaVCPUs: 5}); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "more", Flavor: "m1.medium", Image: b.image.ID})
		if !errors.Is(err, models.ErrQuotaExceeded) {
			t.Errorf("a 6th vCPU over a quota of 5: %v, want quota exceeded", err)
		}
	})
}
