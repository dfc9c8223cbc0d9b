package models_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

var jobAdmin = models.Caller{UserName: "ops"}

func TestCancelJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		jobs := enqueueN(t, s, 3, models.JobOptions{})
		if _, err := s.ClaimJobs(ctx, "w", "", 1, time.Minute); err != nil { // jobs[0] runs
			t.Fatal(err)
		}
		for _, j := range jobs[:2] {
			got, err := s.CancelJob(ctx, jobAdmin, j.ID)
			if err != nil {
				t.Fatalf("cancel job %d: %v", j.ID, err)
			}
			if got.State != models.JobCancelled || got.FinishedAt == nil || got.LastError != "cancelled by ops" {
				t.Fatalf("cancelled job %+v", got)
			}
		}
		// The cancelled running job's worker can no longer finish it.
		if done, _ := s.CompleteJobs(ctx, "w", []int64{jobs[0].ID}); len(done) != 0 {
			t.Fatal("worker completed a cancelled job")
		}
		if got, _ := s.ClaimJobs(ctx, "w", "", 5, time.Minute); len(got) != 1 || got[0].ID != jobs[2].ID {
			t.Fatalf("claimed %v, want only the job not cancelled", jobIDs(got))
		}
		if _, err := s.CancelJob(ctx, jobAdmin, jobs[0].ID); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("cancel a cancelled job: %v, want conflict", err)
		}
		if _, err := s.CancelJob(ctx, jobAdmin, 999999); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("cancel a missing job: %v, want not found", err)
		}
		events, _, err := s.ListAuditEvents(ctx, models.AuditFilter{Action: models.AuditJobCancel})
		if err != nil || len(events) != 2 || events[0].ActorName != "ops" || events[0].TargetType != "job" {
			t.Fatalf("audit events %+v (%v)", events, err)
		}
	})
}

func TestRetryJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		clock := newJobClock(s)
		jobs := enqueueN(t, s, 3, models.JobOptions{MaxAttempts: 1})
		if _, err := s.ClaimJobs(ctx, "w", "", 2, time.Minute); err != nil {
			t.Fatal(err)
		}
		if st, err := s.RetryLater(ctx, "w", jobs[0].ID, clock.Now().Add(time.Hour), "host down"); err != nil || st != models.JobFailed {
			t.Fatalf("exhaust: %v %v", st, err)
		}
		if _, err := s.CompleteJobs(ctx, "w", []int64{jobs[1].ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CancelJob(ctx, jobAdmin, jobs[2].ID); err != nil {
			t.Fatal(err)
		}
		for _, j := range []models.Job{jobs[0], jobs[2]} {
			got, err := s.RetryJob(ctx, jobAdmin, j.ID)
			if err != nil {
				t.Fatalf("retry %d: %v", j.ID, err)
			}
			if got.State != models.JobAvailable || got.Attempt != 0 || got.FinishedAt != nil || !got.RunAfter.Equal(clock.Now()) {
				t.Fatalf("retried job %+v", got)
			}
		}
		if got := mustGetJob(t, s, jobs[0].ID); got.LastError != "host down" {
			t.Fatalf("retry dropped the last error: %q", got.LastError)
		}
		again, err := s.ClaimJobs(ctx, "w", "", 5, time.Minute)
		if err != nil || !slices.Equal(jobIDs(again), []int64{jobs[0].ID, jobs[2].ID}) || again[0].Attempt != 1 {
			t.Fatalf("claimed after retry: %+v %v", again, err)
		}
		// Running and succeeded jobs cannot be retried.
		for _, id := range []int64{jobs[0].ID, jobs[1].ID} {
			if _, err := s.RetryJob(ctx, jobAdmin, id); !errors.Is(err, models.ErrConflict) {
				t.Fatalf("retry job %d: %v, want conflict", id, err)
			}
		}
		if _, err := s.RetryJob(ctx, jobAdmin, 424242); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("retry missing job: %v", err)
		}
	})
}

func TestListJobsFiltersAndPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		jobs := enqueueN(t, s, 5, models.JobOptions{})
		other, err := s.EnqueueJob(ctx, otherJobArgs{}, models.JobOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimJobs(ctx, "w", "", 2, time.Minute); err != nil { // jobs[0], jobs[1]
			t.Fatal(err)
		}

		page, next, err := s.ListJobs(ctx, models.JobFilter{Limit: 4})
		want := []int64{other.ID, jobs[4].ID, jobs[3].ID, jobs[2].ID}
		if err != nil || !slices.Equal(jobIDs(page), want) || next != jobs[2].ID {
			t.Fatalf("page 1: %v next %d (%v), want %v next %d", jobIDs(page), next, err, want, jobs[2].ID)
		}
		page, next, err = s.ListJobs(ctx, models.JobFilter{Limit: 4, Marker: next})
		if err != nil || !slices.Equal(jobIDs(page), []int64{jobs[1].ID, jobs[0].ID}) || next != 0 {
			t.Fatalf("page 2: %v next %d (%v)", jobIDs(page), next, err)
		}
		running, _, err := s.ListJobs(ctx, models.JobFilter{State: models.JobRunning})
		if err != nil || !slices.Equal(jobIDs(running), []int64{jobs[1].ID, jobs[0].ID}) {
			t.Fatalf("running: %v (%v)", jobIDs(running), err)
		}
		kind, _, err := s.ListJobs(ctx, models.JobFilter{Kind: "test.other"})
		if err != nil || len(kind) != 1 || kind[0].ID != other.ID {
			t.Fatalf("by kind: %v (%v)", jobIDs(kind), err)
		}
		if _, _, err := s.ListJobs(ctx, models.JobFilter{State: "bogus"}); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("unknown state: %v, want invalid", err)
		}

		counts, err := s.JobCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want2 := map[models.JobState]int64{models.JobAvailable: 4, models.JobRunning: 2, models.JobSucceeded: 0, models.JobFailed: 0, models.JobCancelled: 0}
		for st, n := range want2 {
			if got, ok := counts[st]; !ok || got != n {
				t.Errorf("count %s = %d (present %v), want %d", st, got, ok, n)
			}
		}
		if _, err := s.GetJob(ctx, 31337); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("missing job: %v", err)
		}
	})
}
