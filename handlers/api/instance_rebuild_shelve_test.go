package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// TestRebuildShelveUnshelveActions: POST /instances/{id}/actions takes
// rebuild {image, name}, shelve (naming its image) and unshelve; a missing
// image is a 422 naming the field, a state that does not allow an action a
// 409 naming it.
func TestRebuildShelveUnshelveActions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo := e.demo()
		startCloud(t, s, 50*time.Millisecond, "h1")
		e.activeImage(demo, map[string]any{"name": "cirros"}, diskImage(64<<10))
		e.activeImage(demo, map[string]any{"name": "busybox"}, diskImage(32<<10))
		r := e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "web", "flavor": "m1.nano", "image": "cirros"})
		want(t, r, http.StatusAccepted, "")
		id := r.list("instances")[0]["id"].(string)
		e.status(demo, id, "ACTIVE")
		act := func(body map[string]any) resp {
			return e.do(http.MethodPost, "/instances/"+id+"/actions", demo, body)
		}

		r = act(map[string]any{"action": "rebuild"})
		want(t, r, http.StatusUnprocessableEntity, "")
		if r.field("image") == "" {
			t.Errorf("rebuild without an image: %s", r.raw)
		}
		r = act(map[string]any{"action": "rebuild", "image": "busybox", "name": "web2"})
		want(t, r, http.StatusAccepted, "")
		if r.str("status") != "REBUILD" || r.str("name") != "web2" {
			t.Errorf("rebuild answered %s", r.raw)
		}
		if got := e.status(demo, id, "ACTIVE"); got.body["image"].(map[string]any)["name"] != "busybox" {
			t.Errorf("rebuilt: %s", got.raw)
		}
		want(t, act(map[string]any{"action": "unshelve"}), http.StatusConflict, "conflict")

		r = act(map[string]any{"action": "shelve"})
		want(t, r, http.StatusAccepted, "")
		if r.str("shelve_image_id") == "" || r.str("task_state") != "shelving" {
			t.Errorf("shelve answered %s", r.raw)
		}
		e.status(demo, id, "SHELVED_OFFLOADED")
		r = act(map[string]any{"action": "shelve_offload"})
		want(t, r, http.StatusConflict, "conflict")
		if !strings.Contains(string(r.raw), "SHELVED_OFFLOADED") {
			t.Errorf("shelve_offload: %s", r.raw)
		}
		want(t, act(map[string]any{"action": "unshelve"}), http.StatusAccepted, "")
		e.status(demo, id, "ACTIVE")
	})
}

// TestRebuildChangesTheKeyPair: a rebuild's keypair gives the instance
// another of the project's key pairs ("" none), its user_data new user
// data; an unknown key pair is a 422 naming keypair, and the instance is
// not rebuilt.
func TestRebuildChangesTheKeyPair(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo := e.demo()
		startCloud(t, s, 10*time.Millisecond, "h1")
		e.activeImage(demo, map[string]any{"name": "cirros"}, diskImage(64<<10))
		want(t, e.do(http.MethodPost, "/keypairs", demo, map[string]any{"name": "old"}), http.StatusCreated, "")
		want(t, e.do(http.MethodPost, "/keypairs", demo, map[string]any{"name": "new"}), http.StatusCreated, "")
		r := e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "web", "flavor": "m1.nano", "image": "cirros", "keypair": "old"})
		want(t, r, http.StatusAccepted, "")
		id := r.list("instances")[0]["id"].(string)
		e.status(demo, id, "ACTIVE")
		act := func(body map[string]any) resp {
			return e.do(http.MethodPost, "/instances/"+id+"/actions", demo, body)
		}

		r = act(map[string]any{"action": "rebuild", "image": "cirros", "keypair": "nope"})
		want(t, r, http.StatusUnprocessableEntity, "")
		if r.field("keypair") == "" {
			t.Errorf("rebuild with an unknown key pair: %s", r.raw)
		}
		if got := e.status(demo, id, "ACTIVE"); got.str("keypair") != "old" {
			t.Errorf("after a refused rebuild: %s", got.raw)
		}
		r = act(map[string]any{"action": "rebuild", "image": "cirros", "keypair": "new", "user_data": "#cloud-config\n"})
		want(t, r, http.StatusAccepted, "")
		if r.str("keypair") != "new" {
			t.Errorf("rebuild with key pair new answered %s", r.raw)
		}
		if got := e.status(demo, id, "ACTIVE"); got.str("keypair") != "new" {
			t.Errorf("rebuilt with key pair new: %s", got.raw)
		}
		want(t, act(map[string]any{"action": "rebuild", "image": "cirros"}), http.StatusAccepted, "")
		if got := e.status(demo, id, "ACTIVE"); got.str("keypair") != "new" {
			t.Errorf("a rebuild without keypair keeps it: %s", got.raw)
		}
		want(t, act(map[string]any{"action": "rebuild", "image": "cirros", "keypair": ""}), http.StatusAccepted, "")
		if got := e.status(demo, id, "ACTIVE"); got.body["keypair"] != nil {
			t.Errorf("rebuilt without a key pair: %s", got.raw)
		}
	})
}
