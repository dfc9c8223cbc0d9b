// Package web is the browser surface: templ pages and htmx fragments over
// the same model operations as the API, with scs sessions and CSRF checks.
//
// Every route is declared once, in routes(), with its method, pattern and
// policy action; the chi router and Routes() (which tests walk to build the
// RBAC matrix) are both made from that table, so a route cannot exist
// without an action.
package web

import (
	"log/slog"
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"

	"stratus/handlers/policy"
	"stratus/models"
	"stratus/static"
)

// Deps are the web surface's dependencies.
type Deps struct {
	Store    *models.Store
	Policy   *policy.Enforcer
	Log      *slog.Logger
	Sessions *scs.SessionManager
	Assets   *static.Assets
}

// Web serves the UI.
type Web struct {
	Deps
}

// New builds the web surface.
func New(d Deps) *Web {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Assets == nil {
		d.Assets = static.New()
	}
	return &Web{Deps: d}
}

// route is one endpoint: what it answers, which policy action guards it, and
// the handler.
type route struct {
	method  string
	pattern string
	action  string
	handler http.HandlerFunc
}

// routes is the web UI's one route table.
func (h *Web) routes() []route {
	const get, post = http.MethodGet, http.MethodPost
	return []route{
		// Session.
		{get, "/login", "web:login", h.loginPage},
		{post, "/login", "web:login", h.login},
		{post, "/logout", "web:logout", h.logout},

		// The user's own pages.
		{get, "/", "identity:me", h.overview},
		{post, "/project", "identity:project:switch", h.switchProject},
		{get, "/tokens", "identity:token:list", h.tokens},
		{post, "/tokens", "identity:token:create", h.createToken},
		{post, "/tokens/{id}/revoke", "identity:token:revoke", h.revokeToken},

		// Operators: projects.
		{get, "/admin/projects", "identity:project:list", h.adminProjects},
		{get, "/admin/projects/new", "identity:project:create", h.newProjectPage},
		{post, "/admin/projects", "identity:project:create", h.createProject},
		{get, "/admin/projects/{id}", "identity:project:get", h.adminProject},
		{post, "/admin/projects/{id}/enabled", "identity:project:update", h.setProjectEnabled},
		{post, "/admin/projects/{id}/members", "identity:role_assignment:create", h.addProjectMember},

		// Operators: users and their roles.
		{get, "/admin/users", "identity:user:list", h.adminUsers},
		{get, "/admin/users/new", "identity:user:create", h.newUserPage},
		{post, "/admin/users", "identity:user:create", h.createUser},
		{get, "/admin/users/{id}", "identity:user:get", h.adminUser},
		{post, "/admin/users/{id}/enabled", "identity:user:update", h.setUserEnabled},
		{post, "/admin/users/{id}/password", "identity:user:update", h.resetPassword},
		{post, "/admin/users/{id}/unlock", "identity:user:update", h.unlockUser},
		{post, "/admin/users/{id}/roles", "identity:role_assignment:create", h.assignRole},
		{post, "/admin/users/{id}/roles/{assignment}/delete", "identity:role_assignment:delete", h.revokeRole},

		// Operators: audit log and job queue.
		{get, "/admin/audit", "identity:audit:list", h.audit},
		{get, "/admin/jobs", "admin:job:list", h.jobs},
		{post, "/admin/jobs/{id}/retry", "admin:job:retry", h.retryJob},
		{post, "/admin/jobs/{id}/cancel", "admin:job:cancel", h.cancelJob},
	}
}

// Routes lists every route with its method, chi pattern (relative to where
// the UI is mounted, "/") and policy action.
func (h *Web) Routes() []policy.Route {
	table := h.routes()
	out := make([]policy.Route, len(table))
	for i, rt := range table {
		out[i] = policy.Route{Method: rt.method, Pattern: rt.pattern, Action: rt.action}
	}
	return out
}

// Router returns the UI's routes behind their middleware: cross-origin
// refusal, the session, the caller, then per route the policy check and the
// CSRF token check.
func (h *Web) Router() chi.Router {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(h.crossOriginDenied))

	r := chi.NewRouter()
	r.Use(cop.Handler, h.Sessions.LoadAndSave, noStore, limitBody, h.authenticate)
	for _, rt := range h.routes() {
		r.With(h.Policy.Require(rt.action, h.denied), h.verifyCSRF).Method(rt.method, rt.pattern, rt.handler)
	}
	r.NotFound(h.notFound)
	r.MethodNotAllowed(h.methodNotAllowed)
	return r
}
