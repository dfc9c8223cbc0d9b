package scheduler

import (
	"context"
	"log/slog"
	"time"

	"stratus/models"
	"stratus/workers"
)

// ConductorConfig tunes the conductor's periodic duties.
type ConductorConfig struct {
	Store           *models.Store
	Log             *slog.Logger
	ServiceDownTime time.Duration // a host silent this long is marked down (default 60 s)
	BuildTimeout    time.Duration // a build longer than this goes to ERROR (default 10 min)
}

// ConductorTasks are the periodic duties every scheduler runs besides
// placement: host liveness, stuck-build timeouts, and pruning expired
// sessions and tokens. Running them on several
// schedulers at once is safe: each is a conditional update.
func ConductorTasks(cfg ConductorConfig) []workers.Periodic {
	if cfg.ServiceDownTime <= 0 {
		cfg.ServiceDownTime = 60 * time.Second
	}
	if cfg.BuildTimeout <= 0 {
		cfg.BuildTimeout = 10 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return []workers.Periodic{
		{Name: "host-liveness", Interval: min(10*time.Second, cfg.ServiceDownTime/2), Run: func(ctx context.Context) error {
			down, err := cfg.Store.MarkHostsDown(ctx, cfg.ServiceDownTime)
			if len(down) > 0 {
				cfg.Log.Warn("hosts marked down: their agents stopped reporting", "hosts", down, "after", cfg.ServiceDownTime)
			}
			return err
		}},
		{Name: "identity-prune", Interval: 10 * time.Minute, Run: func(ctx context.Context) error {
			// Expired web sessions and long-dead tokens.
			if _, err := cfg.Store.PruneSessions(ctx); err != nil {
				return err
			}
			_, err := cfg.Store.PruneTokens(ctx)
			return err
		}},
		{Name: "build-timeout", Interval: min(30*time.Second, cfg.BuildTimeout/4), Run: func(ctx context.Context) error {
			n, err := cfg.Store.TimeoutStuckBuilds(ctx, cfg.BuildTimeout)
			if n > 0 {
				cfg.Log.Warn("builds timed out", "instances", n, "timeout", cfg.BuildTimeout)
			}
			return err
		}},
	}
}
