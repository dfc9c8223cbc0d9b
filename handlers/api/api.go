// Package api is the JSON API (/api/v1): bearer-token authentication, one
// error shape, and the same model operations as the web UI.
//
// Every endpoint is one row of the route table (routes.go): method, pattern,
// policy action, summary, success status and a typed handler. The chi router,
// the OpenAPI document (GET /api/v1/openapi.json) and Routes() — which the
// RBAC matrix test walks — are all built from that table, so none of them can
// drift from the others.
//
// A handler has one shape, func (a *API) x(r *http.Request, c models.Caller,
// in In) (Out, error): op (operation.go) binds In from the request and hands
// it the authenticated caller, and the route renders Out or the error. Only
// the public routes (logging in, the OpenAPI document) use publicOp, whose
// handlers get no caller.
//
// Conventions a client can rely on:
//
//   - Authentication: "Authorization: Bearer <token>", from POST /auth/tokens
//     or a named API token. No cookies, so no CSRF.
//   - Errors: {"error":{"code","message","fields","request_id"}} with the
//     status from httpx.ProblemFor; "fields" names each invalid input. While
//     the database does not answer, any request is 503 "unavailable" with
//     Retry-After (as GET /readyz is).
//   - Lists: {"<things>":[...],"next":"/api/v1/<things>?marker=…"|null}.
//     "limit" (1–1000, default 100) and "marker" (the last ID of the previous
//     page) page through them; "next" is the ready-made link to the next page.
//   - IDs are UUIDs (jobs and audit events: integers); times are RFC 3339 UTC.
//     Flavors, key pairs, server groups and hosts may also be named by name
//     in a path.
//   - What finishes later answers 202 with the resource as it is now: a
//     launch (its instances in BUILD), a power action, an instance's delete
//     (task_state "deleting", or status DELETED when nothing was left to
//     destroy). Poll GET /instances/{id}.
//   - Image data is not JSON (binary.go): PUT /images/{id}/file streams the
//     request body to the image store, GET answers with the bytes (Range,
//     ETag = SHA-256).
package api

import (
	"encoding/json"
	"log/slog"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/policy"
	"stratus/models"
)

// Deps are the API's dependencies.
type Deps struct {
	Store  *models.Store
	Policy *policy.Enforcer
	Log    *slog.Logger
}

// API serves /api/v1.
type API struct {
	Deps
	table   []route
	openapi json.RawMessage // built once from the table
}

// New builds the API. It panics when the route table is inconsistent (an
// unknown policy action, a path parameter without a field, a type the
// OpenAPI reflector cannot describe): those are programming errors that must
// stop start-up, not surface at the first request.
func New(d Deps) *API {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	a := &API{Deps: d}
	a.table = a.routes()
	seen := map[string]bool{}
	for _, rt := range a.table {
		if err := rt.check(); err != nil {
			panic("api: route table: " + err.Error())
		}
		if key := rt.Method + " " + rt.Pattern; seen[key] || seen[rt.Op.id] {
			panic("api: route table: " + key + " or its handler " + rt.Op.id + " appears twice")
		} else {
			seen[key], seen[rt.Op.id] = true, true
		}
	}
	doc, err := buildOpenAPI(a.table, a.Policy)
	if err != nil {
		panic("api: OpenAPI document: " + err.Error())
	}
	if a.openapi, err = json.Marshal(doc); err != nil {
		panic("api: OpenAPI document: " + err.Error())
	}
	return a
}

// Router returns the API's routes, mounted by handlers at /api/v1.
func (a *API) Router() chi.Router {
	r := chi.NewRouter()
	r.Use(a.authenticate)
	r.NotFound(a.notFound)
	r.MethodNotAllowed(a.methodNotAllowed(r))
	for _, rt := range a.table {
		r.With(a.Policy.Require(rt.Action, a.fail)).Method(rt.Method, rt.Pattern, rt.serve(a))
	}
	return r
}

// Routes lists every endpoint with its policy action, relative to /api/v1.
func (a *API) Routes() []policy.Route {
	out := make([]policy.Route, len(a.table))
	for i, rt := range a.table {
		out[i] = policy.Route{Method: rt.Method, Pattern: rt.Pattern, Action: rt.Action}
	}
	return out
}
