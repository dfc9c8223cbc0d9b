package workers_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers"
)

// twoProcesses opens the same database twice, as two processes would.
func twoProcesses(t *testing.T, e storetest.Engine) (*models.Store, *models.Store) {
	t.Helper()
	dsn := storetest.DSN(t, e)
	open := func() *models.Store {
		s, err := models.Open(context.Background(), dsn, storetest.Options(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	if _, err := a.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// A job committed in one process wakes the pool of another by a hint: with
// polling effectively off (an hour), it still runs at once. Datagrams that
// name no pool are ignored, and a flood of forged hints costs the database
// only a rationed number of claims.
func TestWakeAcrossProcesses(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(string(e), func(t *testing.T) {
			api, agent := twoProcesses(t, e)
			ctx := context.Background()
			var ran atomic.Int64
			reg := workers.NewRegistry()
			workers.Register(reg, workers.WorkFunc[testArgs](func(context.Context, *models.Job, testArgs) error {
				ran.Add(1)
				return nil
			}))
			b := setup(t, agent, reg)
			b.cfg.TargetHost, b.cfg.PollInterval = "h1", time.Hour
			pool, err := workers.NewPool(b.cfg)
			if err != nil {
				t.Fatal(err)
			}
			listener, err := workers.NewWake(workers.WakeConfig{Store: agent, Listen: "127.0.0.1:0", Name: "compute-h1", Registerer: b.metrics})
			if err != nil {
				t.Fatal(err)
			}
			listener.Serve(pool)
			agent.OnEnqueue(listener.Notify)
			if err := listener.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(listener.Stop)
			if err := pool.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = pool.Stop(ctx) })

			sender, err := workers.NewWake(workers.WakeConfig{Store: api, Name: "serve"})
			if err != nil {
				t.Fatal(err)
			}
			api.OnEnqueue(sender.Notify)
			if err := sender.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(sender.Stop)
			eventually(t, 5*time.Second, "the pool's first claim at start", func() bool {
				return metricValue(t, b.metrics, "stratus_job_claims_total", map[string]string{"outcome": "empty"}) >= 1
			})

			for i := range 3 {
				enqueue(t, api, testArgs{N: i}, models.JobOptions{TargetHost: "h1"})
				eventually(t, 5*time.Second, "the job woken across processes", func() bool { return ran.Load() == int64(i+1) })
			}
			if n := metricValue(t, b.metrics, "stratus_wake_hints_received_total", nil); n < 3 {
				t.Errorf("%v hints received, want 3", n)
			}

			// Forged hints and garbage, straight at the listener.
			conn, err := net.Dial("udp", listener.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, _ = conn.Write([]byte("STRATUS-WAKE/1 h2"))
			_, _ = conn.Write([]byte("GET / HTTP/1.0"))
			eventually(t, 2*time.Second, "garbage counted as ignored", func() bool {
				return metricValue(t, b.metrics, "stratus_wake_hints_ignored_total", nil) >= 2
			})
			before := metricValue(t, b.metrics, "stratus_job_claims_total", map[string]string{"outcome": "empty"})
			start := time.Now()
			for range 2000 {
				_, _ = conn.Write([]byte("STRATUS-WAKE/1 h1"))
			}
			time.Sleep(300 * time.Millisecond)
			claims := metricValue(t, b.metrics, "stratus_job_claims_total", map[string]string{"outcome": "empty"}) - before
			// One claim per quiet period of 50 ms at most (unrationed, every
			// hint would be a claim: hundreds).
			if limit := time.Since(start)/(50*time.Millisecond) + 3; claims > float64(limit) {
				t.Errorf("2000 forged hints in %s cost %v claims, want at most %d", time.Since(start).Round(time.Millisecond), claims, limit)
			}
		})
	}
}

// A failed job's retry runs when its backoff ends, not at the next poll.
func TestRetryRunsWhenDueNotAtThePoll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		var runs atomic.Int64
		reg := workers.NewRegistry()
		workers.Register(reg, workers.WorkFunc[testArgs](func(context.Context, *models.Job, testArgs) error {
			if runs.Add(1) == 1 {
				return errors.New("transient")
			}
			return nil
		}))
		b := setup(t, s, reg)
		b.cfg.PollInterval = time.Hour
		b.cfg.Backoff = workers.Backoff{Base: 200 * time.Millisecond, Max: time.Second}
		p := startPool(t, b.cfg)
		time.Sleep(50 * time.Millisecond) // past the first claim at start
		enqueue(t, s, testArgs{}, models.JobOptions{})
		p.Wake() // as the enqueue's Wake.Notify would
		eventually(t, 5*time.Second, "the retry", func() bool { return runs.Load() == 2 })
	})
}
