package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// pageAll follows a paged list to its end.
func pageAll[T any](t *testing.T, list func(models.ListOptions) (models.Page[T], error), limit int, name func(T) string) []string {
	t.Helper()
	var out []string
	o := models.ListOptions{Limit: limit}
	for range 100 {
		p, err := list(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			out = append(out, name(it))
		}
		if p.NextMarker == "" {
			return out
		}
		o.Marker = p.NextMarker
	}
	t.Fatal("paging does not end")
	return nil
}

func TestComputeListsPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()

		t.Run("flavors, smallest first, ties by name", func(t *testing.T) {
			for _, name := range []string{"b.same", "a.same"} {
				if _, err := s.CreateFlavor(ctx, b.admin, models.FlavorInput{Name: name, VCPUs: 1, RAMMB: 512, DiskGB: 1}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.CreateFlavor(ctx, b.admin, models.FlavorInput{Name: "hidden", VCPUs: 1, RAMMB: 64, IsPublic: new(bool)}); err != nil {
				t.Fatal(err)
			}
			got := pageAll(t, func(o models.ListOptions) (models.Page[models.Flavor], error) {
				return s.ListFlavorsPage(ctx, b.member, true, o) // all: ignored for a tenant
			}, 2, func(f models.Flavor) string { return f.Name })
			want := []string{"m1.nano", "a.same", "b.same", "m1.tiny", "m1.small", "m1.medium", "m1.large"}
			if !slices.Equal(got, want) {
				t.Errorf("flavors %v, want %v", got, want)
			}
			all := pageAll(t, func(o models.ListOptions) (models.Page[models.Flavor], error) {
				return s.ListFlavorsPage(ctx, b.admin, true, o)
			}, 3, func(f models.Flavor) string { return f.Name })
			if len(all) != 8 || all[0] != "hidden" {
				t.Errorf("operator's all: %v", all)
			}
			_, err := s.ListFlavorsPage(ctx, b.member, false, models.ListOptions{Marker: "00000000-0000-4000-8000-000000000000"})
			if !errors.Is(err, models.ErrInvalid) {
				t.Errorf("unknown marker: %v", err)
			}
		})

		t.Run("key pairs of the project only", func(t *testing.T) {
			for i := range 3 {
				if _, err := s.CreateKeyPair(ctx, b.member, models.KeyPairInput{Name: fmt.Sprintf("k%d", i)}); err != nil {
					t.Fatal(err)
				}
			}
			got := pageAll(t, func(o models.ListOptions) (models.Page[models.KeyPair], error) {
				return s.ListKeyPairsPage(ctx, b.member, o)
			}, 2, func(k models.KeyPair) string { return k.Name })
			if !slices.Equal(got, []string{"k0", "k1", "k2"}) {
				t.Errorf("key pairs %v", got)
			}
			p, err := s.ListKeyPairsPage(ctx, models.Caller{ProjectID: b.admin.ProjectID}, models.ListOptions{})
			if err != nil || len(p.Items) != 0 {
				t.Errorf("another project sees %v (%v)", p.Items, err)
			}
		})

		t.Run("server groups with their members", func(t *testing.T) {
			g, err := s.CreateServerGroup(ctx, b.member, models.ServerGroupInput{Name: "spread", Policy: models.PolicyAntiAffinity})
			if err != nil || g.Members == nil {
				t.Fatalf("created %+v %v: members must be [] not null", g, err)
			}
			insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "db", Flavor: "m1.nano", Image: b.image.ID, Count: 2, ServerGroup: "spread"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.GetServerGroup(ctx, b.member, "spread")
			if err != nil || !slices.Equal(got.Members, []string{insts[0].ID, insts[1].ID}) && !slices.Equal(got.Members, []string{insts[1].ID, insts[0].ID}) {
				t.Errorf("members %v (%v), want both instances", got.Members, err)
			}
			if _, err := s.CreateServerGroup(ctx, b.member, models.ServerGroupInput{Name: "empty", Policy: models.PolicyAffinity}); err != nil {
				t.Fatal(err)
			}
			p, err := s.ListServerGroupsPage(ctx, b.member, models.ListOptions{Limit: 1})
			if err != nil || len(p.Items) != 1 || p.Items[0].Name != "empty" || p.Items[0].Members == nil || p.NextMarker == "" {
				t.Fatalf("first page %+v %v", p, err)
			}
			p, err = s.ListServerGroupsPage(ctx, b.member, models.ListOptions{Limit: 1, Marker: p.NextMarker})
			if err != nil || len(p.Items) != 1 || len(p.Items[0].Members) != 2 || p.NextMarker != "" {
				t.Errorf("second page %+v %v", p, err)
			}
		})

		t.Run("hosts by name", func(t *testing.T) {
			for _, name := range []string{"c", "a", "b"} {
				if _, err := s.RegisterHost(ctx, models.HostInventory{Name: name, Driver: "fake", VCPUs: 4, RAMMB: 4096, CPURatio: 4, RAMRatio: 1, DiskRatio: 1}); err != nil {
					t.Fatal(err)
				}
			}
			got := pageAll(t, func(o models.ListOptions) (models.Page[models.Host], error) {
				return s.ListHostsPage(ctx, o)
			}, 2, func(h models.Host) string { return h.Name })
			if !slices.Equal(got, []string{"a", "b", "c"}) {
				t.Errorf("hosts %v", got)
			}
		})
	})
}
