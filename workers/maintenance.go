package workers

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/models"
)

// MaintenanceConfig sets up the scheduler's queue duties. Store is
// required; the rest has defaults.
type MaintenanceConfig struct {
	Store *models.Store
	// RescueInterval is how often expired leases are looked for
	// (default 10 s). A lost job waits at most its lease plus this.
	RescueInterval time.Duration
	// PruneInterval is how often finished jobs are pruned (default 10 min),
	// once they are older than Retention (default 24 h).
	PruneInterval time.Duration
	Retention     time.Duration

	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Maintenance is the queue's housekeeping, run by every `stratus scheduler`
// (and `stratus dev`): both duties are safe to run from several processes.
type Maintenance struct {
	cfg     MaintenanceConfig
	log     *slog.Logger
	runner  *PeriodicRunner
	rescued prometheus.Counter
	pruned  prometheus.Counter
}

// NewMaintenance checks cfg and builds the duties.
func NewMaintenance(cfg MaintenanceConfig) (*Maintenance, error) {
	if cfg.Store == nil {
		return nil, errors.New("workers: MaintenanceConfig needs a Store")
	}
	if cfg.RescueInterval <= 0 {
		cfg.RescueInterval = 10 * time.Second
	}
	if cfg.PruneInterval <= 0 {
		cfg.PruneInterval = 10 * time.Minute
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Maintenance{
		cfg:    cfg,
		log:    cfg.Logger,
		runner: NewPeriodicRunner(cfg.Logger, cfg.Registerer),
		rescued: register(cfg.Registerer, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stratus_jobs_rescued_total",
			Help: "Running jobs whose lease had expired, made available again (or failed).",
		})),
		pruned: register(cfg.Registerer, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stratus_jobs_pruned_total",
			Help: "Finished jobs deleted after the retention period.",
		})),
	}, nil
}

// Tasks are the duties as Periodic tasks, for a caller that runs them with
// its own (scheduler liveness, build timeouts …) on one PeriodicRunner.
func (m *Maintenance) Tasks() []Periodic {
	return []Periodic{
		{Name: "job-lease-rescue", Interval: m.cfg.RescueInterval, Run: m.RescueLeases},
		{Name: "job-prune", Interval: m.cfg.PruneInterval, Timeout: time.Minute + m.cfg.PruneInterval, Run: m.Prune},
	}
}

// Run runs the duties until ctx ends.
func (m *Maintenance) Run(ctx context.Context) error {
	return m.runner.Run(ctx, m.Tasks()...)
}

// RescueLeases makes jobs of lost workers available again (one run).
func (m *Maintenance) RescueLeases(ctx context.Context) error {
	n, err := m.cfg.Store.RescueExpiredLeases(ctx)
	m.rescued.Add(float64(n))
	if n > 0 {
		m.log.Warn("rescued jobs whose worker was lost", "jobs", n)
	}
	return err
}

// Prune deletes finished jobs older than the retention (one run).
func (m *Maintenance) Prune(ctx context.Context) error {
	n, err := m.cfg.Store.PruneJobs(ctx, m.cfg.Retention)
	m.pruned.Add(float64(n))
	if n > 0 {
		m.log.Info("pruned finished jobs", "jobs", n, "retention", m.cfg.Retention)
	}
	return err
}
