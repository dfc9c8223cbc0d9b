package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// TestPauseAndSuspendFollowNovasStates walks pause, unpause, suspend and
// resume through their tasks and states: a state that does not allow an
// action is a 409 naming it, another project's instance is not found, the
// host stays charged, and each action has its line in the log.
func TestPauseAndSuspendFollowNovasStates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		id := runningInstance(t, b).ID
		step := func(action string, task models.TaskState, power models.PowerState, status string) {
			t.Helper()
			inst, err := s.PowerAction(ctx, b.member, id, action)
			if err != nil || inst.TaskState != task {
				t.Fatalf("%s: task %q, %v; want %q", action, inst.TaskState, err, task)
			}
			if _, err := s.PowerAction(ctx, b.member, id, models.PowerStop); !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), string(task)) {
				t.Fatalf("stop during %s: %v, want a conflict naming the task", action, err)
			}
			if err := s.FinishPower(ctx, id, action, power, ""); err != nil {
				t.Fatal(err)
			}
			if inst, _ = s.GetInstance(ctx, b.member, id); inst.Status() != status || inst.TaskState != models.TaskNone || inst.PowerState != power {
				t.Fatalf("after %s: %s task %q power %s; want %s", action, inst.Status(), inst.TaskState, inst.PowerState, status)
			}
		}
		refused := func(action, state string) {
			t.Helper()
			_, err := s.PowerAction(ctx, b.member, id, action)
			if !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), state) {
				t.Fatalf("%s while %s: %v, want a conflict naming %s", action, state, err, state)
			}
		}
		refused(models.PowerUnpause, "ACTIVE")
		refused(models.PowerResume, "ACTIVE")
		if _, err := s.PowerAction(ctx, otherProjectMember(t, s), id, models.PowerPause); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project's pause: %v, want not found", err)
		}
		step(models.PowerPause, models.TaskPausing, models.PowerPaused, "PAUSED")
		refused(models.PowerPause, "PAUSED")
		refused(models.PowerReboot, "PAUSED")
		step(models.PowerUnpause, models.TaskUnpausing, models.PowerRunning, "ACTIVE")
		step(models.PowerSuspend, models.TaskSuspending, models.PowerSuspended, "SUSPENDED")
		refused(models.PowerStart, "SUSPENDED")
		refused(models.PowerPause, "SUSPENDED")
		// A suspended instance keeps its host's resources: its memory is
		// saved there and comes back on resume.
		if h, _ := s.GetHost(ctx, "h1"); h.UsedRAMMB != 128 || h.InstanceCount != 1 {
			t.Fatalf("suspended instance's host uses %d MB, %d instances; want 128, 1", h.UsedRAMMB, h.InstanceCount)
		}
		step(models.PowerResume, models.TaskResuming, models.PowerRunning, "ACTIVE")
		// A paused instance can be suspended too (Nova allows it).
		step(models.PowerPause, models.TaskPausing, models.PowerPaused, "PAUSED")
		step(models.PowerSuspend, models.TaskSuspending, models.PowerSuspended, "SUSPENDED")

		// A pause the hypervisor refused leaves the instance as the
		// hypervisor says it is, and the log says why.
		step(models.PowerResume, models.TaskResuming, models.PowerRunning, "ACTIVE")
		if _, err := s.PowerAction(ctx, b.member, id, models.PowerPause); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishPower(ctx, id, models.PowerPause, models.PowerRunning, "cannot pause: guest is locked"); err != nil {
			t.Fatal(err)
		}
		inst, _ := s.GetInstance(ctx, b.member, id)
		acts, _ := s.ListInstanceActions(ctx, b.member, id)
		if inst.Status() != "ACTIVE" || acts[0].Action != "pause" || acts[0].Result != models.ActionError || acts[0].Message != "cannot pause: guest is locked" {
			t.Fatalf("refused pause: %s, log %+v", inst.Status(), acts[0])
		}
		var names []string
		for _, a := range acts {
			names = append(names, a.Action)
		}
		if got := strings.Join(names, " "); got != "pause resume suspend pause resume suspend unpause pause create" {
			t.Fatalf("action log %q", got)
		}

		// Found running behind Stratus' back, a paused instance is active.
		if _, err := s.PowerAction(ctx, b.member, id, models.PowerPause); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishPower(ctx, id, models.PowerPause, models.PowerPaused, ""); err != nil {
			t.Fatal(err)
		}
		if changed, err := s.SyncPowerState(ctx, id, "h1", models.PowerRunning, "power sync", time.Time{}); err != nil || !changed {
			t.Fatalf("sync: %v %v", changed, err)
		}
		if inst, _ := s.GetInstance(ctx, b.member, id); inst.Status() != "ACTIVE" {
			t.Fatalf("paused instance found running is %s", inst.Status())
		}
	})
}
