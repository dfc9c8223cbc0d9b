package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// TestBulkInstanceActions: a bulk action takes each instance on its own —
// accepted ones answer 202 with the instance in its new task, a busy one
// 409, another project's 404 (as if it did not exist) — and the route's
// policy is the action's: /bulk/actions never deletes.
func TestBulkInstanceActions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		ctx := context.Background()
		demo := e.demo()
		other := e.tenant("other", "olga")
		image := e.activeImage(demo, map[string]any{"name": "img"}, []byte(strings.Repeat("x", 1024)))
		host, err := s.RegisterHost(ctx, models.HostInventory{Name: "h1", Driver: "fake", VCPUs: 16, RAMMB: 65536, DiskGB: 1000,
			CPURatio: 4, RAMRatio: 1, DiskRatio: 1})
		if err != nil {
			t.Fatal(err)
		}
		otherImage := e.activeImage(other, map[string]any{"name": "oimg"}, []byte(strings.Repeat("y", 1024)))
		launch := func(token, image, name string) string {
			r := e.do(http.MethodPost, "/instances", token, map[string]any{"name": name, "image": image, "flavor": "m1.nano"})
			want(t, r, http.StatusAccepted, "")
			return r.list("instances")[0]["id"].(string)
		}
		active := func(id string) {
			inst, err := s.InstanceByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.PlaceInstance(ctx, inst, host, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.FinishSpawn(ctx, id, host.Name, models.PowerRunning); err != nil {
				t.Fatal(err)
			}
		}
		a, b, building := launch(demo, image, "a"), launch(demo, image, "b"), launch(demo, image, "building")
		theirs := launch(other, otherImage, "theirs")
		active(a)
		active(b)
		active(theirs)

		r := e.do(http.MethodPost, "/instances/bulk/actions", demo, map[string]any{"action": "stop", "instances": []string{a, building, theirs, a, b}})
		want(t, r, http.StatusAccepted, "")
		results := r.list("results")
		wantStatus := map[string]float64{a: 202, building: 409, theirs: 404, b: 202}
		if len(results) != 4 {
			t.Fatalf("%d results, want 4 (a repeated ID is taken once): %s", len(results), r.raw)
		}
		for _, res := range results {
			id := res["id"].(string)
			if res["status"] != wantStatus[id] {
				t.Errorf("%s: status %v, want %v", id, res["status"], wantStatus[id])
			}
			if res["status"] == float64(202) {
				if inst, _ := res["instance"].(map[string]any); inst["task_state"] != "powering-off" {
					t.Errorf("%s: accepted but %v", id, res["instance"])
				}
			} else if errBody, _ := res["error"].(map[string]any); errBody["code"] == "" || strings.Contains(errBody["message"].(string), "theirs") {
				t.Errorf("%s: error %v", id, res["error"])
			}
		}
		if got, _ := s.InstanceByID(ctx, theirs); got.TaskState != models.TaskNone {
			t.Errorf("another project's instance was touched: task %q", got.TaskState)
		}

		// /bulk/actions is the action policy: it does not delete.
		want(t, e.do(http.MethodPost, "/instances/bulk/actions", demo, map[string]any{"action": "delete", "instances": []string{building}}),
			http.StatusUnprocessableEntity, "invalid")
		r = e.do(http.MethodPost, "/instances/bulk/actions", demo, map[string]any{"action": "stop", "instances": []string{}})
		want(t, r, http.StatusUnprocessableEntity, "invalid")
		if r.field("instances") == "" {
			t.Errorf("an empty selection does not name the field: %s", r.raw)
		}

		r = e.do(http.MethodPost, "/instances/bulk/delete", demo, map[string]any{"instances": []string{building}})
		want(t, r, http.StatusAccepted, "")
		if res := r.list("results"); len(res) != 1 || res[0]["status"] != float64(202) {
			t.Errorf("bulk delete: %s", r.raw)
		}
		if got, _ := s.InstanceByID(ctx, building); got.TaskState != models.TaskDeleting && got.VMState != models.VMDeleted {
			t.Errorf("after bulk delete: %s/%s", got.VMState, got.TaskState)
		}
	})
}
