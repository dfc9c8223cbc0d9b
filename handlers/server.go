// Package handlers assembles Stratus' HTTP surface: the middleware every
// request passes (request ID, access log, metrics, panic recovery, security
// headers, compression), the health and metrics endpoints, the static assets, the web UI
// (handlers/web), the JSON API (handlers/api) and the OpenStack-compatible
// APIs (handlers/openstack, with Swift's object storage API in
// handlers/openstack/object).
package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"stratus/handlers/api"
	"stratus/handlers/console"
	"stratus/handlers/httpx"
	"stratus/handlers/openstack"
	"stratus/handlers/openstack/object"
	"stratus/handlers/openstack/service"
	"stratus/handlers/policy"
	"stratus/handlers/web"
	"stratus/models"
	"stratus/static"
)

// Config is what the operator can tune about the HTTP surface.
type Config struct {
	// SecureCookies marks cookies Secure; set when served over TLS or
	// behind a TLS-terminating proxy.
	SecureCookies   bool
	SessionIdle     time.Duration // idle timeout of a web session
	SessionLifetime time.Duration // absolute lifetime of a web session
	// PublicURL is where clients reach Stratus (scheme://host[:port], no
	// trailing slash), for the OpenStack catalog and links; empty: each
	// request's own scheme and Host.
	PublicURL string
}

// DefaultConfig is what `stratus serve` starts with.
func DefaultConfig() Config {
	return Config{SessionIdle: time.Hour, SessionLifetime: 12 * time.Hour}
}

// Deps are what the HTTP surface needs from the process.
type Deps struct {
	Store    *models.Store
	Policy   *policy.Enforcer
	Log      *slog.Logger
	Registry *prometheus.Registry // /metrics serves this registry
	Config   Config
}

// New builds the whole HTTP handler.
func New(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	sessions := NewSessionManager(d.Store, d.Config)
	m := newHTTPMetrics(d.Registry)
	registerDBMetrics(d.Registry, d.Store.DBStats)

	r := chi.NewRouter()
	r.Use(requestID, requestIDHeader, accessLog(d.Log), m.middleware, recoverer(d.Log), httpx.SecurityHeaders, compress())

	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := d.Store.Ping(r.Context()); err != nil {
			d.Log.Warn("readiness: database unreachable", "err", err, "request_id", httpx.RequestID(r))
			w.Header().Set("Retry-After", strconv.Itoa(httpx.RetryAfterSeconds))
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("database unreachable\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	r.Handle("/metrics", promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))
	assets := static.New()
	r.Handle("/static/*", http.StripPrefix("/static", assets.Handler()))
	ui := web.New(web.Deps{Store: d.Store, Policy: d.Policy, Log: d.Log, Sessions: sessions, Assets: assets, PublicURL: d.Config.PublicURL})
	sessions.ErrorFunc = ui.SessionFailed // a session the database cannot load or save: the UI's 503 or 500 page
	r.Handle("/console/vnc", console.New(console.Deps{Store: d.Store, Sessions: sessions, SessionCaller: ui.SessionCaller, Log: d.Log}))
	r.Mount("/api/v1", api.New(api.Deps{Store: d.Store, Policy: d.Policy, Log: d.Log}).Router())
	// Swift's API, and its endpoint in the facade's catalog (object-store).
	objects := object.New(object.Deps{Store: d.Store, Policy: d.Policy, Log: d.Log, PublicURL: d.Config.PublicURL})
	r.Mount(object.Prefix, objects)
	openstack.New(openstack.Deps{Store: d.Store, Policy: d.Policy, Log: d.Log, PublicURL: d.Config.PublicURL},
		service.Endpoint{Type: "object-store", Name: "swift", Path: object.CatalogPath}).Mount(r)
	r.Mount("/", ui.Router())
	return object.RewriteCopy(r)
}

// NewSessionManager configures scs: sessions in the database (so every serve
// process shares them), idle and absolute timeouts, HttpOnly + SameSite=Lax
// cookies, Secure when asked.
func NewSessionManager(store *models.Store, cfg Config) *scs.SessionManager {
	sm := scs.New()
	sm.Store = store.Sessions()
	sm.IdleTimeout = cfg.SessionIdle
	sm.Lifetime = cfg.SessionLifetime
	sm.Cookie.Name = "stratus_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.SecureCookies
	sm.Cookie.Path = "/"
	return sm
}

// requestID gives every request an ID in OpenStack's form (req-<uuid>),
// generated here, never taken from the client: it goes into the logs, the
// audit and instance action records, and the answer's headers.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), middleware.RequestIDKey, "req-"+uuid.NewString())
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func requestIDHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", httpx.RequestID(r))
		next.ServeHTTP(w, r)
	})
}

func accessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			level := slog.LevelInfo
			if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
				level = slog.LevelDebug
			}
			log.Log(r.Context(), level, "http request",
				"method", r.Method, "path", r.URL.Path, "status", ww.Status(),
				"bytes", ww.BytesWritten(), "duration", time.Since(start),
				"remote", r.RemoteAddr, "request_id", httpx.RequestID(r))
		})
	}
}

// recoverer turns a panic into a 500 and logs it with the request ID.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.Error("panic serving request", "panic", v, "path", r.URL.Path, "request_id", httpx.RequestID(r))
					if strings.HasPrefix(r.URL.Path, "/api/") {
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(http.StatusInternalServerError)
						_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
							"code": "internal", "message": "internal error", "request_id": httpx.RequestID(r)}})
						return
					}
					http.Error(w, "internal error (request "+httpx.RequestID(r)+")", http.StatusInternalServerError)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}
