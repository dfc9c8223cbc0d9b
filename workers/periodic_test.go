package workers_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/workers"
)

// Tasks run at once and then every interval; one that fails or panics does
// not stop itself or the others; all stop when the context ends.
func TestPeriodicRunnerRunsTasksUntilCancelled(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := workers.NewPeriodicRunner(testLogger(t), reg)
	var ticks, fails, panics atomic.Int64
	var sawDeadline atomic.Bool
	tasks := []workers.Periodic{
		{Name: "tick", Interval: 10 * time.Millisecond, Run: func(ctx context.Context) error {
			if _, ok := ctx.Deadline(); ok {
				sawDeadline.Store(true)
			}
			ticks.Add(1)
			return nil
		}},
		{Name: "fail", Interval: 10 * time.Millisecond, Run: func(ctx context.Context) error {
			fails.Add(1)
			return errors.New("database away")
		}},
		{Name: "panic", Interval: 10 * time.Millisecond, Run: func(ctx context.Context) error {
			panics.Add(1)
			panic("bug")
		}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- r.Run(ctx, tasks...) }()
	eventually(t, 5*time.Second, "every task to run three times", func() bool {
		return ticks.Load() >= 3 && fails.Load() >= 3 && panics.Load() >= 3
	})
	if elapsed := time.Since(start); elapsed < 20*time.Millisecond {
		t.Fatalf("three runs in %s: the interval is not respected", elapsed)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	after := ticks.Load()
	time.Sleep(30 * time.Millisecond)
	if ticks.Load() != after {
		t.Fatal("a task ran after Run returned")
	}
	if !sawDeadline.Load() {
		t.Fatal("a run had no timeout")
	}
	if n := metricValue(t, reg, "stratus_periodic_runs_total", map[string]string{"task": "panic", "outcome": "error"}); n < 3 {
		t.Fatalf("panicking runs counted %v, want ≥ 3", n)
	}
	if n := metricValue(t, reg, "stratus_periodic_runs_total", map[string]string{"task": "tick", "outcome": "ok"}); n < 3 {
		t.Fatalf("ok runs counted %v, want ≥ 3", n)
	}
}

func TestPeriodicRunnerRejectsBadTasks(t *testing.T) {
	r := workers.NewPeriodicRunner(nil, nil)
	for _, task := range []workers.Periodic{
		{Interval: time.Second, Run: func(context.Context) error { return nil }},
		{Name: "x", Run: func(context.Context) error { return nil }},
		{Name: "x", Interval: time.Second},
	} {
		if err := r.Run(context.Background(), task); err == nil {
			t.Fatalf("task %+v accepted", task)
		}
	}
}
