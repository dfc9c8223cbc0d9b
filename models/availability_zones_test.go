package models_test

import (
	"context"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

func TestAvailabilityZonesOfEnabledHosts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		for _, h := range []struct{ name, az string }{{"h1", "zone-b"}, {"h2", "zone-a"}, {"h3", "zone-b"}, {"h4", "zone-off"}} {
			if _, err := s.RegisterHost(ctx, models.HostInventory{Name: h.name, AvailabilityZone: h.az, VCPUs: 4, RAMMB: 4096, DiskGB: 40,
				CPURatio: 1, RAMRatio: 1, DiskRatio: 1}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.SetHostEnabled(ctx, b.admin, "h4", false, "maintenance"); err != nil {
			t.Fatal(err)
		}
		got, err := s.AvailabilityZones(ctx, b.member)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != "zone-a,zone-b" {
			t.Errorf("zones %v, want [zone-a zone-b] (distinct, sorted, enabled hosts only)", got)
		}
		if got, _ := s.AvailabilityZones(ctx, models.Caller{UserID: "nobody"}); len(got) != 0 {
			t.Errorf("a caller without a project sees zones %v", got)
		}
	})
}

func TestSeedInstancesForBenchAndCountQueries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		f, err := s.GetFlavor(ctx, b.member, "m1.tiny")
		if err != nil {
			t.Fatal(err)
		}
		queries := s.CountQueries()
		if _, err := s.SeedInstancesForBench(ctx, b.member, 1200, f, b.image); err != nil {
			t.Fatal(err)
		}
		if n := queries(); n < 3 || n > 10 {
			t.Errorf("seeding 1200 instances ran %d statements, want 3 batches", n)
		}
		before := queries()
		page, err := s.ListInstances(ctx, b.member, models.InstanceFilter{ListOptions: models.ListOptions{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 100 || page.NextMarker == "" || page.Items[0].Name != "bench-01199" {
			t.Errorf("first page: %d rows, first %q, next %q", len(page.Items), page.Items[0].Name, page.NextMarker)
		}
		if n := queries() - before; n != 1 {
			t.Errorf("one list page ran %d queries, want 1", n)
		}
		building, err := s.ListInstances(ctx, b.member, models.InstanceFilter{Status: "BUILD", ListOptions: models.ListOptions{Limit: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		if len(building.Items) != 120 {
			t.Errorf("%d building instances, want 120 (one in ten)", len(building.Items))
		}
	})
}
