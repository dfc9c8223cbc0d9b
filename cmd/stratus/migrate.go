package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"stratus/models"
)

func runMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	status := fs.Bool("status", false, "list the migrations and when each was applied, change nothing")
	if err := parseFlags(fs, "Bring the database schema to the newest version (safe to run while other processes run it too).", args); err != nil {
		return err
	}
	store, err := models.Open(ctx, db.dsn(), models.DefaultOptions(), nil)
	if err != nil {
		return err
	}
	defer store.Close()
	if *status {
		st, err := store.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		for _, m := range st {
			at := "pending"
			if m.AppliedAt != nil {
				at = "applied " + m.AppliedAt.Format("2006-01-02 15:04:05 UTC")
			}
			fmt.Fprintf(stdout, "%04d %-24s %s\n", m.Version, m.Name, at)
		}
		return nil
	}
	done, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(done) == 0 {
		fmt.Fprintln(stdout, "schema is up to date")
		return nil
	}
	fmt.Fprintf(stdout, "applied migrations %v\n", done)
	return nil
}

// openMigrated opens the store and refuses to run on a schema that is not
// at the newest version (the operator runs `stratus migrate` first).
func openMigrated(ctx context.Context, db dbFlags, opts models.Options, logf *logFlags) (*models.Store, error) {
	log, err := logf.logger()
	if err != nil {
		return nil, err
	}
	store, err := models.Open(ctx, db.dsn(), opts, log)
	if err != nil {
		return nil, err
	}
	n, err := store.PendingMigrations(ctx)
	if err != nil {
		store.Close()
		return nil, err
	}
	if n > 0 {
		store.Close()
		return nil, fmt.Errorf("the database schema is %d migration(s) behind this binary: run `stratus migrate` first", n)
	}
	return store, nil
}
