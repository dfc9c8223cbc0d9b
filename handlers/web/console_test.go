package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

func TestInstanceConsoleTabs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		ctx := context.Background()
		inst := c.launch(t, c.demoC, "web", 1)[0]
		br := c.browser(t)
		br.login("demo", demoPassword)

		// Building: no console yet, an empty log.
		p := br.get("/instances/" + inst.ID + "/console")
		wantStatus(t, p, http.StatusOK)
		if p.testID("vnc-screen").Length() != 0 || !strings.Contains(p.testID("console-unavailable").Text(), "not running") {
			t.Errorf("a building instance offers a console: %q", p.testID("console-unavailable").Text())
		}
		p = br.get("/instances/" + inst.ID + "/console-log")
		wantStatus(t, p, http.StatusOK)
		if p.testID("console-log-empty").Length() != 1 {
			t.Error("no empty-log message")
		}

		c.activate(t, inst)
		if err := s.SetConsoleVNC(ctx, inst.ID, c.host.Name, "10.0.0.5", 5900); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveConsoleLog(ctx, inst.ID, c.host.Name, []byte("one\ntwo\n<script>alert(1)</script>\nlogin: ")); err != nil {
			t.Fatal(err)
		}
		p = br.get("/instances/" + inst.ID + "/console-log?lines=50")
		if got := p.testID("console-log").Text(); !strings.HasSuffix(got, "<script>alert(1)</script>\nlogin: ") {
			t.Errorf("console log = %q", got)
		}
		if strings.Contains(p.body, "<script>alert(1)") {
			t.Error("the guest's output is not escaped")
		}
		if p.testID("console-log-panel").AttrOr("hx-trigger", "") != "every 3s" {
			t.Error("the log of a running instance does not refresh")
		}
		if p.testID("tab-console-log").AttrOr("aria-current", "") != "page" {
			t.Error("the Console log tab is not the current one")
		}
		wantStatus(t, br.get("/instances/"+inst.ID+"/console-log?lines=7"), http.StatusUnprocessableEntity)

		p = br.get("/instances/" + inst.ID + "/console")
		url := p.testID("vnc-screen").AttrOr("data-vnc-url", "")
		if !strings.HasPrefix(url, "/console/vnc?token=") {
			t.Fatalf("console url = %q", url)
		}
		if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q on a page with a token", cc)
		}
		if !strings.Contains(p.body, `type="module"`) || !strings.Contains(p.body, "/static/console.js?v=") {
			t.Error("the page does not load the noVNC client")
		}
		token := strings.TrimPrefix(url, "/console/vnc?token=")
		if _, err := s.UseConsoleToken(ctx, c.eveC, token); err == nil {
			t.Error("another user could use demo's console token")
		}
		if target, err := s.UseConsoleToken(ctx, c.demoC, token); err != nil || target.Port != 5900 {
			t.Errorf("demo's own token: %+v %v", target, err)
		}

		// The detail page links both tabs; another project sees neither.
		if br.get("/instances/"+inst.ID).testID("tab-console").Length() != 1 {
			t.Error("the detail page has no Console tab")
		}
		eve := c.browser(t)
		eve.login("eve", evePassword)
		wantStatus(t, eve.get("/instances/"+inst.ID+"/console"), http.StatusNotFound)
		wantStatus(t, eve.get("/instances/"+inst.ID+"/console-log"), http.StatusNotFound)
	})
}
