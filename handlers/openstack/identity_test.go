package openstack_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// call sends a raw request to the test server and decodes a JSON answer.
func (c *cloud) call(method, path string, hdr map[string]string, body any) (int, http.Header, map[string]any) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.srv.URL+path, r)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if resp.Header.Get("X-Openstack-Request-Id") == "" || !strings.HasPrefix(resp.Header.Get("X-Openstack-Request-Id"), "req-") {
		c.t.Errorf("%s %s: X-Openstack-Request-Id %q", method, path, resp.Header.Get("X-Openstack-Request-Id"))
	}
	return resp.StatusCode, resp.Header, out
}

func passwordAuth(user map[string]any, scope any) map[string]any {
	a := map[string]any{"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": user}}}
	if scope != nil {
		a["scope"] = scope
	}
	return map[string]any{"auth": a}
}

func dig(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		mm, _ := v.(map[string]any)
		v = mm[k]
	}
	return v
}

// Keystone's token flows beyond what gophercloud does: user and project by
// ID, system scope (operators only), unscoped tokens without a catalog,
// validation (HEAD/GET) by the token's user only, revocation, application
// credentials (Stratus API tokens) authenticating on their own, and the
// error shape of every service.
func TestKeystoneTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := newCloud(t, s)
		admin, err := s.GetUser(t.Context(), "admin")
		must(t, err, "admin")
		demoProject, err := s.GetProject(t.Context(), "demo")
		must(t, err, "project")

		// User by ID, project by ID.
		code, _, body := c.call(http.MethodPost, "/identity/v3/auth/tokens", nil, passwordAuth(
			map[string]any{"id": admin.ID, "password": adminPassword}, map[string]any{"project": map[string]any{"id": demoProject.ID}}))
		if code != http.StatusUnauthorized {
			t.Errorf("admin has no role on demo: %d %v", code, body)
		}
		code, hdr, body := c.call(http.MethodPost, "/identity/v3/auth/tokens", nil, passwordAuth(
			map[string]any{"name": "demo", "domain": map[string]string{"id": "default"}, "password": demoPassword},
			map[string]any{"project": map[string]any{"id": demoProject.ID}}))
		demoTok := hdr.Get("X-Subject-Token")
		if code != http.StatusCreated || demoTok == "" || dig(body, "token", "project", "name") != "demo" ||
			len(dig(body, "token", "catalog").([]any)) < 4 {
			t.Fatalf("demo's token: %d %v", code, body)
		}
		roles := dig(body, "token", "roles").([]any)
		if len(roles) != 2 { // member implies reader
			t.Errorf("demo's roles %v", roles)
		}

		// System scope: the operator gets it, a member does not.
		code, hdr, body = c.call(http.MethodPost, "/identity/v3/auth/tokens", nil, passwordAuth(
			map[string]any{"name": "admin", "domain": map[string]string{"name": "Default"}, "password": adminPassword},
			map[string]any{"system": map[string]any{"all": true}}))
		sysTok := hdr.Get("X-Subject-Token")
		if code != http.StatusCreated || dig(body, "token", "system", "all") != true || dig(body, "token", "project") != nil {
			t.Fatalf("system token: %d %v", code, body)
		}
		code, _, body = c.call(http.MethodPost, "/identity/v3/auth/tokens", nil, passwordAuth(
			map[string]any{"name": "demo", "domain": map[string]string{"name": "Default"}, "password": demoPassword},
			map[string]any{"system": map[string]any{"all": true}}))
		if code != http.StatusUnauthorized || dig(body, "error", "code") != float64(401) || dig(body, "error", "title") != "Unauthorized" {
			t.Errorf("a member's system token: %d %v", code, body)
		}
		// Another domain, a wrong password: 401 alike.
		code, _, _ = c.call(http.MethodPost, "/identity/v3/auth/tokens", nil, passwordAuth(
			map[string]any{"name": "demo", "domain": map[string]string{"name": "Other"}, "password": demoPassword}, nil))
		if code != http.StatusUnauthorized {
			t.Errorf("another domain: %d", code)
		}
		// Unscoped: no catalog, no roles.
		code, _, body = c.call(http.MethodPost, "/identity/v3/auth/tokens", nil, passwordAuth(
			map[string]any{"name": "demo", "domain": map[string]string{"name": "Default"}, "password": demoPassword}, nil))
		if code != http.StatusCreated || dig(body, "token", "catalog") != nil || dig(body, "token", "roles") != nil {
			t.Errorf("unscoped token: %d %v", code, body)
		}

		// Validation: by the token's user, or an operator; not by others.
		code, hdr, body = c.call(http.MethodGet, "/identity/v3/auth/tokens", map[string]string{"X-Auth-Token": sysTok, "X-Subject-Token": demoTok}, nil)
		if code != http.StatusOK || hdr.Get("X-Subject-Token") != demoTok || dig(body, "token", "user", "name") != "demo" {
			t.Errorf("operator validates demo's token: %d %v", code, body)
		}
		code, _, _ = c.call(http.MethodHead, "/identity/v3/auth/tokens", map[string]string{"X-Auth-Token": demoTok, "X-Subject-Token": sysTok}, nil)
		if code != http.StatusNotFound {
			t.Errorf("demo checks the operator's token: %d, want 404", code)
		}

		// Application credentials are API tokens: created once with their
		// secret, they authenticate on their own and die when deleted.
		demo, _ := s.GetUser(t.Context(), "demo")
		code, _, body = c.call(http.MethodPost, "/identity/v3/users/"+demo.ID+"/application_credentials",
			map[string]string{"X-Auth-Token": demoTok}, map[string]any{"application_credential": map[string]any{"name": "ci"}})
		secret, _ := dig(body, "application_credential", "secret").(string)
		credID, _ := dig(body, "application_credential", "id").(string)
		if code != http.StatusCreated || !strings.HasPrefix(secret, "stk_") {
			t.Fatalf("create application credential: %d %v", code, body)
		}
		appAuth := map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"application_credential"},
			"application_credential": map[string]any{"id": credID, "secret": secret}}}}
		code, hdr, body = c.call(http.MethodPost, "/identity/v3/auth/tokens", nil, appAuth)
		if code != http.StatusCreated || hdr.Get("X-Subject-Token") != secret || dig(body, "token", "project", "id") != demoProject.ID {
			t.Fatalf("application credential auth: %d %v", code, body)
		}
		code, _, _ = c.call(http.MethodGet, "/compute/v2.1/servers", map[string]string{"X-Auth-Token": secret}, nil)
		if code != http.StatusOK {
			t.Errorf("compute with the application credential: %d", code)
		}
		code, _, _ = c.call(http.MethodDelete, "/identity/v3/users/"+demo.ID+"/application_credentials/"+credID, map[string]string{"X-Auth-Token": demoTok}, nil)
		if code != http.StatusNoContent {
			t.Errorf("delete application credential: %d", code)
		}
		code, _, _ = c.call(http.MethodPost, "/identity/v3/auth/tokens", nil, appAuth)
		if code != http.StatusUnauthorized {
			t.Errorf("deleted application credential: %d, want 401", code)
		}

		// Revocation, then every service refuses the token with 401 and
		// says where to get a new one.
		code, _, _ = c.call(http.MethodDelete, "/identity/v3/auth/tokens", map[string]string{"X-Auth-Token": demoTok, "X-Subject-Token": demoTok}, nil)
		if code != http.StatusNoContent {
			t.Fatalf("revoke: %d", code)
		}
		for _, path := range []string{"/identity/v3/auth/catalog", "/compute/v2.1/servers", "/image/v2/images", "/network/v2.0/networks"} {
			code, hdr, body := c.call(http.MethodGet, path, map[string]string{"X-Auth-Token": demoTok}, nil)
			if code != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") != `Keystone uri="`+c.srv.URL+`/identity"` || dig(body, "error", "code") != float64(401) {
				t.Errorf("%s with a revoked token: %d %q %v", path, code, hdr.Get("WWW-Authenticate"), body)
			}
		}

		// Each service's own error shape for a 404.
		code, hdr, _ = c.call(http.MethodPost, "/identity/v3/auth/tokens", nil, passwordAuth(
			map[string]any{"name": "admin", "domain": map[string]string{"name": "Default"}, "password": adminPassword},
			map[string]any{"project": map[string]any{"name": "admin", "domain": map[string]string{"name": "Default"}}}))
		opTok := hdr.Get("X-Subject-Token")
		if code != http.StatusCreated {
			t.Fatalf("operator's project token: %d", code)
		}
		for _, tc := range []struct {
			path string
			ok   func(map[string]any) bool
		}{
			{"/identity/v3/projects/nope", func(b map[string]any) bool { return dig(b, "error", "code") == float64(404) }},
			{"/compute/v2.1/servers/00000000-0000-4000-8000-000000000000", func(b map[string]any) bool { return dig(b, "itemNotFound", "code") == float64(404) }},
			{"/image/v2/images/00000000-0000-4000-8000-000000000000", func(b map[string]any) bool { return b["code"] == "Not Found" && b["message"] != "" }},
			{"/network/v2.0/networks/00000000-0000-4000-8000-000000000000", func(b map[string]any) bool { return dig(b, "NeutronError", "type") == "NotFound" }},
		} {
			code, _, body := c.call(http.MethodGet, tc.path, map[string]string{"X-Auth-Token": opTok}, nil)
			if code != http.StatusNotFound || !tc.ok(body) {
				t.Errorf("%s: %d %v", tc.path, code, body)
			}
		}
	})
}
