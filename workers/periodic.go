package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Periodic is a named duty run every Interval: lease rescue, pruning, and
// later host liveness, build timeouts, power sync. Run must be safe to run on
// several schedulers at once: every process runs its own loop.
type Periodic struct {
	Name     string
	Interval time.Duration
	// Timeout bounds one run (default: Interval).
	Timeout time.Duration
	Run     func(ctx context.Context) error
}

// PeriodicRunner runs Periodic tasks, each on its own goroutine, logging and
// counting every run.
type PeriodicRunner struct {
	log      *slog.Logger
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewPeriodicRunner returns a runner that reports to log and reg (either may
// be nil).
func NewPeriodicRunner(log *slog.Logger, reg prometheus.Registerer) *PeriodicRunner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PeriodicRunner{
		log: log,
		runs: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stratus_periodic_runs_total",
			Help: "Runs of periodic tasks, by task and outcome (ok, error).",
		}, []string{"task", "outcome"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stratus_periodic_run_duration_seconds",
			Help:    "Time one run of a periodic task took.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9), // 1 ms … 65 s
		}, []string{"task"})),
	}
}

// Run runs every task once at once and then every Interval, until ctx ends;
// it returns when all tasks have stopped. A run that fails or panics is
// logged and the task carries on at its next tick.
func (r *PeriodicRunner) Run(ctx context.Context, tasks ...Periodic) error {
	for _, t := range tasks {
		if t.Name == "" || t.Interval <= 0 || t.Run == nil {
			return fmt.Errorf("workers: periodic task %q needs a name, a positive interval and a Run", t.Name)
		}
	}
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx, t)
		}()
	}
	wg.Wait()
	return nil
}

func (r *PeriodicRunner) loop(ctx context.Context, t Periodic) {
	ticker := time.NewTicker(t.Interval)
	defer ticker.Stop()
	for {
		r.runOnce(ctx, t)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (r *PeriodicRunner) runOnce(ctx context.Context, t Periodic) {
	if ctx.Err() != nil {
		return
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = t.Interval
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}()
		return t.Run(ctx)
	}()
	r.duration.WithLabelValues(t.Name).Observe(time.Since(start).Seconds())
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return // stopping
		}
		r.log.Error("periodic task failed", "task", t.Name, "err", err)
		r.runs.WithLabelValues(t.Name, "error").Inc()
		return
	}
	r.runs.WithLabelValues(t.Name, "ok").Inc()
}
