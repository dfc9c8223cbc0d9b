package workers

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/models"
)

// Config sets up a Pool. Store and Registry are required; every other field
// has a default.
type Config struct {
	Store    *models.Store
	Registry *Registry

	// Owner names this pool in job leases ("scheduler", "compute-host1").
	// A random suffix makes every Pool's lease owner unique (Pool.Owner), so
	// a restarted process never mistakes its predecessor's leases for its own.
	// Default: the host name.
	Owner string
	// TargetHost "" runs scheduler jobs; a host name runs that compute
	// host's jobs.
	TargetHost string
	// Workers is how many jobs run at once (default 10).
	Workers int

	// Lease is how long a claimed job stays ours without a heartbeat
	// (default 30 s); Heartbeat is how often leases are extended
	// (default Lease/3).
	Lease     time.Duration
	Heartbeat time.Duration
	// PollInterval is how often an idle pool looks for new jobs
	// (default 1 s). Wake makes it look at once.
	PollInterval time.Duration

	// The fetcher claims beyond the free worker slots only as many jobs as
	// the workers get through in PrefetchWindow at their recent pace
	// (default 20 ms), at most MaxPrefetch (default 1000; negative: never).
	// Short jobs are thus claimed in large batches, while long jobs (a VM
	// build) are claimed one slot at a time and never sit in a pool that
	// cannot start them.
	PrefetchWindow time.Duration
	MaxPrefetch    int

	// Successes are written in batches: when CompleteBatch are waiting
	// (default 1000) or CompleteDelay after the first (default 5 ms).
	CompleteBatch int
	CompleteDelay time.Duration

	// Backoff spaces retries (default DefaultBackoff).
	Backoff Backoff
	// JobTimeout bounds one run of a job (default: none).
	JobTimeout time.Duration
	// ShutdownGrace is how long a hard stop waits for handlers to return
	// after cancelling their contexts (default 5 s).
	ShutdownGrace time.Duration

	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are not exported
}

func (c *Config) setDefaults() error {
	if c.Store == nil || c.Registry == nil {
		return errors.New("workers: Config needs a Store and a Registry")
	}
	if c.Owner == "" {
		c.Owner, _ = os.Hostname()
	}
	if c.Workers <= 0 {
		c.Workers = 10
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = c.Lease / 3
	}
	if c.Heartbeat >= c.Lease {
		return fmt.Errorf("workers: heartbeat %s must be shorter than the lease %s", c.Heartbeat, c.Lease)
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.PrefetchWindow <= 0 {
		c.PrefetchWindow = 20 * time.Millisecond
	}
	switch {
	case c.MaxPrefetch == 0:
		c.MaxPrefetch = 1000
	case c.MaxPrefetch < 0:
		c.MaxPrefetch = 0
	}
	if c.CompleteBatch <= 0 {
		c.CompleteBatch = 1000
	}
	if c.CompleteDelay <= 0 {
		c.CompleteDelay = 5 * time.Millisecond
	}
	if c.Backoff == (Backoff{}) {
		c.Backoff = DefaultBackoff()
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
