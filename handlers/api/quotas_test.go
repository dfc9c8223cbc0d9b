package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"stratus/models"
	"stratus/models/storetest"
)

func TestQuotasAndUsage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo, admin := e.demo(), e.admin()
		e.activeImage(demo, map[string]any{"name": "cirros"}, diskImage(4096))
		want(t, e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "vm", "flavor": "m1.small", "image": "cirros", "count": 2}), http.StatusAccepted, "")

		use := func(r resp, resource string) (limit, used float64) {
			t.Helper()
			q, ok := r.body["resources"].(map[string]any)[resource].(map[string]any)
			if !ok {
				t.Fatalf("no %s in %s", resource, r.raw)
			}
			return q["limit"].(float64), q["used"].(float64)
		}

		u := e.do(http.MethodGet, "/usage", demo, nil)
		want(t, u, http.StatusOK, "")
		if u.str("project_id") != e.projectID(admin, "demo") || len(u.body["resources"].(map[string]any)) != len(models.QuotaResources()) {
			t.Errorf("usage: %s", u.raw)
		}
		for resource, w := range map[string][2]float64{"instances": {10, 2}, "vcpus": {20, 2}, "ram_mb": {51200, 4096}, "images": {100, 1}, "keypairs": {100, 0}} {
			if limit, used := use(u, resource); limit != w[0] || used != w[1] {
				t.Errorf("%s: limit %v used %v, want %v", resource, limit, used, w)
			}
		}

		set := e.do(http.MethodPut, "/quotas/demo", admin, map[string]any{"instances": 50, "vcpus": -1})
		want(t, set, http.StatusOK, "")
		if limit, used := use(set, "instances"); limit != 50 || used != 2 {
			t.Errorf("after PUT: %s", set.raw)
		}
		if limit, _ := use(set, "vcpus"); limit != -1 {
			t.Errorf("unlimited: %s", set.raw)
		}
		if limit, _ := use(e.do(http.MethodGet, "/quotas/"+e.projectID(admin, "demo"), admin, nil), "ram_mb"); limit != 51200 {
			t.Errorf("a limit not named changed: %v", limit)
		}
		if limit, _ := use(e.do(http.MethodGet, "/usage", demo, nil), "instances"); limit != 50 {
			t.Errorf("the project does not see its new limit: %v", limit)
		}

		for body, field := range map[string]string{`{"cores":4}`: "cores", `{"instances":-2}`: "instances", `{"instances":"ten"}`: "instances"} {
			r := e.do(http.MethodPut, "/quotas/demo", admin, body)
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			if r.field(field) == "" {
				t.Errorf("%s: %s", body, r.raw)
			}
		}
		want(t, e.do(http.MethodGet, "/quotas/"+uuid.NewString(), admin, nil), http.StatusNotFound, "not_found")
		want(t, e.do(http.MethodPut, "/quotas/nobody", admin, map[string]any{"instances": 1}), http.StatusNotFound, "not_found")
	})
}

// DELETE /quotas/{project} puts limits back to the defaults: those named by
// ?resource=, or every one; operators only, and a resource that is not one
// is refused by name.
func TestResetQuotas(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo, admin := e.demo(), e.admin()
		limit := func(r resp, resource string) float64 {
			t.Helper()
			q, ok := r.body["resources"].(map[string]any)[resource].(map[string]any)
			if !ok {
				t.Fatalf("no %s in %s", resource, r.raw)
			}
			return q["limit"].(float64)
		}
		want(t, e.do(http.MethodPut, "/quotas/demo", admin, map[string]any{"instances": 50, "vcpus": -1, "keypairs": 7}), http.StatusOK, "")

		want(t, e.do(http.MethodDelete, "/quotas/demo", demo, nil), http.StatusForbidden, "forbidden")
		r := e.do(http.MethodDelete, "/quotas/demo?resource=instances&resource=bogus", admin, nil)
		want(t, r, http.StatusUnprocessableEntity, "invalid")
		if !strings.Contains(r.field("resource"), "bogus") {
			t.Errorf("the unknown resource is not named: %s", r.raw)
		}
		if limit(e.do(http.MethodGet, "/quotas/demo", admin, nil), "instances") != 50 {
			t.Error("a refused reset changed a limit")
		}

		r = e.do(http.MethodDelete, "/quotas/demo?resource=instances&resource=vcpus", admin, nil)
		want(t, r, http.StatusOK, "")
		if limit(r, "instances") != 10 || limit(r, "vcpus") != 20 || limit(r, "keypairs") != 7 {
			t.Errorf("after resetting instances and vcpus: %s", r.raw)
		}
		if limit(e.do(http.MethodGet, "/usage", demo, nil), "vcpus") != 20 {
			t.Error("the project does not see the default again")
		}
		r = e.do(http.MethodDelete, "/quotas/"+e.projectID(admin, "demo"), admin, nil)
		want(t, r, http.StatusOK, "")
		if limit(r, "keypairs") != 100 {
			t.Errorf("after resetting every resource: %s", r.raw)
		}
		want(t, e.do(http.MethodDelete, "/quotas/nobody", admin, nil), http.StatusNotFound, "not_found")

		// The document says the parameter repeats, and what it takes.
		del := e.doc["paths"].(map[string]any)["/quotas/{project}"].(map[string]any)["delete"].(map[string]any)
		var resource map[string]any
		for _, p := range del["parameters"].([]any) {
			if p.(map[string]any)["name"] == "resource" {
				resource = p.(map[string]any)["schema"].(map[string]any)
			}
		}
		items, _ := resource["items"].(map[string]any)
		enum, _ := items["enum"].([]any)
		if resource["type"] != "array" || len(enum) != len(models.QuotaResources()) || resource["enum"] != nil {
			t.Errorf("DELETE /quotas/{project}: resource parameter %v, want an array of the quota resources", resource)
		}
	})
}
