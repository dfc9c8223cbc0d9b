package workers

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"stratus/models"
)

// executeLoop is one of the Workers goroutines.
func (p *Pool) executeLoop() {
	defer p.execWG.Done()
	for ex := range p.queue {
		if p.draining.Load() || p.workCtx.Err() != nil {
			p.skip(ex)
			continue
		}
		p.run(ex)
		p.inFlight.Add(-1)
		p.finished.Add(1)
		select {
		case p.slotFreed <- struct{}{}:
		default:
		}
	}
}

// run works one job and settles its outcome.
func (p *Pool) run(ex *execution) {
	defer ex.cancel(context.Canceled)
	job := &ex.job
	if ex.lost.Load() { // cancelled or rescued while it waited in the buffer
		p.forget(ex)
		p.metrics.completed.WithLabelValues(job.Kind, OutcomeLost).Inc()
		return
	}
	ctx := ex.ctx
	if p.cfg.JobTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.JobTimeout)
		defer cancel()
	}
	start := time.Now()
	err := p.invoke(ctx, job)
	p.metrics.duration.WithLabelValues(job.Kind).Observe(time.Since(start).Seconds())

	if ex.lost.Load() {
		p.forget(ex)
		p.metrics.completed.WithLabelValues(job.Kind, OutcomeLost).Inc()
		p.log.Info("job lease lost while it ran; its result is dropped", "job", job.ID, "kind", job.Kind)
		return
	}
	if err == nil {
		p.completer.add(ex)
		return
	}
	outcome := p.settleError(ex, err)
	p.forget(ex)
	p.metrics.completed.WithLabelValues(job.Kind, outcome).Inc()
}

// invoke calls the job's worker, turning a panic into an error.
func (p *Pool) invoke(ctx context.Context, job *models.Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("job worker panicked", "job", job.ID, "kind", job.Kind, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("worker panicked: %v", r)
		}
	}()
	return p.cfg.Registry.work(ctx, job)
}

// settleError records a failed run as its error asks and returns the
// outcome.
func (p *Pool) settleError(ex *execution, werr error) string {
	job := &ex.job
	ctx, cancel := context.WithTimeout(p.dbCtx, dbTimeout)
	defer cancel()
	log := p.log.With("job", job.ID, "kind", job.Kind, "attempt", job.Attempt)

	var (
		snooze   *SnoozeError
		cancelE  *CancelError
		terminal *TerminalError
		outcome  string
		err      error
	)
	switch {
	case errors.As(werr, &snooze):
		outcome = OutcomeSnoozed
		at := p.store.Now().Add(snooze.After)
		if err = p.store.SnoozeJob(ctx, p.owner, job.ID, at); err == nil {
			p.dueAt(at)
		}
	case errors.As(werr, &cancelE):
		outcome = OutcomeCancelled
		err = p.store.CancelLeasedJob(ctx, p.owner, job.ID, cancelE.Error())
		log.Info("job cancelled by its worker", "reason", cancelE.Error())
	case errors.As(werr, &terminal):
		outcome = OutcomeFailed
		err = p.store.FailJob(ctx, p.owner, job.ID, terminal.Error())
		log.Warn("job failed", "err", werr)
	default:
		delay := p.cfg.Backoff.Delay(job.Attempt)
		msg := werr.Error()
		if errors.Is(context.Cause(ex.ctx), ErrPoolStopped) {
			delay, msg = 0, "interrupted: its worker pool stopped ("+msg+")"
		}
		var st models.JobState
		at := p.store.Now().Add(delay)
		st, err = p.store.RetryLater(ctx, p.owner, job.ID, at, msg)
		outcome = OutcomeRetried
		if st == models.JobFailed {
			outcome = OutcomeFailed
			log.Warn("job failed after its last attempt", "err", werr)
		} else if err == nil {
			log.Info("job will be retried", "err", werr, "after", delay)
			p.dueAt(at)
		}
	}
	switch {
	case errors.Is(err, models.ErrLeaseLost):
		return OutcomeLost
	case err != nil:
		// The lease runs out and the job is rescued: it runs again.
		log.Error("record job outcome", "outcome", outcome, "err", err)
		return OutcomeLost
	}
	return outcome
}
