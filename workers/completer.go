package workers

import (
	"context"
	"sync"
	"time"
)

// completer writes successful runs in batches: one UPDATE for up to
// CompleteBatch jobs, at most CompleteDelay after the first of them finished.
// While one batch is written the next one gathers, so the executors never
// wait on the database. Until its batch is written a job stays held and its
// lease keeps being extended.
type completer struct {
	p       *Pool
	mu      sync.Mutex
	pending []*execution
	first   chan struct{} // pending went from empty to non-empty
	full    chan struct{} // pending reached CompleteBatch
}

func newCompleter(p *Pool) *completer {
	return &completer{p: p, first: make(chan struct{}, 1), full: make(chan struct{}, 1)}
}

func (c *completer) add(ex *execution) {
	c.mu.Lock()
	c.pending = append(c.pending, ex)
	n := len(c.pending)
	c.mu.Unlock()
	switch {
	case n >= c.p.cfg.CompleteBatch:
		signal(c.full)
	case n == 1:
		signal(c.first)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (c *completer) loop(stop <-chan struct{}) {
	defer c.p.loopsWG.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	failures := 0
	for {
		select {
		case <-c.first:
			timer.Reset(c.p.cfg.CompleteDelay)
			continue
		case <-c.full:
		case <-timer.C:
		case <-stop:
			c.flush()
			return
		}
		remaining, failed := c.flush()
		switch {
		case failed:
			// The database refused: back off (5 ms doubling up to ~1 s)
			// rather than hammer it while it recovers.
			failures++
			timer.Reset(c.p.cfg.CompleteDelay << min(failures, 8))
		case remaining > 0:
			failures = 0
			// What gathered during this write waits at most one more delay.
			timer.Reset(c.p.cfg.CompleteDelay)
		default:
			failures = 0
		}
	}
}

// flush writes what is pending and returns how many jobs remain pending
// (added meanwhile, or kept after a failed write), and whether the write
// failed.
func (c *completer) flush() (int, bool) {
	c.mu.Lock()
	batch := c.pending
	c.pending = nil
	c.mu.Unlock()
	if len(batch) == 0 {
		return 0, false
	}
	p := c.p
	live := batch[:0]
	for _, ex := range batch {
		if ex.lost.Load() { // its lease went while it waited here
			p.forget(ex)
			p.metrics.completed.WithLabelValues(ex.job.Kind, OutcomeLost).Inc()
			continue
		}
		live = append(live, ex)
	}
	ids := make([]int64, len(live))
	for i, ex := range live {
		ids[i] = ex.job.ID
	}
	var done []int64
	var err error
	for try := range 3 {
		ctx, cancel := context.WithTimeout(p.dbCtx, dbTimeout)
		done, err = p.store.CompleteJobs(ctx, p.owner, ids)
		cancel()
		if err == nil {
			break
		}
		time.Sleep(time.Duration(try+1) * 10 * time.Millisecond)
	}
	if err != nil {
		// Keep them: the next flush tries again, and the heartbeat keeps
		// their leases until then.
		p.log.Error("complete jobs; will retry", "jobs", len(live), "err", err)
		c.mu.Lock()
		c.pending = append(live, c.pending...)
		n := len(c.pending)
		c.mu.Unlock()
		return n, true
	}
	ok := make(map[int64]bool, len(done))
	if len(done) < len(ids) {
		for _, id := range done {
			ok[id] = true
		}
		p.log.Info("some completions did not apply: their jobs were cancelled or rescued meanwhile",
			"jobs", len(ids)-len(done))
	}
	for _, ex := range live {
		outcome := OutcomeSucceeded
		if len(done) < len(ids) && !ok[ex.job.ID] {
			outcome = OutcomeLost
		}
		p.metrics.completed.WithLabelValues(ex.job.Kind, outcome).Inc()
	}
	p.forget(live...)
	c.mu.Lock()
	n := len(c.pending)
	c.mu.Unlock()
	return n, false
}
