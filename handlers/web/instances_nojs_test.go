package web_test

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"stratus/models"
	"stratus/models/storetest"
)

// press submits the form a button belongs to — its form attribute, else
// the form around it — as a browser without JavaScript does: the form's
// hidden fields and checked boxes, the button's own name and value, to the
// button's formaction (else the form's action).
func (br *browser) press(p *page, button *goquery.Selection) *page {
	br.t.Helper()
	if button.Length() != 1 {
		br.t.Fatalf("press: %d buttons", button.Length())
	}
	form := button.Closest("form")
	if id, ok := button.Attr("form"); ok {
		form = p.doc.Find("form#" + id)
	}
	if form.Length() != 1 {
		br.t.Fatalf("press %s: the button belongs to no form", button.AttrOr("data-testid", ""))
	}
	vals := url.Values{}
	form.Find("input").Each(func(_ int, in *goquery.Selection) {
		name, ok := in.Attr("name")
		if !ok || in.AttrOr("form", "") != "" { // another form's field
			return
		}
		switch in.AttrOr("type", "text") {
		case "checkbox", "radio":
			if _, checked := in.Attr("checked"); !checked {
				return
			}
		}
		vals.Add(name, in.AttrOr("value", ""))
	})
	if name, ok := button.Attr("name"); ok {
		vals.Add(name, button.AttrOr("value", ""))
	}
	action := button.AttrOr("formaction", form.AttrOr("action", ""))
	return br.post(action, vals)
}

// TestInstanceRowsWorkWithoutJavaScript: the list carries one CSRF token,
// in the one form its table sits in, and every row button submits that form
// to its own formaction — so stop and delete work from a browser without
// JavaScript, whose delete button opens a confirmation page. The rows the
// poller refreshes carry no token at all.
func TestInstanceRowsWorkWithoutJavaScript(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		insts := c.launch(t, c.demoC, "web", 2)
		for _, inst := range insts {
			c.activate(t, inst)
		}
		building := c.launch(t, c.demoC, "new", 1)[0]
		br := c.browser(t)
		br.login("demo", demoPassword)

		list := br.get("/instances?name=web")
		if n := list.doc.Find(`input[name="csrf_token"]`).Length(); n != 4 { // picker, language, logout, the list's form
			t.Errorf("the list carries %d CSRF fields, want 4 (none per row)", n)
		}
		if n := list.testID("instances-rows").Find(`form, input[name="csrf_token"], details`).Length(); n != 0 {
			t.Errorf("the rows hold %d forms, tokens or dialogs of their own", n)
		}

		// Stop, from the row, without JavaScript.
		p := br.press(list, list.testID("instance-row-web-1").Find(`[data-testid="action-stop"]`))
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/instances?name=web" {
			t.Errorf("stop returned to %q, want the filtered list", p.location())
		}
		if got := c.instance(t, insts[0].ID).TaskState; got != models.TaskPoweringOff {
			t.Errorf("after stop the task is %q", got)
		}

		// Delete: the row's button is a link to a confirmation page, whose
		// form deletes and returns to the list it came from.
		link := list.testID("instance-row-web-2").Find(`[data-testid="action-delete"]`)
		href, ok := link.Attr("href")
		if !ok || link.Is("button") {
			t.Fatalf("the row's delete is not a link: %v", link.Nodes)
		}
		req, _ := http.NewRequest(http.MethodGet, br.base+href, nil)
		req.Header.Set("Referer", br.base+"/instances?name=web")
		confirm := br.do(req)
		wantStatus(t, confirm, http.StatusOK)
		if confirm.testID("dialog-action-delete").Length() != 1 || confirm.testID("sidebar").Length() != 1 {
			t.Fatal("the confirmation is not a whole page with the question")
		}
		if next := confirm.testID("dialog-action-delete").Find(`input[name="next"]`).AttrOr("value", ""); next != "/instances?name=web" {
			t.Errorf("the confirmation returns to %q", next)
		}
		p = br.press(confirm, confirm.testID("action-delete-confirm"))
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/instances?name=web" {
			t.Errorf("delete returned to %q", p.location())
		}
		if got := c.instance(t, insts[1].ID).TaskState; got != models.TaskDeleting {
			t.Errorf("after delete the task is %q", got)
		}

		// The poller's rows: no token, no form.
		rows := br.get("/instances/rows?ids=" + building.ID)
		if strings.Contains(rows.body, "csrf_token") || strings.Contains(rows.body, "<form") {
			t.Errorf("a refreshed row carries a form or a token: %s", rows.body)
		}
	})
}

// TestDeleteConfirmationAsDialog: htmx, following the row's delete link,
// gets only the question and is told to show it in the page's #dialog,
// without a history entry or a scroll; another project's instance is not
// found.
func TestDeleteConfirmationAsDialog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		mine := c.launch(t, c.demoC, "mine", 1)[0]
		theirs := c.launch(t, c.eveC, "theirs", 1)[0]
		br := c.browser(t)
		br.login("demo", demoPassword)
		p := br.get("/instances/"+mine.ID+"/delete", "HX-Request", "true", "HX-Boosted", "true",
			"HX-Current-URL", br.base+"/instances?status=BUILD")
		wantStatus(t, p, http.StatusOK)
		for h, want := range map[string]string{"HX-Retarget": "#dialog", "HX-Reswap": "innerHTML show:none", "HX-Push-Url": "false"} {
			if got := p.Header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}
		if p.testID("sidebar").Length() != 0 || p.testID("dialog-action-delete").Length() != 1 {
			t.Errorf("htmx got more or less than the dialog: %.200s", p.body)
		}
		if next := p.doc.Find(`input[name="next"]`).AttrOr("value", ""); next != "/instances?status=BUILD" {
			t.Errorf("the dialog returns to %q", next)
		}
		if tok := p.doc.Find(`input[name="csrf_token"]`).AttrOr("value", ""); tok == "" {
			t.Error("the dialog's form has no CSRF token")
		}
		wantStatus(t, br.get("/instances/"+theirs.ID+"/delete", "HX-Request", "true"), http.StatusNotFound)
	})
}

// TestIconsAreInTheSprite: every icon a page shows is a <use> of a symbol
// the served sprite has (a missing one would draw nothing).
func TestIconsAreInTheSprite(t *testing.T) {
	c := computeSetup(t, storetest.New(t, storetest.SQLite))
	c.activate(t, c.launch(t, c.demoC, "web", 1)[0])
	sprite, err := os.ReadFile("../../static/dist/icons.svg")
	if err != nil {
		t.Fatal(err)
	}
	symbols := map[string]bool{}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(sprite)))
	if err != nil {
		t.Fatal(err)
	}
	doc.Find("symbol").Each(func(_ int, s *goquery.Selection) { symbols[s.AttrOr("id", "")] = true })
	br := c.browser(t)
	br.login("admin", adminPassword)
	br.get("/")
	br.submit("/project", url.Values{"project": {c.demoProject.ID}})
	seen := 0
	for _, path := range []string{"/", "/instances", "/instances/new", "/images", "/keypairs", "/flavors", "/tokens",
		"/admin/hypervisors", "/admin/instances", "/admin/projects", "/admin/users", "/admin/flavors", "/admin/images",
		"/admin/jobs", "/admin/audit", "/images/new", "/containers"} {
		p := br.get(path)
		wantStatus(t, p, http.StatusOK)
		p.doc.Find("use").Each(func(_ int, u *goquery.Selection) {
			seen++
			href := u.AttrOr("href", "")
			file, name, _ := strings.Cut(href, "#")
			if !strings.HasPrefix(file, "/static/icons.svg?v=") || !symbols[name] {
				t.Errorf("%s: icon %q is not a symbol of the sprite", path, href)
			}
		})
	}
	if seen < 100 || len(symbols) < 30 {
		t.Errorf("%d icons on the pages, %d symbols in the sprite: the walk found too little", seen, len(symbols))
	}
	resp, err := http.Get(br.base + "/static/icons.svg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "image/svg+xml" {
		t.Errorf("the sprite is served %d as %q", resp.StatusCode, ct)
	}
}

// TestLaunchFormRefusesHiddenCharacters: the launch form says, beside the
// name, that a name with a terminal escape is refused, and launches nothing.
func TestLaunchFormRefusesHiddenCharacters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		br := c.browser(t)
		br.login("demo", demoPassword)
		br.get("/instances/new")
		p := br.submit("/instances", url.Values{"name": {"bad\u001b[31m\u0007name"}, "count": {"1"}, "image": {c.image.ID}, "flavor": {"m1.nano"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if msg := p.testID("error-name").Text(); !strings.Contains(msg, "control or invisible formatting characters") {
			t.Errorf("the name's error says %q", msg)
		}
		if list := br.get("/instances"); list.doc.Find(`[data-testid^="instance-row-"]`).Length() != 0 {
			t.Error("the refused launch created an instance")
		}
	})
}
