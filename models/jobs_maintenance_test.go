package models_test

import (
	"context"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// A worker that took a lease and died (never completed, never
// heartbeated): once the lease expires its job runs again elsewhere, and a
// job out of attempts fails with the reason.
func TestRescueExpiredLeases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		clock := newJobClock(s)
		retry := enqueueN(t, s, 1, models.JobOptions{MaxAttempts: 3})[0]
		last := enqueueN(t, s, 1, models.JobOptions{MaxAttempts: 1})[0]
		if got, err := s.ClaimJobs(ctx, "dead-worker", "", 2, time.Minute); err != nil || len(got) != 2 {
			t.Fatalf("claim: %v %v", got, err)
		}
		healthy := enqueueN(t, s, 1, models.JobOptions{})[0]
		clock.Advance(30 * time.Second)
		if _, err := s.ClaimJobs(ctx, "live-worker", "", 1, time.Minute); err != nil {
			t.Fatal(err)
		}

		if n, err := s.RescueExpiredLeases(ctx); err != nil || n != 0 {
			t.Fatalf("rescued %d (%v) before any lease expired", n, err)
		}
		clock.Advance(31 * time.Second) // dead-worker's leases expired, live-worker's not
		n, err := s.RescueExpiredLeases(ctx)
		if err != nil || n != 2 {
			t.Fatalf("rescued %d (%v), want 2", n, err)
		}
		r := mustGetJob(t, s, retry.ID)
		if r.State != models.JobAvailable || r.LastError != models.LeaseExpiredError || r.LeaseExpiresAt != nil || r.Attempt != 1 {
			t.Fatalf("rescued job %+v", r)
		}
		l := mustGetJob(t, s, last.ID)
		if l.State != models.JobFailed || l.LastError != models.LeaseExpiredError || l.FinishedAt == nil {
			t.Fatalf("rescued job without attempts left: %+v", l)
		}
		if h := mustGetJob(t, s, healthy.ID); h.State != models.JobRunning || h.LeaseOwner != "live-worker" {
			t.Fatalf("a live lease was rescued: %+v", h)
		}
		// The dead worker's late completion must not apply; a new claim runs it.
		if done, _ := s.CompleteJobs(ctx, "dead-worker", []int64{retry.ID}); len(done) != 0 {
			t.Fatal("completion of a rescued job by its lost worker applied")
		}
		again, err := s.ClaimJobs(ctx, "live-worker", "", 5, time.Minute)
		if err != nil || len(again) != 1 || again[0].ID != retry.ID || again[0].Attempt != 2 {
			t.Fatalf("re-run claim: %+v %v", again, err)
		}
	})
}

func TestPruneJobsDeletesOnlyOldFinishedJobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		clock := newJobClock(s)
		// 1,100 old successes (two delete batches), one old failure, one old
		// cancellation, one recent success, and unfinished jobs.
		in := make([]models.JobInsert, 1100)
		for i := range in {
			in[i] = models.JobInsert{Args: jobArgs{N: i}}
		}
		if _, err := s.EnqueueMany(ctx, in); err != nil {
			t.Fatal(err)
		}
		old, err := s.ClaimJobs(ctx, "w", "", 1000, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		more, err := s.ClaimJobs(ctx, "w", "", 1000, time.Hour)
		if err != nil || len(old)+len(more) != 1100 {
			t.Fatalf("claimed %d+%d: %v", len(old), len(more), err)
		}
		old = append(old, more...)
		failed := old[len(old)-1]
		cancelled := old[len(old)-2]
		if _, err := s.CompleteJobs(ctx, "w", jobIDs(old[:len(old)-2])); err != nil {
			t.Fatal(err)
		}
		if err := s.FailJob(ctx, "w", failed.ID, "boom"); err != nil {
			t.Fatal(err)
		}
		if err := s.CancelLeasedJob(ctx, "w", cancelled.ID, "gone"); err != nil {
			t.Fatal(err)
		}
		waiting := enqueueN(t, s, 1, models.JobOptions{})[0]
		running := enqueueN(t, s, 1, models.JobOptions{TargetHost: "h"})[0]
		if _, err := s.ClaimJobs(ctx, "c", "h", 1, 100*time.Hour); err != nil {
			t.Fatal(err)
		}

		clock.Advance(20 * time.Hour)
		recent := enqueueN(t, s, 1, models.JobOptions{TargetHost: "r"})[0]
		if _, err := s.ClaimJobs(ctx, "w", "r", 1, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CompleteJobs(ctx, "w", []int64{recent.ID}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Hour) // old ones finished 25 h ago, recent 5 h ago

		n, err := s.PruneJobs(ctx, 24*time.Hour)
		if err != nil || n != 1100 {
			t.Fatalf("pruned %d (%v), want 1100", n, err)
		}
		for _, id := range []int64{old[0].ID, failed.ID, cancelled.ID} {
			if _, err := s.GetJob(ctx, id); err == nil {
				t.Errorf("old finished job %d survived", id)
			}
		}
		for _, id := range []int64{recent.ID, waiting.ID, running.ID} {
			mustGetJob(t, s, id)
		}
		if n, err := s.PruneJobs(ctx, 24*time.Hour); err != nil || n != 0 {
			t.Fatalf("second prune deleted %d (%v)", n, err)
		}
	})
}
