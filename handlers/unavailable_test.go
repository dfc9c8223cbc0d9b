package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/prometheus/client_golang/prometheus"

	"stratus/handlers"
	"stratus/handlers/policy"
	"stratus/models"
	"stratus/models/storetest"
)

// TestDatabaseDownAnswers503: while the database does not answer — its
// server cut off mid-session (MariaDB through a proxy the test closes),
// or the pool closed (SQLite) — every surface says so as /readyz does:
// 503 with Retry-After. The API answers code "unavailable" in its error
// shape (never 500 "internal"), the OpenStack facade its own shape, and
// the web UI one friendly page — whole for a boosted navigation, kept out
// of the page for an htmx poll (which tries again) — including when the
// session itself can be neither read nor saved.
func TestDatabaseDownAnswers503(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(string(e), func(t *testing.T) {
			s, cut := storetest.NewCuttable(t, e)
			ctx := context.Background()
			const pw = "outage-password-1"
			if _, err := s.Bootstrap(ctx, models.BootstrapInput{AdminName: "admin", AdminPassword: pw, AdminProject: "admin"}); err != nil {
				t.Fatal(err)
			}
			tok, err := s.IssueLoginToken(ctx, models.LoginInput{Username: "admin", Password: pw}, "admin")
			if err != nil {
				t.Fatal(err)
			}
			enf, err := policy.New("")
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(handlers.New(handlers.Deps{Store: s, Policy: enf, Registry: prometheus.NewRegistry(), Config: handlers.DefaultConfig()}))
			t.Cleanup(srv.Close)

			// A browser signed in before the outage.
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			get := func(c *http.Client, path string, headers ...string) (*http.Response, string) {
				t.Helper()
				req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
				for i := 0; i+1 < len(headers); i += 2 {
					req.Header.Set(headers[i], headers[i+1])
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp, string(b)
			}
			_, login := get(browser, "/login")
			doc, _ := goquery.NewDocumentFromReader(strings.NewReader(login))
			csrf := doc.Find(`input[name="csrf_token"]`).AttrOr("value", "")
			resp, err := browser.PostForm(srv.URL+"/login", url.Values{"username": {"admin"}, "password": {pw}, "csrf_token": {csrf}})
			if err != nil || resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("login before the outage: %v %v", resp.StatusCode, err)
			}
			resp.Body.Close()
			if resp, _ := get(browser, "/instances"); resp.StatusCode != http.StatusOK {
				t.Fatalf("the list before the outage: %d", resp.StatusCode)
			}

			cut()

			want503 := func(t *testing.T, resp *http.Response) {
				t.Helper()
				if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" {
					t.Fatalf("status %d, Retry-After %q; want 503 and 5", resp.StatusCode, resp.Header.Get("Retry-After"))
				}
			}
			t.Run("readyz", func(t *testing.T) {
				resp, _ := get(http.DefaultClient, "/readyz")
				want503(t, resp)
			})
			api := []struct{ name, method, path, body string }{
				{"a list", http.MethodGet, "/api/v1/flavors", ""},
				{"a launch", http.MethodPost, "/api/v1/instances", `{"name":"x","image":"i","flavor":"m1.nano"}`},
				{"the caller", http.MethodGet, "/api/v1/me", ""},
			}
			for _, tc := range api {
				t.Run("API "+tc.name, func(t *testing.T) {
					req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
					req.Header.Set("Authorization", "Bearer "+tok.Secret)
					req.Header.Set("Content-Type", "application/json")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					want503(t, resp)
					var body struct {
						Error struct{ Code, Message, RequestID string } `json:"error"`
					}
					if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error.Code != "unavailable" ||
						!strings.Contains(body.Error.Message, "database") || strings.Contains(body.Error.Message, "sql") {
						t.Errorf("error body %+v (%v)", body.Error, err)
					}
				})
			}
			t.Run("API login", func(t *testing.T) {
				resp, err := http.Post(srv.URL+"/api/v1/auth/tokens", "application/json", strings.NewReader(`{"username":"admin","password":"x"}`))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				want503(t, resp)
			})
			t.Run("OpenStack compute", func(t *testing.T) {
				resp, _ := get(http.DefaultClient, "/compute/v2.1/servers", "X-Auth-Token", tok.Secret)
				want503(t, resp)
			})

			page := func(t *testing.T, body string) {
				t.Helper()
				if n := strings.Count(strings.ToLower(body), "<!doctype html>"); n != 1 || !strings.Contains(body, "briefly unavailable") {
					t.Errorf("want one page saying Stratus is briefly unavailable, got %d pages: %.300s", n, body)
				}
			}
			t.Run("web page with a session", func(t *testing.T) {
				resp, body := get(browser, "/instances")
				want503(t, resp)
				page(t, body)
			})
			t.Run("web htmx poll", func(t *testing.T) {
				resp, body := get(browser, "/instances/rows?ids=00000000-0000-4000-8000-000000000000", "HX-Request", "true", "HX-Target", "instances-poll")
				want503(t, resp)
				if resp.Header.Get("HX-Reswap") != "none" || resp.Header.Get("HX-Retarget") != "" {
					t.Errorf("HX-Reswap %q, HX-Retarget %q: a poll must leave the page alone", resp.Header.Get("HX-Reswap"), resp.Header.Get("HX-Retarget"))
				}
				page(t, body)
			})
			t.Run("web boosted navigation", func(t *testing.T) {
				resp, body := get(browser, "/images", "HX-Request", "true", "HX-Boosted", "true")
				want503(t, resp)
				if resp.Header.Get("HX-Retarget") != "body" {
					t.Errorf("HX-Retarget %q, want the whole page", resp.Header.Get("HX-Retarget"))
				}
				page(t, body)
			})
			t.Run("web login page without a session", func(t *testing.T) {
				// Nothing to load, but the new session (its CSRF token)
				// cannot be saved.
				resp, body := get(&http.Client{}, "/login")
				want503(t, resp)
				page(t, body)
			})
		})
	}
}
