package volume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/models"
	"stratus/workers"
)

// ImageCache makes an image's bytes available on this host (the compute
// agents' cache serves here too) and says where they are: a qcow2 file.
type ImageCache interface {
	Fetch(ctx context.Context, image models.Image) (path string, err error)
}

// Config sets up a volume service. Store, Backend and Name are required.
type Config struct {
	Store   *models.Store
	Backend Backend
	Name    string // the backend's unique name ("file", "ceph-ssd" …)

	AvailabilityZone      string  // default "nova"
	OverSubscriptionRatio float64 // how far thin volumes may overcommit the backend (default 1)
	// Images fetches images written onto volumes; nil refuses volumes
	// from images.
	Images ImageCache

	Workers           int           // jobs at once (default 4)
	PollInterval      time.Duration // default 1 s
	JobTimeout        time.Duration // default 1 h (writing a large image)
	HeartbeatInterval time.Duration // capacity reports (default 10 s)
	CollectInterval   time.Duration // garbage collection of unreferenced data (default 60 s)

	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// Service is one backend's volume service.
type Service struct {
	cfg  Config
	log  *slog.Logger
	pool *workers.Pool
}

// New checks the config and builds the service's job pool.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Backend == nil || cfg.Name == "" {
		return nil, errors.New("volume: Config needs a Store, a Backend and a Name")
	}
	if strings.ContainsAny(cfg.Name, " /") || len(cfg.Name) > 64 {
		return nil, fmt.Errorf("volume backend name %q: at most 64 characters, no spaces or slashes", cfg.Name)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = time.Hour
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	if cfg.CollectInterval <= 0 {
		cfg.CollectInterval = 60 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, log: cfg.Log.With("volume_backend", cfg.Name)}
	reg := workers.NewRegistry()
	workers.Register(reg, workers.WorkFunc[models.CreateVolume](s.create))
	workers.Register(reg, workers.WorkFunc[models.DeleteVolume](s.delete))
	workers.Register(reg, workers.WorkFunc[models.ExtendVolume](s.extend))
	workers.Register(reg, workers.WorkFunc[models.CreateSnapshot](s.createSnapshot))
	workers.Register(reg, workers.WorkFunc[models.DeleteSnapshot](s.deleteSnapshot))
	pool, err := workers.NewPool(workers.Config{
		Store: cfg.Store, Registry: reg, Owner: "volume-" + cfg.Name, TargetHost: models.VolumeTarget(cfg.Name),
		Workers: cfg.Workers, PollInterval: cfg.PollInterval, JobTimeout: cfg.JobTimeout,
		// Writing an image takes minutes: never hold more than we run.
		MaxPrefetch: -1, Logger: s.log, Registerer: cfg.Registerer,
	})
	if err != nil {
		return nil, err
	}
	s.pool = pool
	return s, nil
}

// Pool is the service's job pool (Wake it when a job for this backend was
// enqueued in the same process).
func (s *Service) Pool() *workers.Pool { return s.pool }

// Name is the backend's name.
func (s *Service) Name() string { return s.cfg.Name }

// Register records the backend and its capacity.
func (s *Service) Register(ctx context.Context) (models.VolumeBackend, error) {
	c, err := s.cfg.Backend.Capacity(ctx)
	if err != nil {
		return models.VolumeBackend{}, fmt.Errorf("read the %s backend's capacity: %w", s.cfg.Name, err)
	}
	return s.cfg.Store.RegisterVolumeBackend(ctx, models.VolumeBackendReport{Name: s.cfg.Name,
		Driver: s.cfg.Backend.Driver(), AvailabilityZone: s.cfg.AvailabilityZone, CapacityGB: c.TotalGB,
		FreeGB: c.FreeGB, OverSubscriptionRatio: s.cfg.OverSubscriptionRatio})
}

// Run registers the backend, then runs jobs, capacity reports and garbage
// collection until ctx ends; then it finishes the jobs in flight (up to
// 30 s) and returns.
func (s *Service) Run(ctx context.Context) error {
	b, err := s.Register(ctx)
	if err != nil {
		return err
	}
	s.log.Info("volume service registered", "driver", b.Driver, "capacity_gb", b.CapacityGB, "free_gb", b.FreeGB)
	if err := s.pool.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	_ = workers.NewPeriodicRunner(s.log, s.cfg.Registerer).Run(ctx,
		workers.Periodic{Name: "volume-heartbeat", Interval: s.cfg.HeartbeatInterval, Run: func(ctx context.Context) error {
			_, err := s.Register(ctx)
			return err
		}},
		workers.Periodic{Name: "volume-collect", Interval: s.cfg.CollectInterval, Run: s.collect},
	)
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.pool.Stop(stopCtx)
}

// collect lets the backend delete data nothing references any more.
func (s *Service) collect(ctx context.Context) error {
	return s.cfg.Backend.Collect(ctx, s.references)
}

// references reads what the database references on the backend.
func (s *Service) references(ctx context.Context) (References, error) {
	vols, snaps, err := s.cfg.Store.BackendReferences(ctx, s.cfg.Name)
	return References{Volumes: vols, Snapshots: snaps}, err
}
