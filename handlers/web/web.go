// Package web is the browser surface: templ pages and htmx fragments over
// the same model operations as the API, with scs sessions and CSRF checks.
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
func New(d Deps) *Web { return &Web{Deps: d} }

// Router returns the UI's routes.
func (h *Web) Router() chi.Router {
	r := chi.NewRouter()
	r.Get("/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "not yet", http.StatusNotImplemented) })
	return r
}
