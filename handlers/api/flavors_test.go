package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"stratus/models"
	"stratus/models/storetest"
)

func TestFlavors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo, admin := e.demo(), e.admin()

		t.Run("everyone lists the public flavors, smallest first, page by page", func(t *testing.T) {
			e := e.at(t)
			items, pages := e.pageAll(demo, "/flavors?limit=2", "flavors")
			sizes := []string{"m1.nano", "m1.tiny", "m1.small", "m1.medium", "m1.large"}
			if got := names(items); !slices.Equal(got, sizes) || pages != 3 {
				t.Errorf("%d pages of %v, want 3 of %v", pages, got, sizes)
			}
			r := e.do(http.MethodGet, "/flavors/m1.small", demo, nil)
			want2(t, r, "vcpus", 1.0, "ram_mb", 2048.0, "disk_gb", 10.0)
			if _, ok := r.body["projects"]; ok {
				t.Errorf("a tenant sees flavor access: %s", r.raw)
			}
			want(t, e.do(http.MethodGet, "/flavors/"+r.str("id"), demo, nil), http.StatusOK, "")
		})

		t.Run("a private flavor is for its projects", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/flavors", admin, map[string]any{"name": "gpu.huge", "vcpus": 32, "ram_mb": 131072, "disk_gb": 200,
				"is_public": false, "projects": []string{"admin"}, "extra_specs": map[string]string{"hw:cpu_policy": "dedicated"}})
			want(t, r, http.StatusCreated, "")
			if ps, _ := r.body["projects"].([]any); len(ps) != 1 || ps[0] != e.projectID(admin, "admin") {
				t.Errorf("created: %s", r.raw)
			}
			want(t, e.do(http.MethodGet, "/flavors/gpu.huge", demo, nil), http.StatusNotFound, "not_found")
			if slices.Contains(names(e.do(http.MethodGet, "/flavors", demo, nil).list("flavors")), "gpu.huge") {
				t.Error("listed to a project without access")
			}
			up := e.do(http.MethodPatch, "/flavors/gpu.huge", admin, map[string]any{"add_projects": []string{"demo"}})
			want(t, up, http.StatusOK, "")
			want(t, e.do(http.MethodGet, "/flavors/gpu.huge", demo, nil), http.StatusOK, "")
		})

		t.Run("disabled flavors are hidden but for all=true (operators)", func(t *testing.T) {
			e := e.at(t)
			want(t, e.do(http.MethodPatch, "/flavors/m1.large", admin, map[string]any{"disabled": true}), http.StatusOK, "")
			if slices.Contains(names(e.do(http.MethodGet, "/flavors", demo, nil).list("flavors")), "m1.large") {
				t.Error("a disabled flavor is listed")
			}
			all := names(e.do(http.MethodGet, "/flavors?all=true", admin, nil).list("flavors"))
			if !slices.Contains(all, "m1.large") || !slices.Contains(all, "gpu.huge") {
				t.Errorf("all=true: %v", all)
			}
			want(t, e.do(http.MethodGet, "/flavors?all=true", demo, nil), http.StatusForbidden, "forbidden")
		})

		t.Run("bad input and deletion", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/flavors", admin, map[string]any{"name": "m1.nano", "vcpus": 0, "ram_mb": 1})
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			for _, f := range []string{"vcpus", "ram_mb"} {
				if r.field(f) == "" {
					t.Errorf("%s not named: %s", f, r.raw)
				}
			}
			want(t, e.do(http.MethodPatch, "/flavors/m1.nano", admin, map[string]any{"vcpus": 2}), http.StatusUnprocessableEntity, "invalid")
			want(t, e.do(http.MethodDelete, "/flavors/gpu.huge", admin, nil), http.StatusNoContent, "")
			want(t, e.do(http.MethodGet, "/flavors/gpu.huge", admin, nil), http.StatusNotFound, "not_found")
			want(t, e.do(http.MethodDelete, "/flavors/"+uuid.NewString(), admin, nil), http.StatusNotFound, "not_found")
		})
	})
}

// want2 checks members of an answer: key, value, key, value…
func want2(t *testing.T, r resp, kv ...any) {
	t.Helper()
	want(t, r, http.StatusOK, "")
	for i := 0; i < len(kv); i += 2 {
		if got := r.body[kv[i].(string)]; got != kv[i+1] {
			t.Errorf("%s = %v, want %v: %s", kv[i], got, kv[i+1], r.raw)
		}
	}
}
