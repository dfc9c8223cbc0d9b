// Package api is the JSON API (/api/v1): bearer-token authentication, one
// error shape, and the same model operations as the web UI.
package api

import (
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
}

// New builds the API.
func New(d Deps) *API { return &API{Deps: d} }

// Router returns the API's routes.
func (a *API) Router() chi.Router {
	r := chi.NewRouter()
	return r
}
