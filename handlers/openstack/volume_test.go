package openstack_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// token logs in with a password, scoped to a project, and gives the
// Keystone token.
func (c *cloud) token(user, password, project string) string {
	c.t.Helper()
	code, hdr, body := c.call(http.MethodPost, "/identity/v3/auth/tokens", nil, passwordAuth(
		map[string]any{"name": user, "domain": map[string]string{"name": "Default"}, "password": password},
		map[string]any{"project": map[string]any{"name": project, "domain": map[string]string{"name": "Default"}}}))
	if code != http.StatusCreated {
		c.t.Fatalf("token for %s in %s: %d %v", user, project, code, body)
	}
	return hdr.Get("X-Subject-Token")
}

// TestCinderQuotaSetNamesAProject: os-quota-sets/{project} answers a
// project that does not exist with Cinder's 404 (itemNotFound), not with
// the default quotas of a project nobody has; a project given by name is
// answered with its ID; a member still may not read another project's.
func TestCinderQuotaSetNamesAProject(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloud(t, s)
		op, demo := c.token("admin", adminPassword, "admin"), c.token("demo", demoPassword, "demo")
		adminProject, _ := s.GetProject(ctx, "admin")
		demoProject, _ := s.GetProject(ctx, "demo")
		base := "/volume/v3/" + adminProject.ID + "/os-quota-sets/"

		code, _, body := c.call(http.MethodGet, base+"no-such-project", map[string]string{"X-Auth-Token": op}, nil)
		if msg, _ := dig(body, "itemNotFound", "message").(string); code != http.StatusNotFound || !strings.Contains(msg, "no-such-project") {
			t.Errorf("quotas of an unknown project: %d %v, want 404 itemNotFound naming it", code, body)
		}
		code, _, body = c.call(http.MethodGet, base+"demo", map[string]string{"X-Auth-Token": op}, nil)
		if code != http.StatusOK || dig(body, "quota_set", "id") != demoProject.ID {
			t.Errorf("quotas of project demo by name: %d %v, want its ID", code, body)
		}
		code, _, _ = c.call(http.MethodGet, "/volume/v3/"+demoProject.ID+"/os-quota-sets/"+adminProject.ID, map[string]string{"X-Auth-Token": demo}, nil)
		if code != http.StatusForbidden {
			t.Errorf("a member reading another project's quotas: %d, want 403", code)
		}
	})
}
