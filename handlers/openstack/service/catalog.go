package service

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// Region is the one region of a Stratus cloud (devstack's name for it).
const Region = "RegionOne"

// Endpoint is a service in the catalog: its type, name and path under the
// public URL. A path may hold %(project_id)s (Swift's AUTH_ account), which
// a project-scoped token's catalog fills in.
type Endpoint struct {
	Type string // identity, compute, image, network, object-store
	Name string // keystone, nova, glance, neutron, swift
	Path string // /compute/v2.1
}

// CatalogEntry is one service of a token's catalog, as Keystone renders it.
type CatalogEntry struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Name      string            `json:"name"`
	Endpoints []CatalogEndpoint `json:"endpoints"`
}

// CatalogEndpoint is one interface (public, internal, admin) of a service.
// Stratus serves them all on one listener: the three URLs are the same.
type CatalogEndpoint struct {
	ID        string `json:"id"`
	Interface string `json:"interface"`
	Region    string `json:"region"`
	RegionID  string `json:"region_id"`
	URL       string `json:"url"`
}

// Catalog is the service catalog for a token scoped to projectID ("" for
// system scope: per-project endpoints are left out).
func (d Deps) Catalog(r *http.Request, projectID string) []CatalogEntry {
	base := d.BaseURL(r)
	out := make([]CatalogEntry, 0, len(d.Endpoints))
	for _, e := range d.Endpoints {
		path := e.Path
		if strings.Contains(path, "%(project_id)s") {
			if projectID == "" {
				continue
			}
			path = strings.ReplaceAll(path, "%(project_id)s", projectID)
		}
		entry := CatalogEntry{ID: stableID("service", e.Type), Type: e.Type, Name: e.Name}
		for _, iface := range []string{"public", "internal", "admin"} {
			entry.Endpoints = append(entry.Endpoints, CatalogEndpoint{
				ID: stableID("endpoint", e.Type, iface), Interface: iface, Region: Region, RegionID: Region, URL: base + path,
			})
		}
		out = append(out, entry)
	}
	return out
}

// stableID is an ID that stays the same across processes and restarts for
// things Stratus does not store (services, endpoints): 32 hex digits, as
// Keystone's IDs are.
func stableID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "/")))
	return hex.EncodeToString(sum[:16])
}
