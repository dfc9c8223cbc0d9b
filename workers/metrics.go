package workers

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/models"
)

// Outcomes of one run of a job, the "outcome" label of
// stratus_jobs_completed_total.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeRetried   = "retried"   // failed, will run again after backoff
	OutcomeFailed    = "failed"    // failed for good (terminal, or out of attempts)
	OutcomeCancelled = "cancelled" // its worker cancelled it
	OutcomeSnoozed   = "snoozed"
	OutcomeLost      = "lost" // lease lost (rescued, cancelled by an operator): result dropped
)

// poolMetrics are a Pool's instruments. Several pools in one process (stratus
// dev) share them through the registry.
type poolMetrics struct {
	completed *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	claims    *prometheus.CounterVec
}

func newPoolMetrics(reg prometheus.Registerer) *poolMetrics {
	return &poolMetrics{
		completed: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stratus_jobs_completed_total",
			Help: "Job runs finished by this process, by kind and outcome.",
		}, []string{"kind", "outcome"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stratus_job_run_duration_seconds",
			Help:    "Time a job's worker took, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 11), // 1 ms … 17 min
		}, []string{"kind"})),
		claims: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stratus_job_claims_total",
			Help: "Claim transactions this process's pools ran, by whether they found jobs (found, empty).",
		}, []string{"outcome"})),
	}
}

// register adds c to reg, or returns the collector already registered under
// the same name. A nil reg leaves c unregistered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a name clash with another metric is a programming error
	}
	return c
}

// QueueCollector reports the queue depth by state (stratus_jobs{state}),
// counted in the database when Prometheus scrapes, so every API server or
// scheduler reports the same cluster-wide figure.
type QueueCollector struct {
	store   *models.Store
	timeout time.Duration
	log     *slog.Logger
	desc    *prometheus.Desc
	errDesc *prometheus.Desc
}

// NewQueueCollector counts through store, giving up after timeout (a scrape
// must not hang on a slow database). Register it on the HTTP server's
// registry.
func NewQueueCollector(store *models.Store, timeout time.Duration, log *slog.Logger) *QueueCollector {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &QueueCollector{
		store: store, timeout: timeout, log: log,
		desc:    prometheus.NewDesc("stratus_jobs", "Jobs in the queue, by state.", []string{"state"}, nil),
		errDesc: prometheus.NewDesc("stratus_jobs_count_errors", "1 when counting the queue failed at this scrape.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
	ch <- c.errDesc
}

// Collect implements prometheus.Collector.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	counts, err := c.store.JobCounts(ctx)
	failed := 0.0
	if err != nil {
		c.log.Warn("count jobs for metrics", "err", err)
		failed = 1
	}
	for _, st := range models.JobStates() {
		if err == nil {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[st]), string(st))
		}
	}
	ch <- prometheus.MustNewConstMetric(c.errDesc, prometheus.GaugeValue, failed)
}
