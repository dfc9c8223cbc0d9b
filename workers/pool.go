package workers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"stratus/models"
)

// ErrPoolStopped is the cause of a job context cancelled because its Pool
// stopped hard (Stop's deadline passed, or Start's context ended).
var ErrPoolStopped = errors.New("worker pool stopped")

// maxClaim bounds one claim, whatever the free capacity.
const maxClaim = 1000

// dbTimeout bounds each queue write the pool makes on its own behalf.
const dbTimeout = 10 * time.Second

// Pool runs the jobs of one target (the schedulers', or one compute host's).
//
// One fetcher claims jobs in batches into a buffer; Workers goroutines run
// them; a heartbeat extends the leases of every job the pool holds and stops
// the handlers of jobs it lost; a completer writes successes in batches.
type Pool struct {
	cfg     Config
	store   *models.Store
	log     *slog.Logger
	owner   string
	metrics *poolMetrics
	epoch   time.Time // local monotonic base for lease deadlines

	queue     chan *execution // claimed, not yet started
	slotFreed chan struct{}   // an executor finished a job
	wake      chan struct{}
	hint      chan struct{}  // a wake-up hint from another process (see Wake)
	due       chan time.Time // a job of ours was set to run again at this time
	inFlight  atomic.Int64   // claimed and not yet finished running
	finished  atomic.Int64   // runs finished, for the fetcher's pace estimate
	draining  atomic.Bool

	mu        sync.Mutex
	held      map[int64]*execution // leased by us and not yet settled
	unstarted []*execution         // claimed, then not started because we stop

	completer *completer

	workCtx   context.Context
	hardStop  context.CancelCauseFunc
	stopFetch context.CancelFunc
	dbCtx     context.Context

	started     atomic.Bool
	stopOnce    sync.Once
	stopErr     error
	fetcherDone chan struct{}
	execWG      sync.WaitGroup
	execDone    chan struct{}
	loopsStop   chan struct{} // stops the completer and the heartbeat
	loopsWG     sync.WaitGroup
	done        chan struct{}
}

// execution is one claimed job on its way through the pool.
type execution struct {
	job      models.Job
	ctx      context.Context
	cancel   context.CancelCauseFunc
	lost     atomic.Bool
	deadline atomic.Int64 // local lease expiry, ns since Pool.epoch
}

// NewPool checks cfg and builds a pool; Start runs it.
func NewPool(cfg Config) (*Pool, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	owner := cfg.Owner
	if len(owner) > 100 {
		owner = owner[:100]
	}
	owner += "-" + hex.EncodeToString(suffix)
	p := &Pool{
		cfg: cfg, store: cfg.Store, owner: owner, epoch: time.Now(),
		log:       cfg.Logger.With("pool", owner, "target_host", cfg.TargetHost),
		metrics:   newPoolMetrics(cfg.Registerer),
		queue:     make(chan *execution, cfg.Workers+cfg.MaxPrefetch+maxClaim),
		slotFreed: make(chan struct{}, 1),
		wake:      make(chan struct{}, 1),
		hint:      make(chan struct{}, 1),
		due:       make(chan time.Time, 64),
		held:      map[int64]*execution{},
		done:      make(chan struct{}),
	}
	p.completer = newCompleter(p)
	return p, nil
}

// Start runs the pool until Stop. ctx is the parent of every job's context:
// cancelling it stops the pool hard (running handlers see their context
// cancelled); Stop is the graceful way.
func (p *Pool) Start(ctx context.Context) error {
	if !p.started.CompareAndSwap(false, true) {
		return errors.New("workers: pool already started")
	}
	p.workCtx, p.hardStop = context.WithCancelCause(ctx)
	p.dbCtx = context.WithoutCancel(ctx)
	var fetchCtx context.Context
	fetchCtx, p.stopFetch = context.WithCancel(p.workCtx)
	p.fetcherDone = make(chan struct{})
	p.execDone = make(chan struct{})
	p.loopsStop = make(chan struct{})

	go p.fetchLoop(fetchCtx)
	for range p.cfg.Workers {
		p.execWG.Add(1)
		go p.executeLoop()
	}
	go func() { p.execWG.Wait(); close(p.execDone) }()
	p.loopsWG.Add(2)
	go p.completer.loop(p.loopsStop)
	go p.heartbeatLoop(p.loopsStop)
	go func() {
		select {
		case <-p.workCtx.Done():
			_ = p.Stop(p.workCtx) // a done context: stop hard
		case <-p.done:
		}
	}()
	p.log.Info("job pool started", "workers", p.cfg.Workers, "lease", p.cfg.Lease)
	return nil
}

// Wake makes an idle pool look for jobs now rather than at its next poll.
// It is for this process's own enqueues.
func (p *Pool) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Hint is Wake for a hint that came from the network: anyone who can send
// a datagram can send one, so it carries no authority and is rationed —
// after a hinted claim finds nothing, further hints wait hintQuiet.
func (p *Pool) Hint() {
	select {
	case p.hint <- struct{}{}:
	default:
	}
}

// Owner is the pool's lease owner: its name in job leases, unique to this
// pool (a restarted process gets a new one).
func (p *Pool) Owner() string { return p.owner }

// TargetHost is the target whose jobs the pool runs ("" = the schedulers).
func (p *Pool) TargetHost() string { return p.cfg.TargetHost }

// dueAt tells the fetcher that a job of ours becomes available at t (a
// retry or a snooze), so that it looks then rather than at its next poll.
func (p *Pool) dueAt(t time.Time) {
	select {
	case p.due <- t:
	default: // full: the poll finds it
	}
}

// Stop shuts the pool down gracefully: it stops claiming, gives back the
// jobs it claimed but did not start, lets running jobs finish until ctx
// ends — then cancels their contexts and waits ShutdownGrace more — and
// writes the outcomes. It returns ctx's error if it had to stop hard.
func (p *Pool) Stop(ctx context.Context) error {
	if !p.started.Load() {
		return nil
	}
	p.stopOnce.Do(func() {
		p.draining.Store(true)
		p.stopFetch()
		<-p.fetcherDone
		close(p.queue)
		for ex := range p.queue { // executors would skip them too; be prompt
			p.skip(ex)
		}
		p.releaseUnstarted()
		select {
		case <-p.execDone:
		default:
			select {
			case <-p.execDone:
			case <-ctx.Done():
				p.stopErr = ctx.Err()
				p.hardStop(ErrPoolStopped)
				select {
				case <-p.execDone:
				case <-time.After(p.cfg.ShutdownGrace):
					p.log.Error("job handlers ignored their cancelled context; their leases will expire and the jobs run again elsewhere",
						"running", p.inFlight.Load())
				}
			}
		}
		close(p.loopsStop) // the completer flushes what it holds
		p.loopsWG.Wait()
		p.releaseUnstarted()
		p.hardStop(ErrPoolStopped)
		close(p.done)
		p.log.Info("job pool stopped")
	})
	<-p.done
	return p.stopErr
}

// track records claimed jobs as held.
func (p *Pool) track(exs []*execution) {
	p.mu.Lock()
	for _, ex := range exs {
		p.held[ex.job.ID] = ex
	}
	p.mu.Unlock()
}

// forget drops a settled job; a newer claim of the same ID is left alone.
func (p *Pool) forget(exs ...*execution) {
	p.mu.Lock()
	for _, ex := range exs {
		if p.held[ex.job.ID] == ex {
			delete(p.held, ex.job.ID)
		}
	}
	p.mu.Unlock()
}

// skip sets aside a claimed job that will not start because the pool stops.
func (p *Pool) skip(ex *execution) {
	p.inFlight.Add(-1)
	p.mu.Lock()
	p.unstarted = append(p.unstarted, ex)
	p.mu.Unlock()
}

// releaseUnstarted makes skipped jobs available again for other pools.
func (p *Pool) releaseUnstarted() {
	p.mu.Lock()
	exs := p.unstarted
	p.unstarted = nil
	p.mu.Unlock()
	if len(exs) == 0 {
		return
	}
	ids := make([]int64, len(exs))
	for i, ex := range exs {
		ids[i] = ex.job.ID
	}
	ctx, cancel := context.WithTimeout(p.dbCtx, dbTimeout)
	defer cancel()
	n, err := p.store.ReleaseJobs(ctx, p.owner, ids)
	if err != nil {
		p.log.Warn("release unstarted jobs; they run again when their lease expires", "jobs", len(ids), "err", err)
	} else {
		p.log.Info("released unstarted jobs", "jobs", n)
	}
	p.forget(exs...)
	for _, ex := range exs {
		ex.cancel(ErrPoolStopped)
	}
}
