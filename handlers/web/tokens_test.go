package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"stratus/models"
	"stratus/models/storetest"
)

func TestProjectSwitchOnlyToOwnProjects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		br := b.browser(t)
		br.login("demo", demoPassword)
		home := br.get("/")
		if got := home.testID("current-project-name").Text(); got != "demo" {
			t.Fatalf("current project %q, want demo (the first by name)", got)
		}
		var picker []string
		home.testID("project-picker").Find("option").Each(func(_ int, o *goquery.Selection) { picker = append(picker, o.Text()) })
		if strings.Join(picker, ",") != "demo,research" {
			t.Errorf("picker offers %v, want only the user's projects [demo research]", picker)
		}

		// To a project the user has a role on: back to the page they were on.
		p := br.submit("/project", url.Values{"project": {b.research.ID}, "next": {"/tokens"}})
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/tokens" {
			t.Errorf("switch went to %q, want /tokens", p.location())
		}
		if got := br.get("/").testID("current-project-name").Text(); got != "research" {
			t.Errorf("current project %q after switching, want research", got)
		}

		// To another tenant's project, a made-up one, or a name: refused, and
		// the current project stays.
		for _, id := range []string{b.other.ID, "8a4b1c9e-0000-4000-8000-000000000000", "other", ""} {
			br.get("/")
			wantStatus(t, br.submit("/project", url.Values{"project": {id}}), http.StatusForbidden)
		}
		if got := br.get("/").testID("current-project-name").Text(); got != "research" {
			t.Errorf("current project %q after refused switches, want research", got)
		}
		// Open redirects are not offered through the picker either.
		p = br.submit("/project", url.Values{"project": {b.demoProject.ID}, "next": {"//evil.example/"}})
		if p.location() != "/" {
			t.Errorf("switch with next=//evil.example went to %q", p.location())
		}
	})
}

func TestUserWithoutProjectSeesWhatToDo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		if _, err := s.CreateUser(context.Background(), models.Caller{}, models.UserInput{Name: "newbie", Password: "newbie-password"}); err != nil {
			t.Fatal(err)
		}
		br := b.browser(t)
		br.login("newbie", "newbie-password")
		p := br.get("/")
		wantStatus(t, p, http.StatusOK)
		if p.testID("empty-state").Length() != 1 || !strings.Contains(p.testID("empty-state").Text(), "no project") {
			t.Errorf("no 'you have no project' notice: %q", p.testID("empty-state").Text())
		}
		if p.testID("nav-section-project").Length() != 0 || p.testID("nav-section-admin").Length() != 0 {
			t.Error("a user without a project or system role sees the Project or Admin section")
		}
		if p.testID("no-project").Length() != 1 {
			t.Error("the header does not say there is no project")
		}
		wantStatus(t, br.get("/tokens"), http.StatusForbidden) // tokens are scoped to a project
	})
}

func TestTokenSecretShownOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		br := b.browser(t)
		br.login("demo", demoPassword)
		br.get("/tokens")
		p := br.submit("/tokens", url.Values{"name": {"ci-deploy"}, "expires_in_days": {"30"}})
		wantStatus(t, p, http.StatusCreated)
		secret, _ := p.testID("token-secret").Attr("value")
		if !strings.HasPrefix(secret, "stk_") {
			t.Fatalf("no secret shown after create: %q", secret)
		}
		c, err := s.AuthenticateToken(context.Background(), secret)
		if err != nil || c.ProjectID != b.demoProject.ID || c.UserID != b.demo.ID {
			t.Fatalf("the shown secret does not authenticate as demo in demo: %+v, %v", c, err)
		}

		list := br.get("/tokens")
		wantStatus(t, list, http.StatusOK)
		if strings.Contains(list.body, secret) || list.testID("token-created").Length() != 0 {
			t.Error("the secret is on the list page after it was shown")
		}
		row := list.testID("token-row-ci-deploy")
		if row.Length() != 1 || !strings.Contains(row.Find(`[data-testid="token-status"]`).Text(), "active") {
			t.Fatalf("token row missing or not active: %q", row.Text())
		}
		if prefix := row.Find(`[data-testid="token-prefix"]`).Text(); !strings.HasPrefix(secret, strings.TrimSuffix(prefix, "…")) {
			t.Errorf("prefix %q is not the start of the secret", prefix)
		}

		// Revoke through htmx: the row comes back, revoked.
		id, _ := row.Attr("id")
		id = strings.TrimPrefix(id, "token-")
		frag := br.submit("/tokens/"+id+"/revoke", nil, "HX-Request", "true", "HX-Target", "token-"+id)
		wantStatus(t, frag, http.StatusOK)
		// A lone <tr> only parses inside a table.
		rowDoc, err := goquery.NewDocumentFromReader(strings.NewReader("<table>" + frag.body + "</table>"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(frag.body, "<html") || !strings.Contains(rowDoc.Find(`[data-testid="token-status"]`).Text(), "revoked") {
			t.Errorf("revoke fragment is not the revoked row: %q", frag.body)
		}
		if _, err := s.AuthenticateToken(context.Background(), secret); err == nil {
			t.Error("the revoked token still authenticates")
		}
		if n := auditCount(t, s, models.AuditTokenRevoke, ""); n != 1 {
			t.Errorf("%d token.revoke events, want 1", n)
		}

		// Another user's token is not found, never revoked.
		eve := b.browser(t)
		eve.login("eve", evePassword)
		wantStatus(t, eve.submit("/tokens/"+id+"/revoke", nil), http.StatusNotFound)
	})
}

func TestTokenFormKeepsInputAndShowsFieldErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		br := b.browser(t)
		br.login("demo", demoPassword)
		br.get("/tokens")
		p := br.submit("/tokens", url.Values{"name": {"nightly"}, "expires_in_days": {"9999"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("error-expires_in_days").Text() == "" {
			t.Error("no error beside the expiry")
		}
		if v, _ := p.testID("token-name").Attr("value"); v != "nightly" {
			t.Errorf("name field holds %q, want the input kept", v)
		}
		p = br.submit("/tokens", url.Values{"name": {""}, "expires_in_days": {"ten"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("error-name").Text() == "" || p.testID("error-expires_in_days").Text() == "" {
			t.Error("missing field errors for an empty name and a non-number expiry")
		}
		toks, _ := s.ListAPITokens(context.Background(), models.Caller{UserID: b.demo.ID})
		if len(toks) != 0 {
			t.Errorf("invalid forms created %d tokens", len(toks))
		}
	})
}
