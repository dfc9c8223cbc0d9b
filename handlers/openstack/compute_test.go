package openstack_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// Nova's details beyond gophercloud's flows: the microversion headers (new
// and legacy), shapes that change with the version (flavor link vs embedded
// flavor, description, tags), remote consoles (the web UI's noVNC page; 409
// while the server has no console), quotas for a member and an operator,
// and services and hypervisors for operators only.
func TestComputeDetails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloud(t, s, "h1")
		token := func(user, pw, project string) string {
			code, hdr, body := c.call(http.MethodPost, "/identity/v3/auth/tokens", nil, passwordAuth(
				map[string]any{"name": user, "domain": map[string]string{"name": "Default"}, "password": pw},
				map[string]any{"project": map[string]any{"name": project, "domain": map[string]string{"name": "Default"}}}))
			if code != http.StatusCreated {
				t.Fatalf("token for %s: %d %v", user, code, body)
			}
			return hdr.Get("X-Subject-Token")
		}
		demo, op := token("demo", demoPassword, "demo"), token("admin", adminPassword, "admin")
		mv := func(tok, v string) map[string]string {
			return map[string]string{"X-Auth-Token": tok, "OpenStack-API-Version": "compute " + v}
		}

		// Microversion negotiation by header.
		_, hdr, _ := c.call(http.MethodGet, "/compute/v2.1/flavors", map[string]string{"X-Auth-Token": demo}, nil)
		if hdr.Get("OpenStack-API-Version") != "compute 2.1" || hdr.Get("X-OpenStack-Nova-API-Version") != "2.1" {
			t.Errorf("default version headers: %q %q", hdr.Get("OpenStack-API-Version"), hdr.Get("X-OpenStack-Nova-API-Version"))
		}
		_, hdr, _ = c.call(http.MethodGet, "/compute/v2.1/flavors", map[string]string{"X-Auth-Token": demo, "X-OpenStack-Nova-API-Version": "2.50"}, nil)
		if hdr.Get("OpenStack-API-Version") != "compute 2.50" {
			t.Errorf("legacy header: %q", hdr.Get("OpenStack-API-Version"))
		}
		_, hdr, _ = c.call(http.MethodGet, "/compute/v2.1/flavors", mv(demo, "latest"), nil)
		if hdr.Get("OpenStack-API-Version") != "compute 2.79" {
			t.Errorf("latest: %q", hdr.Get("OpenStack-API-Version"))
		}
		code, _, body := c.call(http.MethodGet, "/compute/v2.1/flavors", mv(demo, "two"), nil)
		if code != http.StatusBadRequest || dig(body, "badRequest", "code") != float64(400) {
			t.Errorf("malformed version: %d %v", code, body)
		}

		// A server at 2.1 and at 2.79.
		im, err := s.CreateImage(ctx, mustCaller(t, s, demo), models.ImageInput{Name: "img"})
		must(t, err, "image")
		_, err = s.UploadImage(ctx, mustCaller(t, s, demo), im.ID, strings.NewReader(strings.Repeat("x", 4096)))
		must(t, err, "upload")
		code, _, body = c.call(http.MethodPost, "/compute/v2.1/servers", mv(demo, "2.1"), map[string]any{"server": map[string]any{
			"name": "vm", "imageRef": im.ID, "flavorRef": "m1.nano", "user_data": "bm90IGJhc2U2NA==", "max_count": 1}})
		id, _ := dig(body, "server", "id").(string)
		if code != http.StatusAccepted || id == "" {
			t.Fatalf("create: %d %v", code, body)
		}
		code, _, body = c.call(http.MethodPost, "/compute/v2.1/servers", mv(demo, "2.1"), map[string]any{"server": map[string]any{
			"name": "vm", "imageRef": im.ID, "flavorRef": "m1.nano", "user_data": "%%%"}})
		if code != http.StatusBadRequest || !strings.Contains(dig(body, "badRequest", "message").(string), "user_data") {
			t.Errorf("bad user_data: %d %v", code, body)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			_, _, body = c.call(http.MethodGet, "/compute/v2.1/servers/"+id, mv(demo, "2.1"), nil)
			if dig(body, "server", "status") == "ACTIVE" || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		srv := body["server"].(map[string]any)
		if srv["status"] != "ACTIVE" || dig(srv, "flavor", "id") == nil || srv["description"] != nil || srv["tags"] != nil ||
			srv["OS-EXT-SRV-ATTR:host"] != nil || srv["OS-EXT-STS:power_state"] != float64(1) {
			t.Errorf("server at 2.1: %v", srv)
		}
		_, _, body = c.call(http.MethodGet, "/compute/v2.1/servers/"+id, mv(op, "2.79"), nil)
		srv = body["server"].(map[string]any)
		if dig(srv, "flavor", "original_name") != "m1.nano" || srv["OS-EXT-SRV-ATTR:host"] != "h1" || srv["host_status"] != "UP" ||
			srv["locked"] != false || srv["tags"] == nil {
			t.Errorf("server at 2.79 for an operator: %v", srv)
		}
		if _, hasDesc := srv["description"]; !hasDesc {
			t.Error("2.79: no description key")
		}

		// The images proxy answers before 2.36 only.
		code, _, body = c.call(http.MethodGet, "/compute/v2.1/images/"+im.ID, mv(demo, "2.1"), nil)
		if code != http.StatusOK || dig(body, "image", "status") != "ACTIVE" || dig(body, "image", "name") != "img" {
			t.Errorf("images proxy: %d %v", code, body)
		}
		if code, _, _ = c.call(http.MethodGet, "/compute/v2.1/images/detail", mv(demo, "2.36"), nil); code != http.StatusNotFound {
			t.Errorf("images proxy at 2.36: %d, want 404", code)
		}

		// Remote console: the server has no VNC server recorded yet (409),
		// then its host records one and the URL is the UI's console page.
		rc := map[string]any{"remote_console": map[string]string{"protocol": "vnc", "type": "novnc"}}
		code, _, body = c.call(http.MethodPost, "/compute/v2.1/servers/"+id+"/remote-consoles", mv(demo, "2.8"), rc)
		if code != http.StatusConflict || dig(body, "conflictingRequest", "code") != float64(409) {
			t.Errorf("console before the host recorded one: %d %v", code, body)
		}
		must(t, s.SetConsoleVNC(ctx, id, "h1", "127.0.0.1", 5901), "record console")
		code, _, body = c.call(http.MethodPost, "/compute/v2.1/servers/"+id+"/remote-consoles", mv(demo, "2.8"), rc)
		if code != http.StatusOK || dig(body, "remote_console", "url") != c.srv.URL+"/instances/"+id+"/console" {
			t.Errorf("remote console: %d %v", code, body)
		}
		code, _, _ = c.call(http.MethodPost, "/compute/v2.1/servers/"+id+"/remote-consoles", mv(demo, "2.5"), rc)
		if code != http.StatusNotFound {
			t.Errorf("remote-consoles before 2.6: %d", code)
		}
		code, _, body = c.call(http.MethodPost, "/compute/v2.1/servers/"+id+"/action", mv(demo, "2.1"), map[string]any{"lock": nil})
		if code != http.StatusBadRequest || !strings.Contains(dig(body, "badRequest", "message").(string), "lock") {
			t.Errorf("lock: %d %v", code, body)
		}
		// Moves: a resize needs its flavorRef; confirming what was never
		// resized names the state; members may not migrate or list moves.
		code, _, body = c.call(http.MethodPost, "/compute/v2.1/servers/"+id+"/action", mv(demo, "2.1"), map[string]any{"resize": map[string]string{}})
		if code != http.StatusBadRequest || !strings.Contains(dig(body, "badRequest", "message").(string), "flavorRef") {
			t.Errorf("resize without a flavor: %d %v", code, body)
		}
		code, _, body = c.call(http.MethodPost, "/compute/v2.1/servers/"+id+"/action", mv(demo, "2.1"), map[string]any{"confirmResize": nil})
		if code != http.StatusConflict {
			t.Errorf("confirmResize of a server that was never resized: %d %v", code, body)
		}
		code, _, _ = c.call(http.MethodPost, "/compute/v2.1/servers/"+id+"/action", mv(demo, "2.1"), map[string]any{"os-migrateLive": map[string]any{"host": nil, "block_migration": "auto"}})
		if code != http.StatusForbidden {
			t.Errorf("a member's os-migrateLive: %d", code)
		}
		code, _, _ = c.call(http.MethodGet, "/compute/v2.1/os-migrations", mv(demo, "2.1"), nil)
		if code != http.StatusForbidden {
			t.Errorf("a member's os-migrations: %d", code)
		}

		// Quotas: a member reads its own project's, not another's; the
		// operator sets them.
		demoProject, _ := s.GetProject(ctx, "demo")
		adminProject, _ := s.GetProject(ctx, "admin")
		code, _, body = c.call(http.MethodGet, "/compute/v2.1/os-quota-sets/"+demoProject.ID+"/detail", mv(demo, "2.79"), nil)
		if code != http.StatusOK || dig(body, "quota_set", "instances", "in_use") != float64(1) {
			t.Errorf("own quota detail: %d %v", code, body)
		}
		code, _, _ = c.call(http.MethodGet, "/compute/v2.1/os-quota-sets/"+adminProject.ID, mv(demo, "2.79"), nil)
		if code != http.StatusForbidden {
			t.Errorf("another project's quotas: %d, want 403", code)
		}
		code, _, body = c.call(http.MethodPut, "/compute/v2.1/os-quota-sets/"+demoProject.ID, mv(op, "2.79"), map[string]any{"quota_set": map[string]any{"cores": 7}})
		if code != http.StatusOK || dig(body, "quota_set", "cores") != float64(7) {
			t.Errorf("set quota: %d %v", code, body)
		}
		_, _, body = c.call(http.MethodGet, "/compute/v2.1/limits", mv(demo, "2.79"), nil)
		if dig(body, "limits", "absolute", "maxTotalCores") != float64(7) || dig(body, "limits", "absolute", "totalInstancesUsed") != float64(1) ||
			dig(body, "limits", "absolute", "maxTotalFloatingIps") != nil {
			t.Errorf("limits: %v", body)
		}
		// Block storage: no backups are served, and quota and limits agree.
		vq := "/volume/v3/" + demoProject.ID
		_, _, body = c.call(http.MethodGet, vq+"/os-quota-sets/"+demoProject.ID, mv(demo, "2.79"), nil)
		_, _, lim := c.call(http.MethodGet, vq+"/limits", mv(demo, "2.79"), nil)
		if dig(body, "quota_set", "backups") != float64(0) || dig(lim, "limits", "absolute", "maxTotalBackups") != float64(0) {
			t.Errorf("backups: quota %v, limits %v; want 0 in both", dig(body, "quota_set", "backups"), dig(lim, "limits", "absolute", "maxTotalBackups"))
		}
		// Before 2.36 the network limits are the network quotas, as
		// `openstack quota show` reads them.
		if _, err := s.SetQuotas(ctx, models.Caller{UserName: "test", SystemRole: models.RoleAdmin}, demoProject.ID, map[string]int64{models.QuotaFloatingIPs: 3, models.QuotaSecurityGroups: 4}); err != nil {
			t.Fatal(err)
		}
		_, _, body = c.call(http.MethodGet, "/compute/v2.1/limits", mv(demo, "2.35"), nil)
		if dig(body, "limits", "absolute", "maxTotalFloatingIps") != float64(3) || dig(body, "limits", "absolute", "maxSecurityGroups") != float64(4) {
			t.Errorf("limits at 2.35: %v, want the network quotas (3 floating IPs, 4 security groups)", body)
		}

		// Services and hypervisors: operators only; disabling needs 2.53.
		code, _, _ = c.call(http.MethodGet, "/compute/v2.1/os-hypervisors", mv(demo, "2.79"), nil)
		if code != http.StatusForbidden {
			t.Errorf("a member's hypervisor list: %d", code)
		}
		_, _, body = c.call(http.MethodGet, "/compute/v2.1/os-services", mv(op, "2.79"), nil)
		svcs, _ := body["services"].([]any)
		if len(svcs) != 1 {
			t.Fatalf("services: %v", body)
		}
		svcID := svcs[0].(map[string]any)["id"].(string)
		code, _, body = c.call(http.MethodPut, "/compute/v2.1/os-services/"+svcID, mv(op, "2.79"), map[string]any{"status": "disabled", "disabled_reason": "maintenance"})
		if code != http.StatusOK || dig(body, "service", "status") != "disabled" || dig(body, "service", "disabled_reason") != "maintenance" {
			t.Errorf("disable service: %d %v", code, body)
		}
		_, _, body = c.call(http.MethodGet, "/compute/v2.1/os-hypervisors/detail", mv(op, "2.79"), nil)
		hv := body["hypervisors"].([]any)[0].(map[string]any)
		if hv["status"] != "disabled" || hv["state"] != "up" || hv["running_vms"] != float64(1) || hv["vcpus_used"] != float64(1) {
			t.Errorf("hypervisor detail: %v", hv)
		}
		_, _, body = c.call(http.MethodGet, "/compute/v2.1/servers/"+id, mv(op, "2.79"), nil)
		if dig(body, "server", "host_status") != "MAINTENANCE" {
			t.Errorf("host_status of a server on a disabled host: %v", dig(body, "server", "host_status"))
		}
	})
}

// mustCaller resolves a Keystone token to its caller.
func mustCaller(t *testing.T, s *models.Store, token string) models.Caller {
	t.Helper()
	c, err := s.AuthenticateToken(context.Background(), token)
	must(t, err, "token")
	return c
}

// TestNovaImagesProxyNameIsExact: the images proxy's name filter is exact,
// as Glance's is (Nova passes it to Glance as is), and chooses the images
// before the page is cut: "cirros" is not "a-cirros", which sorts first.
func TestNovaImagesProxyNameIsExact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := newCloud(t, s)
		demo := c.token("demo", demoPassword, "demo")
		auth := map[string]string{"X-Auth-Token": demo}
		var cirros string
		for _, name := range []string{"a-cirros", "cirros", "cirros-2"} {
			code, _, out := c.call(http.MethodPost, "/image/v2/images", auth, map[string]any{"name": name, "disk_format": "raw", "container_format": "bare"})
			if code != http.StatusCreated || out["id"] == nil {
				t.Fatalf("create image %s: %d %v", name, code, out)
			}
			if name == "cirros" {
				cirros = out["id"].(string)
			}
		}
		nova := map[string]string{"X-Auth-Token": demo, "X-OpenStack-Nova-API-Version": "2.1"}
		for _, path := range []string{"/compute/v2.1/images?name=cirros", "/compute/v2.1/images/detail?name=cirros&limit=1"} {
			code, _, out := c.call(http.MethodGet, path, nova, nil)
			items, _ := out["images"].([]any)
			if code != http.StatusOK || len(items) != 1 || dig(items[0].(map[string]any), "id") != cirros || out["images_links"] != nil {
				t.Errorf("GET %s: %d %v, want only %s", path, code, out, cirros)
			}
		}
	})
}

// TestNovaImagesProxyFilters: the images proxy takes Nova's documented
// filters as Nova hands them to Glance: status (lowercased), minDisk and
// minRam (exact, integers or 400 naming them), server (the snapshots of
// that server, by URL or ID) and type (a snapshot's image_type), each
// choosing the images before the page is cut.
func TestNovaImagesProxyFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := newCloud(t, s, "h1")
		demo := c.token("demo", demoPassword, "demo")
		auth := map[string]string{"X-Auth-Token": demo}
		glance := func(body map[string]any) string {
			t.Helper()
			body["disk_format"], body["container_format"] = "raw", "bare"
			code, _, out := c.call(http.MethodPost, "/image/v2/images", auth, body)
			if code != http.StatusCreated || out["id"] == nil {
				t.Fatalf("create image %v: %d %v", body["name"], code, out)
			}
			return out["id"].(string)
		}
		// Listed by name: a-big, b-base, y-other, z-snap.
		big := glance(map[string]any{"name": "a-big", "min_disk": 20, "min_ram": 1024}) // queued: no data
		base := glance(map[string]any{"name": "b-base", "min_ram": 64})
		_, err := s.UploadImage(context.Background(), mustCaller(t, s, demo), base, strings.NewReader(strings.Repeat("x", 4096)))
		must(t, err, "upload")
		// Says it is a snapshot of another server.
		other := glance(map[string]any{"name": "y-other", "image_type": "snapshot", "instance_uuid": "6f0c2a52-0d2b-4a8e-9f39-1f1e1b1a0c0d"})

		nova := func(v string) map[string]string {
			return map[string]string{"X-Auth-Token": demo, "OpenStack-API-Version": "compute " + v}
		}
		code, _, out := c.call(http.MethodPost, "/compute/v2.1/servers", nova("2.45"), map[string]any{"server": map[string]any{
			"name": "vm", "imageRef": base, "flavorRef": "m1.nano", "networks": "none"}})
		vm, _ := dig(out, "server", "id").(string)
		if code != http.StatusAccepted || vm == "" {
			t.Fatalf("create server: %d %v", code, out)
		}
		c.waitFor(demo, "/compute/v2.1/servers/"+vm, "ACTIVE", "server", "status")
		code, _, out = c.call(http.MethodPost, "/compute/v2.1/servers/"+vm+"/action", nova("2.45"),
			map[string]any{"createImage": map[string]any{"name": "z-snap"}})
		snap, _ := out["image_id"].(string)
		if code != http.StatusAccepted || snap == "" {
			t.Fatalf("createImage: %d %v", code, out)
		}
		c.waitFor(demo, "/image/v2/images/"+snap, "active", "status")

		want := func(query string, ids ...string) {
			t.Helper()
			for _, path := range []string{"/compute/v2.1/images?" + query, "/compute/v2.1/images/detail?" + query} {
				code, _, out := c.call(http.MethodGet, path, nova("2.1"), nil)
				var got []string
				items, _ := out["images"].([]any)
				for _, it := range items {
					got = append(got, it.(map[string]any)["id"].(string))
				}
				if code != http.StatusOK || strings.Join(got, " ") != strings.Join(ids, " ") {
					t.Errorf("GET %s: %d %v, want %v", path, code, got, ids)
				}
			}
		}
		want("status=ACTIVE", base, snap)
		want("status=queued", big, other)
		want("minDisk=20", big)
		want("minRam=64", base, snap) // a snapshot needs what its image needed
		want("minRam=64&minDisk=20")
		want("type=snapshot", other, snap)
		want("type=snapshot&limit=1", other)
		want("type=backup")
		want("server="+vm, snap)
		want("server="+url.QueryEscape(c.srv.URL+"/compute/v2.1/servers/"+vm), snap)
		want("server=" + vm + "&status=queued")
		want("server="+vm+"&limit=1", snap) // y-other sorts after a-big and b-base, before z-snap
		// Shown as Nova's images view shows Glance's statuses: a queued
		// image is SAVING (progress 25), not QUEUED.
		for id, st := range map[string]string{big: "SAVING 25", base: "ACTIVE 100", snap: "ACTIVE 100"} {
			_, _, out := c.call(http.MethodGet, "/compute/v2.1/images/"+id, nova("2.1"), nil)
			if got := fmt.Sprint(dig(out, "image", "status"), " ", dig(out, "image", "progress")); got != st {
				t.Errorf("GET images/%s: status and progress %q, want %q", id, got, st)
			}
		}
		for _, bad := range []string{"minDisk=big", "minRam=1.5", "minDisk=-1"} {
			name := bad[:strings.Index(bad, "=")]
			code, _, out := c.call(http.MethodGet, "/compute/v2.1/images/detail?"+bad, nova("2.1"), nil)
			if msg, _ := dig(out, "badRequest", "message").(string); code != http.StatusBadRequest || !strings.Contains(msg, name) {
				t.Errorf("GET images/detail?%s: %d %v, want 400 naming %s", bad, code, out, name)
			}
		}
	})
}
