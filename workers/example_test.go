package workers_test

import (
	"context"
	"errors"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/models"
	"stratus/workers"
)

// ResizeVolume is a job's arguments. Its Kind is part of the queue's
// protocol: it never changes, whatever the Go type is called later.
type ResizeVolume struct {
	VolumeID string `json:"volume_id"`
	SizeGB   int    `json:"size_gb"`
}

func (ResizeVolume) Kind() string { return "volume.resize" }

var errVolumeGone = errors.New("volume not found")

// resizeOnHost stands for the driver call.
func resizeOnHost(ctx context.Context, volumeID string, gb int) error { return nil }

// How a process (stratus scheduler, stratus compute) runs jobs: register the
// workers, start a pool for its target, stop it gracefully on SIGTERM.
func ExamplePool() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.Default()
	metrics := prometheus.NewRegistry() // the one /metrics serves
	store, err := models.Open(ctx, "sqlite://stratus.db", models.DefaultOptions(), log)
	if err != nil {
		log.Error("open database", "err", err)
		return
	}

	reg := workers.NewRegistry()
	workers.Register(reg, workers.WorkFunc[ResizeVolume](func(ctx context.Context, job *models.Job, a ResizeVolume) error {
		// Reconcile: read the desired state, look at the host, converge.
		if a.SizeGB <= 0 {
			return workers.Terminalf("size %d GB is not a valid volume size", a.SizeGB) // failed now, shown to the user
		}
		err := resizeOnHost(ctx, a.VolumeID, a.SizeGB)
		if errors.Is(err, errVolumeGone) {
			return workers.Cancel(err) // nothing left to do
		}
		return err // nil: succeeded; any other error: retried with backoff
	}))

	pool, err := workers.NewPool(workers.Config{
		Store: store, Registry: reg,
		Owner:      "compute-host1",
		TargetHost: "host1", // "" for a scheduler
		Workers:    8,
		Logger:     log, Registerer: metrics,
	})
	if err != nil {
		log.Error("job pool", "err", err)
		return
	}
	// Start's context is the jobs' parent: cancelling it stops hard. Give it
	// one that outlives the signal, and stop gracefully with Stop.
	if err := pool.Start(context.WithoutCancel(ctx)); err != nil {
		log.Error("start job pool", "err", err)
		return
	}
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pool.Stop(shutdown); err != nil {
		log.Warn("job pool stopped hard", "err", err)
	}
}

// How an intent enqueues a job in its own transaction (inside models the
// intents call s.enqueue(tx, …) within s.tx): both commit, or neither.
func ExampleMaintenance() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	store, err := models.Open(ctx, "sqlite://stratus.db", models.DefaultOptions(), nil)
	if err != nil {
		return
	}
	_ = store.InTx(ctx, func(tx *models.Tx) error {
		_, err := tx.Enqueue(ResizeVolume{VolumeID: "v-1", SizeGB: 20},
			models.JobOptions{TargetHost: "host1", ResourceType: "volume", ResourceID: "v-1"})
		return err
	})

	// stratus scheduler (and stratus dev) run the queue's housekeeping next
	// to their own periodic duties, until the process's context ends.
	m, err := workers.NewMaintenance(workers.MaintenanceConfig{Store: store, Retention: 24 * time.Hour})
	if err != nil {
		return
	}
	hostLiveness := workers.Periodic{Name: "host-liveness", Interval: 30 * time.Second,
		Run: func(ctx context.Context) error { return nil }}
	_ = workers.NewPeriodicRunner(slog.Default(), nil).Run(ctx, append(m.Tasks(), hostLiveness)...)
}
