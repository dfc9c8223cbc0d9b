package web_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"stratus/models"
	"stratus/models/storetest"
)

func TestLoginRequiresCSRFToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		for name, token := range map[string]string{"missing": "", "wrong": "not-the-session-token"} {
			t.Run(name, func(t *testing.T) {
				br := b.browser(t)
				br.get("/login") // the session (and its token) exist before login
				form := url.Values{"username": {"demo"}, "password": {demoPassword}}
				if token != "" {
					form.Set("csrf_token", token)
				}
				p := br.post("/login", form)
				wantStatus(t, p, http.StatusForbidden)
				if p.testID("error-page").Length() != 1 {
					t.Errorf("want the 403 page, got %q", p.body)
				}
				wantLoginRedirect(t, br.get("/").Response)
			})
		}
		if n := auditCount(t, s, models.AuditLogin, ""); n != 0 {
			t.Errorf("%d login events written by refused posts, want none: the password must not even be checked", n)
		}
	})
}

func TestLoginRenewsSessionToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		br := b.browser(t)
		br.get("/login")
		before := br.session()
		if before == "" {
			t.Fatal("the login page set no session cookie (its CSRF token needs one)")
		}
		p := br.submit("/login", url.Values{"username": {"demo"}, "password": {demoPassword}})
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/" {
			t.Errorf("login went to %q, want /", p.location())
		}
		after := br.session()
		if after == "" || after == before {
			t.Fatalf("session token not renewed on login: before %q after %q", before, after)
		}
		home := br.get("/")
		wantStatus(t, home, http.StatusOK)
		if got := home.testID("user-name").Text(); got != "demo" {
			t.Errorf("user menu shows %q, want demo", got)
		}
		// The pre-login token (which an attacker could have planted) is dead.
		wantLoginRedirect(t, b.withSession(t, http.MethodGet, "/", before))
		if r := b.withSession(t, http.MethodGet, "/", after); r.StatusCode != http.StatusOK {
			t.Errorf("the new session: status %d, want 200", r.StatusCode)
		}
	})
}

func TestLoginRefusalsReadTheSame(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		br := b.browser(t)
		attempt := func(user, password string) *page {
			br.get("/login")
			p := br.submit("/login", url.Values{"username": {user}, "password": {password}})
			wantStatus(t, p, http.StatusUnauthorized)
			if v, _ := p.testID("login-username").Attr("value"); v != user {
				t.Errorf("username field holds %q, want %q kept", v, user)
			}
			if v, ok := p.testID("login-password").Attr("value"); ok && v != "" {
				t.Errorf("password echoed back: %q", v)
			}
			if strings.Contains(p.body, password) {
				t.Error("the page contains the password")
			}
			return p
		}
		wrong := attempt("demo", "not-the-password")
		unknown := attempt("nobody", "not-the-password")
		long := attempt(strings.Repeat("x", 100), "not-the-password")
		w, u := wrong.testID("login-error").Text(), unknown.testID("login-error").Text()
		if w == "" || w != u || long.testID("login-error").Text() != w {
			t.Errorf("wrong password says %q, unknown user says %q, an impossible name %q: want one identical message",
				w, u, long.testID("login-error").Text())
		}
		wantLoginRedirect(t, br.get("/").Response)
	})
}

func TestLoginLocksOutAfterFiveFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		br := b.browser(t)
		for i := 0; i < 5; i++ {
			br.get("/login")
			wantStatus(t, br.submit("/login", url.Values{"username": {"demo"}, "password": {"wrong-password"}}), http.StatusUnauthorized)
		}
		br.get("/login")
		p := br.submit("/login", url.Values{"username": {"demo"}, "password": {demoPassword}})
		wantStatus(t, p, http.StatusUnauthorized)
		if n := auditCount(t, s, models.AuditLockout, ""); n != 1 {
			t.Errorf("%d lockout events, want 1", n)
		}

		// The operator sees the lock and lifts it; then the password works.
		admin := b.browser(t)
		admin.login("admin", adminPassword)
		up := admin.get("/admin/users/" + b.demo.ID)
		if up.testID("user-unlock").Length() != 1 {
			t.Fatal("the user page offers no unlock for a locked user")
		}
		wantStatus(t, admin.submit("/admin/users/"+b.demo.ID+"/unlock", nil), http.StatusSeeOther)
		br.login("demo", demoPassword)
	})
}

func TestLoginRedirectsOnlyToLocalPaths(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		for next, want := range map[string]string{
			"/tokens":               "/tokens",
			"/admin/users?name=x":   "/admin/users?name=x",
			"//evil.example/x":      "/",
			"https://evil.example/": "/",
			"/\\evil.example":       "/",
			"javascript:alert(1)":   "/",
		} {
			br := b.browser(t)
			br.get("/login")
			p := br.submit("/login", url.Values{"username": {"demo"}, "password": {demoPassword}, "next": {next}})
			if p.location() != want {
				t.Errorf("next=%q: went to %q, want %q", next, p.location(), want)
			}
		}
		// An anonymous visit remembers where it was going.
		br := b.browser(t)
		p := br.get("/tokens")
		if p.location() != "/login?next=%2Ftokens" {
			t.Errorf("anonymous /tokens went to %q", p.location())
		}
	})
}

func TestLogoutDestroysSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		br := b.browser(t)
		br.login("demo", demoPassword)
		old := br.session()

		// Logout is a state change: without the token it is refused.
		wantStatus(t, br.post("/logout", url.Values{}), http.StatusForbidden)
		if r := b.withSession(t, http.MethodGet, "/", old); r.StatusCode != http.StatusOK {
			t.Fatalf("a refused logout ended the session (status %d)", r.StatusCode)
		}

		p := br.submit("/logout", nil)
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/login?signed_out=1" {
			t.Errorf("logout went to %q", p.location())
		}
		wantLoginRedirect(t, b.withSession(t, http.MethodGet, "/", old))
		wantLoginRedirect(t, br.get("/").Response)
		if n := auditCount(t, s, models.AuditLogout, ""); n != 1 {
			t.Errorf("%d logout events, want 1", n)
		}
		if got := br.get("/login?signed_out=1").testID("login-notice").Text(); got == "" {
			t.Error("the login page does not say the user signed out")
		}
	})
}

func TestSessionEndsWhenPasswordResetOrUserDisabled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		admin := b.browser(t)
		admin.login("admin", adminPassword)

		demo := b.browser(t)
		demo.login("demo", demoPassword)
		admin.get("/admin/users/" + b.demo.ID)
		wantStatus(t, admin.submit("/admin/users/"+b.demo.ID+"/password", url.Values{"password": {"a-new-password-2"}}), http.StatusSeeOther)
		wantLoginRedirect(t, demo.get("/").Response)
		demo.login("demo", "a-new-password-2")

		admin.get("/admin/users/" + b.demo.ID)
		wantStatus(t, admin.submit("/admin/users/"+b.demo.ID+"/enabled", url.Values{"enabled": {"false"}}), http.StatusSeeOther)
		wantLoginRedirect(t, demo.get("/").Response)
		u, err := s.GetUser(context.Background(), "demo")
		if err != nil || u.Enabled {
			t.Fatalf("demo still enabled (%v)", err)
		}
	})
}

func TestCrossSitePostRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		br := b.browser(t)
		br.login("demo", demoPassword)
		br.get("/tokens")
		for name, hdr := range map[string][]string{
			"fetch metadata": {"Sec-Fetch-Site", "cross-site"},
			"foreign origin": {"Origin", "https://evil.example"},
		} {
			t.Run(name, func(t *testing.T) {
				p := br.submit("/tokens", url.Values{"name": {"evil"}, "expires_in_days": {"30"}}, hdr...)
				wantStatus(t, p, http.StatusForbidden)
			})
		}
		toks, err := s.ListAPITokens(context.Background(), models.Caller{UserID: b.demo.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(toks) != 0 {
			t.Errorf("a cross-site post created %d tokens", len(toks))
		}
		// The same form from this site works.
		wantStatus(t, br.submit("/tokens", url.Values{"name": {"ok"}, "expires_in_days": {"30"}}, "Sec-Fetch-Site", "same-origin"), http.StatusCreated)
	})
}

func TestSecurityHeadersAndCookie(t *testing.T) {
	b := setup(t, storetest.New(t, storetest.SQLite))
	br := b.browser(t)
	p := br.get("/login")
	wantStatus(t, p, http.StatusOK)
	for h, want := range map[string]string{
		"Content-Security-Policy": "script-src 'self'; style-src 'self'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"Cache-Control":           "no-store",
	} {
		if got := p.Header.Get(h); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want it to contain %q", h, got, want)
		}
	}
	var cookie *http.Cookie
	for _, c := range p.Cookies() {
		if c.Name == "stratus_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie %+v: want HttpOnly and SameSite=Lax", cookie)
	}
	// No inline script or style: the CSP would refuse it.
	if p.doc.Find("script:not([src])").Length() > 0 || p.doc.Find("[style]").Length() > 0 {
		t.Error("the page has an inline script or style attribute")
	}
	if cfg, _ := p.doc.Find(`meta[name="htmx-config"]`).Attr("content"); !strings.Contains(cfg, `"allowEval":false`) {
		t.Errorf("htmx-config %q does not turn eval off", cfg)
	}
}

func TestCSRFTokenInHeaderForHTMX(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		br := b.browser(t)
		br.login("demo", demoPassword)
		form := url.Values{"name": {"from-htmx"}, "expires_in_days": {"7"}}
		wantStatus(t, br.post("/tokens", form, "HX-Request", "true", "X-CSRF-Token", "forged"), http.StatusForbidden)
		wantStatus(t, br.post("/tokens", form, "HX-Request", "true", "X-CSRF-Token", br.csrf), http.StatusCreated)
		toks, err := s.ListAPITokens(context.Background(), models.Caller{UserID: b.demo.ID})
		if err != nil || len(toks) != 1 {
			t.Errorf("%d tokens (%v), want only the one with the right header", len(toks), err)
		}
	})
}

// A form over the body limit is refused as too large — not as a forged
// form — and writes nothing.
func TestOversizedFormIsTooLargeNotForged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		br := b.browser(t)
		br.login("demo", demoPassword)
		p := br.submit("/keypairs", url.Values{"name": {"big"}, "public_key": {strings.Repeat("A", 70<<10)}})
		wantStatus(t, p, http.StatusRequestEntityTooLarge)
		if !strings.Contains(p.body, "too large") {
			t.Errorf("the page does not say the form is too large: %q", p.body)
		}
	})
}

// TestCSRFTokenMaskedPerResponse: pages are compressed, so no page carries
// the session's CSRF token as it is (BREACH): each response carries it
// masked with a fresh pad — a different string every time, the same one
// everywhere on a page — and any of them is accepted, while a changed one,
// another session's, or an unmasked one is not.
func TestCSRFTokenMaskedPerResponse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		br := b.browser(t)
		br.login("demo", demoPassword)
		first := br.get("/tokens")
		t1 := br.csrf
		onPage := map[string]bool{t1: true}
		first.doc.Find(`input[name="csrf_token"]`).Each(func(_ int, in *goquery.Selection) {
			v, _ := in.Attr("value")
			onPage[v] = true
		})
		if len(onPage) != 1 {
			t.Errorf("one page carries %d different tokens, want one", len(onPage))
		}
		br.get("/tokens")
		t2 := br.csrf
		if t1 == "" || t1 == t2 {
			t.Fatalf("two responses carry the tokens %q and %q: want two different strings", t1, t2)
		}
		eve := b.browser(t)
		eve.login("eve", evePassword)
		flipped := []byte(t1)
		flipped[len(flipped)-2] ^= 1
		pad := make([]byte, 32)
		masked, _ := base64.RawURLEncoding.DecodeString(t1)
		raw := make([]byte, 32)
		for i := range raw {
			raw[i] = masked[i] ^ masked[32+i] // what the session holds
		}
		zeroPad := base64.RawURLEncoding.EncodeToString(append(pad, raw...))
		for name, tc := range map[string]struct {
			token string
			want  int
		}{
			"first response's":     {t1, http.StatusCreated},
			"second response's":    {t2, http.StatusCreated},
			"any pad, even zeros":  {zeroPad, http.StatusCreated},
			"one bit changed":      {string(flipped), http.StatusForbidden},
			"another session's":    {eve.csrf, http.StatusForbidden},
			"the unmasked session": {base64.RawURLEncoding.EncodeToString(raw), http.StatusForbidden},
		} {
			t.Run(name, func(t *testing.T) {
				form := url.Values{"name": {name}, "expires_in_days": {"7"}, "csrf_token": {tc.token}}
				wantStatus(t, br.post("/tokens", form), tc.want)
			})
		}
	})
}
