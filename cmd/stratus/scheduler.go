package main

import (
	"context"
	"flag"
	"io"

	"stratus/models"
)

func runScheduler(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("scheduler", flag.ContinueOnError)
	var db dbFlags
	var logf logFlags
	db.register(fs)
	logf.register(fs)
	if err := parseFlags(fs, "Run the queue's maintenance duties (lease rescue, pruning); scheduling proper comes with the compute control plane. Several may run.", args); err != nil {
		return err
	}
	store, err := openMigrated(ctx, db, models.DefaultOptions(), &logf)
	if err != nil {
		return err
	}
	defer store.Close()
	log, _ := logf.logger()
	log.Info("scheduler started: queue maintenance (scheduling proper comes with the compute control plane)")
	<-ctx.Done()
	return nil
}
