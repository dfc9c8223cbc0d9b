package workers

import (
	"context"
	"time"

	"stratus/models"
)

// heartbeatLoop extends the leases of every job the pool holds (buffered,
// running, or waiting for its completion to be written). A job whose lease
// the database no longer gives us — an operator cancelled it, or a rescuer
// took it after we failed to heartbeat — is lost: its handler's context is
// cancelled with models.ErrLeaseLost and its result will be dropped. If the
// database cannot be reached, jobs are lost once their lease runs out
// locally, since by then another pool may run them.
func (p *Pool) heartbeatLoop(stop <-chan struct{}) {
	defer p.loopsWG.Done()
	ticker := time.NewTicker(p.cfg.Heartbeat)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ticker.C:
			p.heartbeat()
		}
	}
}

func (p *Pool) heartbeat() {
	p.mu.Lock()
	exs := make([]*execution, 0, len(p.held))
	ids := make([]int64, 0, len(p.held))
	for id, ex := range p.held {
		exs = append(exs, ex)
		ids = append(ids, id)
	}
	p.mu.Unlock()
	if len(ids) > 0 {
		sent := time.Since(p.epoch)
		ctx, cancel := context.WithTimeout(p.dbCtx, min(dbTimeout, p.cfg.Heartbeat))
		lost, err := p.store.ExtendLeases(ctx, p.owner, ids, p.store.Now().Add(p.cfg.Lease))
		cancel()
		if err != nil {
			p.log.Warn("extend job leases", "jobs", len(ids), "err", err)
		} else {
			gone := make(map[int64]bool, len(lost))
			for _, id := range lost {
				gone[id] = true
			}
			deadline := int64(sent + p.cfg.Lease)
			for _, ex := range exs {
				if gone[ex.job.ID] {
					p.lose(ex, "the database no longer gives us its lease")
				} else {
					ex.deadline.Store(deadline)
				}
			}
		}
	}
	now := int64(time.Since(p.epoch))
	for _, ex := range exs {
		if !ex.lost.Load() && now > ex.deadline.Load() {
			p.lose(ex, "its lease ran out before a heartbeat could extend it")
		}
	}
}

// lose gives up a job: its handler is told through its context, and the
// job is no longer heartbeated.
func (p *Pool) lose(ex *execution, why string) {
	if ex.lost.Swap(true) {
		return
	}
	p.mu.Lock()
	stillHeld := p.held[ex.job.ID] == ex
	p.mu.Unlock()
	if !stillHeld { // settled meanwhile: nothing to stop
		return
	}
	p.forget(ex)
	ex.cancel(models.ErrLeaseLost)
	p.log.Warn("job lease lost", "job", ex.job.ID, "kind", ex.job.Kind, "why", why)
}
