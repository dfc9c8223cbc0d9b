package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"stratus/models"
)

// metricsFlags let the processes without a web server (scheduler,
// compute) expose /metrics, /healthz and /readyz on their own address.
type metricsFlags struct {
	Listen string
}

func (f *metricsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.Listen, "metrics-listen", "", "serve /metrics, /healthz and /readyz on this address (off when empty)")
}

// serve starts the metrics server when asked; the returned func stops it.
func (f *metricsFlags) serve(store *models.Store, reg *prometheus.Registry, log *slog.Logger) (func(), error) {
	if f.Listen == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", f.Listen)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen %s: %w", f.Listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// As on `stratus serve`: /healthz is "the process is up" (a liveness
	// probe must not restart agents during a database blip), /readyz is
	// "and its database answers".
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := store.Ping(r.Context()); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("metrics served", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
