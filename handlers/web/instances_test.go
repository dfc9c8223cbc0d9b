package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"stratus/models"
	"stratus/models/storetest"
)

func TestLaunchFormErrorsKeepInputAndNameFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		br := c.browser(t)
		br.login("demo", demoPassword)
		br.get("/instances/new")

		// Nothing chosen: every missing field says so, and what was typed stays.
		p := br.submit("/instances", url.Values{"name": {""}, "count": {"0"}, "user_data": {"#cloud-config\nhostname: x\n"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		for _, f := range []string{"name", "count", "image", "flavor"} {
			if p.testID("error-"+f).Text() == "" {
				t.Errorf("no error beside %s", f)
			}
		}
		if v := p.testID("launch-user-data").Text(); v != "#cloud-config\nhostname: x\n" {
			t.Errorf("user data not kept: %q", v)
		}
		if v, _ := p.testID("launch-count").Attr("value"); v != "0" {
			t.Errorf("count not kept: %q", v)
		}

		// A key pair and a server group of nobody's: named beside their fields.
		flavor, _ := s.GetFlavor(context.Background(), c.demoC, "m1.tiny")
		p = br.submit("/instances", url.Values{"name": {"web"}, "count": {"1"}, "image": {c.image.ID}, "flavor": {flavor.ID},
			"keypair": {"nope"}, "server_group": {"00000000-0000-4000-8000-000000000000"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("error-keypair").Text() == "" || p.testID("error-server_group").Text() == "" {
			t.Errorf("missing key pair / server group errors: %v", testIDs(p.testID("launch-form")))
		}
		if v, _ := p.testID("launch-name").Attr("value"); v != "web" {
			t.Errorf("name not kept: %q", v)
		}
		if _, checked := p.testID("flavor-m1.tiny").Find("input").Attr("checked"); !checked {
			t.Error("the chosen flavor is not kept")
		}
		if sel := p.testID("launch-image").Find("option[selected]"); sel.AttrOr("value", "") != c.image.ID {
			t.Errorf("the chosen image is not kept")
		}
		page, _ := s.ListInstances(context.Background(), c.demoC, models.InstanceFilter{})
		if len(page.Items) != 0 {
			t.Errorf("refused launches created %d instances", len(page.Items))
		}
	})
}

func TestLaunchFlavorsShowWhatFitsTheQuota(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		if _, err := s.SetQuotas(context.Background(), c.adminC, "demo", map[string]int64{models.QuotaVCPUs: 1, models.QuotaRAMMB: 1024}); err != nil {
			t.Fatal(err)
		}
		br := c.browser(t)
		br.login("demo", demoPassword)
		p := br.get("/instances/new")
		wantStatus(t, p, http.StatusOK)
		for name, fits := range map[string]bool{"m1.nano": true, "m1.tiny": true, "m1.small": false, "m1.medium": false, "m1.large": false} {
			card := p.testID("flavor-" + name)
			_, disabled := card.Find("input").Attr("disabled")
			if disabled == fits {
				t.Errorf("%s: disabled=%v, want fits=%v", name, disabled, fits)
			}
			reason := card.Find(`[data-testid="flavor-reason"]`).Text()
			if !fits && reason == "" {
				t.Errorf("%s does not fit but says no reason", name)
			}
		}
		if r := p.testID("flavor-m1.medium").Find(`[data-testid="flavor-reason"]`).Text(); !strings.Contains(r, "2 vCPUs") {
			t.Errorf("m1.medium's reason %q does not name the vCPUs", r)
		}
		if got := strings.TrimSpace(p.testID("launch-quota-vcpus-text").Text()); got != "0 of 1" {
			t.Errorf("vCPU quota meter says %q", got)
		}
	})
}

func TestLaunchShowsBuildRowsThatPoll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		br := c.browser(t)
		br.login("demo", demoPassword)
		br.get("/instances/new")
		flavor, _ := s.GetFlavor(context.Background(), c.demoC, "m1.tiny")
		p := br.submit("/instances", url.Values{"name": {"web"}, "count": {"2"}, "image": {c.image.ID}, "flavor": {flavor.ID}})
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/instances" {
			t.Fatalf("launch went to %q", p.location())
		}
		list := br.get("/instances")
		wantStatus(t, list, http.StatusOK)
		if !strings.Contains(list.testID("flash").Text(), "web-1, web-2") {
			t.Errorf("flash %q", list.testID("flash").Text())
		}
		var ids []string
		for _, name := range []string{"web-1", "web-2"} {
			row := list.testID("instance-row-" + name)
			if row.Length() != 1 || row.AttrOr("data-status", "") != "BUILD" {
				t.Fatalf("row %s: %d found, status %q", name, row.Length(), row.AttrOr("data-status", ""))
			}
			id := strings.TrimPrefix(row.AttrOr("id", ""), "inst-")
			if poll := row.Find("input[data-poll-id]"); poll.AttrOr("value", "") != id || poll.AttrOr("name", "") != "ids" {
				t.Errorf("row %s carries no poll id", name)
			}
			ids = append(ids, id)
		}
		poll := list.testID("instances-poll")
		if poll.Length() != 1 || !strings.HasPrefix(poll.AttrOr("hx-get", ""), "/instances/rows") ||
			poll.AttrOr("hx-trigger", "") != "every 1s" || poll.AttrOr("hx-include", "") != "[data-poll-id]" {
			t.Fatalf("no poller, or a wrong one: %v", poll.Nodes)
		}

		// Once nothing is in transition, the page has no poller and no poll ids.
		for _, id := range ids {
			c.activate(t, c.instance(t, id))
		}
		list = br.get("/instances")
		if list.testID("instances-poll").Length() != 0 || list.doc.Find("[data-poll-id]").Length() != 0 {
			t.Error("the list still polls with every instance ACTIVE")
		}
		if got := list.testID("instance-row-web-1").AttrOr("data-status", ""); got != "ACTIVE" {
			t.Errorf("web-1 is %q", got)
		}
	})
}

func TestRowsFragmentHasOnlyTheCallersRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		building := c.launch(t, c.demoC, "building", 1)[0]
		active := c.launch(t, c.demoC, "active", 1)[0]
		c.activate(t, active)
		gone := c.launch(t, c.demoC, "gone", 1)[0]
		if _, err := s.DeleteInstance(context.Background(), c.demoC, gone.ID); err != nil { // never placed: deleted at once
			t.Fatal(err)
		}
		theirs := c.launch(t, c.eveC, "theirs", 1)[0]

		br := c.browser(t)
		br.login("demo", demoPassword)
		p := br.get("/instances/rows?ids="+building.ID+"&ids="+theirs.ID+","+gone.ID+"&here=/instances?status=BUILD", "HX-Request", "true")
		wantStatus(t, p, http.StatusOK) // a row is in transition: keep polling
		doc := fragment(t, p.body)
		row := doc.Find("#inst-" + building.ID)
		if row.Length() != 1 || row.AttrOr("hx-swap-oob", "") != "true" || row.AttrOr("data-status", "") != "BUILD" {
			t.Errorf("the building row is not in the answer as an oob swap: %q", p.body)
		}
		if strings.Contains(p.body, theirs.ID) || strings.Contains(p.body, "theirs") {
			t.Error("another project's instance is in the answer")
		}
		if del := doc.Find("#inst-" + gone.ID); del.AttrOr("hx-swap-oob", "") != "delete" {
			t.Error("a deleted instance's row is not removed")
		}
		if strings.Contains(p.body, "<html") {
			t.Error("the answer is a whole page")
		}
		// Actions in refreshed rows return to the list the poller is on.
		if next := row.Find(`input[name="next"]`).First().AttrOr("value", ""); next != "" && next != "/instances?status=BUILD" {
			t.Errorf("refreshed row's forms return to %q", next)
		}

		// Nothing in transition: 286 tells htmx to stop polling.
		p = br.get("/instances/rows?ids="+active.ID, "HX-Request", "true")
		wantStatus(t, p, 286)
		if fragment(t, p.body).Find("#inst-"+active.ID).AttrOr("data-status", "") != "ACTIVE" {
			t.Errorf("the active row is not in the final answer: %q", p.body)
		}
		// Only another project's ID (or garbage): nothing, and stop.
		p = br.get("/instances/rows?ids="+theirs.ID+",not-an-id", "HX-Request", "true")
		wantStatus(t, p, 286)
		if strings.TrimSpace(p.body) != "" {
			t.Errorf("answer for another project's ID: %q", p.body)
		}
		// Another project's instance page is not found.
		wantStatus(t, br.get("/instances/"+theirs.ID), http.StatusNotFound)
	})
}

func TestActionButtonsMatchTheState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		sched := c.launch(t, c.demoC, "sched", 1)[0]
		act := c.launch(t, c.demoC, "act", 1)[0]
		c.activate(t, act)
		off := c.launch(t, c.demoC, "off", 1)[0]
		c.activate(t, off)
		c.stop(t, off)
		stopping := c.launch(t, c.demoC, "stopping", 1)[0]
		c.activate(t, stopping)
		if _, err := s.PowerAction(context.Background(), c.demoC, stopping.ID, models.PowerStop); err != nil {
			t.Fatal(err)
		}

		want := map[string][]string{
			"sched":    {"action-delete"},
			"act":      {"action-stop", "action-reboot", "action-delete"}, // hard reboot: on the instance's page
			"off":      {"action-start", "action-delete"},
			"stopping": nil, // busy: nothing until the task ends
		}
		buttons := func(sel *goquery.Selection) []string {
			var out []string
			for _, id := range testIDs(sel.Find(`[data-testid="instance-actions"]`)) {
				if strings.HasPrefix(id, "action-") && !strings.HasSuffix(id, "-confirm") {
					out = append(out, id)
				}
			}
			return out
		}
		br := c.browser(t)
		br.login("demo", demoPassword)
		list := br.get("/instances")
		for name, w := range want {
			if got := buttons(list.testID("instance-row-" + name)); !slices.Equal(got, w) {
				t.Errorf("%s (list): buttons %v, want %v", name, got, w)
			}
		}
		// The instance's page also offers pause and suspend, and on a
		// paused or suspended one only what brings it back.
		paused := c.launch(t, c.demoC, "paused", 1)[0]
		c.activate(t, paused)
		suspended := c.launch(t, c.demoC, "suspended", 1)[0]
		c.activate(t, suspended)
		for inst, steps := range map[string][]string{paused.ID: {models.PowerPause}, suspended.ID: {models.PowerSuspend}} {
			for _, action := range steps {
				if _, err := s.PowerAction(context.Background(), c.demoC, inst, action); err != nil {
					t.Fatal(err)
				}
				power := map[string]models.PowerState{models.PowerPause: models.PowerPaused, models.PowerSuspend: models.PowerSuspended}[action]
				if err := s.FinishPower(context.Background(), inst, action, power, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
		detail := map[string][]string{
			"sched":     want["sched"],
			"act":       {"action-stop", "action-reboot", "action-reboot_hard", "action-pause", "action-suspend", "action-snapshot", "action-rebuild", "action-shelve", "action-delete"},
			"off":       {"action-start", "action-reboot_hard", "action-snapshot", "action-rebuild", "action-shelve", "action-delete"},
			"stopping":  nil,
			"paused":    {"action-unpause", "action-suspend", "action-snapshot", "action-shelve", "action-delete"},
			"suspended": {"action-resume", "action-snapshot", "action-shelve", "action-delete"},
		}
		for name, inst := range map[string]models.Instance{"sched": sched, "act": act, "off": off, "stopping": stopping, "paused": paused, "suspended": suspended} {
			if got := buttons(br.get("/instances/" + inst.ID).doc.Selection); !slices.Equal(got, detail[name]) {
				t.Errorf("%s (detail): buttons %v, want %v", name, got, detail[name])
			}
		}
		// The snapshot dialog's form starts one; the page then lists it,
		// saving with its progress, and polls until it is done.
		page := br.get("/instances/" + paused.ID)
		if got := page.testID("snapshot-name").AttrOr("value", ""); got != "paused-snapshot" {
			t.Errorf("suggested snapshot name %q", got)
		}
		p := br.submit("/instances/"+paused.ID+"/snapshot", url.Values{"name": {"before-upgrade"}, "next": {"/instances/" + paused.ID}})
		wantStatus(t, p, http.StatusSeeOther)
		if got := c.instance(t, paused.ID).TaskState; got != models.TaskImageSnapshot {
			t.Errorf("after the snapshot form the task is %q", got)
		}
		page = br.get("/instances/" + paused.ID)
		snap := page.testID("snapshot-before-upgrade")
		if snap.AttrOr("data-status", "") != models.ImageSaving || snap.Find(`[data-testid="snapshot-progress"]`).Length() != 1 ||
			page.testID("instance-live").AttrOr("hx-trigger", "") != "every 1s" {
			t.Errorf("the page does not follow the saving snapshot: %v", snap.Nodes)
		}
		if buttons(page.doc.Selection) != nil {
			t.Errorf("buttons while snapshotting: %v", buttons(page.doc.Selection))
		}
		p = br.submit("/instances/"+paused.ID+"/snapshot", url.Values{"name": {"again"}})
		wantStatus(t, p, http.StatusSeeOther)
		if msg := br.get("/instances").testID("flash-error").Text(); !strings.Contains(msg, "busy") {
			t.Errorf("a second snapshot during the first: flash %q", msg)
		}
		list = br.get("/instances")
		if got := list.testID("instance-row-stopping").Find(`[data-testid="instance-task"]`).Text(); got != "powering off" {
			t.Errorf("the stopping row says %q", got)
		}
		if list.testID("bulk-form").Length() != 1 || list.testID("instance-select").Length() != 6 {
			t.Error("a member has no bulk selection")
		}

		// The form's action works, and a refused one is a flash, not an error page.
		p = br.submit("/instances/"+off.ID+"/action", url.Values{"action": {"start"}, "next": {"/instances?status=SHUTOFF"}})
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/instances?status=SHUTOFF" {
			t.Errorf("action returned to %q", p.location())
		}
		if got := c.instance(t, off.ID).TaskState; got != models.TaskPoweringOn {
			t.Errorf("after start the task is %q", got)
		}
		p = br.submit("/instances/"+act.ID+"/action", url.Values{"action": {"start"}})
		wantStatus(t, p, http.StatusSeeOther)
		if msg := br.get("/instances").testID("flash-error").Text(); !strings.Contains(msg, "cannot start") {
			t.Errorf("refused start: flash %q", msg)
		}

		// A reader (demo in research) sees no buttons, no bulk bar, and is refused.
		ro := c.launch(t, models.Caller{UserID: c.admin.ID, UserName: "admin", ProjectID: c.research.ID, ProjectRole: models.RoleMember}, "ro", 1)[0]
		c.activate(t, ro)
		br.get("/")
		br.submit("/project", url.Values{"project": {c.research.ID}})
		roList := br.get("/instances")
		if roList.testID("instance-row-ro").Length() != 1 {
			t.Fatal("the reader does not see research's instance")
		}
		if roList.testID("instance-actions").Find("button, summary").Length() != 0 || roList.testID("bulk-form").Length() != 0 ||
			roList.testID("launch-instance").Length() != 0 {
			t.Error("a reader is offered actions")
		}
		wantStatus(t, br.submit("/instances/"+act.ID+"/action", url.Values{"action": {"stop"}}), http.StatusForbidden)
	})
}

func TestBulkStopAndDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		a := c.launch(t, c.demoC, "a", 2)
		for _, inst := range a {
			c.activate(t, inst)
		}
		sched := c.launch(t, c.demoC, "sched", 1)[0]
		theirs := c.launch(t, c.eveC, "theirs", 1)[0]
		br := c.browser(t)
		br.login("demo", demoPassword)
		br.get("/instances")

		p := br.submit("/instances/bulk/stop", url.Values{"selected": {a[0].ID, a[1].ID, sched.ID}, "next": {"/instances"}})
		wantStatus(t, p, http.StatusSeeOther)
		for _, inst := range a {
			if got := c.instance(t, inst.ID).TaskState; got != models.TaskPoweringOff {
				t.Errorf("%s: task %q after bulk stop", inst.Name, got)
			}
		}
		list := br.get("/instances")
		if msg := list.testID("flash-error").Text(); !strings.Contains(msg, "a-1, a-2") || !strings.Contains(msg, "1 of 3") {
			t.Errorf("bulk stop flash %q: want the stopped names and the one refusal", msg)
		}
		if got := list.testID("instance-row-a-1").AttrOr("data-status", ""); got != "ACTIVE" || list.testID("instances-poll").Length() != 1 {
			t.Errorf("stopping rows: status %q, poller %d", got, list.testID("instances-poll").Length())
		}

		p = br.submit("/instances/bulk/delete", url.Values{"selected": {sched.ID, theirs.ID}})
		wantStatus(t, p, http.StatusSeeOther)
		if got := c.instance(t, sched.ID).VMState; got != models.VMDeleted {
			t.Errorf("the unplaced instance is %q after bulk delete", got)
		}
		if got := c.instance(t, theirs.ID); got.VMState == models.VMDeleted || got.TaskState == models.TaskDeleting {
			t.Error("bulk delete reached another project's instance")
		}
		if msg := br.get("/instances").testID("flash-error").Text(); !strings.Contains(msg, "1 of 2") {
			t.Errorf("bulk delete flash %q", msg)
		}
		// Nothing selected: said so.
		br.submit("/instances/bulk/delete", url.Values{})
		if msg := br.get("/instances").testID("flash-error").Text(); !strings.Contains(msg, "Select at least one") {
			t.Errorf("empty bulk: flash %q", msg)
		}
	})
}

func TestInstanceListFiltersAndPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		for _, inst := range c.launch(t, c.demoC, "app", 3) {
			c.activate(t, inst)
		}
		c.launch(t, c.demoC, "db", 1)
		br := c.browser(t)
		br.login("demo", demoPassword)
		names := func(p *page) []string {
			var out []string
			p.doc.Find(`[data-testid^="instance-row-"]`).Each(func(_ int, r *goquery.Selection) {
				out = append(out, strings.TrimPrefix(r.AttrOr("data-testid", ""), "instance-row-"))
			})
			return out
		}
		if got := names(br.get("/instances?status=BUILD")); !slices.Equal(got, []string{"db"}) {
			t.Errorf("status=BUILD lists %v", got)
		}
		if got := names(br.get("/instances?name=APP&status=ACTIVE")); len(got) != 3 {
			t.Errorf("name=APP lists %v", got)
		}
		// Newest first; the three of one launch share a creation time, so
		// only the pages' union is fixed.
		first := br.get("/instances?limit=2")
		got := names(first)
		if len(got) != 2 || got[0] != "db" {
			t.Errorf("first page %v, want db first", got)
		}
		next, ok := first.testID("pager-next").Attr("href")
		if !ok || !strings.Contains(next, "limit=2") {
			t.Fatalf("next link %q", next)
		}
		second := br.get(next)
		got = append(got, names(second)...)
		slices.Sort(got)
		if !slices.Equal(got, []string{"app-1", "app-2", "app-3", "db"}) || second.testID("pager-first").Length() != 1 {
			t.Errorf("two pages hold %v", got)
		}
		// The filter's htmx request gets only the results.
		frag := br.get("/instances?name=db", "HX-Request", "true", "HX-Target", "results")
		if strings.Contains(frag.body, "<html") || len(names(frag)) != 1 {
			t.Errorf("filter fragment: %q", frag.body)
		}
		// No instances: the empty state offers Launch.
		eve := c.browser(t)
		eve.login("eve", evePassword)
		if eve.get("/instances").testID("empty-launch").Length() != 1 {
			t.Error("no Launch button in the empty state")
		}
	})
}

func TestInstanceDetailLiveWhileBusy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		inst := c.launch(t, c.demoC, "web", 1)[0]
		br := c.browser(t)
		br.login("demo", demoPassword)
		p := br.get("/instances/" + inst.ID)
		live := p.testID("instance-live")
		if live.AttrOr("hx-trigger", "") != "every 1s" || live.AttrOr("hx-get", "") != "/instances/"+inst.ID {
			t.Errorf("a building instance's page does not poll: %v", live.Nodes)
		}
		if p.testID("action-row-create").AttrOr("data-result", "") != "running" {
			t.Error("the action log has no running create")
		}
		if p.testID("detail-host").Length() != 0 {
			t.Error("a member is shown the host")
		}
		if err := s.FailBuild(context.Background(), inst.ID, "No valid host: 1 host — 1 removed by RamFilter"); err != nil {
			t.Fatal(err)
		}
		frag := br.get("/instances/"+inst.ID, "HX-Request", "true", "HX-Target", "instance-live")
		if strings.Contains(frag.body, "<html") {
			t.Error("the live panel's answer is a whole page")
		}
		live = frag.testID("instance-live")
		if _, polls := live.Attr("hx-trigger"); polls || live.AttrOr("data-status", "") != "ERROR" {
			t.Errorf("an instance in ERROR still polls, or is not ERROR: %v", live.Nodes)
		}
		if !strings.Contains(frag.testID("instance-fault-message").Text(), "RamFilter") {
			t.Errorf("fault box: %q", frag.testID("instance-fault-message").Text())
		}
		if frag.testID("action-row-create").AttrOr("data-result", "") != "error" {
			t.Error("the action log does not show the failed create")
		}
		// Operators see the host.
		admin := c.browser(t)
		admin.login("admin", adminPassword)
		if admin.get("/instances/"+inst.ID).testID("detail-host").Length() != 1 {
			t.Error("an operator is not shown the host")
		}
	})
}
