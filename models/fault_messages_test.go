package models_test

import (
	"context"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// serverPath is what a backend's or driver's error names: a file of the
// server, which the resource's owner must not read.
const serverPath = "/var/lib/stratus/image-cache"

func pathError(file string) string {
	return "qemu-img: Could not open '" + serverPath + "/" + file + "': No such file or directory"
}

// noServerPath fails t when an owner-visible text names a server path,
// and wants the file's name kept so the message still says what failed.
func noServerPath(t *testing.T, what, text, file string) {
	t.Helper()
	if strings.Contains(text, serverPath) || !strings.Contains(text, "'"+file+"'") {
		t.Errorf("%s = %q, want it to name '%s' without %s", what, text, file, serverPath)
	}
}

// A failed volume's fault message, whichever writer sets it, names no file
// of the server.
func TestVolumeFaultHidesServerPaths(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := volumeSetup(t, s)
		ctx := context.Background()

		v, err := s.CreateVolume(ctx, b.member, models.VolumeCreate{Name: "broken", SizeGB: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FailVolumeCreate(ctx, v.ID, pathError("img-1")); err != nil {
			t.Fatal(err)
		}
		v = b.status(t, v.ID, models.VolumeError)
		noServerPath(t, "failed create's fault", v.FaultMessage, "img-1")

		ok := b.available(t, "grows", 1)
		if _, err := s.ExtendVolume(ctx, b.member, ok.ID, 2); err != nil {
			t.Fatal(err)
		}
		if err := s.FailExtend(ctx, ok.ID, 1, pathError("volume-"+ok.ID)); err != nil {
			t.Fatal(err)
		}
		ok = b.status(t, ok.ID, models.VolumeAvailable)
		noServerPath(t, "failed extend's fault", ok.FaultMessage, "volume-"+ok.ID)
	})
}

// A failed snapshot's fault message names no file of the server.
func TestSnapshotFaultHidesServerPaths(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := volumeSetup(t, s)
		ctx := context.Background()
		v := b.available(t, "data", 1)
		snap, err := s.CreateSnapshot(ctx, b.member, models.SnapshotCreate{VolumeID: v.ID, Name: "snap"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FailSnapshot(ctx, snap.ID, pathError("volume-"+v.ID)); err != nil {
			t.Fatal(err)
		}
		snap, err = s.GetSnapshot(ctx, b.member, snap.ID)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Status != models.SnapshotError {
			t.Fatalf("failed snapshot is %s, want error", snap.Status)
		}
		noServerPath(t, "failed snapshot's fault", snap.FaultMessage, "volume-"+v.ID)
	})
}

// A failed build's and a failed delete's fault messages, and the action
// log entries beside them, name no file of the server.
func TestInstanceFaultHidesServerPaths(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := volumeSetup(t, s) // b.inst runs on h1
		ctx := context.Background()
		host, err := s.GetHost(ctx, "h1")
		if err != nil {
			t.Fatal(err)
		}
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "building", Flavor: "m1.nano", Image: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		building := insts[0]
		if err := s.PlaceInstance(ctx, building, host, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RescheduleOrFail(ctx, building.ID, "h1", pathError("disk-"+building.ID), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteInstance(ctx, b.member, b.inst.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.FailDelete(ctx, b.inst.ID, pathError("disk-"+b.inst.ID)); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{building.ID, b.inst.ID} {
			inst, err := s.GetInstance(ctx, b.member, id)
			if err != nil {
				t.Fatal(err)
			}
			if inst.FaultMessage == "" {
				t.Fatalf("instance %s has no fault", id)
			}
			noServerPath(t, "instance "+inst.Name+"'s fault", inst.FaultMessage, "disk-"+id)
			actions, err := s.ListInstanceActions(ctx, b.member, id)
			if err != nil {
				t.Fatal(err)
			}
			logged := false
			for _, a := range actions {
				if strings.Contains(a.Message, serverPath) {
					t.Errorf("instance %s's %s action = %q, names %s", inst.Name, a.Action, a.Message, serverPath)
				}
				logged = logged || strings.Contains(a.Message, "'disk-"+id+"'")
			}
			if !logged {
				t.Errorf("instance %s's action log %+v does not say what failed", inst.Name, actions)
			}
		}
	})
}
