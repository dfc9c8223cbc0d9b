package web_test

import (
	"context"
	"io"
	"log/slog"
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
)

// Passwords of the users setup creates.
const (
	adminPassword = "admin-password-1"
	demoPassword  = "demo-password-1"
	evePassword   = "eve-password-1"
)

// bundle is what a web test works with: the whole HTTP handler (as
// `stratus serve` builds it, middleware included) on a real database, and
// the people in it.
type bundle struct {
	store  *models.Store
	policy *policy.Enforcer
	srv    *httptest.Server
	// demo is a member of "demo" and a reader of "research"; eve is a
	// member of "other" only; admin is the operator.
	demo, eve, admin models.User
	demoProject      models.Project
	research         models.Project
	other            models.Project
}

// setup starts Stratus' HTTP surface on s with three users and three
// projects.
func setup(t testing.TB, s *models.Store) *bundle {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Bootstrap(ctx, models.BootstrapInput{
		AdminName: "admin", AdminPassword: adminPassword, AdminProject: "admin",
		DemoProject: "demo", DemoUser: "demo", DemoPassword: demoPassword,
	}); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	op := models.Caller{UserName: "test"}
	b := &bundle{store: s}
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	b.research, err = s.CreateProject(ctx, op, models.ProjectInput{Name: "research"})
	must(err)
	b.other, err = s.CreateProject(ctx, op, models.ProjectInput{Name: "other"})
	must(err)
	b.eve, err = s.CreateUser(ctx, op, models.UserInput{Name: "eve", Password: evePassword})
	must(err)
	_, err = s.AssignRole(ctx, op, models.AssignmentInput{User: "eve", Project: "other", Role: "member"})
	must(err)
	_, err = s.AssignRole(ctx, op, models.AssignmentInput{User: "demo", Project: "research", Role: "reader"})
	must(err)
	b.demo, err = s.GetUser(ctx, "demo")
	must(err)
	b.admin, err = s.GetUser(ctx, "admin")
	must(err)
	b.demoProject, err = s.GetProject(ctx, "demo")
	must(err)

	b.policy, err = policy.New("")
	must(err)
	h := handlers.New(handlers.Deps{
		Store: s, Policy: b.policy, Log: slog.New(slog.DiscardHandler),
		Registry: prometheus.NewRegistry(), Config: handlers.DefaultConfig(),
	})
	b.srv = httptest.NewServer(h)
	t.Cleanup(b.srv.Close)
	return b
}

// browser is one person's browser: a cookie jar, no automatic redirects (so
// tests see the 303s), and the CSRF token of the last page it loaded.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
	csrf string
}

func (b *bundle) browser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: b.srv.URL, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is a response with its body parsed.
type page struct {
	*http.Response
	body string
	doc  *goquery.Document
}

// testID finds elements by data-testid.
func (p *page) testID(id string) *goquery.Selection {
	return p.doc.Find(`[data-testid="` + id + `"]`)
}

func (p *page) location() string { return p.Header.Get("Location") }

func (br *browser) do(req *http.Request) *page {
	br.t.Helper()
	resp, err := br.c.Do(req)
	if err != nil {
		br.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		br.t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(raw)))
	if err != nil {
		br.t.Fatal(err)
	}
	if t, ok := doc.Find(`meta[name="csrf-token"]`).Attr("content"); ok && t != "" {
		br.csrf = t
	}
	return &page{Response: resp, body: string(raw), doc: doc}
}

// get loads a page; headers are name, value pairs.
func (br *browser) get(path string, headers ...string) *page {
	br.t.Helper()
	req, err := http.NewRequest(http.MethodGet, br.base+path, nil)
	if err != nil {
		br.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return br.do(req)
}

// post submits a form as it is (no CSRF token added).
func (br *browser) post(path string, form url.Values, headers ...string) *page {
	br.t.Helper()
	req, err := http.NewRequest(http.MethodPost, br.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		br.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return br.do(req)
}

// submit posts a form with the CSRF token of the last page, as the
// browser would.
func (br *browser) submit(path string, form url.Values, headers ...string) *page {
	br.t.Helper()
	if br.csrf == "" {
		br.get("/login")
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", br.csrf)
	return br.post(path, form, headers...)
}

// login signs in through the login form and checks it worked.
func (br *browser) login(user, password string) *page {
	br.t.Helper()
	br.get("/login")
	p := br.submit("/login", url.Values{"username": {user}, "password": {password}})
	if p.StatusCode != http.StatusSeeOther {
		br.t.Fatalf("login as %s: status %d, want 303; error %q", user, p.StatusCode, p.testID("login-error").Text())
	}
	br.get("/") // pick up the new session's CSRF token
	return p
}

// session is the value of the session cookie the browser holds.
func (br *browser) session() string {
	u, _ := url.Parse(br.base)
	for _, c := range br.c.Jar.Cookies(u) {
		if c.Name == "stratus_session" {
			return c.Value
		}
	}
	return ""
}

// withSession makes a request carrying only the given session cookie (an
// old, stolen or replayed one), outside the browser's jar.
func (b *bundle) withSession(t *testing.T, method, path, session string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "stratus_session", Value: session})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp
}

// wantStatus fails the test when the page's status is not want.
func wantStatus(t *testing.T, p *page, want int) {
	t.Helper()
	if p.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; location %q; page %q", p.Request.Method, p.Request.URL.Path,
			p.StatusCode, want, p.location(), strings.TrimSpace(p.testID("error-message").Text()+p.testID("page-title").Text()))
	}
}

// wantLoginRedirect fails unless the response sends the browser to login.
func wantLoginRedirect(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("%s %s: status %d location %q, want 303 to /login", resp.Request.Method, resp.Request.URL.Path,
			resp.StatusCode, resp.Header.Get("Location"))
	}
}

// auditCount counts audit events of an action (and outcome, when given).
func auditCount(t *testing.T, s *models.Store, action, outcome string) int {
	t.Helper()
	evs, _, err := s.ListAuditEvents(context.Background(), models.AuditFilter{Action: action, Outcome: outcome, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}
