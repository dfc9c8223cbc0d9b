package allinone_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/virt"
)

// TestPauseSuspendOnTheAgent: pause, unpause, suspend and resume go
// through the compute agent to the (fake) hypervisor, whose state the
// instance then shows; a refusal of the hypervisor is the action's error
// and leaves the instance as it was.
func TestPauseSuspendOnTheAgent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s, []string{"h1"}, 8192, nil)
		ctx := context.Background()
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		id := insts[0].ID
		status := func(want string) func() (bool, string) {
			return func() (bool, string) {
				i := b.instance(t, id)
				return i.Status() == want && i.TaskState == models.TaskNone, i.Status() + "/" + string(i.TaskState)
			}
		}
		waitFor(t, 10*time.Second, "ACTIVE", status("ACTIVE"))
		for _, step := range []struct {
			action string
			status string
			power  virt.PowerState
		}{
			{models.PowerPause, "PAUSED", virt.Paused},
			{models.PowerUnpause, "ACTIVE", virt.Running},
			{models.PowerSuspend, "SUSPENDED", virt.Suspended},
			{models.PowerResume, "ACTIVE", virt.Running},
		} {
			if _, err := s.PowerAction(ctx, b.member, id, step.action); err != nil {
				t.Fatalf("%s: %v", step.action, err)
			}
			waitFor(t, 10*time.Second, step.status, status(step.status))
			if st := b.drivers["h1"].Domains()[id]; st != step.power {
				t.Fatalf("after %s the hypervisor says %s, want %s", step.action, st, step.power)
			}
			if inst := b.instance(t, id); inst.PowerState != models.PowerState(step.power) {
				t.Fatalf("after %s power_state %s", step.action, inst.PowerState)
			}
		}
		b.drivers["h1"].FailNext("suspend", 1, "cannot save memory: disk full")
		if _, err := s.PowerAction(ctx, b.member, id, models.PowerSuspend); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the refused suspend to end", func() (bool, string) {
			acts, _ := s.ListInstanceActions(ctx, b.member, id)
			return acts[0].Action == "suspend" && acts[0].Result == models.ActionError, acts[0].Result
		})
		acts, _ := s.ListInstanceActions(ctx, b.member, id)
		if inst := b.instance(t, id); inst.Status() != "ACTIVE" || acts[0].Message != "fake hypervisor: cannot save memory: disk full" {
			t.Fatalf("after a refused suspend: %s, %q", inst.Status(), acts[0].Message)
		}
		if h, _ := s.GetHost(ctx, "h1"); h.UsedRAMMB != 128 {
			t.Fatalf("host uses %d MB", h.UsedRAMMB)
		}
	})
}

// TestSnapshotOnTheAgent: a snapshot copies the root disk (the instance is
// in image_snapshot meanwhile and idle again after), uploads it into a
// private, bootable image that ends active with its data, counted against
// the images quota; a new instance boots from it. A copy the hypervisor
// refuses kills the image and says why in the action log.
func TestSnapshotOnTheAgent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s, []string{"h1"}, 8192, nil)
		ctx := context.Background()
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		id := insts[0].ID
		waitFor(t, 10*time.Second, "ACTIVE", func() (bool, string) { st := b.instance(t, id).Status(); return st == "ACTIVE", st })
		if _, _, err := s.SnapshotInstance(ctx, b.member, id, " "); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("snapshot without a name: %v", err)
		}
		release := b.drivers["h1"].HoldNextSnapshot() // the copy waits: the fake's would end at once
		inst, im, err := s.SnapshotInstance(ctx, b.member, id, "vm-snap")
		if err != nil || inst.TaskState != models.TaskImageSnapshot || im.Status != models.ImageSaving || im.Visibility != models.VisibilityPrivate {
			t.Fatalf("snapshot: %+v %+v %v", inst.TaskState, im, err)
		}
		if _, err := s.PowerAction(ctx, b.member, id, models.PowerStop); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("stop during the snapshot: %v", err)
		}
		release()
		waitFor(t, 10*time.Second, "the image active", func() (bool, string) {
			got, err := s.GetImage(ctx, b.member, im.ID)
			return err == nil && got.Status == models.ImageActive, got.Status
		})
		got, _ := s.GetImage(ctx, b.member, im.ID)
		if got.SizeBytes == 0 || len(got.Checksum) != 64 || got.DiskFormat != models.FormatQCOW2 || got.Progress != 100 ||
			got.Properties["image_type"] != "snapshot" || got.Properties["instance_uuid"] != id || got.MinDiskGB != inst.DiskGB {
			t.Fatalf("snapshot image %+v", got)
		}
		if i := b.instance(t, id); i.Status() != "ACTIVE" || i.TaskState != models.TaskNone {
			t.Fatalf("after the snapshot: %s %q", i.Status(), i.TaskState)
		}
		// It boots.
		from, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "from-snap", Flavor: "m1.nano", Image: im.ID})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the snapshot's instance ACTIVE", func() (bool, string) {
			st := b.instance(t, from[0].ID).Status()
			return st == "ACTIVE", st
		})

		// A refused copy: the image is killed and the log says why.
		b.drivers["h1"].FailNext("snapshot", 1, "qemu-img: disk busy")
		_, bad, err := s.SnapshotInstance(ctx, b.member, id, "bad-snap")
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the refused snapshot to end", func() (bool, string) {
			got, _ := s.GetImage(ctx, b.member, bad.ID)
			return got.Status == models.ImageKilled, got.Status
		})
		acts, _ := s.ListInstanceActions(ctx, b.member, id)
		if acts[0].Action != "snapshot" || acts[0].Result != models.ActionError || !strings.Contains(acts[0].Message, "disk busy") {
			t.Fatalf("refused snapshot's log %+v", acts[0])
		}
		if i := b.instance(t, id); i.Status() != "ACTIVE" || i.TaskState != models.TaskNone {
			t.Fatalf("after a refused snapshot: %s %q", i.Status(), i.TaskState)
		}

		// The images quota counts snapshots.
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaImages: 3}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SnapshotInstance(ctx, b.member, id, "one-too-many"); !errors.Is(err, models.ErrQuotaExceeded) {
			t.Fatalf("snapshot over the images quota: %v", err)
		}
	})
}
