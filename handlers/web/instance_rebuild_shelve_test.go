package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// TestRebuildShelveUnshelveForms: the rebuild dialog offers the project's
// images and starts a rebuild with the chosen name; shelve and unshelve
// are buttons shown only when the state allows them; a refused action is a
// flash naming the state.
func TestRebuildShelveUnshelveForms(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		ctx := context.Background()
		inst := c.launch(t, c.demoC, "vm", 1)[0]
		c.activate(t, inst)
		br := c.browser(t)
		br.login("demo", demoPassword)
		here := "/instances/" + inst.ID

		page := br.get(here)
		opts := page.testID("rebuild-image").Find("option")
		if opts.Length() != 1 || opts.AttrOr("value", "") != c.image.ID || page.testID("rebuild-name").AttrOr("value", "") != "vm" {
			t.Fatalf("rebuild dialog offers %d images (%s), name %q", opts.Length(), opts.Text(), page.testID("rebuild-name").AttrOr("value", ""))
		}
		p := br.submit(here+"/rebuild", url.Values{"image": {"no-such-image"}, "name": {"vm"}, "next": {here}})
		wantStatus(t, p, http.StatusSeeOther)
		if msg := br.get(here).testID("flash-error").Text(); !strings.Contains(msg, "image") {
			t.Errorf("rebuild from an unknown image: flash %q", msg)
		}
		p = br.submit(here+"/rebuild", url.Values{"image": {c.image.ID}, "name": {"vm-new"}, "next": {here}})
		wantStatus(t, p, http.StatusSeeOther)
		got := c.instance(t, inst.ID)
		if got.TaskState != models.TaskRebuilding || got.Name != "vm-new" {
			t.Fatalf("after the rebuild form: task %q name %q", got.TaskState, got.Name)
		}
		if page = br.get(here); page.testID("action-rebuild").Length() != 0 || page.testID("action-shelve").Length() != 0 {
			t.Error("rebuild or shelve offered while rebuilding")
		}
		if err := s.FinishRebuild(ctx, inst.ID, c.host.Name, models.PowerRunning, ""); err != nil {
			t.Fatal(err)
		}

		p = br.submit(here+"/action", url.Values{"action": {models.ActionShelve}, "next": {here}})
		wantStatus(t, p, http.StatusSeeOther)
		if got = c.instance(t, inst.ID); got.TaskState != models.TaskShelving {
			t.Fatalf("after the shelve button: task %q", got.TaskState)
		}
		// The host uploads the disk (with the job's secret) and offloads.
		jobs, _, err := s.ListJobs(ctx, models.JobFilter{Kind: "instance.shelve", Limit: 1})
		if err != nil || len(jobs) != 1 {
			t.Fatalf("shelve job: %v", err)
		}
		var args models.ShelveInstance
		_ = json.Unmarshal(jobs[0].Args, &args)
		if _, err := s.UploadSnapshot(ctx, args.ImageID, args.UploadSecret, bytes.NewReader(qcow2Header())); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishShelve(ctx, inst.ID, c.host.Name, models.PowerNoState, ""); err != nil {
			t.Fatal(err)
		}
		page = br.get(here)
		if page.testID("action-unshelve").Length() != 1 || page.testID("action-shelve").Length() != 0 ||
			page.testID("action-rebuild").Length() != 0 || page.testID("action-start").Length() != 0 || page.testID("action-delete").Length() != 1 {
			t.Errorf("buttons of a shelved instance: %v", testIDs(page.testID("instance-actions")))
		}
		p = br.submit(here+"/action", url.Values{"action": {models.ActionShelve}, "next": {here}})
		wantStatus(t, p, http.StatusSeeOther)
		if msg := br.get(here).testID("flash-error").Text(); !strings.Contains(msg, "SHELVED_OFFLOADED") {
			t.Errorf("shelve of a shelved instance: flash %q", msg)
		}
		p = br.submit(here+"/action", url.Values{"action": {models.ActionUnshelve}, "next": {here}})
		wantStatus(t, p, http.StatusSeeOther)
		if got = c.instance(t, inst.ID); got.TaskState != models.TaskUnshelving {
			t.Fatalf("after the unshelve button: task %q", got.TaskState)
		}
	})
}

// qcow2Header is an empty qcow2 disk's header: what a host uploads, as far
// as the image store checks.
func qcow2Header() []byte {
	b := make([]byte, 512)
	copy(b, "QFI\xfb")
	b[7], b[23], b[27], b[99], b[103] = 3, 16, 0x40, 4, 104 // version, cluster bits, 1 GiB, refcount order, header length
	return b
}
