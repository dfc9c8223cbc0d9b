package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// hostDrill is a store whose clock a test moves on, with fake hosts
// registered, to let some of them go down.
type hostDrill struct {
	s      *models.Store
	offset atomic.Int64
	hosts  map[string]models.Host
}

func newHostDrill(t *testing.T, s *models.Store, names ...string) *hostDrill {
	t.Helper()
	d := &hostDrill{s: s, hosts: map[string]models.Host{}}
	s.SetClock(func() time.Time { return time.Now().Add(time.Duration(d.offset.Load())) })
	for _, name := range names {
		h, err := s.RegisterHost(context.Background(), models.HostInventory{Name: name, Driver: "fake", VCPUs: 64, RAMMB: 8192, DiskGB: 100,
			CPURatio: 4, RAMRatio: 1, DiskRatio: 1})
		if err != nil {
			t.Fatal(err)
		}
		d.hosts[name] = h
	}
	return d
}

// down moves the clock two minutes on, keeps the alive hosts beating,
// rescues the leases that expired meanwhile and has the dead host marked
// down.
func (d *hostDrill) down(t *testing.T, dead string, alive ...string) {
	t.Helper()
	ctx := context.Background()
	d.offset.Store(int64(2 * time.Minute))
	for _, h := range alive {
		if err := d.s.HostHeartbeat(ctx, h, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.s.RescueExpiredLeases(ctx); err != nil {
		t.Fatal(err)
	}
	if down, err := d.s.MarkHostsDown(ctx, time.Minute); err != nil || !slices.Equal(down, []string{dead}) {
		t.Fatalf("marked down: %v %v, want %s", down, err, dead)
	}
}

// When a host is down, its builds go to other hosts, a delete waiting for
// it is done without it, a power action waiting for it ends with a reason,
// and none of their jobs stays queued for the dead host.
func TestRecoverDownHosts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		d := newHostDrill(t, s, "h1", "h2")
		h1 := d.hosts["h1"]
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaInstances: -1, models.QuotaVCPUs: -1, models.QuotaRAMMB: -1}); err != nil {
			t.Fatal(err)
		}
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros", Count: 5})
		if err != nil {
			t.Fatal(err)
		}
		for _, inst := range insts {
			if err := s.PlaceInstance(ctx, inst, h1, nil); err != nil {
				t.Fatal(err)
			}
		}
		queued, running, stopping, deleting, idle := insts[0].ID, insts[1].ID, insts[2].ID, insts[3].ID, insts[4].ID
		// The agent of h1 took one build, then three finished.
		claimed, err := s.ClaimJobs(ctx, "compute-h1-dead", "h1", 1, time.Hour)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		if claimed[0].ResourceID != queued {
			queued, running = running, queued
		}
		for _, id := range []string{stopping, deleting, idle} {
			if err := s.FinishSpawn(ctx, id, "h1", models.PowerRunning); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.PowerAction(ctx, b.member, stopping, models.PowerStop); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteInstance(ctx, b.member, deleting); err != nil {
			t.Fatal(err)
		}

		// Nothing to recover while every host is up.
		if r, err := s.RecoverDownHosts(ctx); err != nil || len(r.Hosts) != 0 {
			t.Fatalf("with every host up: %+v %v", r, err)
		}
		d.down(t, "h1", "h2")
		r, err := s.RecoverDownHosts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Cancelled: the two builds' spawn jobs, the delete and the stop, and
		// the three spawn jobs of builds finished above without their jobs
		// (stale: their instances are no longer being built).
		if !slices.Equal(r.Hosts, []string{"h1"}) || r.Rescheduled != 2 || r.Deleted != 1 || r.PowerFailed != 1 || r.Cancelled != 7 {
			t.Fatalf("recovery: %+v", r)
		}
		for _, id := range []string{queued, running} {
			inst, _ := s.InstanceByID(ctx, id)
			if inst.VMState != models.VMBuilding || inst.TaskState != models.TaskScheduling || inst.Host != "" {
				t.Errorf("build of the down host: %s/%s on %q", inst.VMState, inst.TaskState, inst.Host)
			}
			acts, _ := s.ListInstanceActions(ctx, b.member, id)
			if acts[0].Action != "reschedule" || acts[0].Message != "rescheduled: host h1 down" || acts[0].UserName != "system" {
				t.Errorf("newest action %+v", acts[0])
			}
		}
		if inst, _ := s.InstanceByID(ctx, deleting); inst.VMState != models.VMDeleted {
			t.Errorf("delete waiting for the down host: %s", inst.VMState)
		}
		inst, _ := s.InstanceByID(ctx, stopping)
		acts, _ := s.ListInstanceActions(ctx, b.member, stopping)
		if inst.TaskState != models.TaskNone || inst.VMState != models.VMActive || acts[0].Result != models.ActionError ||
			!strings.Contains(acts[0].Message, "host h1 is down") {
			t.Errorf("stop waiting for the down host: %s/%s, action %+v", inst.VMState, inst.TaskState, acts[0])
		}
		if inst, _ := s.InstanceByID(ctx, idle); inst.VMState != models.VMActive || inst.Host != "h1" {
			t.Errorf("an idle instance of the down host changed: %s on %s", inst.VMState, inst.Host)
		}
		jobs, _, _ := s.ListJobs(ctx, models.JobFilter{Limit: 100})
		scheduled := 0
		for _, j := range jobs {
			if j.TargetHost == "h1" && !j.State.Finished() {
				t.Errorf("job %d (%s) of the down host is %s", j.ID, j.Kind, j.State)
			}
			if j.Kind == (models.ScheduleInstance{}).Kind() && j.State == models.JobAvailable {
				var args models.ScheduleInstance
				_ = json.Unmarshal(j.Args, &args)
				if len(args.ExcludeHosts) == 0 {
					continue // a launch's own, never run here
				}
				if !slices.Equal(args.ExcludeHosts, []string{"h1"}) {
					t.Errorf("reschedule of %s excludes %v", args.InstanceID, args.ExcludeHosts)
				}
				scheduled++
			}
		}
		if scheduled != 2 {
			t.Errorf("%d scheduling jobs queued, want 2", scheduled)
		}
		if h, _ := s.GetHost(ctx, "h1"); h.InstanceCount != 2 { // the stopped and the idle one
			t.Errorf("the down host still counts %d instances", h.InstanceCount)
		}
		// A second run finds nothing more to do.
		if r, err := s.RecoverDownHosts(ctx); err != nil || len(r.Hosts) != 0 {
			t.Fatalf("second run: %+v %v", r, err)
		}
		// The dead agent's late completion no longer applies.
		if done, err := s.CompleteJobs(ctx, "compute-h1-dead", []int64{claimed[0].ID}); err != nil || len(done) != 0 {
			t.Errorf("the cancelled spawn job completed: %v %v", done, err)
		}
	})
}

// A shelve, a snapshot or a rebuild waiting for a host that is down ends
// with a reason instead of waiting for the host: the shelve and snapshot
// images are killed and the instances idle, the rebuilt one in ERROR; an
// operator can then evacuate them.
func TestRecoverDownHostEndsItsTasks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		d := newHostDrill(t, s, "h1", "h2")
		h1 := d.hosts["h1"]
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros", Count: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, inst := range insts {
			if err := s.PlaceInstance(ctx, inst, h1, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.FinishSpawn(ctx, inst.ID, "h1", models.PowerRunning); err != nil {
				t.Fatal(err)
			}
		}
		shelving, snapping, rebuilding := insts[0].ID, insts[1].ID, insts[2].ID
		_, shelveImage, err := s.ShelveInstance(ctx, b.member, shelving)
		if err != nil {
			t.Fatal(err)
		}
		_, snapImage, err := s.SnapshotInstance(ctx, b.member, snapping, "snap")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RebuildInstance(ctx, b.member, rebuilding, models.RebuildRequest{Image: "cirros"}); err != nil {
			t.Fatal(err)
		}

		d.down(t, "h1", "h2")
		r, err := s.RecoverDownHosts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.TasksFailed != 3 {
			t.Fatalf("recovery: %+v, want 3 tasks ended", r)
		}
		for id, want := range map[string]models.VMState{shelving: models.VMActive, snapping: models.VMActive, rebuilding: models.VMError} {
			inst, _ := s.InstanceByID(ctx, id)
			acts, _ := s.ListInstanceActions(ctx, b.member, id)
			if inst.TaskState != models.TaskNone || inst.VMState != want || acts[0].Result != models.ActionError ||
				!strings.Contains(acts[0].Message, "host h1 is down") {
				t.Errorf("%s: %s/%s, action %+v; want %s, idle, the action failed naming the host", inst.Name, inst.VMState, inst.TaskState, acts[0], want)
			}
			if _, err := s.MoveInstance(ctx, b.admin, id, models.ActionEvacuate, models.MoveRequest{}); err != nil {
				t.Errorf("evacuate %s/%s: %v", inst.VMState, inst.TaskState, err)
			}
		}
		for _, id := range []string{shelveImage.ID, snapImage.ID} {
			if im, _ := s.GetImage(ctx, b.member, id); im.Status != models.ImageKilled {
				t.Errorf("image %s is %s, want killed", im.Name, im.Status)
			}
		}
		if r, err := s.RecoverDownHosts(ctx); err != nil || r.TasksFailed != 0 {
			t.Fatalf("second run: %+v %v", r, err)
		}
	})
}

// A move whose next step waits for a host that is down — or whose step
// died with its host — is failed instead of waiting for the host: a resize
// whose destination died before preparing is undone (old flavor, on its
// source), and a migration whose source died while sending is back on its
// source, idle, for an operator to evacuate.
func TestRecoverDownHostFailsItsMoves(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		d := newHostDrill(t, s, "h1", "h2", "h3")
		hosts := d.hosts
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros", Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		resizing, migrating := insts[0].ID, insts[1].ID
		if err := s.PlaceInstance(ctx, insts[0], hosts["h1"], nil); err != nil {
			t.Fatal(err)
		}
		if err := s.PlaceInstance(ctx, insts[1], hosts["h2"], nil); err != nil {
			t.Fatal(err)
		}
		for _, inst := range insts {
			got, _ := s.InstanceByID(ctx, inst.ID)
			if err := s.FinishSpawn(ctx, inst.ID, got.Host, models.PowerRunning); err != nil {
				t.Fatal(err)
			}
		}
		// h1's instance resizes onto h2, which dies before preparing.
		if _, err := s.MoveInstance(ctx, b.member, resizing, models.ActionResize, models.MoveRequest{Flavor: "m1.tiny"}); err != nil {
			t.Fatal(err)
		}
		m1, _ := s.LatestMigration(ctx, b.admin, resizing)
		if err := s.PlaceMove(ctx, m1.ID, hosts["h2"]); err != nil {
			t.Fatal(err)
		}
		// h2's instance migrates to h3; h2 takes the migrate step and dies
		// with it (a migration has one attempt).
		if _, err := s.MoveInstance(ctx, b.admin, migrating, models.ActionMigrate, models.MoveRequest{Host: "h3"}); err != nil {
			t.Fatal(err)
		}
		m2, _ := s.LatestMigration(ctx, b.admin, migrating)
		if err := s.PlaceMove(ctx, m2.ID, hosts["h3"]); err != nil {
			t.Fatal(err)
		}
		if err := s.SetMoveTarget(ctx, m2.ID, "{}"); err != nil {
			t.Fatal(err)
		}
		claimed, err := s.ClaimJobs(ctx, "compute-h2-dead", "h2", 10, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		took := false
		for _, j := range claimed {
			took = took || j.Kind == (models.MigrateInstance{}).Kind()
		}
		if !took {
			t.Fatalf("h2 did not take the migrate step: %+v", claimed)
		}

		d.down(t, "h2", "h1", "h3")
		r, err := s.RecoverDownHosts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.TasksFailed != 2 {
			t.Fatalf("recovery: %+v, want 2 moves failed", r)
		}
		for id, host := range map[string]string{resizing: "h1", migrating: "h2"} {
			inst, _ := s.InstanceByID(ctx, id)
			acts, _ := s.ListInstanceActions(ctx, b.member, id)
			if inst.VMState != models.VMActive || inst.TaskState != models.TaskNone || inst.Host != host || inst.FlavorName != "m1.nano" ||
				acts[0].Result != models.ActionError || !strings.Contains(acts[0].Message, "host h2 is down") {
				t.Errorf("%s: %s/%s on %s flavor %s, action %+v; want ACTIVE, idle, on %s with m1.nano, the move failed naming h2",
					id, inst.VMState, inst.TaskState, inst.Host, inst.FlavorName, acts[0], host)
			}
		}
		for _, m := range []models.InstanceMigration{m1, m2} {
			got, _ := s.LatestMigration(ctx, b.admin, m.InstanceID)
			if got.Status != models.MigrationError {
				t.Errorf("migration %s is %s, want error", got.ID, got.Status)
			}
		}
		// The migrated one's host is down: an operator evacuates it.
		if _, err := s.MoveInstance(ctx, b.admin, migrating, models.ActionEvacuate, models.MoveRequest{}); err != nil {
			t.Errorf("evacuate after the failed migration: %v", err)
		}
		// A second run finds nothing to do, not even the lost step again.
		queries := s.CountQueries()
		if r, err := s.RecoverDownHosts(ctx); err != nil || r.TasksFailed != 0 {
			t.Fatalf("second run: %+v %v", r, err)
		}
		if n := queries(); n > 8 {
			t.Errorf("a second recovery ran %d queries, want the few that find nothing", n)
		}
	})
}

// A restarted agent supersedes its predecessor: it takes back the jobs of
// its host held under other leases, and the predecessor's heartbeat is
// refused from then on.
func TestAgentTakesOverItsHost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		inv := models.HostInventory{Name: "h1", Driver: "fake", VCPUs: 8, RAMMB: 8192, DiskGB: 100, CPURatio: 4, RAMRatio: 1, DiskRatio: 1, AgentID: "a1"}
		if _, err := s.RegisterHost(ctx, inv); err != nil {
			t.Fatal(err)
		}
		for _, target := range []string{"h1", "h1", "h2"} {
			if _, err := s.EnqueueJob(ctx, models.DeleteInstance{InstanceID: "x"}, models.JobOptions{TargetHost: target}); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := s.ClaimJobs(ctx, "a1", "h1", 10, time.Hour); len(got) != 2 {
			t.Fatalf("a1 claimed %d", len(got))
		}
		if got, _ := s.ClaimJobs(ctx, "other", "h2", 10, time.Hour); len(got) != 1 {
			t.Fatalf("h2's agent claimed %d", len(got))
		}
		inv.AgentID = "a2"
		if _, err := s.RegisterHost(ctx, inv); err != nil {
			t.Fatal(err)
		}
		n, err := s.TakeOverHost(ctx, "h1", "a2")
		if err != nil || n != 2 {
			t.Fatalf("take over: %d %v", n, err)
		}
		jobs, _, _ := s.ListJobs(ctx, models.JobFilter{})
		for _, j := range jobs {
			switch {
			case j.TargetHost == "h1" && (j.State != models.JobAvailable || j.LastError != models.AgentRestartedError || j.Attempt != 1):
				t.Errorf("h1 job after the takeover: %s attempt %d %q", j.State, j.Attempt, j.LastError)
			case j.TargetHost == "h2" && j.State != models.JobRunning:
				t.Errorf("another host's job was taken: %s", j.State)
			}
		}
		if err := s.HostHeartbeat(ctx, "h1", "a1"); !errors.Is(err, models.ErrAgentSuperseded) || !errors.Is(err, models.ErrConflict) {
			t.Errorf("the superseded agent's heartbeat: %v", err)
		}
		if err := s.HostHeartbeat(ctx, "h1", "a2"); err != nil {
			t.Errorf("the current agent's heartbeat: %v", err)
		}
		if _, err := s.TakeOverHost(ctx, "h1", "a1"); !errors.Is(err, models.ErrAgentSuperseded) {
			t.Errorf("the superseded agent took over: %v", err)
		}
		if err := s.HostHeartbeat(ctx, "nowhere", "a1"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("heartbeat of an unknown host: %v", err)
		}
	})
}

// jobsOf lists the unfinished jobs of an instance as "kind@host".
func jobsOf(t *testing.T, s *models.Store, instanceID string) []string {
	t.Helper()
	jobs, _, err := s.ListJobs(context.Background(), models.JobFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, j := range jobs {
		if j.ResourceID == instanceID && !j.State.Finished() {
			out = append(out, j.Kind+"@"+j.TargetHost)
		}
	}
	slices.Sort(out)
	return out
}

// A revert does not wait for a resize's destination that is down: asked
// for then, or when the destination dies before destroying its copy, the
// destination's claim is given back and the source starts the copy it
// kept (the destination's agent destroys its own if the host comes back).
func TestRevertResizeWithoutItsDestination(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		d := newHostDrill(t, s, "h1", "h2")
		later, _ := resizedOn(t, b, d, "h1", "h2")
		early, _ := resizedOn(t, b, d, "h1", "h2")
		// early's revert is asked while h2 is up; h2 dies before doing it.
		if _, err := s.MoveInstance(ctx, b.member, early.ID, models.ActionRevertResize, models.MoveRequest{}); err != nil {
			t.Fatal(err)
		}
		d.down(t, "h2", "h1")
		if _, err := s.MoveInstance(ctx, b.member, later.ID, models.ActionRevertResize, models.MoveRequest{}); err != nil {
			t.Fatalf("revert with the destination down: %v", err)
		}
		r, err := s.RecoverDownHosts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Cancelled != 1 || r.Reverted != 1 || r.TasksFailed != 0 {
			t.Errorf("recovery: %+v, want early's revert step cancelled and the revert gone on", r)
		}
		for _, inst := range []models.Instance{early, later} {
			got, _ := s.InstanceByID(ctx, inst.ID)
			if got.Host != "h1" || got.FlavorName != "m1.nano" || got.TaskState != models.TaskResizeReverting {
				t.Errorf("%s: on %s with %s, %s; want on h1 with m1.nano, still reverting", inst.ID, got.Host, got.FlavorName, got.TaskState)
			}
			if jobs := jobsOf(t, s, inst.ID); !slices.Equal(jobs, []string{"instance.move.finish_revert@h1"}) {
				t.Errorf("%s's jobs: %v, want only the source's start of its kept copy", inst.ID, jobs)
			}
			m, _ := s.LatestMigration(ctx, b.admin, inst.ID)
			// The destination's step giving up late (h2 was only cut off)
			// changes nothing: the revert went on without it.
			if err := s.FailRevertOnDest(ctx, m.ID, "reverting on h2 failed: too late"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.InstanceByID(ctx, inst.ID); got.Host != "h1" || got.VMState != models.VMResized ||
				got.TaskState != models.TaskResizeReverting {
				t.Errorf("%s after h2's late failure: %s/%s on %s, want still reverting on h1", inst.ID, got.VMState, got.TaskState, got.Host)
			}
			if err := s.FinishRevert(ctx, m.ID, models.PowerRunning, ""); err != nil {
				t.Fatal(err)
			}
			got, _ = s.InstanceByID(ctx, inst.ID)
			if got.VMState != models.VMActive || got.TaskState != models.TaskNone || got.Host != "h1" {
				t.Errorf("%s after the source started it: %s/%s on %s", inst.ID, got.VMState, got.TaskState, got.Host)
			}
		}
		if h, _ := s.GetHost(ctx, "h2"); h.InstanceCount != 0 || h.UsedVCPUs != 0 {
			t.Errorf("the down destination still counts %d instances, %d VCPUs", h.InstanceCount, h.UsedVCPUs)
		}
		if r, err := s.RecoverDownHosts(ctx); err != nil || r.Cancelled != 0 {
			t.Fatalf("second run: %+v %v", r, err)
		}
	})
}

// A revert whose source dies before starting the copy it kept ends with
// a reason, the instance in ERROR for an evacuation, instead of waiting
// for the host. A confirm needs no host: with the source down it is done
// at once, the source's claim given back, and the source's cleaning step
// is dropped (its agent destroys the old copy if the host comes back).
func TestRevertAndConfirmResizeWithoutTheirSource(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		d := newHostDrill(t, s, "h1", "h2")
		reverting, rm := resizedOn(t, b, d, "h1", "h2")
		confirming, _ := resizedOn(t, b, d, "h1", "h2")
		if _, err := s.MoveInstance(ctx, b.member, reverting.ID, models.ActionRevertResize, models.MoveRequest{}); err != nil {
			t.Fatal(err)
		}
		if err := s.RevertedOnDest(ctx, rm.ID); err != nil {
			t.Fatal(err)
		}
		d.down(t, "h1", "h2")
		if _, err := s.MoveInstance(ctx, b.member, confirming.ID, models.ActionConfirmResize, models.MoveRequest{}); err != nil {
			t.Fatalf("confirm with the source down: %v", err)
		}
		r, err := s.RecoverDownHosts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.TasksFailed != 1 || r.Cancelled != 2 {
			t.Errorf("recovery: %+v, want the revert ended and its and the confirm's steps cancelled", r)
		}
		inst, _ := s.InstanceByID(ctx, reverting.ID)
		acts, _ := s.ListInstanceActions(ctx, b.member, reverting.ID)
		if inst.VMState != models.VMError || inst.TaskState != models.TaskNone || inst.Host != "h1" ||
			acts[0].Result != models.ActionError || !strings.Contains(acts[0].Message, "host h1 is down") {
			t.Errorf("revert waiting for the down source: %s/%s on %s, action %+v", inst.VMState, inst.TaskState, inst.Host, acts[0])
		}
		if m, _ := s.LatestMigration(ctx, b.admin, reverting.ID); m.Status != models.MigrationReverted {
			t.Errorf("migration %s, want reverted", m.Status)
		}
		if _, err := s.MoveInstance(ctx, b.admin, reverting.ID, models.ActionEvacuate, models.MoveRequest{}); err != nil {
			t.Errorf("evacuate after the ended revert: %v", err)
		}
		inst, _ = s.InstanceByID(ctx, confirming.ID)
		if inst.VMState != models.VMActive || inst.TaskState != models.TaskNone || inst.Host != "h2" || len(jobsOf(t, s, confirming.ID)) != 0 {
			t.Errorf("confirmed with the source down: %s/%s on %s, jobs %v", inst.VMState, inst.TaskState, inst.Host, jobsOf(t, s, confirming.ID))
		}
		if h, _ := s.GetHost(ctx, "h1"); h.InstanceCount != 1 { // the reverted one, until evacuated
			t.Errorf("the down source counts %d instances, want 1", h.InstanceCount)
		}
		if r, err := s.RecoverDownHosts(ctx); err != nil || r.TasksFailed != 0 {
			t.Fatalf("second run: %+v %v", r, err)
		}
	})
}

// lastAttempts has host's agent take its queued jobs until each runs its
// last attempt: every earlier attempt's worker is lost (its lease lapses
// and the job is queued again), and the last one is left running.
func lastAttempts(t *testing.T, d *hostDrill, host string) []models.Job {
	t.Helper()
	ctx := context.Background()
	for {
		jobs, err := d.s.ClaimJobs(ctx, "compute-"+host, host, 100, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			t.Fatalf("%s has no job to take", host)
		}
		if jobs[0].Attempt >= jobs[0].MaxAttempts {
			return jobs
		}
		d.offset.Add(int64(2 * time.Second))
		if _, err := d.s.RescueExpiredLeases(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// A revert's step that was running when its host died, at its last
// attempt, does not leave the revert waiting for the host when its lease
// lapses and it fails: the destination's step is not needed (the source
// starts the copy it kept), and the source's ends with the instance in
// ERROR and the reason, for an evacuation. A destination that gave the
// instance back before it died is not asked again.
func TestRevertGoesOnWhenItsStepIsLostWithItsHost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		d := newHostDrill(t, s, "h1", "h2")
		atDest, _ := resizedOn(t, b, d, "h1", "h2")    // h2 destroys its copy when it dies
		reported, rm := resizedOn(t, b, d, "h1", "h2") // h2 dies after giving it back
		atSource, sm := resizedOn(t, b, d, "h2", "h1") // h2 starts its kept copy when it dies
		for _, inst := range []models.Instance{atDest, reported, atSource} {
			if _, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionRevertResize, models.MoveRequest{}); err != nil {
				t.Fatal(err)
			}
		}
		// h1 destroys atSource's resized copy and gives it back to h2.
		done, err := s.ClaimJobs(ctx, "compute-h1", "h1", 10, time.Minute)
		if err != nil || len(done) != 1 || done[0].Kind != (models.RevertMove{}).Kind() {
			t.Fatalf("h1's jobs: %+v %v, want atSource's revert step", done, err)
		}
		if err := s.RevertedOnDest(ctx, sm.ID); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.CompleteJobs(ctx, "compute-h1", []int64{done[0].ID}); err != nil || len(ok) != 1 {
			t.Fatalf("complete h1's step: %v %v", ok, err)
		}
		running := lastAttempts(t, d, "h2")
		if len(running) != 3 {
			t.Fatalf("h2 runs %d steps, want the three reverts'", len(running))
		}
		if err := s.RevertedOnDest(ctx, rm.ID); err != nil {
			t.Fatal(err)
		}
		d.down(t, "h2", "h1")
		for _, j := range running {
			if got := mustGetJob(t, s, j.ID); got.State != models.JobFailed || got.LastError != models.LeaseExpiredError {
				t.Fatalf("h2's %s after its lease lapsed: %s %q, want failed as lost", j.Kind, got.State, got.LastError)
			}
		}

		r, err := s.RecoverDownHosts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Reverted != 1 || r.TasksFailed != 1 || r.Cancelled != 0 || !slices.Equal(r.Hosts, []string{"h2"}) {
			t.Errorf("recovery: %+v, want atDest reverted without h2 and atSource's revert ended", r)
		}
		for _, inst := range []models.Instance{atDest, reported} {
			got, _ := s.InstanceByID(ctx, inst.ID)
			if got.Host != "h1" || got.FlavorName != "m1.nano" || got.TaskState != models.TaskResizeReverting {
				t.Errorf("%s: on %s with %s, %s; want on h1 with m1.nano, still reverting", inst.ID, got.Host, got.FlavorName, got.TaskState)
			}
			if jobs := jobsOf(t, s, inst.ID); !slices.Equal(jobs, []string{"instance.move.finish_revert@h1"}) {
				t.Errorf("%s's jobs: %v, want only the source's start of its kept copy", inst.ID, jobs)
			}
			m, _ := s.LatestMigration(ctx, b.admin, inst.ID)
			if err := s.FinishRevert(ctx, m.ID, models.PowerRunning, ""); err != nil {
				t.Fatal(err)
			}
			got, _ = s.InstanceByID(ctx, inst.ID)
			if got.VMState != models.VMActive || got.TaskState != models.TaskNone || got.Host != "h1" {
				t.Errorf("%s after the source started it: %s/%s on %s", inst.ID, got.VMState, got.TaskState, got.Host)
			}
		}
		inst, _ := s.InstanceByID(ctx, atSource.ID)
		acts, _ := s.ListInstanceActions(ctx, b.member, atSource.ID)
		if inst.VMState != models.VMError || inst.TaskState != models.TaskNone || inst.Host != "h2" ||
			!strings.Contains(inst.FaultMessage, "host h2 is down") ||
			acts[0].Result != models.ActionError || !strings.Contains(acts[0].Message, "host h2 is down") {
			t.Errorf("revert lost with its source: %s/%s on %s, fault %q, action %+v; want ERROR on h2 naming it",
				inst.VMState, inst.TaskState, inst.Host, inst.FaultMessage, acts[0])
		}
		if m, _ := s.LatestMigration(ctx, b.admin, atSource.ID); m.Status != models.MigrationReverted {
			t.Errorf("atSource's migration %s, want reverted", m.Status)
		}
		if h, _ := s.GetHost(ctx, "h2"); h.InstanceCount != 1 { // atSource, until evacuated
			t.Errorf("the down host counts %d instances, want 1", h.InstanceCount)
		}
		if _, err := s.MoveInstance(ctx, b.admin, atSource.ID, models.ActionEvacuate, models.MoveRequest{}); err != nil {
			t.Errorf("evacuate after the ended revert: %v", err)
		}
		for _, j := range running {
			if got := mustGetJob(t, s, j.ID); got.State != models.JobFailed || !strings.HasPrefix(got.LastError, models.LeaseExpiredError+"; ") {
				t.Errorf("h2's lost %s: %s %q, want failed and marked with what recovery did", j.Kind, got.State, got.LastError)
			}
		}
		if r, err := s.RecoverDownHosts(ctx); err != nil || r.Reverted != 0 || r.TasksFailed != 0 || len(r.Hosts) != 0 {
			t.Fatalf("second run: %+v %v", r, err)
		}
	})
}

// unreadableRevert is a revert step whose arguments host recovery cannot
// read (a migration ID that is not a string).
type unreadableRevert struct {
	MigrationID int `json:"migration_id"`
}

func (unreadableRevert) Kind() string { return models.RevertMove{}.Kind() }

// One job of a down host that recovery cannot deal with (its arguments
// unreadable) is reported, but holds up neither that host's other jobs nor
// the other down hosts': a stop waiting for h1 behind it still ends with
// the reason, and h2's build is still rescheduled.
func TestRecoveryGoesOnPastAJobItCannotRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		d := newHostDrill(t, s, "h1", "h2", "h3")
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros", Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		stopping, building := insts[0].ID, insts[1].ID
		// A revert step with unreadable arguments that h1's agent was
		// running when it died, its one attempt used: lost with the host.
		lost, err := s.EnqueueJob(ctx, unreadableRevert{MigrationID: 8}, models.JobOptions{TargetHost: "h1", MaxAttempts: 1,
			ResourceType: "instance", ResourceID: stopping})
		if err != nil {
			t.Fatal(err)
		}
		if claimed, err := s.ClaimJobs(ctx, "compute-h1-dead", "h1", 1, time.Minute); err != nil || len(claimed) != 1 || claimed[0].ID != lost.ID {
			t.Fatalf("claim the lost step: %v %v", claimed, err)
		}
		if err := s.PlaceInstance(ctx, insts[0], d.hosts["h1"], nil); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishSpawn(ctx, stopping, "h1", models.PowerRunning); err != nil {
			t.Fatal(err)
		}
		poison, err := s.EnqueueJob(ctx, unreadableRevert{MigrationID: 7}, models.JobOptions{TargetHost: "h1", ResourceType: "instance", ResourceID: stopping})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.PowerAction(ctx, b.member, stopping, models.PowerStop); err != nil {
			t.Fatal(err)
		}
		if err := s.PlaceInstance(ctx, insts[1], d.hosts["h2"], nil); err != nil {
			t.Fatal(err)
		}
		// h1 and h2 die; h3 beats on.
		d.offset.Store(int64(2 * time.Minute))
		if err := s.HostHeartbeat(ctx, "h3", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RescueExpiredLeases(ctx); err != nil {
			t.Fatal(err)
		}
		if down, err := s.MarkHostsDown(ctx, time.Minute); err != nil || len(down) != 2 {
			t.Fatalf("marked down: %v %v, want h1 and h2", down, err)
		}

		r, err := s.RecoverDownHosts(ctx)
		if err == nil || !strings.Contains(err.Error(), "recover host h1") || !strings.Contains(err.Error(), fmt.Sprintf("job %d's arguments", poison.ID)) {
			t.Fatalf("recovery error %v, want host h1's job %d named", err, poison.ID)
		}
		if r.PowerFailed != 1 || r.Rescheduled != 1 {
			t.Fatalf("recovery past the unreadable job: %+v, want the stop ended and h2's build rescheduled", r)
		}
		inst, _ := s.InstanceByID(ctx, stopping)
		if inst.TaskState != models.TaskNone || inst.VMState != models.VMActive {
			t.Errorf("stop behind the unreadable job: %s/%s", inst.VMState, inst.TaskState)
		}
		inst, _ = s.InstanceByID(ctx, building)
		if inst.TaskState != models.TaskScheduling || inst.Host != "" {
			t.Errorf("build of h2: %s/%s on %q, want rescheduled", inst.VMState, inst.TaskState, inst.Host)
		}
		if j, err := s.GetJob(ctx, poison.ID); err != nil || j.State != models.JobAvailable {
			t.Errorf("the unreadable job: %+v %v, want it left for an operator", j, err)
		}
		// The lost one is marked seen, not reported on every run.
		if strings.Contains(err.Error(), fmt.Sprintf("job %d's", lost.ID)) {
			t.Errorf("the lost step is reported: %v", err)
		}
		if j, _ := s.GetJob(ctx, lost.ID); j.State != models.JobFailed || !strings.Contains(j.LastError, "its arguments cannot be read") {
			t.Errorf("the lost step: %s %q, want failed and marked seen", j.State, j.LastError)
		}
		_, err = s.RecoverDownHosts(ctx)
		if err == nil || strings.Contains(err.Error(), fmt.Sprintf("job %d's", lost.ID)) {
			t.Errorf("second run: %v, want only job %d reported", err, poison.ID)
		}
	})
}
