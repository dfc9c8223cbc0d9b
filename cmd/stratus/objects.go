package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/models"
	"stratus/models/objectstore"
	"stratus/workers"
	"stratus/workers/objects"
)

// objectFlags configure object storage: where the bytes go, the
// single-object limit, and the expirer.
type objectFlags struct {
	Dir            string
	MaxBytes       int64
	ExpireInterval time.Duration
}

func (f *objectFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.Dir, "object-dir", "", "object storage: directory the objects' bytes are kept in (default DATA-DIR/objects)")
	fs.Int64Var(&f.MaxBytes, "max-object-bytes", models.DefaultMaxObjectBytes, "object storage: largest single object, in bytes (Swift's max_file_size); larger ones are uploaded in segments")
	fs.DurationVar(&f.ExpireInterval, "object-expirer-interval", 30*time.Second, "object storage: how often objects past their X-Delete-At are removed")
}

// apply opens the object backend into the store options.
func (f *objectFlags) apply(o *models.Options, db dbFlags) error {
	if f.MaxBytes < 1 {
		return fmt.Errorf("--max-object-bytes must be at least 1")
	}
	dir := f.Dir
	if dir == "" {
		dir = filepath.Join(db.DataDir, "objects")
	}
	be, err := objectstore.NewDir(dir)
	if err != nil {
		return err
	}
	o.ObjectBackend, o.MaxObjectBytes = be, f.MaxBytes
	return nil
}

// startHousekeeping runs the object expirer and orphan sweep until ctx
// ends; wait blocks until they have stopped.
func (f *objectFlags) startHousekeeping(ctx context.Context, store *models.Store, log *slog.Logger, reg prometheus.Registerer) (wait func(), err error) {
	tasks, err := objects.Tasks(objects.Config{Store: store, ExpireInterval: f.ExpireInterval, Log: log.With("component", "objects")})
	if err != nil {
		return nil, err
	}
	runner := workers.NewPeriodicRunner(log, reg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = runner.Run(ctx, tasks...)
	}()
	return func() { <-done }, nil
}
