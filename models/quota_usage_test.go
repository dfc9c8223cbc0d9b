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

// A quota check counts only what it checks: creating a key pair under a
// limit costs one count (the project's key pairs) more than with no limit,
// not a count of every resource of the project.
func TestQuotaCheckCountsOnlyWhatItChecks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		create := func(name string) int64 {
			t.Helper()
			queries := s.CountQueries()
			if _, err := s.CreateKeyPair(ctx, b.member, models.KeyPairInput{Name: name}); err != nil {
				t.Fatal(err)
			}
			return queries()
		}
		limited := create("k1")
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaKeyPairs: models.Unlimited}); err != nil {
			t.Fatal(err)
		}
		unlimited := create("k2")
		if limited-unlimited != 1 {
			t.Errorf("a key pair costs %d queries under a limit and %d without: the check should count the key pairs only", limited, unlimited)
		}
	})
}
