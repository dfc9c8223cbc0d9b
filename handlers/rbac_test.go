package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/prometheus/client_golang/prometheus"

	"stratus/handlers"
	"stratus/handlers/api"
	"stratus/handlers/openstack"
	"stratus/handlers/policy"
	"stratus/handlers/web"
	"stratus/models"
	"stratus/models/storetest"
	"stratus/static"
)

// The RBAC matrix: for every route of the web UI, the API and the
// OpenStack-compatible facade — read from their route tables, so a new route cannot be forgotten — each persona
// gets the status its role deserves. Expectations come from the rule text
// of the route's action through the hand-written table below, not from the
// enforcer, so a route that forgets its check, or a rule that changes
// meaning, fails here.

type persona string

const (
	anon     persona = "anonymous"
	none     persona = "no-role"       // logged in, no role anywhere
	reader   persona = "reader"        // reader on project P
	member   persona = "member"        // member on P
	padmin   persona = "project-admin" // admin on P
	other    persona = "other-member"  // member of project Q, working in Q
	operator persona = "system-admin"  // system admin, working in its admin project
)

var personas = []persona{anon, none, reader, member, padmin, other, operator}

// allowedBy lists, for each rule text of the policy table, who passes it.
// "other" passes project rules in its own project: on a route about a
// resource of P it must then get 404, never 403.
var allowedBy = map[string][]persona{
	"public":                       {anon, none, reader, member, padmin, other, operator},
	"authenticated":                {none, reader, member, padmin, other, operator},
	"role:reader":                  {reader, member, padmin, other, operator},
	"role:member":                  {member, padmin, other, operator},
	"role:admin":                   {padmin, operator},
	"role:reader or system:reader": {reader, member, padmin, other, operator},
	"role:member or system:admin":  {member, padmin, other, operator},
	"system:reader":                {operator},
	"system:admin":                 {operator},
}

var param = regexp.MustCompile(`\{[^}]+\}`)

type matrixEnv struct {
	t        *testing.T
	store    *models.Store
	password string
	projects map[persona]string // each persona's current project ID
	srv      *httptest.Server
	tokens   map[persona]string       // API bearer tokens
	clients  map[persona]*http.Client // web sessions (cookie jars)
	csrf     map[persona]string
	// fixtures maps a route prefix to the ID of a resource of project P, so
	// that "other" is shown to get 404 for another tenant's resource.
	fixtures map[string]string
}

func TestRBACMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := newMatrixEnv(t, s)
		enf, err := policy.New("")
		if err != nil {
			t.Fatal(err)
		}
		apiRoutes := api.New(api.Deps{Store: s, Policy: enf}).Routes()
		webRoutes := web.New(web.Deps{Store: s, Policy: enf, Assets: static.New()}).Routes()
		if len(apiRoutes) == 0 || len(webRoutes) == 0 {
			t.Fatal("no routes")
		}
		for _, rt := range apiRoutes {
			e.check(t, "api", "/api/v1", rt)
		}
		for _, rt := range webRoutes {
			e.check(t, "web", "", rt)
		}
		osRoutes := openstack.New(openstack.Deps{Store: s, Policy: enf}).Routes()
		if len(osRoutes) < 50 {
			t.Fatalf("only %d OpenStack routes", len(osRoutes))
		}
		for _, rt := range osRoutes {
			e.check(t, "openstack", "", rt)
		}
	})
}

func (e *matrixEnv) check(t *testing.T, surface, prefix string, rt policy.Route) {
	rule := policy.DefaultRule(rt.Action)
	allowed, ok := allowedBy[rule]
	if !ok {
		t.Errorf("%s %s %s: action %s has rule %q, which the matrix has no expectations for: add them",
			surface, rt.Method, rt.Pattern, rt.Action, rule)
		return
	}
	fixture := ""
	path := param.ReplaceAllStringFunc(rt.Pattern, func(p string) string {
		if id, ok := e.fixtureFor(rt.Pattern, p); ok && surface != "openstack" {
			fixture = id
			return id
		}
		if id, ok := e.osFixtureFor(rt.Pattern, p); ok && surface == "openstack" {
			fixture = id
			return id
		}
		if strings.Contains(rt.Pattern, "/jobs/") {
			return "987654321"
		}
		if p == "{project_id}" {
			return "{project_id}" // the persona's own, filled in below
		}
		return "00000000-0000-4000-8000-000000000000"
	})
	// Logging out ends the credential it is sent with: use a spare one.
	endsSession := rt.Pattern == "/auth/tokens/current" || rt.Pattern == "/logout" ||
		(rt.Pattern == "/identity/v3/auth/tokens" && rt.Method == http.MethodDelete)
	for _, who := range personas {
		name := fmt.Sprintf("%s %s %s as %s", surface, rt.Method, rt.Pattern, who)
		t.Run(name, func(t *testing.T) {
			if endsSession && who != anon {
				saved, savedClient, savedCSRF := e.tokens[who], e.clients[who], e.csrf[who]
				e.signIn(who)
				defer func() { e.tokens[who], e.clients[who], e.csrf[who] = saved, savedClient, savedCSRF }()
			}
			own := e.projects[who]
			if own == "" {
				own = "00000000-0000-4000-8000-000000000000"
			}
			status, code, loc := e.request(surface, who, rt.Method, prefix+strings.ReplaceAll(path, "{project_id}", own))
			can := slicesContains(allowed, who)
			switch {
			case !can && who == anon && surface == "api":
				expect(t, status == http.StatusUnauthorized, "want 401, got %d", status)
			case !can && who == anon && surface == "openstack":
				expect(t, status == http.StatusUnauthorized && strings.HasPrefix(loc, `Keystone uri="`),
					"want 401 with WWW-Authenticate: Keystone uri=…, got %d %q", status, loc)
			case !can && surface == "openstack":
				expect(t, status == http.StatusForbidden && code == "policy", "want 403 from the policy, got %d %s", status, code)
			case !can && who == anon && surface == "web":
				expect(t, (status == http.StatusSeeOther && strings.HasPrefix(loc, "/login")) || status == http.StatusUnauthorized,
					"want a redirect to /login, got %d %s", status, loc)
			case !can:
				expect(t, status == http.StatusForbidden && (surface == "web" || code == "forbidden"),
					"want 403 forbidden, got %d %s", status, code)
			case who == other && fixture != "" && !e.ownedByEveryone(rt.Pattern):
				expect(t, status == http.StatusNotFound, "another project's resource must be 404, got %d %s", status, code)
			default:
				refused := status == http.StatusUnauthorized || (status == http.StatusForbidden && code != "quota_exceeded") ||
					(status == http.StatusSeeOther && strings.HasPrefix(loc, "/login?next"))
				if surface == "openstack" {
					// A 403 of the handler's own (another project's
					// quotas) is an answer, not the policy refusing.
					refused = status == http.StatusUnauthorized || (status == http.StatusForbidden && code == "policy")
				}
				if surface == "web" && rt.Pattern == "/project" && who == none {
					// A user without a project has nowhere to switch to:
					// the refusal is the model's, not the policy's.
					refused = status != http.StatusForbidden
				}
				expect(t, !refused, "allowed by %q but refused with %d %s %s", rule, status, code, loc)
				expect(t, status < 500, "server error %d", status)
			}
		})
	}
}

// ownedByEveryone: resources any project may see (public flavors) are not
// another tenant's.
func (e *matrixEnv) ownedByEveryone(pattern string) bool {
	return strings.HasPrefix(pattern, "/flavors/")
}

// osFixtureFor picks project P's resource for a path parameter of the
// OpenStack facade.
func (e *matrixEnv) osFixtureFor(pattern, p string) (string, bool) {
	for _, f := range []struct{ prefix, param, key string }{
		{"/compute/v2.1/servers/", "{id}", "instance"},
		{"/image/v2/images/", "{id}", "/images"},
		{"/compute/v2.1/images/", "{id}", "/images"},
		{"/compute/v2.1/os-server-groups/", "{id}", "/server-groups"},
		{"/compute/v2.1/os-keypairs/", "{name}", "keypair-name"},
		{"/compute/v2.1/os-security-groups/", "{id}", "/security-groups"},
		{"/network/v2.0/networks/", "{id}", "/networks"},
		{"/network/v2.0/subnets/", "{id}", "/subnets"},
		{"/network/v2.0/ports/", "{id}", "/ports"},
		{"/network/v2.0/security-groups/", "{id}", "/security-groups"},
		{"/network/v2.0/security-group-rules/", "{id}", "/security-group-rules"},
		{"/network/v2.0/routers/", "{id}", "/routers"},
		{"/network/v2.0/floatingips/", "{id}", "/floating-ips"},
		{"/volume/v3/{project_id}/volumes/", "{id}", "/volumes"},
		{"/volume/v3/{project_id}/snapshots/", "{id}", "/volume-snapshots"},
		{"/compute/v2.1/servers/{id}/os-volume_attachments/", "{volume}", "/volumes"},
	} {
		if strings.HasPrefix(pattern, f.prefix+p) && p == f.param {
			return e.fixtures[f.key], true
		}
	}
	return "", false
}

func (e *matrixEnv) fixtureFor(pattern, p string) (string, bool) {
	if p != "{id}" && p != "{container}" {
		return "", false
	}
	for prefix, id := range e.fixtures {
		if strings.HasPrefix(pattern, prefix+"/"+p) {
			return id, true
		}
	}
	return "", false
}

func expect(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}

func slicesContains(list []persona, p persona) bool {
	for _, x := range list {
		if x == p {
			return true
		}
	}
	return false
}

// request sends one request as a persona and returns the status, the API
// error code (if any) and the redirect location.
func (e *matrixEnv) request(surface string, who persona, method, path string) (int, string, string) {
	var body io.Reader
	req := httptest.NewRequest(method, e.srv.URL+path, body)
	req.RequestURI = ""
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if surface == "openstack" {
		if method != http.MethodGet && method != http.MethodDelete && method != http.MethodHead {
			req.Body = io.NopCloser(strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
		}
		if tok := e.tokens[who]; tok != "" {
			req.Header.Set("X-Auth-Token", tok)
			req.Header.Set("X-Subject-Token", tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		code := ""
		if strings.Contains(string(b), "Policy does not allow this request to be performed.") ||
			(method == http.MethodHead && resp.StatusCode == http.StatusForbidden) { // a HEAD answer has no body to tell
			code = "policy"
		}
		if resp.Header.Get("X-Openstack-Request-Id") == "" {
			e.t.Errorf("%s %s: no X-Openstack-Request-Id", method, path)
		}
		return resp.StatusCode, code, resp.Header.Get("WWW-Authenticate")
	}
	if surface == "api" {
		if method != http.MethodGet && method != http.MethodDelete {
			req.Body = io.NopCloser(strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
		}
		if tok := e.tokens[who]; tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	} else {
		if c, ok := e.clients[who]; ok {
			client = c
		}
		if method != http.MethodGet {
			form := url.Values{"csrf_token": {e.csrf[who]}}
			if path == "/project" && e.projects[who] != "" {
				form.Set("project", e.projects[who])
			}
			req.Body = io.NopCloser(strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", e.srv.URL)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var shape struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &shape)
	return resp.StatusCode, shape.Error.Code, resp.Header.Get("Location")
}

func newMatrixEnv(t *testing.T, s *models.Store) *matrixEnv {
	ctx := context.Background()
	const pw = "matrix-password-1"
	if _, err := s.Bootstrap(ctx, models.BootstrapInput{AdminName: "admin", AdminPassword: pw, AdminProject: "admin"}); err != nil {
		t.Fatal(err)
	}
	boot := models.Caller{UserName: "test"}
	for _, p := range []string{"p", "q"} {
		if _, err := s.CreateProject(ctx, boot, models.ProjectInput{Name: p}); err != nil {
			t.Fatal(err)
		}
	}
	users := map[persona][2]string{ // user → project, role
		none: {"", ""}, reader: {"p", "reader"}, member: {"p", "member"}, padmin: {"p", "admin"}, other: {"q", "member"},
	}
	for who, pr := range users {
		if _, err := s.CreateUser(ctx, boot, models.UserInput{Name: string(who), Password: pw}); err != nil {
			t.Fatal(err)
		}
		if pr[0] != "" {
			if _, err := s.AssignRole(ctx, boot, models.AssignmentInput{User: string(who), Project: pr[0], Role: pr[1]}); err != nil {
				t.Fatal(err)
			}
		}
	}
	enf, err := policy.New("")
	if err != nil {
		t.Fatal(err)
	}
	h := handlers.New(handlers.Deps{Store: s, Policy: enf, Log: nil, Registry: prometheus.NewRegistry(), Config: handlers.DefaultConfig()})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &matrixEnv{t: t, srv: srv, tokens: map[persona]string{}, clients: map[persona]*http.Client{}, csrf: map[persona]string{}, projects: map[persona]string{}, fixtures: map[string]string{}}

	e.store, e.password = s, pw
	for _, who := range personas[1:] {
		e.signIn(who)
	}
	// Anonymous web visitors still get a session (and a CSRF token) from
	// the login page, as a browser would.
	e.webLogin(anon, "", "", "")

	// Resources of project P that the other tenant must not see.
	pc, _ := s.AuthenticateToken(ctx, e.tokens[member])
	tok, err := s.CreateAPIToken(ctx, pc, models.APITokenInput{Name: "fixture"})
	if err != nil {
		t.Fatal(err)
	}
	e.fixtures["/tokens"] = tok.Token.ID
	im, err := s.CreateImage(ctx, pc, models.ImageInput{Name: "private"})
	if err != nil {
		t.Fatal(err)
	}
	e.fixtures["/images"] = im.ID
	kp, err := s.CreateKeyPair(ctx, pc, models.KeyPairInput{Name: "fixture"})
	if err != nil {
		t.Fatal(err)
	}
	e.fixtures["/keypairs"] = kp.ID
	g, err := s.CreateServerGroup(ctx, pc, models.ServerGroupInput{Name: "fixture", Policy: models.PolicyAntiAffinity})
	if err != nil {
		t.Fatal(err)
	}
	e.fixtures["/server-groups"] = g.ID
	// Networking: a network whose subnet has a port (so that deleting
	// either is a conflict for P, and the others stay to be refused).
	n, err := s.CreateNetwork(ctx, pc, models.NetworkInput{Name: "fixture"})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := s.CreateSubnet(ctx, pc, models.SubnetInput{NetworkID: n.ID, CIDR: "10.0.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	sg, err := s.CreateSecurityGroup(ctx, pc, models.SecurityGroupInput{Name: "fixture"})
	if err != nil {
		t.Fatal(err)
	}
	port, err := s.CreatePort(ctx, pc, models.PortInput{NetworkID: n.ID, SecurityGroups: &[]string{sg.ID}})
	if err != nil {
		t.Fatal(err)
	}
	rule, err := s.CreateSecurityGroupRule(ctx, pc, models.SecurityGroupRuleInput{SecurityGroupID: sg.ID, Direction: "ingress"})
	if err != nil {
		t.Fatal(err)
	}
	e.fixtures["/networks"], e.fixtures["/subnets"], e.fixtures["/ports"] = n.ID, sn.ID, port.ID
	// L3: a router on the subnet (so that deleting it is a conflict for P)
	// and a floating IP from the operators' external network.
	adminUser, _ := s.GetUser(ctx, "admin")
	adminProject, _ := s.GetProject(ctx, "admin")
	operator, err := s.ResolveCaller(ctx, adminUser.ID, adminProject.ID)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := s.CreateNetwork(ctx, operator, models.NetworkInput{Name: "public", RouterExternal: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSubnet(ctx, operator, models.SubnetInput{NetworkID: ext.ID, CIDR: "203.0.113.0/24"}); err != nil {
		t.Fatal(err)
	}
	router, err := s.CreateRouter(ctx, pc, models.RouterInput{Name: "fixture", ExternalGatewayInfo: &models.GatewayInput{NetworkID: ext.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRouterInterface(ctx, pc, router.ID, models.RouterInterfaceInput{SubnetID: sn.ID}); err != nil {
		t.Fatal(err)
	}
	fip, err := s.CreateFloatingIP(ctx, pc, models.FloatingIPInput{FloatingNetworkID: ext.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.fixtures["/routers"], e.fixtures["/floating-ips"] = router.ID, fip.ID
	e.fixtures["/security-groups"], e.fixtures["/security-group-rules"] = sg.ID, rule.ID
	e.fixtures["keypair-name"] = kp.Name
	// An instance of P (never placed: no compute host runs here).
	bootImage, err := s.CreateImage(ctx, pc, models.ImageInput{Name: "boot"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadImage(ctx, pc, bootImage.ID, strings.NewReader(strings.Repeat("x", 4096))); err != nil {
		t.Fatal(err)
	}
	insts, err := s.CreateInstances(ctx, pc, models.InstanceCreate{Name: "fixture", Flavor: "m1.nano", Image: bootImage.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.fixtures["instance"] = insts[0].ID
	// Object storage (the web panel; the Swift API has its own matrix in
	// rbac_swift_test.go): a container with an object, named in the path.
	if _, _, err := s.CreateContainer(ctx, pc.ProjectID, "fixture", models.ContainerChange{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutObject(ctx, pc.ProjectID, "fixture", "fixture.txt", models.ObjectWrite{ContentLength: 2}, strings.NewReader("hi")); err != nil {
		t.Fatal(err)
	}
	e.fixtures["/containers"] = "fixture"
	if _, err := s.RegisterVolumeBackend(ctx, models.VolumeBackendReport{Name: "file", Driver: "file", CapacityGB: 100}); err != nil {
		t.Fatal(err)
	}
	vol, err := s.CreateVolume(ctx, pc, models.VolumeCreate{Name: "fixture", SizeGB: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishVolumeCreate(ctx, vol.ID, models.VolumeConnection{Driver: "file", Path: "/v/" + vol.ID}); err != nil {
		t.Fatal(err)
	}
	snap, err := s.CreateSnapshot(ctx, pc, models.SnapshotCreate{VolumeID: vol.ID, Name: "fixture"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishSnapshot(ctx, snap.ID, "volume-"+vol.ID, nil); err != nil {
		t.Fatal(err)
	}
	e.fixtures["/volumes"] = vol.ID
	e.fixtures["/volume-snapshots"] = snap.ID
	e.fixtures["/snapshots"] = snap.ID
	return e
}

// logins names each persona's user and project.
var logins = map[persona][2]string{
	none: {"no-role", ""}, reader: {"reader", "p"}, member: {"member", "p"}, padmin: {"project-admin", "p"},
	other: {"other-member", "q"}, operator: {"admin", "admin"},
}

// signIn gives a persona a new API token and a new web session.
func (e *matrixEnv) signIn(who persona) {
	l := logins[who]
	issued, err := e.store.IssueLoginToken(context.Background(), models.LoginInput{Username: l[0], Password: e.password}, l[1])
	if err != nil {
		e.t.Fatalf("token for %s: %v", who, err)
	}
	e.tokens[who] = issued.Secret
	e.webLogin(who, l[0], e.password, l[1])
}

// webLogin signs a persona in through the login form, keeping its session
// cookie and CSRF token, and switches to its project.
func (e *matrixEnv) webLogin(who persona, user, pw, project string) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	token := func(path string) string {
		resp, err := c.Get(e.srv.URL + path)
		if err != nil {
			e.t.Fatal(err)
		}
		defer resp.Body.Close()
		doc, err := goquery.NewDocumentFromReader(resp.Body)
		if err != nil {
			e.t.Fatal(err)
		}
		v, _ := doc.Find(`meta[name="csrf-token"]`).Attr("content")
		return v
	}
	if who == anon {
		e.clients[anon] = c
		e.csrf[anon] = token("/login")
		return
	}
	form := url.Values{"username": {user}, "password": {pw}, "csrf_token": {token("/login")}}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/login", bytes.NewBufferString(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("web login of %s: status %d", who, resp.StatusCode)
	}
	e.clients[who] = c
	e.csrf[who] = token("/")
	if project == "" {
		return
	}
	// Land in the persona's project (the first one is picked at login;
	// switching makes the choice explicit).
	pr, err := projectID(e, who, project)
	if err != nil {
		e.t.Fatal(err)
	}
	e.projects[who] = pr
	form = url.Values{"project": {pr}, "csrf_token": {e.csrf[who]}}
	req, _ = http.NewRequest(http.MethodPost, e.srv.URL+"/project", bytes.NewBufferString(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	if resp, err = c.Do(req); err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
}

// projectID asks the API (as the persona) for its projects.
func projectID(e *matrixEnv, who persona, name string) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[who])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var me struct {
		Projects []struct{ ID, Name string } `json:"projects"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil {
		return "", err
	}
	var names []string
	for _, p := range me.Projects {
		if p.Name == name {
			return p.ID, nil
		}
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return "", fmt.Errorf("%s has no project %s (has %v)", who, name, names)
}
