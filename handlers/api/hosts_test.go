package api_test

import (
	"context"
	"net/http"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

func TestHosts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		admin := e.admin()
		for _, name := range []string{"h2", "h1"} {
			if _, err := s.RegisterHost(context.Background(), models.HostInventory{Name: name, Driver: "fake", VCPUs: 16, RAMMB: 65536, DiskGB: 1000,
				ReservedRAMMB: 1024, CPURatio: 4, RAMRatio: 1, DiskRatio: 1.5}); err != nil {
				t.Fatal(err)
			}
		}
		items, pages := e.pageAll(admin, "/hosts?limit=1", "hosts")
		if got := names(items); len(got) != 2 || got[0] != "h1" || pages != 2 {
			t.Fatalf("%d pages of %v", pages, got)
		}
		h := items[0]
		if h["state"] != "up" || h["enabled"] != true || h["disabled_reason"] != nil || h["instance_count"] != 0.0 {
			t.Errorf("host %v", h)
		}
		vcpus, ram, disk := h["vcpus"].(map[string]any), h["ram_mb"].(map[string]any), h["disk_gb"].(map[string]any)
		if vcpus["capacity"] != 64.0 || vcpus["free"] != 64.0 || ram["capacity"] != 64512.0 || ram["reserved"] != 1024.0 || disk["capacity"] != 1500.0 {
			t.Errorf("capacity: vcpus %v ram %v disk %v", vcpus, ram, disk)
		}

		r := e.do(http.MethodPatch, "/hosts/h1", admin, map[string]any{"enabled": false})
		want(t, r, http.StatusUnprocessableEntity, "invalid")
		if r.field("disabled_reason") == "" {
			t.Errorf("no reason: %s", r.raw)
		}
		r = e.do(http.MethodPatch, "/hosts/h1", admin, map[string]any{"disabled_reason": "no enabled flag"})
		want(t, r, http.StatusUnprocessableEntity, "invalid")
		if r.field("enabled") == "" {
			t.Errorf("no enabled: %s", r.raw)
		}
		r = e.do(http.MethodPatch, "/hosts/h1", admin, map[string]any{"enabled": false, "disabled_reason": "replacing a DIMM"})
		want(t, r, http.StatusOK, "")
		if r.body["enabled"] != false || r.str("disabled_reason") != "replacing a DIMM" {
			t.Errorf("disabled: %s", r.raw)
		}
		got := e.do(http.MethodGet, "/hosts/"+r.str("id"), admin, nil)
		if got.body["enabled"] != false || got.str("name") != "h1" {
			t.Errorf("by ID: %s", got.raw)
		}
		r = e.do(http.MethodPatch, "/hosts/h1", admin, map[string]any{"enabled": true})
		want(t, r, http.StatusOK, "")
		if r.body["enabled"] != true || r.body["disabled_reason"] != nil {
			t.Errorf("enabled again: %s", r.raw)
		}
		want(t, e.do(http.MethodGet, "/hosts/h9", admin, nil), http.StatusNotFound, "not_found")
		want(t, e.do(http.MethodGet, "/hosts", e.demo(), nil), http.StatusForbidden, "forbidden")
	})
}
