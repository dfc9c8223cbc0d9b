package workers_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers"
)

type noopArgs struct {
	N int `json:"n"`
}

func (noopArgs) Kind() string { return "bench.noop" }

// benchJobs is how many jobs one iteration burns down: enough for a stable
// figure at tens of thousands of jobs per second.
const benchJobs = 50_000

// BenchmarkQueueNoop measures the queue's own cost: N no-op jobs are
// enqueued (not timed), then a Pool with production settings burns them
// down; the time runs from Start until Stop has written the last completion.
//
//	STRATUS_TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/test' go test ./workers -run '^$' -bench Queue -benchtime 1x
func BenchmarkQueueNoop(b *testing.B) {
	for _, eng := range []storetest.Engine{storetest.MySQL, storetest.SQLite} {
		for _, n := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("%s/workers=%d", eng, n), func(b *testing.B) {
				s := storetest.New(b, eng) // skips MySQL without STRATUS_TEST_MYSQL_DSN
				benchBurnDown(b, s, n)
			})
		}
	}
}

func benchBurnDown(b *testing.B, s *models.Store, n int) {
	ctx := context.Background()
	in := make([]models.JobInsert, benchJobs)
	for i := range in {
		in[i] = models.JobInsert{Args: noopArgs{N: i}}
	}
	var worked atomic.Int64
	allWorked := make(chan struct{})
	reg := workers.NewRegistry()
	workers.Register(reg, workers.WorkFunc[noopArgs](func(context.Context, *models.Job, noopArgs) error {
		if worked.Add(1) == benchJobs {
			close(allWorked)
		}
		return nil
	}))
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := s.PruneJobs(ctx, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := s.EnqueueMany(ctx, in); err != nil {
			b.Fatal(err)
		}
		worked.Store(0)
		allWorked = make(chan struct{})
		p, err := workers.NewPool(workers.Config{Store: s, Registry: reg, Owner: "bench", Workers: n})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := p.Start(ctx); err != nil {
			b.Fatal(err)
		}
		<-allWorked
		if err := p.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		c, err := s.JobCounts(ctx)
		if err != nil || c[models.JobSucceeded] != benchJobs {
			b.Fatalf("after the burn-down: %v (%v), want %d succeeded", c, err, benchJobs)
		}
	}
	b.ReportMetric(float64(benchJobs*b.N)/elapsed.Seconds(), "jobs/s")
}
