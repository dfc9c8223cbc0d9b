// Package objects runs object storage's housekeeping: the expirer, which
// removes objects whose X-Delete-At has passed (Swift's object-expirer),
// and the orphan sweep, which removes blobs that a crashed process left
// without a row. Both run in the processes that hold the object backend
// (`stratus serve`, `stratus dev`), and both are safe to run in several at
// once: an expired object is removed by whoever deletes its row, and a blob
// is swept only when no row names it and it is old enough that no upload
// can still be committing it.
package objects

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"stratus/models"
	"stratus/workers"
)

// Config sets up the housekeeping. Store is required.
type Config struct {
	Store *models.Store
	// ExpireInterval is how often expired objects are reaped (default
	// 30 s); reads hide them as soon as they expire.
	ExpireInterval time.Duration
	// SweepInterval is how often orphaned blobs are looked for (default
	// 1 h), SweepMinAge how old one must be to go (default 1 h).
	SweepInterval time.Duration
	SweepMinAge   time.Duration
	Log           *slog.Logger
}

// expireBatch bounds one expirer run's work per round trip.
const expireBatch = 500

// Tasks are the housekeeping duties as periodic tasks.
func Tasks(cfg Config) ([]workers.Periodic, error) {
	if cfg.Store == nil {
		return nil, errors.New("objects: Config needs a Store")
	}
	if cfg.ExpireInterval <= 0 {
		cfg.ExpireInterval = 30 * time.Second
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Hour
	}
	if cfg.SweepMinAge <= 0 {
		cfg.SweepMinAge = time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	expire := func(ctx context.Context) error {
		total := 0
		for {
			n, err := cfg.Store.ReapExpiredObjects(ctx, expireBatch)
			total += n
			if err != nil || n < expireBatch {
				if total > 0 {
					cfg.Log.Info("removed expired objects", "objects", total)
				}
				return err
			}
		}
	}
	sweep := func(ctx context.Context) error {
		_, err := cfg.Store.SweepOrphanBlobs(ctx, cfg.SweepMinAge)
		return err
	}
	return []workers.Periodic{
		{Name: "object-expirer", Interval: cfg.ExpireInterval, Timeout: 10 * time.Minute, Run: expire},
		{Name: "object-orphan-sweep", Interval: cfg.SweepInterval, Timeout: time.Hour, Run: sweep},
	}, nil
}
