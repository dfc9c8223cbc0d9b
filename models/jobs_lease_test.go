package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

func TestClaimTakesDueJobsOfItsTargetOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		clock := newJobClock(s)
		sched := enqueueN(t, s, 3, models.JobOptions{})
		hostA := enqueueN(t, s, 2, models.JobOptions{TargetHost: "a"})
		enqueueN(t, s, 2, models.JobOptions{TargetHost: "b"})
		future := enqueueN(t, s, 1, models.JobOptions{RunAfter: clock.Now().Add(time.Minute)})

		got, err := s.ClaimJobs(ctx, "sched-1", "", 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(jobIDs(got), jobIDs(sched)) {
			t.Fatalf("scheduler claimed %v, want its due jobs %v in order", jobIDs(got), jobIDs(sched))
		}
		for _, j := range got {
			if j.State != models.JobRunning || j.LeaseOwner != "sched-1" || j.Attempt != 1 ||
				j.LeaseExpiresAt == nil || !j.LeaseExpiresAt.Equal(clock.Now().Add(time.Minute)) ||
				j.AttemptedAt == nil || !j.AttemptedAt.Equal(clock.Now()) {
				t.Fatalf("claimed job not leased: %+v", j)
			}
			if db := mustGetJob(t, s, j.ID); db.State != models.JobRunning || db.LeaseOwner != "sched-1" || db.Attempt != 1 {
				t.Fatalf("lease not stored: %+v", db)
			}
		}
		a, err := s.ClaimJobs(ctx, "compute-a", "a", 10, time.Minute)
		if err != nil || !slices.Equal(jobIDs(a), jobIDs(hostA)) {
			t.Fatalf("host a claimed %v (%v), want %v", jobIDs(a), err, jobIDs(hostA))
		}
		if none, _ := s.ClaimJobs(ctx, "compute-c", "c", 10, time.Minute); len(none) != 0 {
			t.Fatalf("host c claimed %v", jobIDs(none))
		}
		counts, _ := s.JobCounts(ctx)
		if counts[models.JobAvailable] != 3 { // b's two and the future one
			t.Fatalf("counts %v", counts)
		}
		clock.Advance(time.Minute)
		late, err := s.ClaimJobs(ctx, "sched-1", "", 10, time.Minute)
		if err != nil || len(late) != 1 || late[0].ID != future[0].ID {
			t.Fatalf("after run_after: claimed %v (%v), want %d", jobIDs(late), err, future[0].ID)
		}
	})
}

func TestClaimRespectsMax(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		jobs := enqueueN(t, s, 5, models.JobOptions{})
		got, err := s.ClaimJobs(ctx, "w", "", 2, time.Minute)
		if err != nil || !slices.Equal(jobIDs(got), jobIDs(jobs[:2])) {
			t.Fatalf("claimed %v (%v), want the two oldest", jobIDs(got), err)
		}
		if got, _ := s.ClaimJobs(ctx, "w", "", 0, time.Minute); len(got) != 0 {
			t.Fatalf("max 0 claimed %d", len(got))
		}
		if _, err := s.ClaimJobs(ctx, "", "", 1, time.Minute); err == nil {
			t.Fatal("claim without an owner succeeded")
		}
	})
}

// Several claimers racing over a thousand jobs: each job is claimed exactly
// once and all are completed.
func TestConcurrentClaimersNeverShareAJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		const total, claimers = 1200, 6
		in := make([]models.JobInsert, total)
		for i := range in {
			in[i] = models.JobInsert{Args: jobArgs{N: i}}
		}
		if _, err := s.EnqueueMany(ctx, in); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		seen := map[int64]string{}
		var wg sync.WaitGroup
		for c := range claimers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("claimer-%d", c)
				for {
					jobs, err := s.ClaimJobs(ctx, owner, "", 1+c*7, time.Minute) // batch sizes 1…36
					if err != nil {
						t.Errorf("%s: %v", owner, err)
						return
					}
					if len(jobs) == 0 {
						return
					}
					mu.Lock()
					for _, j := range jobs {
						if prev, dup := seen[j.ID]; dup {
							t.Errorf("job %d claimed by %s and %s", j.ID, prev, owner)
						}
						seen[j.ID] = owner
					}
					mu.Unlock()
					done, err := s.CompleteJobs(ctx, owner, jobIDs(jobs))
					if err != nil || len(done) != len(jobs) {
						t.Errorf("%s completed %d of %d: %v", owner, len(done), len(jobs), err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if len(seen) != total {
			t.Fatalf("%d distinct jobs claimed, want %d", len(seen), total)
		}
		counts, err := s.JobCounts(ctx)
		if err != nil || counts[models.JobSucceeded] != total || counts[models.JobAvailable] != 0 || counts[models.JobRunning] != 0 {
			t.Fatalf("counts %v (%v), want all %d succeeded", counts, err, total)
		}
	})
}

func TestCompleteAppliesOnlyToTheLeaseHolder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		enqueueN(t, s, 3, models.JobOptions{})
		jobs, err := s.ClaimJobs(ctx, "owner-a", "", 3, time.Minute)
		if err != nil || len(jobs) != 3 {
			t.Fatalf("claim: %d %v", len(jobs), err)
		}
		ids := jobIDs(jobs)
		if done, err := s.CompleteJobs(ctx, "owner-b", ids); err != nil || len(done) != 0 {
			t.Fatalf("another owner completed %v (%v)", done, err)
		}
		// An operator cancels one while it runs: its completion must not
		// turn it back into a success.
		if _, err := s.CancelJob(ctx, models.Caller{UserName: "admin"}, ids[1]); err != nil {
			t.Fatal(err)
		}
		done, err := s.CompleteJobs(ctx, "owner-a", ids)
		if err != nil || !slices.Equal(done, []int64{ids[0], ids[2]}) {
			t.Fatalf("completed %v (%v), want %v", done, err, []int64{ids[0], ids[2]})
		}
		if j := mustGetJob(t, s, ids[1]); j.State != models.JobCancelled {
			t.Fatalf("cancelled job became %s", j.State)
		}
		if j := mustGetJob(t, s, ids[0]); j.State != models.JobSucceeded || j.FinishedAt == nil || j.LeaseOwner != "owner-a" {
			t.Fatalf("completed job %+v", j)
		}
		// Completing twice changes nothing.
		if done, err := s.CompleteJobs(ctx, "owner-a", ids); err != nil || len(done) != 0 {
			t.Fatalf("second completion applied to %v (%v)", done, err)
		}
	})
}

func TestRetryLaterBacksOffThenFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		clock := newJobClock(s)
		j := enqueueN(t, s, 1, models.JobOptions{MaxAttempts: 2})[0]
		claim := func() models.Job {
			t.Helper()
			got, err := s.ClaimJobs(ctx, "w", "", 1, time.Minute)
			if err != nil || len(got) != 1 {
				t.Fatalf("claim: %v %v", got, err)
			}
			return got[0]
		}
		claim()
		st, err := s.RetryLater(ctx, "w", j.ID, clock.Now().Add(10*time.Second), "disk busy")
		if err != nil || st != models.JobAvailable {
			t.Fatalf("first failure: state %q err %v, want available", st, err)
		}
		got := mustGetJob(t, s, j.ID)
		if !got.RunAfter.Equal(clock.Now().Add(10*time.Second)) || got.LastError != "disk busy" || got.Attempt != 1 || got.LeaseExpiresAt != nil {
			t.Fatalf("after retry: %+v", got)
		}
		if early, _ := s.ClaimJobs(ctx, "w", "", 1, time.Minute); len(early) != 0 {
			t.Fatal("claimed before its backoff ended")
		}
		clock.Advance(10 * time.Second)
		if again := claim(); again.Attempt != 2 {
			t.Fatalf("second attempt numbered %d", again.Attempt)
		}
		if _, err := s.RetryLater(ctx, "other", j.ID, clock.Now(), "x"); !errors.Is(err, models.ErrLeaseLost) {
			t.Fatalf("retry by a non-holder: %v, want ErrLeaseLost", err)
		}
		st, err = s.RetryLater(ctx, "w", j.ID, clock.Now().Add(time.Minute), "disk still busy")
		if err != nil || st != models.JobFailed {
			t.Fatalf("last failure: state %q err %v, want failed", st, err)
		}
		got = mustGetJob(t, s, j.ID)
		if got.State != models.JobFailed || got.LastError != "disk still busy" || got.FinishedAt == nil || got.Attempt != 2 {
			t.Fatalf("exhausted job: %+v", got)
		}
	})
}

func TestFailCancelAndSnoozeALeasedJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		clock := newJobClock(s)
		jobs := enqueueN(t, s, 3, models.JobOptions{})
		if _, err := s.ClaimJobs(ctx, "w", "", 3, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.FailJob(ctx, "w", jobs[0].ID, "image not found"); err != nil {
			t.Fatal(err)
		}
		if j := mustGetJob(t, s, jobs[0].ID); j.State != models.JobFailed || j.LastError != "image not found" || j.FinishedAt == nil {
			t.Fatalf("failed job: %+v", j)
		}
		if err := s.CancelLeasedJob(ctx, "w", jobs[1].ID, "instance deleted"); err != nil {
			t.Fatal(err)
		}
		if j := mustGetJob(t, s, jobs[1].ID); j.State != models.JobCancelled || j.LastError != "instance deleted" {
			t.Fatalf("cancelled job: %+v", j)
		}
		if err := s.SnoozeJob(ctx, "w", jobs[2].ID, clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		j := mustGetJob(t, s, jobs[2].ID)
		if j.State != models.JobAvailable || j.Attempt != 0 || !j.RunAfter.Equal(clock.Now().Add(time.Minute)) || j.LeaseOwner != "" {
			t.Fatalf("snoozed job: %+v", j)
		}
		if err := s.FailJob(ctx, "w", jobs[0].ID, "again"); !errors.Is(err, models.ErrLeaseLost) {
			t.Fatalf("failing a finished job: %v, want ErrLeaseLost", err)
		}
		long := strings.Repeat("é", 5000)
		enqueueN(t, s, 1, models.JobOptions{})
		next, _ := s.ClaimJobs(ctx, "w", "", 1, time.Minute)
		if err := s.FailJob(ctx, "w", next[0].ID, long); err != nil {
			t.Fatal(err)
		}
		if j := mustGetJob(t, s, next[0].ID); len(j.LastError) > 4100 || !strings.HasPrefix(long, strings.TrimSuffix(j.LastError, "…")) {
			t.Fatalf("long error kept as %d bytes", len(j.LastError))
		}
	})
}

func TestExtendLeasesReportsJobsNoLongerHeld(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		clock := newJobClock(s)
		jobs := enqueueN(t, s, 3, models.JobOptions{})
		if _, err := s.ClaimJobs(ctx, "w", "", 3, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CancelJob(ctx, models.Caller{}, jobs[2].ID); err != nil {
			t.Fatal(err)
		}
		until := clock.Now().Add(5 * time.Minute)
		lost, err := s.ExtendLeases(ctx, "w", jobIDs(jobs), until)
		if err != nil || !slices.Equal(lost, []int64{jobs[2].ID}) {
			t.Fatalf("lost %v (%v), want the cancelled job", lost, err)
		}
		if j := mustGetJob(t, s, jobs[0].ID); j.LeaseExpiresAt == nil || !j.LeaseExpiresAt.Equal(until) {
			t.Fatalf("lease not extended: %+v", j.LeaseExpiresAt)
		}
		// Extending to the same instant changes no row on MySQL: still held.
		if lost, err := s.ExtendLeases(ctx, "w", jobIDs(jobs[:2]), until); err != nil || len(lost) != 0 {
			t.Fatalf("same-time extension lost %v (%v)", lost, err)
		}
		if lost, err := s.ExtendLeases(ctx, "intruder", jobIDs(jobs[:2]), until); err != nil || len(lost) != 2 {
			t.Fatalf("another owner extended: lost %v (%v)", lost, err)
		}
	})
}

func TestReleaseJobsDoesNotCountTheAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		jobs := enqueueN(t, s, 2, models.JobOptions{})
		if _, err := s.ClaimJobs(ctx, "w", "", 2, time.Minute); err != nil {
			t.Fatal(err)
		}
		if n, err := s.ReleaseJobs(ctx, "other", jobIDs(jobs)); err != nil || n != 0 {
			t.Fatalf("another owner released %d (%v)", n, err)
		}
		if n, err := s.ReleaseJobs(ctx, "w", jobIDs(jobs)); err != nil || n != 2 {
			t.Fatalf("released %d (%v), want 2", n, err)
		}
		for _, j := range jobs {
			got := mustGetJob(t, s, j.ID)
			if got.State != models.JobAvailable || got.Attempt != 0 || got.LeaseOwner != "" || got.LeaseExpiresAt != nil {
				t.Fatalf("released job %+v", got)
			}
		}
		again, err := s.ClaimJobs(ctx, "w2", "", 2, time.Minute)
		if err != nil || len(again) != 2 || again[0].Attempt != 1 {
			t.Fatalf("reclaim after release: %+v %v", again, err)
		}
	})
}

// The queue's reads must use their index: the claim reads the head of
// ix_jobs_claim without sorting, the rescue its running range, the prune the
// oldest end of ix_jobs_finished.
func TestJobQueriesUseTheirIndexes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		in := make([]models.JobInsert, 3000)
		for i := range in {
			in[i] = models.JobInsert{Args: jobArgs{N: i}}
			if i%3 == 0 {
				in[i].Options.TargetHost = "h"
			}
		}
		if _, err := s.EnqueueMany(ctx, in); err != nil {
			t.Fatal(err)
		}
		for _, batch := range []int{1000, 200} { // some finished, some running
			jobs, err := s.ClaimJobs(ctx, "w", "", batch, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if batch == 1000 {
				if _, err := s.CompleteJobs(ctx, "w", jobIDs(jobs)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, tc := range []struct{ query, index string }{
			{"claim", "ix_jobs_claim"},
			{"rescue", "ix_jobs_claim"},
			{"prune", "ix_jobs_finished"},
		} {
			t.Run(tc.query, func(t *testing.T) {
				plan, err := models.ExplainJobQuery(ctx, s, tc.query)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s plan:\n%s", tc.query, plan)
				low := strings.ToLower(plan)
				if !strings.Contains(low, tc.index) {
					t.Errorf("%s does not use %s:\n%s", tc.query, tc.index, plan)
				}
				if strings.Contains(low, "filesort") || strings.Contains(low, "temp b-tree") || strings.Contains(low, "type=all") {
					t.Errorf("%s scans or sorts:\n%s", tc.query, plan)
				}
			})
		}
	})
}
