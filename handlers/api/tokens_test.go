package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"stratus/models"
	"stratus/models/storetest"
)

func TestAPITokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo := e.demo()

		created := e.do(http.MethodPost, "/tokens", demo, map[string]any{"name": "ci", "expires_in_days": 30})
		want(t, created, http.StatusCreated, "")
		secret, id := created.str("secret"), created.str("id")
		if !strings.HasPrefix(secret, "stk_") || !models.IsUUID(id) {
			t.Fatalf("created token: %s", created.raw)
		}
		if !strings.HasPrefix(secret, created.str("prefix")) {
			t.Errorf("prefix %q is not the start of the secret", created.str("prefix"))
		}
		exp, _ := time.Parse(time.RFC3339, created.str("expires_at"))
		if d := time.Until(exp); d < 29*24*time.Hour || d > 31*24*time.Hour {
			t.Errorf("expires_at %s is not 30 days away", created.str("expires_at"))
		}

		t.Run("the secret authenticates, scoped to the project", func(t *testing.T) {
			e := e.at(t)
			me := e.do(http.MethodGet, "/me", secret, nil)
			want(t, me, http.StatusOK, "")
			if p, _ := me.body["project"].(map[string]any); p["name"] != "demo" {
				t.Errorf("token project %v", me.body["project"])
			}
		})

		t.Run("the list never shows the secret", func(t *testing.T) {
			e := e.at(t)
			list := e.do(http.MethodGet, "/tokens", demo, nil)
			want(t, list, http.StatusOK, "")
			if bytes.Contains(list.raw, []byte(secret)) || bytes.Contains(list.raw, []byte(`"secret"`)) {
				t.Fatalf("list leaks the secret: %s", list.raw)
			}
			if items := list.list("tokens"); len(items) != 1 || items[0]["id"] != id || items[0]["name"] != "ci" {
				t.Errorf("tokens %s", list.raw)
			}
			// Login tokens are not named tokens.
			for _, it := range list.list("tokens") {
				if it["kind"] != "api" {
					t.Errorf("listed a %v token", it["kind"])
				}
			}
		})

		t.Run("another user's token is not found", func(t *testing.T) {
			e := e.at(t)
			want(t, e.do(http.MethodDelete, "/tokens/"+id, e.admin(), nil), http.StatusNotFound, "not_found")
			want(t, e.do(http.MethodGet, "/me", secret, nil), http.StatusOK, "")
			want(t, e.do(http.MethodDelete, "/tokens/"+uuid.NewString(), demo, nil), http.StatusNotFound, "not_found")
			want(t, e.do(http.MethodDelete, "/tokens/not-a-uuid", demo, nil), http.StatusNotFound, "not_found")
		})

		t.Run("revoke", func(t *testing.T) {
			e := e.at(t)
			want(t, e.do(http.MethodDelete, "/tokens/"+id, demo, nil), http.StatusNoContent, "")
			want(t, e.do(http.MethodGet, "/me", secret, nil), http.StatusUnauthorized, "unauthorized")
			list := e.do(http.MethodGet, "/tokens", demo, nil)
			if items := list.list("tokens"); len(items) != 1 || items[0]["revoked_at"] == nil {
				t.Errorf("a revoked token stays listed with revoked_at: %s", list.raw)
			}
			events, _, err := s.ListAuditEvents(t.Context(), models.AuditFilter{Action: models.AuditTokenRevoke})
			if err != nil || len(events) != 1 || events[0].TargetID != id || events[0].RemoteAddr != "192.0.2.7" {
				t.Errorf("revocation audit %+v %v", events, err)
			}
		})

		t.Run("bad input", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/tokens", demo, map[string]any{"name": "", "expires_at": "2000-01-01T00:00:00Z"})
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			if r.field("name") == "" || r.field("expires_at") == "" {
				t.Errorf("fields %s", r.raw)
			}
			r = e.do(http.MethodPost, "/tokens", demo, `{"name":"x","expires_at":"tomorrow"}`)
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			if !strings.Contains(r.field("expires_at"), "RFC 3339") {
				t.Errorf("a bad time is not named: %s", r.raw)
			}
		})
	})
}

func TestTokenListPagesAndFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo := e.demo()
		// All created in the same microsecond: the ID breaks the tie, so
		// paging must neither skip nor repeat.
		now := time.Now()
		s.SetClock(func() time.Time { return now })
		var names []string
		for i := range 5 {
			name := fmt.Sprintf("deploy_%d", i)
			names = append(names, name)
			want(t, e.do(http.MethodPost, "/tokens", demo, map[string]any{"name": name}), http.StatusCreated, "")
		}
		want(t, e.do(http.MethodPost, "/tokens", demo, map[string]any{"name": "deploy%x"}), http.StatusCreated, "")
		s.SetClock(time.Now)

		seen := map[string]bool{}
		next := "/tokens?limit=2&name=deploy_"
		pages := 0
		for next != "" {
			r := e.do(http.MethodGet, next, demo, nil)
			want(t, r, http.StatusOK, "")
			pages++
			for _, it := range r.list("tokens") {
				if seen[it["name"].(string)] {
					t.Fatalf("%s listed twice", it["name"])
				}
				seen[it["name"].(string)] = true
			}
			next = ""
			if n, ok := r.body["next"].(string); ok {
				u, err := url.Parse(n)
				if err != nil || !strings.HasPrefix(u.Path, "/api/v1/tokens") || u.Query().Get("limit") != "2" || u.Query().Get("name") != "deploy_" {
					t.Fatalf("next link %q does not keep the request", n)
				}
				next = strings.TrimPrefix(n, "/api/v1")
			}
		}
		if pages != 3 || len(seen) != 5 {
			t.Fatalf("%d pages, %d tokens (%v); want 3 pages of the 5 deploy_N tokens (the _ is literal, deploy%%x must not match)", pages, len(seen), seen)
		}
		for _, n := range names {
			if !seen[n] {
				t.Errorf("%s missing", n)
			}
		}
	})
}
