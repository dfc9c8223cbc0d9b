// Package service is what every OpenStack-compatible service of the facade
// (handlers/openstack/…) shares: its route table, Keystone-style token
// authentication (X-Auth-Token), the request ID header, the base URL the
// catalog and links are built from, and JSON in and out. Each service keeps
// its own error shape: it hands the router a Shape that renders a status and
// a message the way the real service does.
package service

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"stratus/handlers/httpx"
	"stratus/handlers/policy"
	"stratus/models"
)

// Deps are what a service needs from the process.
type Deps struct {
	Store  *models.Store
	Policy *policy.Enforcer
	Log    *slog.Logger
	// PublicURL is where clients reach Stratus (--public-url), without a
	// trailing slash; empty: the scheme and Host of each request.
	PublicURL string
	// Endpoints lists the services in the catalog (see Catalog).
	Endpoints []Endpoint
}

// Handler serves one route. c is the authenticated caller (nil only on
// public routes). A returned error is rendered in the service's shape; on
// success the handler has written the answer itself.
type Handler func(w http.ResponseWriter, r *http.Request, c *models.Caller) error

// Route is one row of a service's route table: the router and the RBAC
// matrix are both built from it.
type Route struct {
	Method  string
	Pattern string // chi pattern relative to the service's prefix
	Action  string // policy action
	Summary string // what it is, in OpenStack's words
	Handle  Handler
}

// Shape renders an error body the way one OpenStack service does.
type Shape func(status int, message string) any

// Service is one OpenStack API: its prefix on the listener, its routes and
// its error shape.
type Service struct {
	Deps
	Prefix string // "/compute"
	Routes []Route
	Shape  Shape
	// Middleware runs after authentication, before the policy check (the
	// compute API's microversion negotiation).
	Middleware []func(http.Handler) http.Handler
	// QuotaStatus is the status of a quota refusal when the service's is
	// not Nova's 403 (Glance answers 413, Neutron 409).
	QuotaStatus int
}

// Router builds the service's chi router.
func (s *Service) Router() chi.Router {
	r := chi.NewRouter()
	r.Use(middleware.StripSlashes, requestIDHeader, s.authenticate)
	r.Use(s.Middleware...)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.Fail(w, r, &models.Error{Kind: models.ErrNotFound, Msg: "The resource could not be found."})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.WriteError(w, r, http.StatusMethodNotAllowed, "The method "+r.Method+" is not allowed for this resource.")
	})
	for _, rt := range s.Routes {
		h := rt.Handle
		serve := func(w http.ResponseWriter, r *http.Request) {
			var cp *models.Caller
			if c, ok := httpx.CallerFrom(r.Context()); ok {
				cp = &c
			}
			if err := h(w, r, cp); err != nil {
				s.Fail(w, r, err)
			}
		}
		r.With(s.Policy.Require(rt.Action, s.Fail)).MethodFunc(rt.Method, rt.Pattern, serve)
	}
	return r
}

// PolicyRoutes lists the routes with their policy actions, with the
// service's prefix (for the RBAC matrix).
func (s *Service) PolicyRoutes() []policy.Route {
	out := make([]policy.Route, len(s.Routes))
	for i, rt := range s.Routes {
		p := s.Prefix + rt.Pattern
		if rt.Pattern == "/" {
			p = s.Prefix
		}
		out[i] = policy.Route{Method: rt.Method, Pattern: p, Action: rt.Action}
	}
	return out
}

// BaseURL is where clients reach Stratus: --public-url, else the request's
// own scheme and host.
func (d Deps) BaseURL(r *http.Request) string {
	if d.PublicURL != "" {
		return d.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// requestIDHeader answers every request with its ID as OpenStack services
// do (the access log carries the same ID).
func requestIDHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Openstack-Request-Id", httpx.RequestID(r))
		next.ServeHTTP(w, r)
	})
}

// R is a route table row (a function, so that tables stay one line a row
// without vet's unkeyed-field warning).
func R(method, pattern, action, summary string, h Handler) Route {
	return Route{Method: method, Pattern: pattern, Action: action, Summary: summary, Handle: h}
}

// NextLinks is a collection's next-page link, as Nova, Neutron and Cinder
// write it (<collection>_links): this request's URL with its filters kept
// and the marker of the page's last item, and limit when it is not 0; nil
// when there is no next page (marker "").
func (d Deps) NextLinks(r *http.Request, marker string, limit int) []map[string]string {
	if marker == "" {
		return nil
	}
	q := r.URL.Query()
	q.Set("marker", marker)
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return []map[string]string{{"rel": "next", "href": d.BaseURL(r) + r.URL.Path + "?" + q.Encode()}}
}
