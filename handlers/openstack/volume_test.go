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

// waitFor polls path until the value at key (e.g. "volume", "status")
// is want, and gives the last body.
func (c *cloud) waitFor(tok, path string, want string, key ...string) map[string]any {
	c.t.Helper()
	var body map[string]any
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, _, body = c.call(http.MethodGet, path, map[string]string{"X-Auth-Token": tok}, nil)
		if dig(body, key...) == want {
			return body
		}
	}
	c.t.Fatalf("%s: %v is %v, want %s", path, key, dig(body, key...), want)
	return nil
}

// TestCinderSnapshotNamedTwice: a snapshot may be named where an ID goes,
// but a name two snapshots share is refused with 409 naming it, as a
// shared volume, image, network or security group name is, instead of
// answering one of them.
func TestCinderSnapshotNamedTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloudWith(t, s, fileVolumes(t, s), "h1")
		demo := c.token("demo", demoPassword, "demo")
		demoProject, _ := s.GetProject(ctx, "demo")
		base := "/volume/v3/" + demoProject.ID
		auth := map[string]string{"X-Auth-Token": demo}
		code, _, body := c.call(http.MethodPost, base+"/volumes", auth, map[string]any{"volume": map[string]any{"name": "data", "size": 1}})
		volID, _ := dig(body, "volume", "id").(string)
		if code != http.StatusAccepted || volID == "" {
			t.Fatalf("create a volume: %d %v", code, body)
		}
		c.waitFor(demo, base+"/volumes/"+volID, "available", "volume", "status")
		var ids []string
		for range 2 {
			code, _, body = c.call(http.MethodPost, base+"/snapshots", auth, map[string]any{"snapshot": map[string]any{"volume_id": volID, "name": "nightly"}})
			id, _ := dig(body, "snapshot", "id").(string)
			if code != http.StatusAccepted || id == "" {
				t.Fatalf("create a snapshot: %d %v", code, body)
			}
			c.waitFor(demo, base+"/snapshots/"+id, "available", "snapshot", "status")
			ids = append(ids, id)
		}

		code, _, body = c.call(http.MethodGet, base+"/snapshots/nightly", auth, nil)
		if msg, _ := dig(body, "conflictingRequest", "message").(string); code != http.StatusConflict || !strings.Contains(msg, `"nightly"`) {
			t.Errorf("a snapshot by a name two share: %d %v, want 409 naming it", code, body)
		}
		code, _, body = c.call(http.MethodPut, base+"/snapshots/"+ids[1], auth, map[string]any{"snapshot": map[string]any{"name": "weekly"}})
		if code != http.StatusOK {
			t.Fatalf("rename a snapshot: %d %v", code, body)
		}
		code, _, body = c.call(http.MethodGet, base+"/snapshots/weekly", auth, nil)
		if code != http.StatusOK || dig(body, "snapshot", "id") != ids[1] {
			t.Errorf("a snapshot by its own name: %d %v, want %s", code, body, ids[1])
		}
	})
}

// TestNameFiltersComeBeforeThePage: the exact name filters of the Neutron,
// Glance and Cinder lists choose the rows before a page of them is cut, so
// that limit=1 answers the one match, not an empty page because another
// row came first.
func TestNameFiltersComeBeforeThePage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloudWith(t, s, fileVolumes(t, s), "h1")
		demo := c.token("demo", demoPassword, "demo")
		demoProject, _ := s.GetProject(ctx, "demo")
		auth := map[string]string{"X-Auth-Token": demo}
		create := func(path, key string, body map[string]any) string { // key "": Glance's unwrapped body
			t.Helper()
			var in any = body
			if key != "" {
				in = map[string]any{key: body}
			}
			code, _, out := c.call(http.MethodPost, path, auth, in)
			id, _ := dig(out, key, "id").(string)
			if key == "" {
				id, _ = out["id"].(string)
			}
			if code >= 300 || id == "" {
				t.Fatalf("POST %s: %d %v", path, code, out)
			}
			return id
		}
		only := func(path, collection, wantID string) {
			t.Helper()
			code, _, out := c.call(http.MethodGet, path, auth, nil)
			items, _ := out[collection].([]any)
			if code != http.StatusOK || len(items) != 1 || dig(items[0].(map[string]any), "id") != wantID {
				t.Errorf("GET %s: %d %v, want only %s", path, code, out, wantID)
			}
		}

		// Neutron and Glance page by name: "a-…" sorts first.
		create("/network/v2.0/networks", "network", map[string]any{"name": "a-net"})
		netID := create("/network/v2.0/networks", "network", map[string]any{"name": "target"})
		only("/network/v2.0/networks?name=target&limit=1", "networks", netID)
		create("/image/v2/images", "", map[string]any{"name": "a-cirros", "disk_format": "raw", "container_format": "bare"})
		imageID := create("/image/v2/images", "", map[string]any{"name": "cirros", "disk_format": "raw", "container_format": "bare"})
		only("/image/v2/images?name=cirros&limit=1", "images", imageID)

		// Cinder pages newest first: the match is made first.
		base := "/volume/v3/" + demoProject.ID
		volID := create(base+"/volumes", "volume", map[string]any{"name": "target", "size": 1})
		c.waitFor(demo, base+"/volumes/"+volID, "available", "volume", "status")
		snapID := create(base+"/snapshots", "snapshot", map[string]any{"name": "target", "volume_id": volID})
		c.waitFor(demo, base+"/snapshots/"+snapID, "available", "snapshot", "status")
		create(base+"/volumes", "volume", map[string]any{"name": "other", "size": 1})
		create(base+"/snapshots", "snapshot", map[string]any{"name": "other", "volume_id": volID})
		only(base+"/volumes?name=target&limit=1", "volumes", volID)
		only(base+"/volumes/detail?name=target&limit=1", "volumes", volID)
		only(base+"/snapshots?name=target&limit=1", "snapshots", snapID)
	})
}

// TestCinderSnapshotsHaveANextLink: a limited snapshot list links its next
// page (snapshots_links), as the volume list does, and the link keeps the
// filters, so that following the links walks every match once.
func TestCinderSnapshotsHaveANextLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloudWith(t, s, fileVolumes(t, s), "h1")
		demo := c.token("demo", demoPassword, "demo")
		demoProject, _ := s.GetProject(ctx, "demo")
		auth := map[string]string{"X-Auth-Token": demo}
		base := "/volume/v3/" + demoProject.ID
		code, _, out := c.call(http.MethodPost, base+"/volumes", auth, map[string]any{"volume": map[string]any{"name": "v", "size": 1}})
		volID, _ := dig(out, "volume", "id").(string)
		if code != http.StatusAccepted || volID == "" {
			t.Fatalf("create volume: %d %v", code, out)
		}
		c.waitFor(demo, base+"/volumes/"+volID, "available", "volume", "status")
		want := map[string]bool{}
		for _, name := range []string{"keep", "other", "keep", "keep"} {
			code, _, out := c.call(http.MethodPost, base+"/snapshots", auth, map[string]any{"snapshot": map[string]any{"name": name, "volume_id": volID}})
			id, _ := dig(out, "snapshot", "id").(string)
			if code != http.StatusAccepted || id == "" {
				t.Fatalf("create snapshot: %d %v", code, out)
			}
			c.waitFor(demo, base+"/snapshots/"+id, "available", "snapshot", "status")
			if name == "keep" {
				want[id] = true
			}
		}

		for _, list := range []string{"/snapshots", "/snapshots/detail"} {
			seen := map[string]bool{}
			next, pages := base+list+"?name=keep&limit=2", 0
			for next != "" && pages < 5 {
				pages++
				code, _, out := c.call(http.MethodGet, next, auth, nil)
				if code != http.StatusOK {
					t.Fatalf("GET %s: %d %v", next, code, out)
				}
				items, _ := out["snapshots"].([]any)
				for _, it := range items {
					id, _ := it.(map[string]any)["id"].(string)
					if !want[id] || seen[id] {
						t.Errorf("GET %s: %s is not a new match", next, id)
					}
					seen[id] = true
				}
				next = ""
				if links, _ := out["snapshots_links"].([]any); len(links) == 1 {
					href, _ := links[0].(map[string]any)["href"].(string)
					next = strings.TrimPrefix(href, c.srv.URL)
				}
			}
			if len(seen) != len(want) || pages != 2 {
				t.Errorf("%s: %d of %d matches in %d pages, want all in 2 pages", list, len(seen), len(want), pages)
			}
		}
	})
}
