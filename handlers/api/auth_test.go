package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

func TestIssueScopedAndUnscopedTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)

		t.Run("scoped", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/auth/tokens", "", map[string]any{"username": "demo", "password": demoPassword, "project": "demo"})
			want(t, r, http.StatusCreated, "")
			if !strings.HasPrefix(r.str("token"), "stk_") {
				t.Errorf("token %q", r.str("token"))
			}
			exp, err := time.Parse(time.RFC3339, r.str("expires_at"))
			if err != nil || exp.Before(time.Now().Add(time.Hour)) {
				t.Errorf("expires_at %q: %v", r.str("expires_at"), err)
			}
			if u := r.body["user"].(map[string]any); u["name"] != "demo" || !models.IsUUID(u["id"].(string)) {
				t.Errorf("user %v", u)
			}
			if p, _ := r.body["project"].(map[string]any); p["name"] != "demo" {
				t.Errorf("project %v", r.body["project"])
			}
			if got := r.body["roles"].([]any); !slices.Equal(got, []any{"reader", "member"}) {
				t.Errorf("roles %v, want reader and member", got)
			}
			if cc := r.hdr.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("a token answer must not be cached; Cache-Control %q", cc)
			}
			me := e.do(http.MethodGet, "/me", r.str("token"), nil)
			want(t, me, http.StatusOK, "")
			if p, _ := me.body["project"].(map[string]any); p["name"] != "demo" {
				t.Errorf("/me project %v", me.body["project"])
			}
		})

		t.Run("unscoped reads /me only", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/auth/tokens", "", map[string]any{"username": "demo", "password": demoPassword})
			want(t, r, http.StatusCreated, "")
			if r.body["project"] != nil || len(r.body["roles"].([]any)) != 0 {
				t.Errorf("unscoped token has a project or roles: %s", r.raw)
			}
			tok := r.str("token")
			me := e.do(http.MethodGet, "/me", tok, nil)
			want(t, me, http.StatusOK, "")
			if me.body["project"] != nil {
				t.Errorf("/me project %v, want null", me.body["project"])
			}
			projects := me.list("projects")
			if len(projects) != 1 || projects[0]["name"] != "demo" || projects[0]["role"] != "member" {
				t.Errorf("/me projects %v, want demo as member", projects)
			}
			want(t, e.do(http.MethodGet, "/tokens", tok, nil), http.StatusForbidden, "forbidden")
		})

		t.Run("system admin", func(t *testing.T) {
			e := e.at(t)
			me := e.do(http.MethodGet, "/me", e.admin(), nil)
			if got := me.body["system_roles"].([]any); !slices.Contains(got, "admin") {
				t.Errorf("system_roles %v", got)
			}
		})

		t.Run("project without a role", func(t *testing.T) {
			e := e.at(t)
			// A project the user has no role on and one that does not exist
			// get the same answer: other tenants' names stay secret.
			other := e.do(http.MethodPost, "/auth/tokens", "", map[string]any{"username": "demo", "password": demoPassword, "project": "admin"})
			want(t, other, http.StatusForbidden, "forbidden")
			missing := e.do(http.MethodPost, "/auth/tokens", "", map[string]any{"username": "demo", "password": demoPassword, "project": "nosuch"})
			want(t, missing, http.StatusForbidden, "forbidden")
			if a, b := withoutRequestID(other), strings.ReplaceAll(withoutRequestID(missing), "nosuch", "admin"); a != b {
				t.Errorf("answers differ:\n%s\n%s", a, b)
			}
		})
	})
}

func TestLoginFailuresLookAlikeAndLockOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		now := time.Now()
		s.SetClock(func() time.Time { return now })
		bad := func(user, pw string) resp {
			t.Helper()
			r := e.do(http.MethodPost, "/auth/tokens", "", map[string]any{"username": user, "password": pw})
			want(t, r, http.StatusUnauthorized, "unauthorized")
			return r
		}
		unknown := bad("nobody", "whatever-password")
		wrong := bad("demo", "wrong-password-1")
		if withoutRequestID(unknown) != withoutRequestID(wrong) {
			t.Fatalf("unknown user and wrong password differ:\n%s\n%s", unknown.raw, wrong.raw)
		}
		if unknown.hdr.Get("WWW-Authenticate") != wrong.hdr.Get("WWW-Authenticate") {
			t.Errorf("WWW-Authenticate differs")
		}
		for range 4 { // five wrong passwords in all
			bad("demo", "wrong-password-1")
		}
		locked := bad("demo", demoPassword)
		if withoutRequestID(locked) != withoutRequestID(wrong) {
			t.Fatalf("a locked account answers differently:\n%s\n%s", locked.raw, wrong.raw)
		}
		events, _, err := s.ListAuditEvents(t.Context(), models.AuditFilter{Action: models.AuditLockout})
		if err != nil || len(events) != 1 {
			t.Fatalf("lockout not audited: %v %v", events, err)
		}
		now = now.Add(16 * time.Minute)
		e.demo() // the lock has expired
	})
}

func TestTokenStopsWorking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)

		t.Run("revoke current", func(t *testing.T) {
			e := e.at(t)
			tok := e.demo()
			want(t, e.do(http.MethodGet, "/me", tok, nil), http.StatusOK, "")
			r := e.do(http.MethodDelete, "/auth/tokens/current", tok, nil)
			want(t, r, http.StatusNoContent, "")
			if len(r.raw) != 0 {
				t.Errorf("204 with a body: %s", r.raw)
			}
			after := e.do(http.MethodGet, "/me", tok, nil)
			want(t, after, http.StatusUnauthorized, "unauthorized")
			if h := after.hdr.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate %q does not say the token is invalid", h)
			}
		})

		t.Run("expired", func(t *testing.T) {
			e := e.at(t)
			tok := e.demo()
			s.SetClock(func() time.Time { return time.Now().Add(s.Options().TokenTTL + time.Minute) })
			defer s.SetClock(time.Now)
			want(t, e.do(http.MethodGet, "/me", tok, nil), http.StatusUnauthorized, "unauthorized")
		})

		t.Run("disabled user", func(t *testing.T) {
			e := e.at(t)
			admin, tok := e.admin(), e.demo()
			demo := e.userID(admin, "demo")
			want(t, e.do(http.MethodPatch, "/users/"+demo, admin, map[string]any{"enabled": false}), http.StatusOK, "")
			want(t, e.do(http.MethodGet, "/me", tok, nil), http.StatusUnauthorized, "unauthorized")
			// Nor can a disabled user get a new token.
			want(t, e.do(http.MethodPost, "/auth/tokens", "", map[string]any{"username": "demo", "password": demoPassword}), http.StatusUnauthorized, "unauthorized")
			want(t, e.do(http.MethodPatch, "/users/"+demo, admin, map[string]any{"enabled": true}), http.StatusOK, "")
			e.demo()
		})

		t.Run("disabled project", func(t *testing.T) {
			e := e.at(t)
			admin, tok := e.admin(), e.demo()
			demo := e.projectID(admin, "demo")
			want(t, e.do(http.MethodPatch, "/projects/"+demo, admin, map[string]any{"enabled": false}), http.StatusOK, "")
			want(t, e.do(http.MethodGet, "/me", tok, nil), http.StatusUnauthorized, "unauthorized")
			want(t, e.do(http.MethodPatch, "/projects/"+demo, admin, map[string]any{"enabled": true}), http.StatusOK, "")
			want(t, e.do(http.MethodGet, "/me", tok, nil), http.StatusOK, "")
		})

		t.Run("password reset ends login tokens", func(t *testing.T) {
			e := e.at(t)
			admin, tok := e.admin(), e.demo()
			demo := e.userID(admin, "demo")
			want(t, e.do(http.MethodPatch, "/users/"+demo, admin, map[string]any{"password": "a-new-password-2"}), http.StatusOK, "")
			want(t, e.do(http.MethodGet, "/me", tok, nil), http.StatusUnauthorized, "unauthorized")
			e.login("demo", "a-new-password-2", "demo")
		})
	})
}

func TestAuthenticationRequired(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		cases := []struct {
			name, header string
			invalid      bool // a token was given and is bad
		}{
			{"no header", "", false},
			{"not bearer", "Basic YWRtaW46YWRtaW4=", true},
			{"empty bearer", "Bearer ", true},
			{"unknown token", "Bearer stk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true},
			{"not a token", "Bearer hello", true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := e.at(t)
				req := map[string]string{}
				if tc.header != "" {
					req["Authorization"] = tc.header
				}
				r := e.doHeaders(http.MethodGet, "/me", req)
				want(t, r, http.StatusUnauthorized, "unauthorized")
				if got := strings.Contains(r.hdr.Get("WWW-Authenticate"), "invalid_token"); got != tc.invalid {
					t.Errorf("WWW-Authenticate %q; invalid_token expected: %t", r.hdr.Get("WWW-Authenticate"), tc.invalid)
				}
			})
		}
		// A public route ignores a bad token rather than refusing the request.
		r := e.doHeaders(http.MethodGet, "/openapi.json", map[string]string{"Authorization": "Bearer stk_bad"})
		want(t, r, http.StatusOK, "")
	})
}
