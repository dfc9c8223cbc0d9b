package openstack_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	bsquotasets "github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/quotas"

	gcos "github.com/gophercloud/gophercloud/v2/openstack"

	"stratus/models"
	"stratus/models/storetest"
)

// TestQuotaResetPerService: Nova's DELETE os-quota-sets (202, no body),
// Neutron's DELETE quotas (204) and Cinder's DELETE os-quota-sets (200, no
// body) put their own service's limits back to the defaults and leave the
// others; Neutron's list of projects with quotas of their own then leaves
// the project out. A member is refused by the policy, as for the PUT; an
// unknown project is 404; gophercloud's Delete of each service takes the
// answer.
func TestQuotaResetPerService(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloud(t, s)
		op := map[string]string{"X-Auth-Token": c.token("admin", adminPassword, "admin")}
		demo := map[string]string{"X-Auth-Token": c.token("demo", demoPassword, "demo")}
		demoProject, _ := s.GetProject(ctx, "demo")
		adminProject, _ := s.GetProject(ctx, "admin")
		operator := models.Caller{UserName: "test", SystemRole: models.RoleAdmin}
		if _, err := s.SetQuotas(ctx, operator, demoProject.ID, map[string]int64{
			models.QuotaInstances: 4, models.QuotaVCPUs: 7, models.QuotaNetworks: 7, models.QuotaPorts: 9,
			models.QuotaVolumes: 3, models.QuotaGigabytes: 50,
		}); err != nil {
			t.Fatal(err)
		}
		nova := "/compute/v2.1/os-quota-sets/" + demoProject.ID
		neutron := "/network/v2.0/quotas/" + demoProject.ID
		cinder := "/volume/v3/" + demoProject.ID + "/os-quota-sets/" + demoProject.ID
		cinderAsOp := "/volume/v3/" + adminProject.ID + "/os-quota-sets/" + demoProject.ID
		limits := func() map[string]any {
			t.Helper()
			_, _, n := c.call(http.MethodGet, nova, op, nil)
			_, _, q := c.call(http.MethodGet, neutron, op, nil)
			_, _, v := c.call(http.MethodGet, cinderAsOp, op, nil)
			return map[string]any{
				"instances": dig(n, "quota_set", "instances"), "cores": dig(n, "quota_set", "cores"),
				"network": dig(q, "quota", "network"), "port": dig(q, "quota", "port"),
				"volumes": dig(v, "quota_set", "volumes"), "gigabytes": dig(v, "quota_set", "gigabytes"),
			}
		}
		check := func(when string, want map[string]float64) {
			t.Helper()
			got := limits()
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s: %s is %v, want %v (all: %v)", when, k, got[k], w, got)
				}
			}
		}
		listed := func() bool {
			t.Helper()
			code, _, out := c.call(http.MethodGet, "/network/v2.0/quotas", op, nil)
			if code != http.StatusOK {
				t.Fatalf("GET quotas: %d %v", code, out)
			}
			for _, q := range out["quotas"].([]any) {
				if q.(map[string]any)["project_id"] == demoProject.ID {
					return true
				}
			}
			return false
		}
		set := map[string]float64{"instances": 4, "cores": 7, "network": 7, "port": 9, "volumes": 3, "gigabytes": 50}
		check("as set", set)
		if !listed() {
			t.Fatal("demo, with networking limits of its own, is not in Neutron's list")
		}

		for _, path := range []string{nova, neutron, cinder} {
			if code, _, body := c.call(http.MethodDelete, path, demo, nil); code != http.StatusForbidden {
				t.Errorf("a member's DELETE %s: %d %v, want 403", path, code, body)
			}
		}
		check("after the members' refused resets", set)

		code, _, body := c.call(http.MethodDelete, nova+"?user_id=someone", op, nil)
		if code != http.StatusBadRequest {
			t.Errorf("Nova's reset of one user's quotas: %d %v, want 400 (no per-user quotas)", code, body)
		}
		code, hdr, body := c.call(http.MethodDelete, nova, op, nil)
		if code != http.StatusAccepted || body != nil || hdr.Get("Content-Length") != "0" {
			t.Errorf("Nova's reset: %d %v, want 202 with no body", code, body)
		}
		check("after Nova's reset", map[string]float64{"instances": 10, "cores": 20, "network": 7, "port": 9, "volumes": 3, "gigabytes": 50})

		code, _, body = c.call(http.MethodDelete, neutron, op, nil)
		if code != http.StatusNoContent || body != nil {
			t.Errorf("Neutron's reset: %d %v, want 204", code, body)
		}
		check("after Neutron's reset", map[string]float64{"network": 100, "port": 500, "volumes": 3, "gigabytes": 50})
		if listed() {
			t.Error("demo is still in Neutron's list of projects with quotas of their own")
		}

		code, hdr, body = c.call(http.MethodDelete, cinderAsOp, op, nil)
		if code != http.StatusOK || body != nil || hdr.Get("Content-Length") != "0" {
			t.Errorf("Cinder's reset: %d %v, want 200 with no body", code, body)
		}
		check("after Cinder's reset", map[string]float64{"volumes": 10, "gigabytes": 1000})

		for _, path := range []string{"/compute/v2.1/os-quota-sets/nobody", "/network/v2.0/quotas/nobody", "/volume/v3/" + adminProject.ID + "/os-quota-sets/nobody"} {
			if code, _, body := c.call(http.MethodDelete, path, op, nil); code != http.StatusNotFound {
				t.Errorf("DELETE %s: %d %v, want 404", path, code, body)
			}
		}

		// The clients take each answer (gophercloud checks the status).
		p := c.provider("admin", adminPassword, "admin")
		nc, err := gcos.NewNetworkV2(p, region)
		must(t, err, "network client")
		bc, err := gcos.NewBlockStorageV3(p, region)
		must(t, err, "block storage client")
		must(t, quotasets.Delete(ctx, c.compute(p, "2.79"), demoProject.ID).Err, "gophercloud: Nova's reset")
		must(t, quotas.Delete(ctx, nc, demoProject.ID).ExtractErr(), "gophercloud: Neutron's reset")
		must(t, bsquotasets.Delete(ctx, bc, demoProject.ID).ExtractErr(), "gophercloud: Cinder's reset")

		events, _, err := s.ListAuditEvents(ctx, models.AuditFilter{Action: models.AuditQuotaReset})
		must(t, err, "audit")
		var details []string
		for _, e := range events {
			details = append(details, e.Detail)
		}
		if len(events) != 6 || !slices.Contains(details, "instances keypairs ram_mb vcpus") ||
			!slices.Contains(details, "gigabytes snapshots volumes") {
			t.Errorf("audited resets %q: want each service's resources, twice", details)
		}
	})
}
