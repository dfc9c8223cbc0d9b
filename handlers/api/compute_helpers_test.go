package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// raw sends a request whose body, or answer, is not JSON (image data) and
// returns the answer undecoded. The answer must still be one the OpenAPI
// document declares, with its media type; an error must have the error
// shape.
func (e *env) raw(method, path, token string, body io.Reader, headers map[string]string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, "/api/v1"+path, body)
	req.RemoteAddr = "192.0.2.7:4242"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	e.checkRaw(method, path, rec)
	return rec
}

func (e *env) checkRaw(method, path string, rec *httptest.ResponseRecorder) {
	e.t.Helper()
	ct := rec.Header().Get("Content-Type")
	if rec.Code >= 400 {
		r := resp{code: rec.Code, hdr: rec.Header(), raw: rec.Body.Bytes()}
		if err := json.Unmarshal(r.raw, &r.body); err != nil || ct != "application/json; charset=utf-8" {
			e.t.Fatalf("%s %s → %d: error not in JSON (%s): %s", method, path, rec.Code, ct, r.raw)
		}
		e.checkErrorShape(method, path, r)
		return
	}
	if rec.Code == http.StatusNotModified {
		return
	}
	var op map[string]any
	best := -1
	bare, _, _ := strings.Cut(path, "?")
	for tmpl, item := range e.doc["paths"].(map[string]any) {
		if literal, ok := matchTemplate(tmpl, bare); ok && literal > best {
			if o, ok := item.(map[string]any)[strings.ToLower(method)].(map[string]any); ok {
				op, best = o, literal
			}
		}
	}
	if op == nil {
		e.t.Fatalf("%s %s: no such operation in the OpenAPI document", method, path)
	}
	rs, ok := op["responses"].(map[string]any)[fmt.Sprint(rec.Code)].(map[string]any)
	if !ok {
		e.t.Fatalf("%s %s → %d: status not in the OpenAPI document", method, path, rec.Code)
	}
	content, _ := rs["content"].(map[string]any)
	if _, declared := content[strings.Split(ct, ";")[0]]; !declared {
		e.t.Errorf("%s %s → %d: Content-Type %q, the document declares %v", method, path, rec.Code, ct, content)
	}
	if strings.HasPrefix(ct, "application/json") {
		var v any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
		if err := validate(e.doc, content["application/json"].(map[string]any)["schema"].(map[string]any), v, "$"); err != nil {
			e.t.Errorf("%s %s → %d does not match the OpenAPI document: %v", method, path, rec.Code, err)
		}
	}
}

// decoded reads a JSON answer of raw.
func decoded(t *testing.T, rec *httptest.ResponseRecorder) resp {
	t.Helper()
	r := resp{code: rec.Code, hdr: rec.Header(), raw: rec.Body.Bytes()}
	if err := json.Unmarshal(r.raw, &r.body); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, r.raw)
	}
	return r
}

// tenant creates a project with a member and returns the member's token.
func (e *env) tenant(project, user string) string {
	e.t.Helper()
	admin := e.admin()
	const pw = "tenant-password-1"
	want(e.t, e.do(http.MethodPost, "/projects", admin, map[string]any{"name": project}), http.StatusCreated, "")
	want(e.t, e.do(http.MethodPost, "/users", admin, map[string]any{"name": user, "password": pw}), http.StatusCreated, "")
	want(e.t, e.do(http.MethodPost, "/role-assignments", admin, map[string]any{"user": user, "project": project, "role": "member"}), http.StatusCreated, "")
	return e.login(user, pw, project)
}

// activeImage creates an image and uploads data to it; it returns its ID.
func (e *env) activeImage(token string, body map[string]any, data []byte) string {
	e.t.Helper()
	r := e.do(http.MethodPost, "/images", token, body)
	want(e.t, r, http.StatusCreated, "")
	id := r.str("id")
	up := e.raw(http.MethodPut, "/images/"+id+"/file", token, bytes.NewReader(data), map[string]string{"Content-Type": "application/octet-stream"})
	if up.Code != http.StatusOK {
		e.t.Fatalf("upload: %d %s", up.Code, up.Body)
	}
	return id
}

// waitInstance polls GET /instances/{id} until done says so.
func (e *env) waitInstance(token, id string, within time.Duration, done func(r resp) bool) resp {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := e.do(http.MethodGet, "/instances/"+id, token, nil)
		want(e.t, r, http.StatusOK, "")
		if done(r) {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("instance %s still %s (task %v) after %s: %s", id, r.str("status"), r.body["task_state"], within, r.raw)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// status waits for an instance to reach a status with no task in progress.
func (e *env) status(token, id, status string) resp {
	e.t.Helper()
	return e.waitInstance(token, id, 15*time.Second, func(r resp) bool {
		return r.str("status") == status && r.body["task_state"] == nil
	})
}

// diskImage is n bytes that read as a qcow2 image (no backing file),
// random after the header so that a checksum means something.
func diskImage(n int) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{'s', 't', 'r', 'a', 't', 'u', 's'})
	_, _ = rng.Read(b)
	copy(b, []byte{'Q', 'F', 'I', 0xfb, 0, 0, 0, 3})
	copy(b[8:16], make([]byte, 8)) // backing file offset 0
	return b
}
