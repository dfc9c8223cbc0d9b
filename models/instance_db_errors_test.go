package models_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// resizedOn resizes a new instance of b's member from host from to host to
// and has the destination finish it: the instance waits in VERIFY_RESIZE,
// with no job left.
func resizedOn(t *testing.T, b computeBundle, d *hostDrill, from, to string) (models.Instance, models.InstanceMigration) {
	t.Helper()
	s, ctx := b.store, context.Background()
	insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros"})
	if err != nil {
		t.Fatal(err)
	}
	id := insts[0].ID
	if err := s.PlaceInstance(ctx, insts[0], d.hosts[from], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishSpawn(ctx, id, from, models.PowerRunning); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MoveInstance(ctx, b.member, id, models.ActionResize, models.MoveRequest{Flavor: "m1.tiny"}); err != nil {
		t.Fatal(err)
	}
	m, err := s.LatestMigration(ctx, b.admin, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PlaceMove(ctx, m.ID, d.hosts[to]); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMoveTarget(ctx, m.ID, "{}"); err != nil {
		t.Fatal(err)
	}
	if err := s.SourceMigrated(ctx, m.ID, models.MigrationStats{}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishMove(ctx, m.ID, models.PowerRunning); err != nil {
		t.Fatal(err)
	}
	// The agents and the scheduler ran the move's jobs: none is left.
	for _, host := range []string{"", from, to} {
		jobs, err := s.ClaimJobs(ctx, "test", host, 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int64, len(jobs))
		for i, j := range jobs {
			ids[i] = j.ID
		}
		if _, err := s.CompleteJobs(ctx, "test", ids); err != nil {
			t.Fatal(err)
		}
	}
	inst, err := s.InstanceByID(ctx, id)
	if err != nil || inst.VMState != models.VMResized {
		t.Fatalf("resized instance: %s %v", inst.VMState, err)
	}
	m, _ = s.LatestMigration(ctx, b.admin, id)
	return inst, m
}

// eachRaw runs fn on every engine with a store and a raw handle on its
// database, to break it under the store.
func eachRaw(t *testing.T, fn func(t *testing.T, s *models.Store, raw *sql.DB)) {
	for _, e := range storetest.Engines() {
		t.Run(string(e), func(t *testing.T) {
			s, raw := storetest.NewRaw(t, e)
			fn(t, s, raw)
		})
	}
}

// A database error while auto-confirming a resize comes back to the
// periodic task (which logs it and tries again at its next tick) instead
// of passing for "nothing to confirm".
func TestAutoConfirmResizesReportsDatabaseErrors(t *testing.T) {
	eachRaw(t, func(t *testing.T, s *models.Store, raw *sql.DB) {
		b := computeSetup(t, s)
		d := newHostDrill(t, s, "h1", "h2")
		resizedOn(t, b, d, "h1", "h2")
		d.offset.Store(int64(time.Hour))
		if _, err := raw.Exec("DROP TABLE instances"); err != nil {
			t.Fatal(err)
		}
		n, err := s.AutoConfirmResizes(context.Background(), time.Minute)
		if err == nil || n != 0 {
			t.Fatalf("auto-confirm without an instances table: %d confirmed, err %v; want the error", n, err)
		}
	})
}

// A database error while failing a snapshot's upload comes back to the
// job (which runs again), and nothing of it is written: the image is not
// killed without the action log saying why.
func TestFailSnapshotUploadReportsDatabaseErrors(t *testing.T) {
	for _, drop := range [][]string{{"instances"}, {"image_members", "images"}} {
		t.Run(drop[len(drop)-1], func(t *testing.T) {
			eachRaw(t, func(t *testing.T, s *models.Store, raw *sql.DB) {
				b := computeSetup(t, s)
				ctx := context.Background()
				d := newHostDrill(t, s, "h1")
				insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros"})
				if err != nil {
					t.Fatal(err)
				}
				id := insts[0].ID
				if err := s.PlaceInstance(ctx, insts[0], d.hosts["h1"], nil); err != nil {
					t.Fatal(err)
				}
				if err := s.FinishSpawn(ctx, id, "h1", models.PowerRunning); err != nil {
					t.Fatal(err)
				}
				_, im, err := s.SnapshotInstance(ctx, b.member, id, "snap")
				if err != nil {
					t.Fatal(err)
				}
				for _, table := range drop {
					if _, err := raw.Exec("DROP TABLE " + table); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.FailSnapshotUpload(ctx, id, im.ID, "upload refused"); err == nil {
					t.Fatal("failing the upload without its table: no error")
				}
				if drop[0] == "instances" {
					if got, err := s.GetImage(ctx, b.member, im.ID); err != nil || got.Status != models.ImageSaving {
						t.Errorf("image after the failed call: %s %v; want it still saving (nothing half-written)", got.Status, err)
					}
				}
			})
		})
	}
}
