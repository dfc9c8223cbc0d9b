package workers

import (
	"context"
	"time"
)

// fetcher state, owned by the fetchLoop goroutine.
type pace struct {
	at       time.Time
	finished int64
	rate     float64 // runs finished per second, smoothed
}

// wakeRecheck is how soon after a woken claim the fetcher claims again.
const wakeRecheck = 20 * time.Millisecond

// hintQuiet is how long network hints are set aside after a hinted claim
// found nothing: a flood of forged hints costs at most one claim per
// hintQuiet, and the hints that matter (a job was just committed) find work.
const hintQuiet = 50 * time.Millisecond

// fetchLoop claims jobs into the queue. While the queue in the database has
// a backlog (the last claim was full) it claims again as soon as the buffer
// is half drained; otherwise it claims when woken (an enqueue in this
// process, a hint from another, a retry of ours falling due) and polls every
// PollInterval — an idle poll reads only when the next job is due, and
// claims only if that is now.
func (p *Pool) fetchLoop(ctx context.Context) {
	defer close(p.fetcherDone)
	timer := time.NewTimer(p.cfg.PollInterval)
	defer timer.Stop()
	timerAt := time.Now().Add(p.cfg.PollInterval)
	reset := func(d time.Duration) {
		timer.Reset(d)
		timerAt = time.Now().Add(d)
	}
	var pc pace
	poll, backlog := true, false // claim at once on start
	peek := false                // a timer's poll looks before it claims
	woken, hinted := false, false
	var quietUntil time.Time
	for {
		if ctx.Err() != nil {
			return
		}
		if peek && !backlog {
			peek = false
			if wait := p.untilDue(ctx); wait > 0 {
				poll = false
				reset(wait)
			}
		}
		if poll || backlog {
			if limit := p.claimLimit(&pc, backlog); limit > 0 {
				got, err := p.claim(limit)
				poll = false
				backlog = err == nil && got == limit
				if !backlog {
					// After a wake, look once more shortly: MariaDB's SKIP
					// LOCKED can skip a row whose transaction committed an
					// instant ago (it still looks locked), and the wake
					// for it was this one.
					next := p.cfg.PollInterval
					if woken {
						next = min(next, wakeRecheck)
					}
					reset(next)
				}
				if hinted && got == 0 {
					quietUntil = time.Now().Add(hintQuiet)
				}
				woken, hinted = false, false
				continue
			}
		}
		// A poll that found no free slot stays pending: the next freed slot
		// serves it, rather than the next tick.
		select {
		case <-ctx.Done():
			return
		case <-p.slotFreed:
		case <-p.wake:
			poll, woken = true, true
		case <-p.hint:
			if wait := time.Until(quietUntil); wait > 0 {
				if timerAt.After(quietUntil) {
					reset(wait) // look when the quiet ends
				}
				continue
			}
			poll, woken, hinted = true, true, true
		case t := <-p.due:
			wait := t.Sub(p.store.Now())
			switch {
			case wait <= 0:
				poll = true
			case time.Now().Add(wait).Before(timerAt):
				reset(wait)
			}
		case <-timer.C:
			poll, peek = true, true
		}
	}
}

// untilDue is how long until the next job for our target may run, at most
// PollInterval; 0 when one may run now (or the database did not answer:
// the claim will say why).
func (p *Pool) untilDue(ctx context.Context) time.Duration {
	dctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	due, ok, err := p.store.NextJobDue(dctx, p.cfg.TargetHost)
	switch {
	case err != nil:
		return 0
	case !ok:
		return p.cfg.PollInterval
	}
	return min(max(due.Sub(p.store.Now()), 0), p.cfg.PollInterval)
}

// claimLimit is how many jobs to claim now: the free worker slots plus the
// prefetch the recent pace warrants. Under backlog it waits until the buffer
// is half empty, so claims stay large.
func (p *Pool) claimLimit(pc *pace, backlog bool) int {
	now := time.Now()
	fin := p.finished.Load()
	if pc.at.IsZero() {
		pc.at, pc.finished = now, fin
	} else if dt := now.Sub(pc.at); dt >= 2*time.Millisecond {
		inst := float64(fin-pc.finished) / dt.Seconds()
		pc.rate = 0.5*pc.rate + 0.5*inst
		pc.at, pc.finished = now, fin
	}
	target := min(int(pc.rate*p.cfg.PrefetchWindow.Seconds()), p.cfg.MaxPrefetch)
	free := p.cfg.Workers + target - int(p.inFlight.Load())
	if free <= 0 {
		return 0
	}
	if backlog && 2*len(p.queue) > target {
		return 0
	}
	return min(free, maxClaim)
}

// claim leases up to limit jobs and queues them; it returns how many. The
// claim itself is not cancelled by Stop: a claim that commits while its
// caller gives up would leave jobs leased to nobody until the lease expires.
func (p *Pool) claim(limit int) (int, error) {
	deadline := int64(time.Since(p.epoch) + p.cfg.Lease)
	ctx, cancel := context.WithTimeout(p.dbCtx, dbTimeout)
	defer cancel()
	jobs, err := p.store.ClaimJobs(ctx, p.owner, p.cfg.TargetHost, limit, p.cfg.Lease)
	if err != nil {
		p.log.Error("claim jobs", "err", err)
		return 0, err
	}
	if len(jobs) == 0 {
		p.metrics.claims.WithLabelValues("empty").Inc()
		return 0, nil
	}
	p.metrics.claims.WithLabelValues("found").Inc()
	exs := make([]*execution, len(jobs))
	for i := range jobs {
		ex := &execution{job: jobs[i]}
		ex.ctx, ex.cancel = context.WithCancelCause(p.workCtx)
		ex.deadline.Store(deadline)
		exs[i] = ex
	}
	p.track(exs)
	p.inFlight.Add(int64(len(exs)))
	for _, ex := range exs {
		p.queue <- ex // never blocks: the queue holds Workers+MaxPrefetch+maxClaim
	}
	return len(jobs), nil
}
