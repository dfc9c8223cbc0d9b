package workers_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers"
)

// Maintenance prunes jobs finished longer ago than the retention, and
// leaves recent and unfinished ones.
func TestMaintenancePrunesOldFinishedJobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		var offset atomic.Int64 // the store clock runs offset ahead
		s.SetClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
		in := make([]models.JobInsert, 30)
		for i := range in {
			in[i] = models.JobInsert{Args: testArgs{N: i}}
		}
		if _, err := s.EnqueueMany(ctx, in); err != nil {
			t.Fatal(err)
		}
		old, err := s.ClaimJobs(ctx, "w", "", 30, time.Hour)
		if err != nil || len(old) != 30 {
			t.Fatalf("claim: %d %v", len(old), err)
		}
		ids := make([]int64, len(old))
		for i, j := range old {
			ids[i] = j.ID
		}
		if _, err := s.CompleteJobs(ctx, "w", ids); err != nil {
			t.Fatal(err)
		}
		offset.Store(int64(2 * time.Hour))
		recent := enqueue(t, s, testArgs{}, models.JobOptions{})
		if _, err := s.ClaimJobs(ctx, "w", "", 1, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CompleteJobs(ctx, "w", []int64{recent.ID}); err != nil {
			t.Fatal(err)
		}
		waiting := enqueue(t, s, testArgs{}, models.JobOptions{TargetHost: "nobody"})

		reg := prometheus.NewRegistry()
		m, err := workers.NewMaintenance(workers.MaintenanceConfig{
			Store: s, PruneInterval: 10 * time.Millisecond, Retention: time.Hour, Registerer: reg,
		})
		if err != nil {
			t.Fatal(err)
		}
		mctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = m.Run(mctx); close(done) }()
		// Wait for the run to be counted, not only for its rows to be gone:
		// stopping in between cancels a DELETE the server has already done,
		// and the run then reports nothing pruned.
		eventually(t, 10*time.Second, "old jobs to be pruned", func() bool {
			return counts(t, s)[models.JobSucceeded] == 1 && metricValue(t, reg, "stratus_jobs_pruned_total", nil) == 30
		})
		stop()
		<-done
		getJob(t, s, recent.ID)
		getJob(t, s, waiting.ID)
		if _, err := s.GetJob(ctx, ids[0]); err == nil {
			t.Fatal("an old job survived")
		}
		if n := metricValue(t, reg, "stratus_jobs_pruned_total", nil); n != 30 {
			t.Fatalf("pruned metric %v, want 30", n)
		}
		if n := metricValue(t, reg, "stratus_periodic_runs_total", map[string]string{"task": "job-prune", "outcome": "ok"}); n < 1 {
			t.Fatalf("prune runs metric %v", n)
		}
	})
}

func TestNewMaintenanceNeedsAStore(t *testing.T) {
	if _, err := workers.NewMaintenance(workers.MaintenanceConfig{}); err == nil {
		t.Fatal("maintenance without a store was accepted")
	}
}
