package openstack_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// TestComputeListsAskThePolicy: whether an operator's server list (its
// project_id and host filters) and a server's os-interface reach into
// other projects is the policy table's list_all rules
// (compute:instance:list_all, network:network:list_all), not a test for a
// system admin: with an operator's policy file that gives them to nobody,
// an admin sees their own project's servers and ports only, the filters
// that only list_all may use ignored: project_id does not reach demo's
// server, and host neither reaches it (on h1) nor hides the admin's own
// server (on h1, not on the host asked for).
func TestComputeListsAskThePolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloudOpts(t, s, cloudOpts{policy: map[string]string{
			"compute:instance:list_all": "!", "network:network:list_all": "!"}}, "h1")
		demo, op := c.token("demo", demoPassword, "demo"), c.token("admin", adminPassword, "admin")
		demoProject, _ := s.GetProject(ctx, "demo")
		as := func(tok string) map[string]string {
			return map[string]string{"X-Auth-Token": tok, "OpenStack-API-Version": "compute 2.79"}
		}
		im, err := s.CreateImage(ctx, mustCaller(t, s, demo), models.ImageInput{Name: "img"})
		must(t, err, "image")
		_, err = s.UploadImage(ctx, mustCaller(t, s, demo), im.ID, strings.NewReader(strings.Repeat("x", 4096)))
		must(t, err, "upload")
		code, _, body := c.call(http.MethodPost, "/network/v2.0/networks", as(demo), map[string]any{"network": map[string]any{"name": "net"}})
		netID, _ := dig(body, "network", "id").(string)
		if code != http.StatusCreated {
			t.Fatalf("create a network: %d %v", code, body)
		}
		code, _, body = c.call(http.MethodPost, "/network/v2.0/subnets", as(demo), map[string]any{"subnet": map[string]any{
			"network_id": netID, "cidr": "10.9.0.0/24", "ip_version": 4}})
		if code != http.StatusCreated {
			t.Fatalf("create a subnet: %d %v", code, body)
		}
		code, _, body = c.call(http.MethodPost, "/compute/v2.1/servers", as(demo), map[string]any{"server": map[string]any{
			"name": "vm", "imageRef": im.ID, "flavorRef": "m1.nano", "networks": []map[string]string{{"uuid": netID}}}})
		id, _ := dig(body, "server", "id").(string)
		if code != http.StatusAccepted || id == "" {
			t.Fatalf("create a server: %d %v", code, body)
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			_, _, body = c.call(http.MethodGet, "/compute/v2.1/servers/"+id, as(demo), nil)
			if dig(body, "server", "status") == "ACTIVE" || time.Now().After(deadline) {
				break
			}
		}
		if dig(body, "server", "status") != "ACTIVE" {
			t.Fatalf("server: %v", body)
		}
		_, _, body = c.call(http.MethodGet, "/compute/v2.1/servers/"+id+"/os-interface", as(demo), nil)
		if ifs, _ := body["interfaceAttachments"].([]any); len(ifs) != 1 {
			t.Fatalf("the owner's os-interface: %v, want one port", body)
		}

		opImage, err := s.CreateImage(ctx, mustCaller(t, s, op), models.ImageInput{Name: "img"})
		must(t, err, "the admin's image")
		_, err = s.UploadImage(ctx, mustCaller(t, s, op), opImage.ID, strings.NewReader(strings.Repeat("x", 4096)))
		must(t, err, "upload the admin's image")
		code, _, body = c.call(http.MethodPost, "/compute/v2.1/servers", as(op), map[string]any{"server": map[string]any{
			"name": "mine", "imageRef": opImage.ID, "flavorRef": "m1.nano", "networks": "none"}})
		mine, _ := dig(body, "server", "id").(string)
		if code != http.StatusAccepted || mine == "" {
			t.Fatalf("the admin creates a server: %d %v", code, body)
		}
		c.waitFor(op, "/compute/v2.1/servers/"+mine, "ACTIVE", "server", "status")

		for _, q := range []string{"?project_id=" + demoProject.ID, "?tenant_id=" + demoProject.ID, "?host=h1", "?host=h2"} {
			code, _, body = c.call(http.MethodGet, "/compute/v2.1/servers"+q, as(op), nil)
			if srvs, _ := body["servers"].([]any); code != http.StatusOK || len(srvs) != 1 || dig(srvs[0].(map[string]any), "id") != mine {
				t.Errorf("an admin without compute:instance:list_all lists servers%s: %d %v, want their own project's (%s) only", q, code, body, mine)
			}
		}
		if code, _, _ = c.call(http.MethodGet, "/compute/v2.1/servers?all_tenants=1", as(op), nil); code != http.StatusForbidden {
			t.Errorf("all_tenants without compute:instance:list_all: %d, want 403", code)
		}
		code, _, body = c.call(http.MethodGet, "/compute/v2.1/servers/"+id+"/os-interface", as(op), nil)
		if ifs, _ := body["interfaceAttachments"].([]any); code != http.StatusOK || len(ifs) != 0 {
			t.Errorf("an admin without network:network:list_all reads another project's ports: %d %v", code, body)
		}
	})
}

// TestComputeHostFilterNarrowsTheScope: Nova's host filter is an
// operator's (compute:instance:list_all here) and narrows whatever the list
// covers: the operator's own project without all_tenants, every project
// with it. A member's is ignored, as Nova ignores its admin-only filters.
// project_id narrows all_tenants' list to one project and, without
// all_tenants, changes nothing (Nova's lp:#1185290).
func TestComputeHostFilterNarrowsTheScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := newCloud(t, s, "h1")
		demo, op := c.token("demo", demoPassword, "demo"), c.token("admin", adminPassword, "admin")
		as := func(tok string) map[string]string {
			return map[string]string{"X-Auth-Token": tok, "OpenStack-API-Version": "compute 2.79"}
		}
		boot := func(tok, name string) string {
			t.Helper()
			im, err := s.CreateImage(context.Background(), mustCaller(t, s, tok), models.ImageInput{Name: name})
			must(t, err, "image")
			_, err = s.UploadImage(context.Background(), mustCaller(t, s, tok), im.ID, strings.NewReader(strings.Repeat("x", 4096)))
			must(t, err, "upload")
			code, _, body := c.call(http.MethodPost, "/compute/v2.1/servers", as(tok), map[string]any{"server": map[string]any{
				"name": name, "imageRef": im.ID, "flavorRef": "m1.nano", "networks": "none"}})
			id, _ := dig(body, "server", "id").(string)
			if code != http.StatusAccepted || id == "" {
				t.Fatalf("create %s: %d %v", name, code, body)
			}
			c.waitFor(tok, "/compute/v2.1/servers/"+id, "ACTIVE", "server", "status")
			return id
		}
		vm, mine := boot(demo, "vm"), boot(op, "mine") // both on h1
		demoProject, err := s.GetProject(context.Background(), "demo")
		must(t, err, "demo project")
		for _, tc := range []struct {
			tok, query string
			want       []string
		}{
			{op, "?host=h1", []string{mine}},
			{op, "?host=h2", nil},
			{op, "?all_tenants=1&host=h1", []string{mine, vm}}, // newest first
			{op, "?all_tenants=1&host=h2", nil},
			{demo, "?host=h2", []string{vm}},
			// project_id picks among all_tenants' projects only, as Nova's.
			{op, "?project_id=" + demoProject.ID, []string{mine}},
			{op, "?all_tenants=1&project_id=" + demoProject.ID, []string{vm}},
			{op, "?all_tenants=1&tenant_id=" + demoProject.ID + "&host=h1", []string{vm}},
			{demo, "?all_tenants=0&project_id=" + demoProject.ID, []string{vm}},
		} {
			code, _, body := c.call(http.MethodGet, "/compute/v2.1/servers"+tc.query, as(tc.tok), nil)
			var got []string
			srvs, _ := body["servers"].([]any)
			for _, sv := range srvs {
				got = append(got, dig(sv.(map[string]any), "id").(string))
			}
			if code != http.StatusOK || strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("GET servers%s as %s: %d %v, want %v", tc.query, map[string]string{op: "admin", demo: "demo"}[tc.tok], code, got, tc.want)
			}
		}
	})
}

// TestNovaResizeAsksItsRule: Nova's resize asks compute:instance:resize as
// /api/v1 and the console do (policy.MoveRule), so an operator's policy
// file that keeps resizes to admins is not bypassed through Nova; the
// refused server is untouched.
func TestNovaResizeAsksItsRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloudOpts(t, s, cloudOpts{policy: map[string]string{"compute:instance:resize": "role:admin"}}, "h1")
		demo := c.token("demo", demoPassword, "demo")
		as := map[string]string{"X-Auth-Token": demo, "OpenStack-API-Version": "compute 2.79"}
		im, err := s.CreateImage(ctx, mustCaller(t, s, demo), models.ImageInput{Name: "img"})
		must(t, err, "image")
		_, err = s.UploadImage(ctx, mustCaller(t, s, demo), im.ID, strings.NewReader(strings.Repeat("x", 4096)))
		must(t, err, "upload")
		code, _, body := c.call(http.MethodPost, "/compute/v2.1/servers", as, map[string]any{"server": map[string]any{
			"name": "vm", "imageRef": im.ID, "flavorRef": "m1.nano", "networks": "none"}})
		id, _ := dig(body, "server", "id").(string)
		if code != http.StatusAccepted || id == "" {
			t.Fatalf("create a server: %d %v", code, body)
		}
		c.waitFor(demo, "/compute/v2.1/servers/"+id, "ACTIVE", "server", "status")

		code, _, body = c.call(http.MethodPost, "/compute/v2.1/servers/"+id+"/action", as,
			map[string]any{"resize": map[string]any{"flavorRef": "m1.tiny"}})
		if msg, _ := dig(body, "forbidden", "message").(string); code != http.StatusForbidden || msg != "Policy doesn't allow resize to be performed." {
			t.Fatalf("a member's resize with compute:instance:resize for admins: %d %v, want 403", code, body)
		}
		_, _, body = c.call(http.MethodGet, "/compute/v2.1/servers/"+id, as, nil)
		if dig(body, "server", "status") != "ACTIVE" || dig(body, "server", "flavor", "original_name") != "m1.nano" {
			t.Fatalf("the refused server: %v, want ACTIVE on m1.nano", body)
		}
	})
}
