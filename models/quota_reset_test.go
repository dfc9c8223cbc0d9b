package models_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// ResetQuotas forgets the limits named, and only those: they read the
// defaults again, the project leaves Neutron's list of projects with
// networking limits of their own, and the reset is audited. A resource that
// is not one is refused by name before anything is deleted.
func TestResetQuotasForgetsTheLimitsNamed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		demo, err := s.GetProject(ctx, "demo")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{
			models.QuotaInstances: 3, models.QuotaNetworks: 5, models.QuotaVolumes: 2,
		}); err != nil {
			t.Fatal(err)
		}
		networking := []string{models.QuotaNetworks, models.QuotaSubnets, models.QuotaPorts, models.QuotaRouters}
		own := func() bool {
			t.Helper()
			ids, err := s.ProjectsWithOwnQuotas(ctx, networking)
			if err != nil {
				t.Fatal(err)
			}
			return slices.Contains(ids, demo.ID)
		}
		if !own() {
			t.Fatal("demo has a networking limit of its own but is not listed")
		}
		limits := func(lines []models.QuotaLine) map[string]int64 {
			out := map[string]int64{}
			for _, l := range lines {
				out[l.Resource] = l.Limit
			}
			return out
		}

		_, err = s.ResetQuotas(ctx, b.admin, "demo", []string{models.QuotaVolumes, "bogus"})
		var ve *models.ValidationError
		if !errors.As(err, &ve) || ve.Fields["bogus"] == "" {
			t.Fatalf("an unknown resource: %v, want a validation error naming it", err)
		}
		if _, err := s.ResetQuotas(ctx, b.admin, "demo", nil); !errors.As(err, &ve) {
			t.Errorf("no resource: %v, want a validation error", err)
		}
		if _, err := s.ResetQuotas(ctx, b.admin, "nobody", []string{models.QuotaVolumes}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("an unknown project: %v, want not found", err)
		}
		lines, err := s.ProjectQuotas(ctx, demo.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := limits(lines)[models.QuotaVolumes]; got != 2 {
			t.Errorf("a refused reset changed the volumes limit to %d", got)
		}

		lines, err = s.ResetQuotas(ctx, b.admin, demo.ID, []string{models.QuotaInstances, models.QuotaNetworks, models.QuotaNetworks})
		if err != nil {
			t.Fatal(err)
		}
		got, defaults := limits(lines), models.DefaultQuotas()
		if got[models.QuotaInstances] != defaults[models.QuotaInstances] || got[models.QuotaNetworks] != defaults[models.QuotaNetworks] {
			t.Errorf("after the reset: instances %d, networks %d, want the defaults %d and %d", got[models.QuotaInstances],
				got[models.QuotaNetworks], defaults[models.QuotaInstances], defaults[models.QuotaNetworks])
		}
		if got[models.QuotaVolumes] != 2 {
			t.Errorf("a limit not named was reset: volumes %d", got[models.QuotaVolumes])
		}
		if own() {
			t.Error("demo is still listed with networking limits of its own")
		}

		events, _, err := s.ListAuditEvents(ctx, models.AuditFilter{Action: models.AuditQuotaReset})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].TargetID != demo.ID || events[0].Detail != "instances networks" || events[0].ActorName != "admin" {
			t.Errorf("audit events %+v, want one reset of demo's instances and networks by admin", events)
		}
	})
}
