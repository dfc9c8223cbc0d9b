// Package openstack is Stratus' OpenStack-compatible facade: the APIs that
// the openstack CLI, openstacksdk, gophercloud, Terraform's provider and
// Ansible's collection speak, served on the same listener under devstack's
// prefixes — Keystone v3 at /identity, Nova v2.1 at /compute, Glance v2 at
// /image, Neutron v2.0 at /network, Cinder v3 at /volume. It is a third thin adapter beside handlers/web and handlers/api:
// every route translates a request into the same model operation, checked
// against the same policy table, and the answer back into the service's own
// shapes (each sub-package holds one service).
package openstack

import (
	"log/slog"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/compute"
	"stratus/handlers/openstack/identity"
	"stratus/handlers/openstack/image"
	"stratus/handlers/openstack/network"
	"stratus/handlers/openstack/service"
	"stratus/handlers/openstack/volume"
	"stratus/handlers/policy"
	"stratus/models"
)

// Deps are the facade's dependencies.
type Deps struct {
	Store  *models.Store
	Policy *policy.Enforcer
	Log    *slog.Logger
	// PublicURL is the URL clients reach Stratus at (--public-url, e.g.
	// https://cloud.example.com behind a proxy); empty: each request's own
	// scheme and Host. The catalog and every link are built from it.
	PublicURL string
}

// Endpoints are the services in the catalog, with their paths. The Swift
// API, once served at /object-storage/v1/AUTH_<project>, joins the catalog
// by passing {Type: "object-store", Name: "swift", Path:
// "/object-storage/v1/AUTH_%(project_id)s"} to New as an extra endpoint
// (the project's ID is filled in per token).
func Endpoints() []service.Endpoint {
	return []service.Endpoint{
		{Type: "identity", Name: "keystone", Path: identity.Prefix},
		{Type: "compute", Name: "nova", Path: compute.Prefix + "/v2.1"},
		{Type: "image", Name: "glance", Path: image.Prefix},
		{Type: "network", Name: "neutron", Path: network.Prefix},
		{Type: "block-storage", Name: "cinder", Path: volume.Prefix + "/v3/%(project_id)s"},
		{Type: "volumev3", Name: "cinderv3", Path: volume.Prefix + "/v3/%(project_id)s"},
	}
}

// Facade is the set of OpenStack services.
type Facade struct {
	services []*service.Service
}

// New builds the facade. extra endpoints (served by other packages, such as
// the object store) are added to the catalog.
func New(d Deps, extra ...service.Endpoint) *Facade {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	sd := service.Deps{Store: d.Store, Policy: d.Policy, Log: d.Log, PublicURL: d.PublicURL,
		Endpoints: append(Endpoints(), extra...)}
	return &Facade{services: []*service.Service{identity.New(sd), compute.New(sd), image.New(sd), network.New(sd), volume.New(sd)}}
}

// Mount serves every service under its prefix.
func (f *Facade) Mount(r chi.Router) {
	for _, s := range f.services {
		r.Mount(s.Prefix, s.Router())
	}
}

// Routes lists every route of the facade with its policy action, with the
// service prefixes (for the RBAC matrix).
func (f *Facade) Routes() []policy.Route {
	var out []policy.Route
	for _, s := range f.services {
		out = append(out, s.PolicyRoutes()...)
	}
	return out
}
