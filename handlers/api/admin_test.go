package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"stratus/models"
	"stratus/models/storetest"
)

// pageAll follows "next" links from path and returns every item under key,
// failing on a malformed link or a repeated item.
func (e *env) pageAll(token, path, key string) (items []map[string]any, pages int) {
	e.t.Helper()
	seen := map[string]bool{}
	for path != "" {
		r := e.do(http.MethodGet, path, token, nil)
		want(e.t, r, http.StatusOK, "")
		pages++
		for _, it := range r.list(key) {
			id := fmt.Sprint(it["id"])
			if seen[id] {
				e.t.Fatalf("%s listed twice", id)
			}
			seen[id] = true
			items = append(items, it)
		}
		path = ""
		if n, ok := r.body["next"].(string); ok {
			if !strings.HasPrefix(n, "/api/v1/") {
				e.t.Fatalf("next link %q", n)
			}
			path = strings.TrimPrefix(n, "/api/v1")
		} else if r.body["next"] != nil {
			e.t.Fatalf("next is %v, want a link or null", r.body["next"])
		}
		if pages > 100 {
			e.t.Fatal("paging does not end")
		}
	}
	return items, pages
}

func names(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["name"].(string))
	}
	return out
}

func TestProjectsAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		admin := e.admin()

		r := e.do(http.MethodPost, "/projects", admin, map[string]any{"name": "web", "description": "the web team"})
		want(t, r, http.StatusCreated, "")
		id := r.str("id")
		if !models.IsUUID(id) || r.body["enabled"] != true {
			t.Fatalf("created %s", r.raw)
		}
		got := e.do(http.MethodGet, "/projects/"+id, admin, nil)
		want(t, got, http.StatusOK, "")
		if got.str("name") != "web" || got.str("description") != "the web team" {
			t.Errorf("get %s", got.raw)
		}
		up := e.do(http.MethodPatch, "/projects/"+id, admin, map[string]any{"description": "renamed team", "enabled": false})
		want(t, up, http.StatusOK, "")
		if up.str("description") != "renamed team" || up.body["enabled"] != false {
			t.Errorf("patch %s", up.raw)
		}
		if got := e.do(http.MethodGet, "/projects/"+id, admin, nil); got.body["enabled"] != false {
			t.Errorf("the change did not stick: %s", got.raw)
		}

		dup := e.do(http.MethodPost, "/projects", admin, map[string]any{"name": "web"})
		want(t, dup, http.StatusUnprocessableEntity, "invalid")
		if dup.field("name") == "" {
			t.Errorf("duplicate name not named: %s", dup.raw)
		}
		want(t, e.do(http.MethodGet, "/projects/"+uuid.NewString(), admin, nil), http.StatusNotFound, "not_found")
		want(t, e.do(http.MethodGet, "/projects/web", admin, nil), http.StatusNotFound, "not_found") // IDs only
		want(t, e.do(http.MethodPatch, "/projects/"+uuid.NewString(), admin, map[string]any{"enabled": true}), http.StatusNotFound, "not_found")
	})
}

func TestUsersAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		admin := e.admin()

		r := e.do(http.MethodPost, "/users", admin, map[string]any{"name": "carol", "email": "carol@example.org", "password": "carol-password-1"})
		want(t, r, http.StatusCreated, "")
		id := r.str("id")
		if strings.Contains(string(r.raw), "password") || strings.Contains(string(r.raw), "$2a$") {
			t.Fatalf("a user answer shows the password or its hash: %s", r.raw)
		}
		got := e.do(http.MethodGet, "/users/"+id, admin, nil)
		want(t, got, http.StatusOK, "")
		if got.str("email") != "carol@example.org" {
			t.Errorf("get %s", got.raw)
		}

		up := e.do(http.MethodPatch, "/users/"+id, admin, map[string]any{"email": "c@example.org"})
		want(t, up, http.StatusOK, "")
		if up.str("email") != "c@example.org" {
			t.Errorf("patch email %s", up.raw)
		}
		bad := e.do(http.MethodPatch, "/users/"+id, admin, map[string]any{"email": "not an address", "password": "short"})
		want(t, bad, http.StatusUnprocessableEntity, "invalid")
		if bad.field("email") == "" || bad.field("password") == "" {
			t.Errorf("fields %s", bad.raw)
		}

		// Lock carol out, then unlock her.
		for range 5 {
			e.do(http.MethodPost, "/auth/tokens", "", map[string]any{"username": "carol", "password": "wrong-password-1"})
		}
		if got := e.do(http.MethodGet, "/users/"+id, admin, nil); got.body["locked_until"] == nil {
			t.Fatalf("carol is not shown as locked: %s", got.raw)
		}
		want(t, e.do(http.MethodPost, "/auth/tokens", "", map[string]any{"username": "carol", "password": "carol-password-1"}), http.StatusUnauthorized, "unauthorized")
		unlocked := e.do(http.MethodPatch, "/users/"+id, admin, map[string]any{"unlock": true})
		want(t, unlocked, http.StatusOK, "")
		if unlocked.body["locked_until"] != nil {
			t.Errorf("still locked: %s", unlocked.raw)
		}
		e.login("carol", "carol-password-1", "")

		self := e.userID(admin, "admin")
		r = e.do(http.MethodPatch, "/users/"+self, admin, map[string]any{"enabled": false})
		want(t, r, http.StatusUnprocessableEntity, "invalid")
		if r.field("enabled") == "" {
			t.Errorf("disabling yourself: %s", r.raw)
		}
		want(t, e.do(http.MethodGet, "/users/"+uuid.NewString(), admin, nil), http.StatusNotFound, "not_found")
	})
}

func TestListsPageAndFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		admin := e.admin()
		for i := range 5 {
			want(t, e.do(http.MethodPost, "/projects", admin, map[string]any{"name": fmt.Sprintf("team-%d", i)}), http.StatusCreated, "")
		}

		t.Run("limit, marker and next", func(t *testing.T) {
			e := e.at(t)
			items, pages := e.pageAll(admin, "/projects?limit=2", "projects")
			want := []string{"admin", "demo", "team-0", "team-1", "team-2", "team-3", "team-4"}
			if got := names(items); !slices.Equal(got, want) || pages != 4 {
				t.Fatalf("%d pages of %v, want 4 pages of %v", pages, got, want)
			}
			last := e.do(http.MethodGet, "/projects", admin, nil)
			if last.body["next"] != nil || len(last.list("projects")) != 7 {
				t.Errorf("one default page holds all, next null: %s", last.raw)
			}
		})

		t.Run("name filter", func(t *testing.T) {
			e := e.at(t)
			items, _ := e.pageAll(admin, "/projects?limit=2&name=TEAM", "projects")
			if got := names(items); len(got) != 5 || got[0] != "team-0" {
				t.Errorf("name=TEAM: %v", got)
			}
			items, _ = e.pageAll(admin, "/users?name=dem", "users")
			if got := names(items); !slices.Equal(got, []string{"demo"}) {
				t.Errorf("users name=dem: %v", got)
			}
		})

		t.Run("bad paging input", func(t *testing.T) {
			e := e.at(t)
			cases := []struct{ query, field string }{
				{"limit=0", "limit"},
				{"limit=1001", "limit"},
				{"limit=ten", "limit"},
				{"limit=1&limit=2", "limit"},
				{"marker=not-a-uuid", "marker"},
				{"marker=" + uuid.NewString(), "marker"}, // not in the list
				{"colour=red", "colour"},
			}
			for _, tc := range cases {
				r := e.do(http.MethodGet, "/projects?"+tc.query, admin, nil)
				want(t, r, http.StatusUnprocessableEntity, "invalid")
				if r.field(tc.field) == "" {
					t.Errorf("?%s: field %s not named: %s", tc.query, tc.field, r.raw)
				}
			}
		})
	})
}

func TestRoleAssignments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		admin := e.admin()
		demoID := e.userID(admin, "demo")
		adminProject := e.projectID(admin, "admin")

		r := e.do(http.MethodPost, "/role-assignments", admin, map[string]any{"user": demoID, "project": "admin", "role": "reader"})
		want(t, r, http.StatusCreated, "")
		id := r.str("id")
		if r.str("user_name") != "demo" || r.str("project_id") != adminProject || r.str("role") != "reader" {
			t.Fatalf("created %s", r.raw)
		}
		dup := e.do(http.MethodPost, "/role-assignments", admin, map[string]any{"user": "demo", "project": adminProject, "role": "reader"})
		want(t, dup, http.StatusConflict, "conflict")
		if !strings.Contains(dup.body["error"].(map[string]any)["message"].(string), "already") {
			t.Errorf("conflict message: %s", dup.raw)
		}

		// The demo user can now get a token for the admin project.
		e.login("demo", demoPassword, "admin")

		bad := e.do(http.MethodPost, "/role-assignments", admin, map[string]any{"user": "nobody", "project": "admin", "role": "king"})
		want(t, bad, http.StatusUnprocessableEntity, "invalid")
		if bad.field("role") == "" {
			t.Errorf("bad role not named: %s", bad.raw)
		}

		t.Run("list, filter, page", func(t *testing.T) {
			e := e.at(t)
			all, pages := e.pageAll(admin, "/role-assignments?limit=1", "role_assignments")
			// admin: admin on project admin + system admin; demo: member on
			// demo + reader on admin.
			if len(all) != 4 || pages != 4 {
				t.Fatalf("%d assignments in %d pages: %v", len(all), pages, all)
			}
			mine := e.do(http.MethodGet, "/role-assignments?user_id="+demoID, admin, nil)
			want(t, mine, http.StatusOK, "")
			for _, it := range mine.list("role_assignments") {
				if it["user_id"] != demoID {
					t.Errorf("user filter let through %v", it)
				}
			}
			if len(mine.list("role_assignments")) != 2 {
				t.Errorf("demo has 2 assignments: %s", mine.raw)
			}
			onAdmin := e.do(http.MethodGet, "/role-assignments?project_id="+adminProject, admin, nil)
			if n := len(onAdmin.list("role_assignments")); n != 2 {
				t.Errorf("project admin has 2 assignments, listed %d", n)
			}
			r := e.do(http.MethodGet, "/role-assignments?user_id=demo", admin, nil)
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			if r.field("user_id") == "" {
				t.Errorf("user_id not named: %s", r.raw)
			}
		})

		t.Run("revoke", func(t *testing.T) {
			e := e.at(t)
			want(t, e.do(http.MethodDelete, "/role-assignments/"+id, admin, nil), http.StatusNoContent, "")
			want(t, e.do(http.MethodDelete, "/role-assignments/"+id, admin, nil), http.StatusNotFound, "not_found")
			want(t, e.do(http.MethodPost, "/auth/tokens", "", map[string]any{"username": "demo", "password": demoPassword, "project": "admin"}), http.StatusForbidden, "forbidden")
		})

		t.Run("the last system admin stays", func(t *testing.T) {
			e := e.at(t)
			sys := e.do(http.MethodGet, "/role-assignments?user_id="+e.userID(admin, "admin"), admin, nil)
			for _, it := range sys.list("role_assignments") {
				if it["project_id"] == "" && it["role"] == "admin" {
					want(t, e.do(http.MethodDelete, "/role-assignments/"+it["id"].(string), admin, nil), http.StatusConflict, "conflict")
					return
				}
			}
			t.Fatalf("no system admin assignment in %s", sys.raw)
		})
	})
}

func TestAuditEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		admin := e.admin()
		for range 3 {
			e.do(http.MethodPost, "/auth/tokens", "", map[string]any{"username": "demo", "password": "wrong-password-1"})
		}
		e.demo()

		failures := e.do(http.MethodGet, "/audit-events?action=login&outcome=failure", admin, nil)
		want(t, failures, http.StatusOK, "")
		if evs := failures.list("audit_events"); len(evs) != 3 {
			t.Fatalf("%d failed logins, want 3: %s", len(evs), failures.raw)
		}
		for _, ev := range failures.list("audit_events") {
			if ev["action"] != "login" || ev["outcome"] != "failure" || ev["remote_addr"] != "192.0.2.7" {
				t.Errorf("event %v", ev)
			}
		}
		byDemo := e.do(http.MethodGet, "/audit-events?actor=demo&outcome=success&action=login", admin, nil)
		if evs := byDemo.list("audit_events"); len(evs) != 1 {
			t.Errorf("demo logged in once: %s", byDemo.raw)
		}

		items, pages := e.pageAll(admin, "/audit-events?action=login&limit=2", "audit_events")
		if len(items) != 5 || pages != 3 { // 3 failures, demo and admin
			t.Errorf("%d login events in %d pages, want 5 in 3", len(items), pages)
		}
		for i := 1; i < len(items); i++ {
			if items[i]["id"].(float64) >= items[i-1]["id"].(float64) {
				t.Errorf("not newest first: %v then %v", items[i-1]["id"], items[i]["id"])
			}
		}
		first := e.do(http.MethodGet, "/audit-events?action=login&limit=2", admin, nil)
		next, _ := url.Parse(first.str("next"))
		if next.Query().Get("marker") != fmt.Sprint(first.list("audit_events")[1]["id"]) {
			t.Errorf("next %q does not start after the page's last event", first.str("next"))
		}

		for _, q := range []string{"outcome=maybe", "marker=abc", "marker=0"} {
			r := e.do(http.MethodGet, "/audit-events?"+q, admin, nil)
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			name, _, _ := strings.Cut(q, "=")
			if r.field(name) == "" {
				t.Errorf("?%s: %s", q, r.raw)
			}
		}
	})
}
