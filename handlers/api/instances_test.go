package api_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/allinone"
	"stratus/workers/compute"
	"stratus/workers/hostdrivers"
)

// startCloud runs a scheduler and a fake compute agent per host in the
// test's process, against the test's database, until the test ends. Each
// boot, power-on and reboot takes bootDelay, so that a test can act while a
// task is in progress.
func startCloud(t *testing.T, s *models.Store, bootDelay time.Duration, hosts ...string) {
	t.Helper()
	startCloudWith(t, s, bootDelay, nil, hosts...)
}

// startCloudWith is startCloud with the cloud's configuration changed by
// tune (volume services, for one).
func startCloudWith(t *testing.T, s *models.Store, bootDelay time.Duration, tune func(*allinone.Config), hosts ...string) {
	t.Helper()
	ctx := context.Background()
	drivers, err := hostdrivers.New(ctx, hostdrivers.Config{Virt: hostdrivers.VirtConfig{Driver: hostdrivers.Fake,
		Fake: hostdrivers.FakeConfig{VCPUs: 16, RAMMB: 32768, DiskGB: 1000, BootDelay: bootDelay}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := allinone.Config{
		Store: s, Hosts: hosts, PollInterval: 10 * time.Millisecond,
		OpenHost:        func(host string) (hostdrivers.Host, error) { return drivers.Open(ctx, host) },
		Agent:           compute.Config{HeartbeatInterval: 200 * time.Millisecond, PowerSyncInterval: time.Hour, Workers: 4},
		ServiceDownTime: 10 * time.Second,
		BuildTimeout:    time.Minute,
	}
	if tune != nil {
		tune(&cfg)
	}
	cloud, err := allinone.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cloud.Stop(); err != nil {
			t.Errorf("stop the cloud: %v", err)
		}
	})
}

var hostIDPattern = regexp.MustCompile(`^[0-9a-f]{56}$`)

// A launch through the API reaches ACTIVE on a fake host; stop, start,
// reboot and delete go through the agents too, each refused with 409 while
// another task runs, and each in the action log.
func TestInstanceLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo, admin := e.demo(), e.admin()
		startCloud(t, s, 300*time.Millisecond, "h1", "h2")
		e.activeImage(demo, map[string]any{"name": "cirros"}, diskImage(64<<10))
		want(t, e.do(http.MethodPost, "/keypairs", demo, map[string]any{"name": "k"}), http.StatusCreated, "")

		r := e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "web", "flavor": "m1.nano", "image": "cirros", "keypair": "k", "user_data": "#cloud-config\n"})
		want(t, r, http.StatusAccepted, "")
		launched := r.list("instances")
		if len(launched) != 1 {
			t.Fatalf("launched %s", r.raw)
		}
		inst := launched[0]
		id := inst["id"].(string)
		if inst["status"] != "BUILD" || inst["vm_state"] != "building" || inst["task_state"] != "scheduling" || inst["host"] != nil ||
			inst["keypair"] != "k" || inst["flavor"].(map[string]any)["name"] != "m1.nano" || inst["image"].(map[string]any)["name"] != "cirros" {
			t.Fatalf("launched %v", inst)
		}

		// Building: nothing else may start meanwhile.
		busy := e.do(http.MethodPost, "/instances/"+id+"/actions", demo, map[string]any{"action": "stop"})
		want(t, busy, http.StatusConflict, "conflict")

		active := e.status(demo, id, "ACTIVE")
		if active.str("power_state") != "running" || active.body["launched_at"] == nil || active.body["fault"] != nil {
			t.Errorf("active: %s", active.raw)
		}
		if active.body["host"] != nil || !hostIDPattern.MatchString(active.str("host_id")) {
			t.Errorf("a tenant sees host %v, host_id %v", active.body["host"], active.body["host_id"])
		}
		if host := e.do(http.MethodGet, "/instances/"+id, admin, nil).str("host"); host != "h1" && host != "h2" {
			t.Errorf("an operator sees host %q", host)
		}

		t.Run("stop", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/instances/"+id+"/actions", demo, map[string]any{"action": "stop"})
			want(t, r, http.StatusAccepted, "")
			if r.str("task_state") != "powering-off" {
				t.Errorf("stop answered %s", r.raw)
			}
			if off := e.status(demo, id, "SHUTOFF"); off.str("power_state") != "shutdown" || off.str("vm_state") != "stopped" {
				t.Errorf("stopped: %s", off.raw)
			}
			want(t, e.do(http.MethodPost, "/instances/"+id+"/actions", demo, map[string]any{"action": "stop"}), http.StatusConflict, "conflict")
		})

		t.Run("start, and a second action while it starts", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/instances/"+id+"/actions", demo, map[string]any{"action": "start"})
			want(t, r, http.StatusAccepted, "")
			if r.str("task_state") != "powering-on" {
				t.Errorf("start answered %s", r.raw)
			}
			busy := e.do(http.MethodPost, "/instances/"+id+"/actions", demo, map[string]any{"action": "reboot"})
			want(t, busy, http.StatusConflict, "conflict")
			if !strings.Contains(busy.body["error"].(map[string]any)["message"].(string), "powering-on") {
				t.Errorf("409 does not say what runs: %s", busy.raw)
			}
			e.status(demo, id, "ACTIVE")
		})

		t.Run("reboot, soft and hard", func(t *testing.T) {
			e := e.at(t)
			for action, status := range map[string]string{"reboot": "REBOOT", "reboot_hard": "HARD_REBOOT"} {
				r := e.do(http.MethodPost, "/instances/"+id+"/actions", demo, map[string]any{"action": action})
				want(t, r, http.StatusAccepted, "")
				if r.str("status") != status {
					t.Errorf("%s: status %s, want %s", action, r.str("status"), status)
				}
				e.status(demo, id, "ACTIVE")
			}
			bad := e.do(http.MethodPost, "/instances/"+id+"/actions", demo, map[string]any{"action": "explode"})
			want(t, bad, http.StatusUnprocessableEntity, "invalid")
			if bad.field("action") == "" {
				t.Errorf("%s", bad.raw)
			}
		})

		t.Run("the action log", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodGet, "/instances/"+id+"/actions", demo, nil)
			want(t, r, http.StatusOK, "")
			var got []string
			for _, a := range r.list("actions") {
				if a["user_name"] == "demo" {
					got = append(got, a["action"].(string))
					if a["result"] != "success" || a["finished_at"] == nil {
						t.Errorf("action %v", a)
					}
				}
			}
			if !slices.Equal(got, []string{"reboot_hard", "reboot", "start", "stop", "create"}) &&
				!slices.Equal(got, []string{"reboot", "reboot_hard", "start", "stop", "create"}) {
				t.Errorf("demo's actions, newest first: %v", got)
			}
		})

		t.Run("delete", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodDelete, "/instances/"+id, demo, nil)
			want(t, r, http.StatusAccepted, "")
			if r.str("task_state") != "deleting" {
				t.Errorf("delete answered %s", r.raw)
			}
			e.status(demo, id, "DELETED")
			for _, it := range e.do(http.MethodGet, "/instances", demo, nil).list("instances") {
				if it["id"] == id {
					t.Error("a deleted instance is listed")
				}
			}
			want(t, e.do(http.MethodDelete, "/instances/"+id, demo, nil), http.StatusNotFound, "not_found")
			usage := e.do(http.MethodGet, "/usage", demo, nil)
			if used := usage.body["resources"].(map[string]any)["instances"].(map[string]any)["used"]; used != 0.0 {
				t.Errorf("deleted instance still counted: %s", usage.raw)
			}
		})
	})
}

func TestLaunchChecksAndQuota(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo, admin := e.demo(), e.admin()
		e.activeImage(demo, map[string]any{"name": "cirros", "min_ram": 1024}, diskImage(4096))

		t.Run("each bad input named", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "", "flavor": "m9.huge", "image": "nope", "count": 1000, "keypair": "missing"})
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			for _, f := range []string{"name", "count"} {
				if r.field(f) == "" {
					t.Errorf("%s not named: %s", f, r.raw)
				}
			}
			r = e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "x", "flavor": "m9.huge", "image": "nope", "keypair": "missing", "server_group": "none", "availability_zone": "mars"})
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			for _, f := range []string{"flavor", "image", "keypair", "server_group", "availability_zone"} {
				if r.field(f) == "" {
					t.Errorf("%s not named: %s", f, r.raw)
				}
			}
			r = e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "small", "flavor": "m1.nano", "image": "cirros"})
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			if !strings.Contains(r.field("flavor"), "1024 MB") {
				t.Errorf("min_ram not explained: %s", r.raw)
			}
			r = e.do(http.MethodPost, "/instances", demo, `{"name":"x","flavor":"m1.small","image":"cirros","user_data":`+fmt.Sprintf("%q", strings.Repeat("x", 65<<10))+`}`)
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			if r.field("user_data") == "" {
				t.Errorf("user_data: %s", r.raw)
			}
		})

		t.Run("over quota: 403 quota_exceeded, nothing launched", func(t *testing.T) {
			e := e.at(t)
			want(t, e.do(http.MethodPut, "/quotas/demo", admin, map[string]any{"instances": 3}), http.StatusOK, "")
			r := e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "many", "flavor": "m1.small", "image": "cirros", "count": 4})
			want(t, r, http.StatusForbidden, "quota_exceeded")
			msg := r.body["error"].(map[string]any)["message"].(string)
			if msg != "quota exceeded for instances: requested 4, the project uses 0 of 3" {
				t.Errorf("message %q", msg)
			}
			if n := len(e.do(http.MethodGet, "/instances", demo, nil).list("instances")); n != 0 {
				t.Errorf("%d instances after a refused launch", n)
			}
			r = e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "many", "flavor": "m1.small", "image": "cirros", "count": 3})
			want(t, r, http.StatusAccepted, "")
			if got := names(r.list("instances")); !slices.Equal(got, []string{"many-1", "many-2", "many-3"}) {
				t.Errorf("names %v", got)
			}
			want(t, e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "one-more", "flavor": "m1.small", "image": "cirros"}), http.StatusForbidden, "quota_exceeded")
		})
	})
}

func TestInstanceListsAndScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo, admin := e.demo(), e.admin()
		other := e.tenant("other", "olivia")
		e.activeImage(demo, map[string]any{"name": "cirros"}, diskImage(4096))
		e.activeImage(other, map[string]any{"name": "cirros"}, diskImage(4096))
		var ids []string
		for i := range 5 {
			r := e.do(http.MethodPost, "/instances", demo, map[string]any{"name": fmt.Sprintf("web%d", i), "flavor": "m1.nano", "image": "cirros"})
			want(t, r, http.StatusAccepted, "")
			ids = append(ids, r.list("instances")[0]["id"].(string))
		}
		theirs := e.do(http.MethodPost, "/instances", other, map[string]any{"name": "db", "flavor": "m1.nano", "image": "cirros"}).list("instances")[0]["id"].(string)
		otherProject := e.projectID(admin, "other")

		t.Run("newest first, page by page", func(t *testing.T) {
			e := e.at(t)
			items, pages := e.pageAll(demo, "/instances?limit=2", "instances")
			if got := names(items); !slices.Equal(got, []string{"web4", "web3", "web2", "web1", "web0"}) || pages != 3 {
				t.Errorf("%d pages of %v", pages, got)
			}
		})

		t.Run("filters", func(t *testing.T) {
			e := e.at(t)
			if got := names(e.do(http.MethodGet, "/instances?name=WEB3", demo, nil).list("instances")); !slices.Equal(got, []string{"web3"}) {
				t.Errorf("name filter: %v", got)
			}
			if n := len(e.do(http.MethodGet, "/instances?status=BUILD", demo, nil).list("instances")); n != 5 {
				t.Errorf("BUILD: %d", n)
			}
			if n := len(e.do(http.MethodGet, "/instances?status=ACTIVE", demo, nil).list("instances")); n != 0 {
				t.Errorf("ACTIVE: %d", n)
			}
			for q, field := range map[string]string{"status=RUNNING": "status", "host=h1": "host", "project_id=" + otherProject: "project_id"} {
				r := e.do(http.MethodGet, "/instances?"+q, demo, nil)
				want(t, r, http.StatusUnprocessableEntity, "invalid")
				if r.field(field) == "" {
					t.Errorf("?%s: %s", q, r.raw)
				}
			}
		})

		t.Run("another project's instances are not found", func(t *testing.T) {
			e := e.at(t)
			for _, r := range []resp{
				e.do(http.MethodGet, "/instances/"+theirs, demo, nil),
				e.do(http.MethodDelete, "/instances/"+theirs, demo, nil),
				e.do(http.MethodPost, "/instances/"+theirs+"/actions", demo, map[string]any{"action": "stop"}),
				e.do(http.MethodGet, "/instances/"+theirs+"/actions", demo, nil),
				e.do(http.MethodGet, "/instances/"+uuid.NewString(), demo, nil),
			} {
				want(t, r, http.StatusNotFound, "not_found")
			}
			for _, it := range e.do(http.MethodGet, "/instances", demo, nil).list("instances") {
				if it["id"] == theirs {
					t.Error("listed another project's instance")
				}
			}
		})

		t.Run("operators list every project", func(t *testing.T) {
			e := e.at(t)
			want(t, e.do(http.MethodGet, "/instances?all_projects=true", demo, nil), http.StatusForbidden, "forbidden")
			all := e.do(http.MethodGet, "/instances?all_projects=true", admin, nil)
			want(t, all, http.StatusOK, "")
			if n := len(all.list("instances")); n != 6 {
				t.Errorf("all projects: %d instances", n)
			}
			one := e.do(http.MethodGet, "/instances?all_projects=true&project_id="+otherProject, admin, nil).list("instances")
			if len(one) != 1 || one[0]["id"] != theirs {
				t.Errorf("project filter: %v", one)
			}
			if n := len(e.do(http.MethodGet, "/instances?all_projects=true&host=h9", admin, nil).list("instances")); n != 0 {
				t.Errorf("host filter: %d", n)
			}
			if n := len(e.do(http.MethodGet, "/instances", admin, nil).list("instances")); n != 0 {
				t.Errorf("without all_projects an operator lists their own project's: %d", n)
			}
		})

		t.Run("never placed: deleted at once", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodDelete, "/instances/"+ids[0], demo, nil)
			want(t, r, http.StatusAccepted, "")
			if r.str("status") != "DELETED" || r.body["task_state"] != nil {
				t.Errorf("delete of an unplaced instance: %s", r.raw)
			}
		})
	})
}

func TestServerGroups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo := e.demo()
		e.activeImage(demo, map[string]any{"name": "cirros"}, diskImage(4096))

		r := e.do(http.MethodPost, "/server-groups", demo, map[string]any{"name": "spread", "policy": "anti-affinity"})
		want(t, r, http.StatusCreated, "")
		id := r.str("id")
		if ms, _ := r.body["members"].([]any); ms == nil || len(ms) != 0 {
			t.Errorf("created: %s", r.raw)
		}
		bad := e.do(http.MethodPost, "/server-groups", demo, map[string]any{"name": "x", "policy": "random"})
		want(t, bad, http.StatusUnprocessableEntity, "invalid")
		if bad.field("policy") == "" {
			t.Errorf("%s", bad.raw)
		}

		launched := e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "db", "flavor": "m1.nano", "image": "cirros", "count": 2, "server_group": "spread"})
		want(t, launched, http.StatusAccepted, "")
		for _, it := range launched.list("instances") {
			if it["server_group"] != id {
				t.Errorf("member %v", it)
			}
		}
		got := e.do(http.MethodGet, "/server-groups/spread", demo, nil)
		want(t, got, http.StatusOK, "")
		if ms := got.body["members"].([]any); len(ms) != 2 {
			t.Errorf("members: %s", got.raw)
		}
		list := e.do(http.MethodGet, "/server-groups", demo, nil)
		if gs := list.list("server_groups"); len(gs) != 1 || len(gs[0]["members"].([]any)) != 2 {
			t.Errorf("list: %s", list.raw)
		}
		other := e.tenant("other", "olivia")
		want(t, e.do(http.MethodGet, "/server-groups/"+id, other, nil), http.StatusNotFound, "not_found")
		want(t, e.do(http.MethodDelete, "/server-groups/"+id, other, nil), http.StatusNotFound, "not_found")

		want(t, e.do(http.MethodDelete, "/server-groups/"+id, demo, nil), http.StatusNoContent, "")
		want(t, e.do(http.MethodGet, "/server-groups/"+id, demo, nil), http.StatusNotFound, "not_found")
		for _, it := range e.do(http.MethodGet, "/instances", demo, nil).list("instances") {
			if it["server_group"] != nil {
				t.Errorf("still grouped: %v", it)
			}
		}
	})
}

// TestOperatorMovesAreRefusedToMembers: a member asking for an operator's
// move is refused 403 with the move named, before any instance is read.
func TestOperatorMovesAreRefusedToMembers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo := e.demo()
		id := uuid.NewString()
		for action, msg := range map[string]string{
			models.ActionMigrate:     "only operators may migrate instances",
			models.ActionLiveMigrate: "only operators may live-migrate instances",
			models.ActionEvacuate:    "only operators may evacuate instances",
		} {
			r := e.do(http.MethodPost, "/instances/"+id+"/actions", demo, map[string]any{"action": action})
			want(t, r, http.StatusForbidden, "")
			if got := r.body["error"].(map[string]any)["message"]; got != msg {
				t.Errorf("%s: message %q, want %q", action, got, msg)
			}
		}
	})
}
