package workers_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers"
)

// Successes are counted by kind and outcome once written, run times are
// observed, and the queue collector reports the depth by state.
func TestMetricsCountRunsAndQueueDepth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		reg := workers.NewRegistry()
		workers.Register(reg, workers.WorkFunc[testArgs](func(context.Context, *models.Job, testArgs) error { return nil }))
		b := setup(t, s, reg)
		// Two pools on one registry (as in stratus dev) share the metrics.
		startPool(t, b.cfg)
		b.cfg.TargetHost = "h1"
		startPool(t, b.cfg)
		for i := range 7 {
			enqueue(t, s, testArgs{N: i}, models.JobOptions{})
		}
		enqueue(t, s, testArgs{}, models.JobOptions{TargetHost: "h1"})
		enqueue(t, s, testArgs{}, models.JobOptions{TargetHost: "elsewhere"})
		ok := map[string]string{"kind": "test.work", "outcome": workers.OutcomeSucceeded}
		eventually(t, 10*time.Second, "8 successes to be counted", func() bool {
			return metricValue(t, b.metrics, "stratus_jobs_completed_total", ok) == 8
		})
		if n := metricValue(t, b.metrics, "stratus_job_run_duration_seconds", map[string]string{"kind": "test.work"}); n != 8 {
			t.Fatalf("%v run durations observed, want 8", n)
		}
		if err := b.metrics.Register(workers.NewQueueCollector(s, time.Second, nil)); err != nil {
			t.Fatal(err)
		}
		for st, want := range map[string]float64{"succeeded": 8, "available": 1, "running": 0, "failed": 0} {
			if got := metricValue(t, b.metrics, "stratus_jobs", map[string]string{"state": st}); got != want {
				t.Errorf("stratus_jobs{state=%q} = %v, want %v", st, got, want)
			}
		}
		if got := metricValue(t, b.metrics, "stratus_jobs_count_errors", nil); got != 0 {
			t.Errorf("count errors gauge %v", got)
		}
	})
}

var _ prometheus.Collector = (*workers.QueueCollector)(nil)
