package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// The instance page's move forms appear only when the state and the
// caller allow them: resize for members of an idle placed instance, the
// confirm/revert banner in VERIFY_RESIZE, and migrate / live migrate for
// operators (evacuate only when the host is down).
func TestInstanceMoveForms(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		inst := c.launch(t, c.demoC, "web", 1)[0]
		br := c.browser(t)
		br.login("demo", demoPassword)

		p := br.get("/instances/" + inst.ID)
		if p.testID("action-resize").Length() != 0 {
			t.Error("a resize form for an instance still building")
		}
		c.activate(t, inst)
		p = br.get("/instances/" + inst.ID)
		if p.testID("action-resize").Length() != 1 || p.testID("action-migrate").Length() != 0 {
			t.Fatalf("member's move buttons on an ACTIVE instance: %v", testIDs(p.testID("instance-live")))
		}
		if opts := p.testID("resize-flavor").Find("option").Text(); strings.Contains(opts, c.instance(t, inst.ID).FlavorName+" ·") {
			t.Errorf("the current flavor is offered: %s", opts)
		}
		// A member posting an operator's action is refused, nothing moves.
		got := br.submit("/instances/"+inst.ID+"/move", url.Values{"action": {models.ActionMigrate}, "next": {"/instances/" + inst.ID}})
		// The console's own refusal, before the model's.
		if msg := got.testID("error-message").Text(); got.StatusCode != http.StatusForbidden || msg != "only operators may move instances between hosts" {
			t.Errorf("member migrate: %d %q", got.StatusCode, msg)
		}
		if i := c.instance(t, inst.ID); i.TaskState != models.TaskNone {
			t.Fatalf("a member's migrate started %s", i.TaskState)
		}
		// Resizing through the form starts the move.
		got = br.submit("/instances/"+inst.ID+"/move", url.Values{"action": {models.ActionResize}, "flavor": {"m1.small"}, "next": {"/instances/" + inst.ID}})
		if got.StatusCode != http.StatusSeeOther {
			t.Fatalf("resize form: %d", got.StatusCode)
		}
		if i := c.instance(t, inst.ID); i.Status() != "RESIZE" || i.FlavorName != "m1.small" {
			t.Fatalf("after the form: %s %s", i.Status(), i.FlavorName)
		}
		p = br.get("/instances/" + inst.ID)
		if p.testID("action-resize").Length() != 0 || p.testID("resize-verify").Length() != 0 {
			t.Errorf("move forms while resizing: %v", testIDs(p.testID("instance-live")))
		}

		// An operator sees migrate and live migrate on an idle instance of
		// an up host, not evacuate.
		other := c.launch(t, c.demoC, "db", 1)[0]
		c.activate(t, other)
		op := c.browser(t)
		op.login("admin", adminPassword)
		p = op.get("/instances/" + other.ID)
		for id, want := range map[string]int{"action-migrate": 1, "action-live_migrate": 1, "action-evacuate": 0} {
			if n := p.testID(id).Length(); n != want {
				t.Errorf("operator's %s: %d buttons, want %d", id, n, want)
			}
		}
	})
}
