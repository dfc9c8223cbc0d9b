package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"stratus/models"
)

func runDev(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	var db dbFlags
	var id identityFlags
	var hf httpFlags
	var logf logFlags
	var bf bootstrapFlags
	db.register(fs)
	id.register(fs)
	hf.register(fs)
	logf.register(fs)
	bf.register(fs, true)
	if err := parseFlags(fs, "Run Stratus all-in-one: web UI, API and scheduler in one process on an embedded SQLite file. Migrates and bootstraps on first start.", args); err != nil {
		return err
	}
	if err := id.validate(); err != nil {
		return err
	}
	log, err := logf.logger()
	if err != nil {
		return err
	}
	store, err := models.Open(ctx, db.dsn(), id.opts, log)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	res, err := store.Bootstrap(ctx, bf.in)
	if err != nil {
		return err
	}
	reg := newRegistry()
	srv, ln, err := newHTTPServer(store, &hf, log, reg)
	if err != nil {
		return err
	}
	where := db.dsn()
	if store.Dialect() == models.SQLite {
		where = "SQLite at " + filepath.Clean(db.dsn()[len("sqlite://"):])
	}
	fmt.Fprintf(stdout, "\nStratus is running all-in-one (%s).\n\n  URL:   %s\n", where, baseURL(ln, hf.TLSCert != ""))
	printLogins(stdout, bf.in, res)
	fmt.Fprintf(stdout, "\nStop with Ctrl-C.\n\n")
	return serveUntilDone(ctx, srv, ln, &hf, log)
}
