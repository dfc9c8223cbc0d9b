package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"stratus/handlers"
	"stratus/handlers/policy"
	"stratus/models"
)

const (
	adminPassword = "admin-password-1"
	demoPassword  = "demo-password-1"
)

// env is one API under test: the full HTTP handler (every middleware the
// server runs) over a real, bootstrapped database with an operator "admin"
// (admin on project "admin" and on the system) and a member "demo" of
// project "demo".
type env struct {
	t     *testing.T
	store *models.Store
	h     http.Handler
	logs  *bytes.Buffer
	doc   map[string]any // the served OpenAPI document: every answer is checked against it
}

func setup(t *testing.T, s *models.Store) *env {
	t.Helper()
	if _, err := s.Bootstrap(context.Background(), models.BootstrapInput{
		AdminName: "admin", AdminPassword: adminPassword, AdminProject: "admin",
		DemoProject: "demo", DemoUser: "demo", DemoPassword: demoPassword,
	}); err != nil {
		t.Fatal(err)
	}
	enf, err := policy.New("")
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	h := handlers.New(handlers.Deps{
		Store: s, Policy: enf, Log: slog.New(slog.NewJSONHandler(logs, nil)),
		Registry: prometheus.NewRegistry(), Config: handlers.DefaultConfig(),
	})
	e := &env{t: t, store: s, h: h, logs: logs}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e.doc); err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	return e
}

// at is e for a subtest: failures are reported on t.
func (e *env) at(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// resp is an answer with its body decoded.
type resp struct {
	code int
	hdr  http.Header
	raw  []byte
	body map[string]any
}

// errCode returns error.code of an error answer.
func (r resp) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// field returns error.fields[name] of a 422.
func (r resp) field(name string) string {
	e, _ := r.body["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	s, _ := f[name].(string)
	return s
}

func (r resp) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

func (r resp) list(key string) []map[string]any {
	items, _ := r.body[key].([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		out = append(out, it.(map[string]any))
	}
	return out
}

// do sends a request to /api/v1+path. body is sent as it is when it is a
// string, else as its JSON. Every answer must match the OpenAPI document
// (status, schema, RFC 3339 UTC times, UUIDs) and every error answer must
// have the one error shape.
func (e *env) do(method, path, token string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, "/api/v1"+path, rd)
	req.RemoteAddr = "192.0.2.7:4242"
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	r := resp{code: rec.Code, hdr: rec.Header(), raw: rec.Body.Bytes()}
	if len(r.raw) > 0 {
		if err := json.Unmarshal(r.raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, path, err, r.raw)
		}
		if ct := r.hdr.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	if r.code >= 400 {
		e.checkErrorShape(method, path, r)
	}
	if err := e.conforms(method, path, r); err != nil {
		e.t.Errorf("%s %s → %d does not match the OpenAPI document: %v\n%s", method, path, r.code, err, r.raw)
	}
	return r
}

func (e *env) checkErrorShape(method, path string, r resp) {
	e.t.Helper()
	eo, ok := r.body["error"].(map[string]any)
	if !ok || len(r.body) != 1 {
		e.t.Fatalf("%s %s → %d: not the error shape: %s", method, path, r.code, r.raw)
	}
	if eo["code"] == "" || eo["message"] == "" || eo["request_id"] == "" {
		e.t.Errorf("%s %s → %d: error without code, message or request_id: %s", method, path, r.code, r.raw)
	}
	if r.code == http.StatusUnprocessableEntity {
		if f, _ := eo["fields"].(map[string]any); len(f) == 0 {
			e.t.Errorf("%s %s → 422 without fields: %s", method, path, r.raw)
		}
	}
	if r.code == http.StatusUnauthorized && !strings.HasPrefix(r.hdr.Get("WWW-Authenticate"), "Bearer") {
		e.t.Errorf("%s %s → 401 without WWW-Authenticate: Bearer", method, path)
	}
}

// login issues a login token through the API.
func (e *env) login(user, password, project string) string {
	e.t.Helper()
	body := map[string]any{"username": user, "password": password}
	if project != "" {
		body["project"] = project
	}
	r := e.do(http.MethodPost, "/auth/tokens", "", body)
	if r.code != http.StatusCreated || r.str("token") == "" {
		e.t.Fatalf("login %s: %d %s", user, r.code, r.raw)
	}
	return r.str("token")
}

func (e *env) admin() string { return e.login("admin", adminPassword, "admin") }
func (e *env) demo() string  { return e.login("demo", demoPassword, "demo") }

// doHeaders sends a bodiless request with exactly these headers.
func (e *env) doHeaders(method, path string, headers map[string]string) resp {
	e.t.Helper()
	req := httptest.NewRequest(method, "/api/v1"+path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	r := resp{code: rec.Code, hdr: rec.Header(), raw: rec.Body.Bytes()}
	if err := json.Unmarshal(r.raw, &r.body); err != nil {
		e.t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, path, err, r.raw)
	}
	if r.code >= 400 {
		e.checkErrorShape(method, path, r)
	}
	return r
}

// userID and projectID look a name up through the admin API.
func (e *env) userID(token, name string) string {
	e.t.Helper()
	return e.idByName(token, "/users", "users", name)
}

func (e *env) projectID(token, name string) string {
	e.t.Helper()
	return e.idByName(token, "/projects", "projects", name)
}

func (e *env) idByName(token, path, key, name string) string {
	e.t.Helper()
	// Not ?name=: see TestListsPageAndFilter for why the filter is not
	// relied on here.
	r := e.do(http.MethodGet, path+"?limit=1000", token, nil)
	want(e.t, r, http.StatusOK, "")
	for _, it := range r.list(key) {
		if it["name"] == name {
			return it["id"].(string)
		}
	}
	e.t.Fatalf("no %s named %q in %s", key, name, r.raw)
	return ""
}

// want fails the test unless the answer has the status (and, for errors,
// the code).
func want(t *testing.T, r resp, status int, code string) {
	t.Helper()
	if r.code != status {
		t.Fatalf("status %d, want %d: %s", r.code, status, r.raw)
	}
	if code != "" && r.errCode() != code {
		t.Fatalf("error code %q, want %q: %s", r.errCode(), code, r.raw)
	}
}

// withoutRequestID drops the one part of an error body that differs
// between two requests.
func withoutRequestID(r resp) string {
	eo, _ := r.body["error"].(map[string]any)
	c := map[string]any{}
	for k, v := range eo {
		if k != "request_id" {
			c[k] = v
		}
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// conforms checks an answer against the OpenAPI document: the operation
// declares the status (or it is an error, described by the Error response),
// and the body validates against the declared schema.
func (e *env) conforms(method, path string, r resp) error {
	path, _, _ = strings.Cut(path, "?")
	paths := e.doc["paths"].(map[string]any)
	var op map[string]any
	best := -1
	for tmpl, item := range paths {
		literal, ok := matchTemplate(tmpl, path)
		if !ok {
			continue
		}
		if o, ok := item.(map[string]any)[strings.ToLower(method)].(map[string]any); ok && literal > best {
			op, best = o, literal // /jobs/counts beats /jobs/{id}
		}
	}
	var sch any
	if op != nil {
		responses := op["responses"].(map[string]any)
		if rs, ok := responses[fmt.Sprint(r.code)].(map[string]any); ok {
			if r.code >= 400 {
				return fmt.Errorf("error status %d declared as a success", r.code)
			}
			content, has := rs["content"].(map[string]any)
			if !has {
				if len(r.raw) != 0 {
					return fmt.Errorf("body on a response the document says is empty")
				}
				return nil
			}
			js, ok := content["application/json"].(map[string]any)
			if !ok {
				return fmt.Errorf("a JSON answer where the document declares %v", content)
			}
			sch = js["schema"]
		} else if r.code < 400 {
			return fmt.Errorf("status %d is not declared", r.code)
		}
	} else if r.code < 400 {
		return fmt.Errorf("no operation %s %s in the document", method, path)
	}
	if sch == nil {
		sch = e.doc["components"].(map[string]any)["responses"].(map[string]any)["Error"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
	}
	var v any
	if err := json.Unmarshal(r.raw, &v); err != nil {
		return err
	}
	return validate(e.doc, sch.(map[string]any), v, "$")
}

// matchTemplate matches a path against an OpenAPI path template and says
// how many segments matched literally.
func matchTemplate(tmpl, path string) (int, bool) {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return 0, false
	}
	literal := 0
	for i := range ts {
		switch {
		case strings.HasPrefix(ts[i], "{") && ps[i] != "":
		case ts[i] == ps[i]:
			literal++
		default:
			return 0, false
		}
	}
	return literal, true
}

// validate is the part of JSON Schema the reflector emits, read strictly: an
// object member the schema does not list is an error (undocumented output),
// date-times must be RFC 3339 in UTC, uuids must parse.
func validate(doc, sch map[string]any, v any, at string) error {
	if ref, ok := sch["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		target, ok := doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: dangling $ref %s", at, ref)
		}
		return validate(doc, target, v, at)
	}
	if alts, ok := sch["oneOf"].([]any); ok {
		var errs []string
		for _, alt := range alts {
			if err := validate(doc, alt.(map[string]any), v, at); err == nil {
				return nil
			} else {
				errs = append(errs, err.Error())
			}
		}
		return fmt.Errorf("%s: matches no alternative: %s", at, strings.Join(errs, "; "))
	}
	if enum, ok := sch["enum"].([]any); ok && !slices.Contains(enum, v) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
	}
	if typ, ok := sch["type"]; ok {
		var types []any
		switch t := typ.(type) {
		case string:
			types = []any{t}
		case []any:
			types = t
		}
		if !slices.ContainsFunc(types, func(t any) bool { return jsonTypeIs(v, t.(string)) }) {
			return fmt.Errorf("%s: %v (%T) is not of type %v", at, v, v, typ)
		}
	}
	switch x := v.(type) {
	case string:
		switch sch["format"] {
		case "date-time":
			tm, err := time.Parse(time.RFC3339Nano, x)
			if err != nil {
				return fmt.Errorf("%s: %q is not RFC 3339: %v", at, x, err)
			}
			if !strings.HasSuffix(x, "Z") || tm.Location() != time.UTC {
				return fmt.Errorf("%s: %q is not in UTC", at, x)
			}
		case "uuid":
			if _, err := uuid.Parse(x); err != nil {
				return fmt.Errorf("%s: %q is not a UUID", at, x)
			}
		}
	case []any:
		if items, ok := sch["items"].(map[string]any); ok {
			for i, it := range x {
				if err := validate(doc, items, it, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case map[string]any:
		props, hasProps := sch["properties"].(map[string]any)
		extra, hasExtra := sch["additionalProperties"].(map[string]any)
		if !hasProps && !hasExtra {
			return nil // any object
		}
		for k, mv := range x {
			if ps, ok := props[k].(map[string]any); ok {
				if err := validate(doc, ps, mv, at+"."+k); err != nil {
					return err
				}
				continue
			}
			if !hasExtra {
				return fmt.Errorf("%s: member %q is not in the schema", at, k)
			}
			if names, ok := sch["propertyNames"].(map[string]any); ok {
				if err := validate(doc, names, k, at+" key"); err != nil {
					return err
				}
			}
			if err := validate(doc, extra, mv, at+"."+k); err != nil {
				return err
			}
		}
		req, _ := sch["required"].([]any)
		for _, k := range req {
			if _, ok := x[k.(string)]; !ok {
				return fmt.Errorf("%s: required member %q is missing", at, k)
			}
		}
	}
	return nil
}

func jsonTypeIs(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}
