package workers_test

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"stratus/models"
	"stratus/workers"
)

// testArgs is the job most tests run; Worker says which behaviour.
type testArgs struct {
	N int `json:"n"`
}

func (testArgs) Kind() string { return "test.work" }

// testLogger is silent unless STRATUS_TEST_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("STRATUS_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// bundle is what setup returns: the store, a metrics registry, and a
// config for a fast pool (short poll, short completion delay, millisecond
// backoff) that tests adjust.
type bundle struct {
	store   *models.Store
	metrics *prometheus.Registry
	cfg     workers.Config
}

func setup(t *testing.T, s *models.Store, reg *workers.Registry) bundle {
	t.Helper()
	m := prometheus.NewRegistry()
	return bundle{store: s, metrics: m, cfg: workers.Config{
		Store: s, Registry: reg, Owner: "test", Workers: 4,
		Lease: 5 * time.Second, PollInterval: 10 * time.Millisecond, CompleteDelay: 2 * time.Millisecond,
		Backoff: workers.Backoff{Base: time.Millisecond, Max: time.Second},
		Logger:  testLogger(t), Registerer: m,
	}}
}

// startPool starts a pool that stops when the test ends.
func startPool(t *testing.T, cfg workers.Config) *workers.Pool {
	t.Helper()
	p, err := workers.NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Stop(ctx)
	})
	return p
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func counts(t *testing.T, s *models.Store) map[models.JobState]int64 {
	t.Helper()
	c, err := s.JobCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func enqueue(t *testing.T, s *models.Store, args models.JobArgs, o models.JobOptions) models.Job {
	t.Helper()
	j, err := s.EnqueueJob(context.Background(), args, o)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func getJob(t *testing.T, s *models.Store, id int64) models.Job {
	t.Helper()
	j, err := s.GetJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// metricValue reads one counter or gauge sample from reg (0 if absent).
func metricValue(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue()
				case m.Gauge != nil:
					return m.Gauge.GetValue()
				case m.Histogram != nil:
					return float64(m.Histogram.GetSampleCount())
				}
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := labels[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

// runLog records which jobs ran, how often, and on which attempt.
type runLog struct {
	mu   sync.Mutex
	runs map[int64][]models.Job
}

func newRunLog() *runLog { return &runLog{runs: map[int64][]models.Job{}} }

func (l *runLog) add(j *models.Job) {
	l.mu.Lock()
	l.runs[j.ID] = append(l.runs[j.ID], *j)
	l.mu.Unlock()
}

func (l *runLog) get(id int64) []models.Job {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]models.Job(nil), l.runs[id]...)
}

func (l *runLog) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.runs {
		n += len(r)
	}
	return n
}
