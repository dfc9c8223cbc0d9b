package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"stratus/handlers"
	"stratus/handlers/policy"
	"stratus/models"
	"stratus/workers"
)

func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var db dbFlags
	var id identityFlags
	var hf httpFlags
	var logf logFlags
	var of objectFlags
	db.register(fs)
	id.register(fs)
	of.register(fs)
	hf.register(fs)
	logf.register(fs)
	if err := parseFlags(fs, "Run the web UI and the JSON API. Stateless: run as many as you like against one database.", args); err != nil {
		return err
	}
	if err := id.validate(); err != nil {
		return err
	}
	if err := hf.validate(); err != nil {
		return err
	}
	log, err := logf.logger()
	if err != nil {
		return err
	}
	opts := id.options(db)
	if err := of.apply(&opts, db); err != nil {
		return err
	}
	store, err := openMigrated(ctx, db, opts, &logf)
	if err != nil {
		return err
	}
	defer store.Close()
	reg := newRegistry()
	// Jobs the API commits (launches, actions) wake the scheduler or agent
	// that runs them, by a hint, instead of waiting for its next poll.
	wake, err := workers.NewWake(workers.WakeConfig{Store: store, Name: "serve", Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	store.OnEnqueue(wake.Notify)
	if err := wake.Start(ctx); err != nil {
		return err
	}
	defer wake.Stop()
	srv, ln, err := newHTTPServer(store, &hf, log, reg)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	waitHousekeeping, err := of.startHousekeeping(ctx, store, log, reg)
	if err != nil {
		return err
	}
	defer waitHousekeeping()
	log.Info("serving", "url", baseURL(ln, hf.TLSCert != ""), "db", store.Dialect())
	err = serveUntilDone(ctx, srv, ln, &hf, log)
	stop()
	return err
}

// newRegistry is the process's metrics registry, with Go runtime and
// process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// newHTTPServer builds the handler and binds the listener (so the URL we
// print is the real one, even with --listen :0).
func newHTTPServer(store *models.Store, hf *httpFlags, log *slog.Logger, reg *prometheus.Registry) (*http.Server, net.Listener, error) {
	enforcer, err := policy.New(hf.PolicyFile)
	if err != nil {
		return nil, nil, err
	}
	// Queue depth by state, counted in the database on each scrape.
	reg.MustRegister(workers.NewQueueCollector(store, 2*time.Second, log))
	h := handlers.New(handlers.Deps{Store: store, Policy: enforcer, Log: log, Registry: reg, Config: hf.config()})
	ln, err := net.Listen("tcp", hf.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", hf.Listen, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return srv, ln, nil
}

func baseURL(ln net.Listener, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s/", scheme, ln.Addr().String())
}

// serveUntilDone serves until ctx is cancelled (SIGINT/SIGTERM), then stops
// accepting and lets in-flight requests finish (up to 30 s).
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, hf *httpFlags, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() {
		if hf.TLSCert != "" {
			errc <- srv.ServeTLS(ln, hf.TLSCert, hf.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down the HTTP server: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
