package object_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/handlers"
	"stratus/handlers/policy"
	"stratus/models"
	"stratus/models/storetest"
)

// env is a running Stratus (the whole HTTP surface, so that the real
// middleware is in the way) with two projects: P has a reader and a
// member, Q a member.
type env struct {
	t   testing.TB
	s   *models.Store
	srv *httptest.Server
	// inflight counts the requests the server is still handling, those a
	// client gave up on included.
	inflight *atomic.Int64
	p, q     string // project IDs
	member   string // tokens
	reader   string
	other    string
}

func setup(t testing.TB, s *models.Store) *env {
	t.Helper()
	ctx := context.Background()
	boot := models.Caller{UserName: "test"}
	e := &env{t: t, s: s}
	for _, name := range []string{"p", "q"} {
		pr, err := s.CreateProject(ctx, boot, models.ProjectInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if name == "p" {
			e.p = pr.ID
		} else {
			e.q = pr.ID
		}
	}
	const pw = "object-password-1"
	for _, u := range []struct{ name, project, role string }{{"alice", "p", "member"}, {"rita", "p", "reader"}, {"quinn", "q", "member"}} {
		if _, err := s.CreateUser(ctx, boot, models.UserInput{Name: u.name, Password: pw}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AssignRole(ctx, boot, models.AssignmentInput{User: u.name, Project: u.project, Role: u.role}); err != nil {
			t.Fatal(err)
		}
		tok, err := s.IssueLoginToken(ctx, models.LoginInput{Username: u.name, Password: pw}, u.project)
		if err != nil {
			t.Fatal(err)
		}
		switch u.name {
		case "alice":
			e.member = tok.Secret
		case "rita":
			e.reader = tok.Secret
		default:
			e.other = tok.Secret
		}
	}
	enf, err := policy.New("")
	if err != nil {
		t.Fatal(err)
	}
	h := handlers.New(handlers.Deps{Store: s, Policy: enf, Registry: prometheus.NewRegistry(), Config: handlers.DefaultConfig()})
	e.inflight = &atomic.Int64{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.inflight.Add(1)
		defer e.inflight.Add(-1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// url is an account path of project P (or the path as given when it
// starts with "/").
func (e *env) url(path string) string {
	if strings.HasPrefix(path, "/") {
		return e.srv.URL + "/object-storage" + path
	}
	return e.srv.URL + "/object-storage/v1/AUTH_" + e.p + "/" + path
}

// response is an answer with its body read.
type response struct {
	*http.Response
	body string
}

// do sends a request with a token ("" for none) and header pairs.
func (e *env) do(method, path, token string, body io.Reader, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url(path), body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Response: resp, body: string(b)}
}

// expect fails the test when the status is not want.
func (r response) expect(t testing.TB, want int) response {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.body)
	}
	return r
}

func (e *env) put(path, body string, headers ...string) response {
	e.t.Helper()
	return e.do(http.MethodPut, path, e.member, strings.NewReader(body), headers...)
}

// blobs counts the blobs in the object backend.
func (e *env) blobs() int {
	n := 0
	_ = e.s.Options().ObjectBackend.Walk(context.Background(), func(string, time.Time) error { n++; return nil })
	return n
}

// settle waits (up to 10 s) until the server handles no request and the
// backend holds want blobs: requests a client abandoned may still be
// finishing on the server, and one that has not yet stored its blob would
// otherwise pass for done.
func (e *env) settle(want int) {
	deadline := time.Now().Add(10 * time.Second)
	for (e.inflight.Load() != 0 || e.blobs() != want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// each runs fn on every engine with the single-object limit set to limit
// bytes (0: the default).
func each(t *testing.T, limit int64, fn func(t *testing.T, e *env)) {
	storetest.EachWithOptions(t, func(o *models.Options) {
		if limit > 0 {
			o.MaxObjectBytes = limit
		}
	}, func(t *testing.T, s *models.Store) { fn(t, setup(t, s)) })
}

// tempURLSignatures signs a temporary URL the ways swift tempurl can:
// SHA-1 hex, SHA-256 hex (index 1), SHA-512 as "sha512:<base64url>", and
// SHA-256 as "sha256:<base64>". Each is a query string.
func tempURLSignatures(key, method string, expires int64, path string) []string {
	body := method + "\n" + strconv.FormatInt(expires, 10) + "\n" + path
	mac := func(h func() hash.Hash) []byte {
		m := hmac.New(h, []byte(key))
		m.Write([]byte(body))
		return m.Sum(nil)
	}
	exp := "&temp_url_expires=" + strconv.FormatInt(expires, 10)
	return []string{
		"temp_url_sig=" + hex.EncodeToString(mac(sha1.New)) + exp,
		"temp_url_sig=" + hex.EncodeToString(mac(sha256.New)) + exp,
		"temp_url_sig=sha512:" + base64.RawURLEncoding.EncodeToString(mac(sha512.New)) + exp,
		"temp_url_sig=" + url.QueryEscape("sha256:"+base64.StdEncoding.EncodeToString(mac(sha256.New))) + exp,
	}
}
