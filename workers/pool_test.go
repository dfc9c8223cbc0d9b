package workers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers"
)

// Four pools race over 1,200 jobs: every job runs exactly once, none is
// lost, and the database agrees.
func TestPoolsRunEveryJobExactlyOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		const total, pools = 1200, 4
		runs := newRunLog()
		var mu sync.Mutex
		byPool := map[string]int{}
		in := make([]models.JobInsert, total)
		for i := range in {
			in[i] = models.JobInsert{Args: testArgs{N: i}}
		}
		if _, err := s.EnqueueMany(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		for i := range pools {
			reg := workers.NewRegistry()
			owner := fmt.Sprintf("pool-%d", i)
			workers.Register(reg, workers.WorkFunc[testArgs](func(ctx context.Context, j *models.Job, a testArgs) error {
				runs.add(j)
				mu.Lock()
				byPool[owner]++
				mu.Unlock()
				time.Sleep(time.Millisecond) // slow enough that the pools share the work
				return nil
			}))
			b := setup(t, s, reg)
			b.cfg.Owner = owner
			startPool(t, b.cfg)
		}
		eventually(t, 30*time.Second, "all jobs to succeed", func() bool {
			return counts(t, s)[models.JobSucceeded] == total
		})
		if runs.total() != total {
			t.Fatalf("%d runs for %d jobs", runs.total(), total)
		}
		runs.mu.Lock()
		for id, r := range runs.runs {
			if len(r) != 1 {
				t.Errorf("job %d ran %d times", id, len(r))
			}
		}
		distinct := len(runs.runs)
		runs.mu.Unlock()
		if distinct != total {
			t.Fatalf("%d distinct jobs ran, want %d", distinct, total)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(byPool) < 2 {
			t.Fatalf("jobs per pool %v: the pools did not run concurrently", byPool)
		}
		t.Logf("jobs per pool: %v", byPool)
	})
}

// A worker that claimed a job and died (no heartbeat, no completion): once
// its lease expires, maintenance rescues the job and a live pool runs it.
func TestKilledWorkersJobRunsAgainAfterItsLeaseExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		j := enqueue(t, s, testArgs{N: 1}, models.JobOptions{})
		dead, err := s.ClaimJobs(ctx, "killed-worker", "", 1, 300*time.Millisecond)
		if err != nil || len(dead) != 1 {
			t.Fatalf("claim by the doomed worker: %v %v", dead, err)
		}
		runs := newRunLog()
		reg := workers.NewRegistry()
		workers.Register(reg, workers.WorkFunc[testArgs](func(ctx context.Context, j *models.Job, a testArgs) error {
			runs.add(j)
			return nil
		}))
		b := setup(t, s, reg)
		startPool(t, b.cfg)
		// A periodic run's deadline is its interval: 20 ms cut a slow
		// MariaDB UPDATE short after it had rescued the job, and the rescue
		// went uncounted (the race detector's run beside the other tests).
		m, err := workers.NewMaintenance(workers.MaintenanceConfig{Store: s, RescueInterval: 200 * time.Millisecond, Registerer: b.metrics})
		if err != nil {
			t.Fatal(err)
		}
		mctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = m.Run(mctx); close(done) }()
		t.Cleanup(func() { stop(); <-done })

		time.Sleep(100 * time.Millisecond)
		if runs.total() != 0 {
			t.Fatal("the job ran again while its lease was still valid")
		}
		eventually(t, 10*time.Second, "the rescued job to succeed", func() bool {
			return getJob(t, s, j.ID).State == models.JobSucceeded
		})
		r := runs.get(j.ID)
		if len(r) != 1 || r[0].Attempt != 2 || r[0].LastError != models.LeaseExpiredError {
			t.Fatalf("re-runs %+v, want one run on attempt 2 after a lease expiry", r)
		}
		eventually(t, 5*time.Second, "the rescue to be counted", func() bool {
			return metricValue(t, b.metrics, "stratus_jobs_rescued_total", nil) == 1
		})
	})
}

// A job that runs several times longer than its lease keeps the lease by
// heartbeat: the rescuer never takes it and it runs once.
func TestHeartbeatKeepsALongJobsLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		runs := newRunLog()
		reg := workers.NewRegistry()
		workers.Register(reg, workers.WorkFunc[testArgs](func(ctx context.Context, j *models.Job, a testArgs) error {
			runs.add(j)
			select {
			case <-time.After(3 * time.Second):
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}))
		b := setup(t, s, reg)
		// Three leases long; the heartbeat renews ten times a lease, so a
		// renewal held up by a busy machine (the race detector, niced
		// beside the other tests) still comes in time.
		b.cfg.Lease, b.cfg.Heartbeat = time.Second, 100*time.Millisecond
		startPool(t, b.cfg)
		m, _ := workers.NewMaintenance(workers.MaintenanceConfig{Store: s, RescueInterval: 20 * time.Millisecond})
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = m.Run(ctx); close(done) }()
		t.Cleanup(func() { stop(); <-done })

		j := enqueue(t, s, testArgs{}, models.JobOptions{})
		eventually(t, 10*time.Second, "the long job to finish", func() bool {
			return getJob(t, s, j.ID).State.Finished()
		})
		got := getJob(t, s, j.ID)
		if got.State != models.JobSucceeded || got.Attempt != 1 || len(runs.get(j.ID)) != 1 {
			t.Fatalf("long job: %+v after %d runs; want one successful run", got, len(runs.get(j.ID)))
		}
	})
}

// Failures are retried with growing delays, and the job fails for good
// after its last attempt with the last error kept.
func TestRetriesBackOffThenFail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		runs := newRunLog()
		// When each attempt's failure was handed back to the pool: the
		// pool sets the next run_after from its clock after that, so
		// run_after − failedAt ≥ the backoff however slow the write is.
		var mu sync.Mutex
		failedAt := map[int]time.Time{}
		reg := workers.NewRegistry()
		workers.Register(reg, workers.WorkFunc[testArgs](func(ctx context.Context, j *models.Job, a testArgs) error {
			runs.add(j)
			mu.Lock()
			defer mu.Unlock()
			failedAt[j.Attempt] = time.Now()
			return fmt.Errorf("host unreachable (attempt %d)", j.Attempt)
		}))
		b := setup(t, s, reg)
		b.cfg.Backoff = workers.Backoff{Base: 4 * time.Millisecond, Max: time.Minute}
		b.cfg.PollInterval = 5 * time.Millisecond
		startPool(t, b.cfg)
		j := enqueue(t, s, testArgs{}, models.JobOptions{MaxAttempts: 4})
		eventually(t, 10*time.Second, "the job to fail", func() bool {
			return getJob(t, s, j.ID).State == models.JobFailed
		})
		r := runs.get(j.ID)
		if len(r) != 4 {
			t.Fatalf("%d runs, want 4", len(r))
		}
		mu.Lock()
		defer mu.Unlock()
		for k := 1; k < len(r); k++ {
			if r[k].Attempt != k+1 {
				t.Fatalf("run %d has attempt %d", k, r[k].Attempt)
			}
			// run_after of the next attempt − failure of this one ≥ Base·k⁴
			// (4, 64, 324 ms: growing). Measured from the failure, not
			// from the attempt's start, so that a slow attempt (the race
			// detector beside other tests) does not look like a longer
			// backoff; run_after is kept to the microsecond.
			gap := r[k].RunAfter.Sub(failedAt[k]) + time.Microsecond
			want := b.cfg.Backoff.Base * time.Duration(k*k*k*k)
			if gap < want {
				t.Fatalf("backoff after attempt %d = %s, want ≥ %s", k, gap, want)
			}
			if r[k].AttemptedAt.Before(r[k].RunAfter) {
				t.Fatalf("attempt %d ran at %s before its run_after %s", k+1, r[k].AttemptedAt, r[k].RunAfter)
			}
		}
		final := getJob(t, s, j.ID)
		if final.Attempt != 4 || final.LastError != "host unreachable (attempt 4)" || final.FinishedAt == nil {
			t.Fatalf("failed job %+v", final)
		}
		// The outcome is counted just after it is written.
		retried := map[string]string{"kind": "test.work", "outcome": workers.OutcomeRetried}
		failed := map[string]string{"kind": "test.work", "outcome": workers.OutcomeFailed}
		eventually(t, 5*time.Second, "3 retries and 1 failure to be counted", func() bool {
			return metricValue(t, b.metrics, "stratus_jobs_completed_total", retried) == 3 &&
				metricValue(t, b.metrics, "stratus_jobs_completed_total", failed) == 1
		})
	})
}

type outcomeArgs struct {
	Do string `json:"do"`
}

func (outcomeArgs) Kind() string { return "test.outcome" }

// What a worker returns (or does) decides the job's fate.
func TestWorkerResultsDecideTheJobsState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		reg := workers.NewRegistry()
		workers.Register(reg, workers.WorkFunc[outcomeArgs](func(ctx context.Context, j *models.Job, a outcomeArgs) error {
			switch a.Do {
			case "terminal":
				return workers.Terminal(errors.New("image is not bootable"))
			case "cancel":
				return workers.Cancel(errors.New("instance was deleted"))
			case "snooze":
				if j.Attempt == 1 && j.LastError == "" {
					return workers.Snooze(time.Hour)
				}
			case "panic":
				panic("nil map write")
			case "hang":
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		}))
		b := setup(t, s, reg)
		b.cfg.JobTimeout = 100 * time.Millisecond
		startPool(t, b.cfg)
		job := func(do string) models.Job {
			return enqueue(t, s, outcomeArgs{Do: do}, models.JobOptions{MaxAttempts: 2})
		}
		terminal, cancel, snooze, panicky, ok, hang := job("terminal"), job("cancel"), job("snooze"), job("panic"), job("ok"), job("hang")
		unknown := enqueue(t, s, unregisteredArgs{}, models.JobOptions{})
		undecodable := enqueue(t, s, badOutcomeArgs{Do: 42}, models.JobOptions{})
		eventually(t, 10*time.Second, "every job to settle", func() bool {
			for _, j := range []models.Job{terminal, cancel, panicky, ok, hang, unknown, undecodable} {
				if !getJob(t, s, j.ID).State.Finished() {
					return false
				}
			}
			return getJob(t, s, snooze.ID).RunAfter.After(time.Now().Add(30 * time.Minute))
		})
		cases := []struct {
			name    string
			id      int64
			state   models.JobState
			attempt int
			errText string
		}{
			{"terminal fails at once", terminal.ID, models.JobFailed, 1, "image is not bootable"},
			{"cancel", cancel.ID, models.JobCancelled, 1, "instance was deleted"},
			{"panic is retried then fails", panicky.ID, models.JobFailed, 2, "worker panicked: nil map write"},
			{"success", ok.ID, models.JobSucceeded, 1, ""},
			{"unknown kind fails", unknown.ID, models.JobFailed, 1, `no worker handles jobs of kind "test.unregistered"`},
			{"snooze does not count the attempt", snooze.ID, models.JobAvailable, 0, ""},
			{"undecodable args fail", undecodable.ID, models.JobFailed, 1, `job arguments of kind "test.outcome" cannot be decoded`},
			{"job timeout is retried then fails", hang.ID, models.JobFailed, 2, "context deadline exceeded"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				j := getJob(t, s, tc.id)
				if j.State != tc.state || j.Attempt != tc.attempt || !strings.Contains(j.LastError, tc.errText) || (tc.errText == "" && j.LastError != "") {
					t.Fatalf("job %+v, want state %s attempt %d error containing %q", j, tc.state, tc.attempt, tc.errText)
				}
			})
		}
	})
}

// badOutcomeArgs has test.outcome's kind but not its shape.
type badOutcomeArgs struct {
	Do int `json:"do"`
}

func (badOutcomeArgs) Kind() string { return "test.outcome" }

type unregisteredArgs struct{}

func (unregisteredArgs) Kind() string { return "test.unregistered" }

// A pool for one compute host runs that host's jobs only.
func TestPoolRunsOnlyItsTargetHostsJobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		runs := newRunLog()
		reg := workers.NewRegistry()
		workers.Register(reg, workers.WorkFunc[testArgs](func(ctx context.Context, j *models.Job, a testArgs) error {
			runs.add(j)
			return nil
		}))
		b := setup(t, s, reg)
		b.cfg.TargetHost = "host-a"
		startPool(t, b.cfg)
		var mine []models.Job
		for i := range 5 {
			mine = append(mine, enqueue(t, s, testArgs{N: i}, models.JobOptions{TargetHost: "host-a"}))
		}
		other := enqueue(t, s, testArgs{}, models.JobOptions{TargetHost: "host-b"})
		sched := enqueue(t, s, testArgs{}, models.JobOptions{})
		eventually(t, 10*time.Second, "host-a's jobs to succeed", func() bool {
			return counts(t, s)[models.JobSucceeded] == 5
		})
		time.Sleep(50 * time.Millisecond) // several polls
		for _, j := range mine {
			if got := runs.get(j.ID); len(got) != 1 || got[0].TargetHost != "host-a" {
				t.Fatalf("job %d runs %+v", j.ID, got)
			}
		}
		for _, j := range []models.Job{other, sched} {
			if got := getJob(t, s, j.ID); got.State != models.JobAvailable || len(runs.get(j.ID)) != 0 {
				t.Fatalf("job for target %q touched by host-a's pool: %+v", j.TargetHost, got)
			}
		}
	})
}

// An operator cancels a running job: its handler's context is cancelled
// (cause ErrLeaseLost) at the next heartbeat and the job stays cancelled.
func TestCancellingARunningJobStopsItsHandler(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		started := make(chan struct{})
		cause := make(chan error, 1)
		reg := workers.NewRegistry()
		workers.Register(reg, workers.WorkFunc[testArgs](func(ctx context.Context, j *models.Job, a testArgs) error {
			close(started)
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return nil // claims success: must not apply
		}))
		b := setup(t, s, reg)
		b.cfg.Lease, b.cfg.Heartbeat = time.Second, 30*time.Millisecond
		startPool(t, b.cfg)
		j := enqueue(t, s, testArgs{}, models.JobOptions{})
		<-started
		if _, err := s.CancelJob(context.Background(), models.Caller{UserName: "ops"}, j.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-cause:
			if !errors.Is(err, models.ErrLeaseLost) {
				t.Fatalf("handler context cause %v, want ErrLeaseLost", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("handler of a cancelled job was not stopped")
		}
		eventually(t, 5*time.Second, "the lost run to be counted", func() bool {
			return metricValue(t, b.metrics, "stratus_jobs_completed_total", map[string]string{"kind": "test.work", "outcome": workers.OutcomeLost}) == 1
		})
		if got := getJob(t, s, j.ID); got.State != models.JobCancelled || got.LastError != "cancelled by ops" {
			t.Fatalf("cancelled job became %+v", got)
		}
	})
}

// Wake makes an idle pool claim at once instead of at its next poll, and a
// job that arrives while every worker is busy runs as soon as one is free,
// not at the next poll.
func TestWakeClaimsWithoutWaitingForThePoll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		release := make(chan struct{})
		reg := workers.NewRegistry()
		workers.Register(reg, workers.WorkFunc[testArgs](func(ctx context.Context, j *models.Job, a testArgs) error {
			if a.N == 1 {
				<-release
			}
			return nil
		}))
		b := setup(t, s, reg)
		b.cfg.Workers, b.cfg.MaxPrefetch, b.cfg.PollInterval = 1, -1, time.Hour
		p := startPool(t, b.cfg)
		time.Sleep(20 * time.Millisecond) // the first claim, at start, found nothing

		first := enqueue(t, s, testArgs{N: 0}, models.JobOptions{})
		p.Wake()
		eventually(t, 5*time.Second, "the woken pool to run the job", func() bool {
			return getJob(t, s, first.ID).State == models.JobSucceeded
		})

		blocker := enqueue(t, s, testArgs{N: 1}, models.JobOptions{})
		p.Wake()
		eventually(t, 5*time.Second, "the blocking job to start", func() bool {
			return getJob(t, s, blocker.ID).State == models.JobRunning
		})
		waiting := enqueue(t, s, testArgs{N: 2}, models.JobOptions{})
		p.Wake() // the only worker is busy
		time.Sleep(20 * time.Millisecond)
		if got := getJob(t, s, waiting.ID); got.State != models.JobAvailable {
			t.Fatalf("a pool without a free worker claimed a job: %+v", got)
		}
		close(release)
		eventually(t, 5*time.Second, "the waiting job to run once the worker is free", func() bool {
			return getJob(t, s, waiting.ID).State == models.JobSucceeded
		})
	})
}
