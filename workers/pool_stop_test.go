package workers_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers"
)

// Graceful stop: the running job finishes and is completed; jobs the pool
// had claimed but not started are given back, their attempt not counted.
func TestStopFinishesRunningJobsAndReleasesUnstartedOnes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		block := make(chan struct{})
		started := make(chan struct{})
		reg := workers.NewRegistry()
		workers.Register(reg, workers.WorkFunc[testArgs](func(ctx context.Context, j *models.Job, a testArgs) error {
			if a.N == 1 {
				close(started)
				<-block
			}
			return nil
		}))
		b := setup(t, s, reg)
		// One worker, and a prefetch window so wide that once it has a pace
		// the pool claims everything it may.
		b.cfg.Workers, b.cfg.PrefetchWindow, b.cfg.MaxPrefetch = 1, time.Minute, 100
		// Quick jobs first, so that the pool learns its pace.
		var quick []models.Job
		for range 100 {
			quick = append(quick, enqueue(t, s, testArgs{N: 0}, models.JobOptions{}))
		}
		blocker := enqueue(t, s, testArgs{N: 1}, models.JobOptions{})
		var after []models.Job
		for range 20 {
			after = append(after, enqueue(t, s, testArgs{N: 2}, models.JobOptions{}))
		}
		p, err := workers.NewPool(b.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		<-started
		eventually(t, 5*time.Second, "the pool to prefetch behind the blocked job", func() bool {
			return getJob(t, s, after[len(after)-1].ID).State == models.JobRunning
		})
		stopped := make(chan error, 1)
		go func() { stopped <- p.Stop(ctx) }()
		// Unstarted jobs are released while the blocked job still runs.
		eventually(t, 5*time.Second, "unstarted jobs to be released", func() bool {
			return counts(t, s)[models.JobAvailable] == int64(len(after))
		})
		if getJob(t, s, blocker.ID).State != models.JobRunning {
			t.Fatal("the running job was not left to finish")
		}
		close(block)
		if err := <-stopped; err != nil {
			t.Fatalf("graceful stop: %v", err)
		}
		for _, j := range append(quick, blocker) {
			if got := getJob(t, s, j.ID); got.State != models.JobSucceeded {
				t.Fatalf("job %d is %s after a graceful stop, want succeeded", j.ID, got.State)
			}
		}
		for _, j := range after {
			got := getJob(t, s, j.ID)
			if got.State != models.JobAvailable || got.Attempt != 0 || got.LeaseOwner != "" || got.LeaseExpiresAt != nil || got.AttemptedAt == nil {
				t.Fatalf("prefetched job not released cleanly: %+v", got)
			}
		}
	})
}

// Hard stop: when Stop's context ends, running handlers see their context
// cancelled (cause ErrPoolStopped), Stop reports it, and the interrupted job
// is available again at once.
func TestStopPastItsDeadlineCancelsHandlers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		started := make(chan struct{})
		cause := make(chan error, 1)
		reg := workers.NewRegistry()
		workers.Register(reg, workers.WorkFunc[testArgs](func(ctx context.Context, j *models.Job, a testArgs) error {
			close(started)
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return ctx.Err()
		}))
		b := setup(t, s, reg)
		p, err := workers.NewPool(b.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		j := enqueue(t, s, testArgs{}, models.JobOptions{})
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := p.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Stop = %v, want deadline exceeded", err)
		}
		if err := <-cause; !errors.Is(err, workers.ErrPoolStopped) {
			t.Fatalf("handler context cause %v, want ErrPoolStopped", err)
		}
		got := getJob(t, s, j.ID)
		if got.State != models.JobAvailable || !strings.Contains(got.LastError, "interrupted") || got.RunAfter.After(time.Now()) {
			t.Fatalf("interrupted job %+v, want available now with the interruption noted", got)
		}
		if err := p.Stop(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second Stop = %v, want the first one's result", err)
		}
	})
}

// Cancelling Start's context stops the pool hard and cleans up.
func TestCancellingStartContextStopsThePool(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		runs := newRunLog()
		reg := workers.NewRegistry()
		workers.Register(reg, workers.WorkFunc[testArgs](func(ctx context.Context, j *models.Job, a testArgs) error {
			runs.add(j)
			return nil
		}))
		b := setup(t, s, reg)
		p, err := workers.NewPool(b.cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		first := enqueue(t, s, testArgs{}, models.JobOptions{})
		eventually(t, 5*time.Second, "the first job to succeed", func() bool {
			return getJob(t, s, first.ID).State == models.JobSucceeded
		})
		cancel()
		done := make(chan error, 1)
		go func() { done <- p.Stop(context.Background()) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("pool did not stop after its context was cancelled")
		}
		second := enqueue(t, s, testArgs{}, models.JobOptions{})
		time.Sleep(50 * time.Millisecond) // several poll intervals
		if got := getJob(t, s, second.ID); got.State != models.JobAvailable || len(runs.get(second.ID)) != 0 {
			t.Fatalf("a stopped pool ran a job: %+v", got)
		}
	})
}
