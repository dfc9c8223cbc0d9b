package api_test

import (
	"net/http"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

func TestInvalidInputNamesTheField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		admin := e.admin()
		cases := []struct {
			name, method, path, body string
			field, says              string // the field named, and a word its message must contain
		}{
			{"malformed JSON", "POST", "/projects", `{"name": "x",`, "body", "malformed"},
			{"syntax error", "POST", "/projects", `{"name" "x"}`, "body", "malformed"},
			{"empty body", "POST", "/projects", ``, "body", "required"},
			{"not an object", "POST", "/projects", `["x"]`, "body", "object"},
			{"two objects", "POST", "/projects", `{"name":"a"} {"name":"b"}`, "body", "single"},
			{"unknown field", "POST", "/projects", `{"name":"x","colour":"red"}`, "colour", "unknown"},
			{"wrong type: string", "POST", "/projects", `{"name":5}`, "name", "string"},
			{"wrong type: bool", "POST", "/projects", `{"name":"x","enabled":"yes"}`, "enabled", "true or false"},
			{"wrong type: integer", "POST", "/tokens", `{"name":"x","expires_in_days":"ten"}`, "expires_in_days", "integer"},
			{"bad time", "POST", "/tokens", `{"name":"x","expires_at":"next week"}`, "expires_at", "RFC 3339"},
			{"model validation", "POST", "/projects", `{"name":"has spaces"}`, "name", "letters"},
			{"missing credentials", "POST", "/auth/tokens", `{}`, "username", "required"},
			{"short password", "POST", "/users", `{"name":"eve","password":"short"}`, "password", "at least"},
			{"patch wrong type", "PATCH", "/projects/00000000-0000-4000-8000-000000000000", `{"enabled":1}`, "enabled", "true or false"},
			{"role assignment scope", "POST", "/role-assignments", `{"user":"demo","role":"reader"}`, "project", "system"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := e.at(t)
				token := admin
				if tc.path == "/tokens" {
					token = e.demo()
				}
				r := e.do(tc.method, tc.path, token, tc.body)
				want(t, r, http.StatusUnprocessableEntity, "invalid")
				if msg := r.field(tc.field); !strings.Contains(msg, tc.says) {
					t.Errorf("fields.%s = %q, want it to say %q: %s", tc.field, msg, tc.says, r.raw)
				}
			})
		}
		t.Run("both credentials named", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/auth/tokens", "", `{}`)
			if r.field("username") == "" || r.field("password") == "" {
				t.Errorf("%s", r.raw)
			}
		})
	})
}

func TestBodyTooLarge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		big := `{"name":"x","description":"` + strings.Repeat("a", 1<<20) + `"}`
		r := e.do(http.MethodPost, "/projects", e.admin(), big)
		want(t, r, http.StatusRequestEntityTooLarge, "too_large")
	})
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		r := e.do(http.MethodGet, "/no-such-thing", "", nil)
		want(t, r, http.StatusNotFound, "not_found")
		r = e.do(http.MethodGet, "/projects/", e.admin(), nil)
		want(t, r, http.StatusNotFound, "not_found")

		r = e.do(http.MethodPut, "/me", e.demo(), nil)
		want(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
		if got := r.hdr.Get("Allow"); got != "GET" {
			t.Errorf("Allow %q, want GET", got)
		}
		r = e.do(http.MethodPatch, "/projects", "", nil)
		want(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
		if got := r.hdr.Get("Allow"); got != "GET, POST" {
			t.Errorf("Allow %q, want GET, POST", got)
		}
		// Job IDs are integers: anything else is no such job.
		want(t, e.do(http.MethodGet, "/jobs/abc", e.admin(), nil), http.StatusNotFound, "not_found")
	})
}

// An internal error is a 500 in the usual shape whose text stays in the log,
// with the request ID that ties the two together. (A database that does not
// answer is not one: see handlers' TestDatabaseDownAnswers503.)
func TestInternalErrorsDoNotLeak(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) { internalErrorDoesNotLeak(t, engine) })
	}
}

func internalErrorDoesNotLeak(t *testing.T, engine storetest.Engine) {
	s, raw := storetest.NewRaw(t, engine)
	e := setup(t, s)
	admin := e.admin()
	if _, err := raw.Exec("DROP TABLE role_assignments"); err != nil {
		t.Fatal(err)
	}
	r := e.do(http.MethodGet, "/role-assignments", admin, nil)
	want(t, r, http.StatusInternalServerError, "internal")
	eo := r.body["error"].(map[string]any)
	if eo["message"] != "internal error" {
		t.Errorf("message %q", eo["message"])
	}
	if strings.Contains(string(r.raw), "role_assignments") || strings.Contains(strings.ToLower(string(r.raw)), "table") {
		t.Errorf("the answer leaks the cause: %s", r.raw)
	}
	rid := eo["request_id"].(string)
	if rid == "" || r.hdr.Get("X-Request-Id") != rid {
		t.Fatalf("request_id %q, header %q", rid, r.hdr.Get("X-Request-Id"))
	}
	var logged bool
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) && strings.Contains(line, rid) && strings.Contains(line, "role_assignments") {
			logged = true
		}
		if strings.Contains(line, admin) {
			t.Errorf("the log holds a token secret: %s", line)
		}
	}
	if !logged {
		t.Errorf("no error logged with request %s:\n%s", rid, e.logs)
	}
}
