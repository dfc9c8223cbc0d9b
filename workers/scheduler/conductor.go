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
	// ResizeConfirmWindow is how long a resize or cold migration waits in
	// VERIFY_RESIZE before it is confirmed automatically (default 1 h;
	// negative: never).
	ResizeConfirmWindow time.Duration
	// AutoEvacuate, when positive, evacuates the instances of hosts that
	// are fenced — down, disabled, and silent for this long (at least
	// twice ServiceDownTime) — to other hosts (off by default).
	AutoEvacuate time.Duration
}

// ConductorTasks are the periodic duties every scheduler runs besides
// placement: host liveness (and recovering the work of hosts that went
// down), stuck-build timeouts, and pruning expired sessions, tokens and
// wake-up listeners. Running them on several schedulers at once is safe:
// each is a conditional update.
func ConductorTasks(cfg ConductorConfig) []workers.Periodic {
	if cfg.ServiceDownTime <= 0 {
		cfg.ServiceDownTime = 60 * time.Second
	}
	if cfg.BuildTimeout <= 0 {
		cfg.BuildTimeout = 10 * time.Minute
	}
	if cfg.ResizeConfirmWindow == 0 {
		cfg.ResizeConfirmWindow = time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	tasks := []workers.Periodic{
		// A host is marked down within service-down-time plus this
		// interval of its agent's last heartbeat, and its builds are sent
		// to other hosts in the same run.
		{Name: "host-liveness", Interval: min(10*time.Second, cfg.ServiceDownTime/2), Run: func(ctx context.Context) error {
			down, err := cfg.Store.MarkHostsDown(ctx, cfg.ServiceDownTime)
			if len(down) > 0 {
				cfg.Log.Warn("hosts marked down: their agents stopped reporting", "hosts", down, "after", cfg.ServiceDownTime)
			}
			if err != nil {
				return err
			}
			r, err := cfg.Store.RecoverDownHosts(ctx)
			if r.Routers > 0 {
				cfg.Log.Warn("moved the routers of down hosts", "routers", r.Routers)
			}
			if len(r.Hosts) > 0 {
				cfg.Log.Warn("recovered the work of down hosts", "hosts", r.Hosts, "rescheduled", r.Rescheduled,
					"deleted", r.Deleted, "power_failed", r.PowerFailed, "tasks_failed", r.TasksFailed, "reverted", r.Reverted, "jobs_cancelled", r.Cancelled)
			}
			return err
		}},
		{Name: "wake-listener-prune", Interval: 10 * time.Minute, Run: func(ctx context.Context) error {
			_, err := cfg.Store.PruneWakeListeners(ctx, 10*time.Minute)
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
	if cfg.ResizeConfirmWindow > 0 {
		tasks = append(tasks, workers.Periodic{Name: "resize-auto-confirm", Interval: min(time.Minute, max(time.Second, cfg.ResizeConfirmWindow/4)),
			Run: func(ctx context.Context) error {
				n, err := cfg.Store.AutoConfirmResizes(ctx, cfg.ResizeConfirmWindow)
				if n > 0 {
					cfg.Log.Info("resizes confirmed automatically", "instances", n, "window", cfg.ResizeConfirmWindow)
				}
				return err
			}})
	}
	if cfg.AutoEvacuate > 0 {
		tasks = append(tasks, workers.Periodic{Name: "auto-evacuate", Interval: min(30*time.Second, max(time.Second, cfg.ServiceDownTime/2)),
			Run: func(ctx context.Context) error {
				n, err := cfg.Store.AutoEvacuate(ctx, cfg.AutoEvacuate, cfg.ServiceDownTime)
				if n > 0 {
					cfg.Log.Warn("evacuating the instances of fenced hosts (down, disabled, silent)", "instances", n, "after", cfg.AutoEvacuate)
				}
				return err
			}})
	}
	return tasks
}
