package object

import (
	"net/http"
	"strings"

	"stratus/models"
)

// BaseURL is the URL Stratus is reached at: PublicURL, or the request's
// own scheme and host.
func (a *API) BaseURL(r *http.Request) string { return URLBase(a.PublicURL, r) }

// StorageURL is a project's account URL (the catalog's object-store
// endpoint for it).
func (a *API) StorageURL(r *http.Request, project string) string {
	return a.BaseURL(r) + Prefix + "/v1/" + models.AccountName(project)
}

// URLBase is the URL Stratus is reached at: publicURL when set, else the
// request's own scheme and host. The web UI builds public and temporary
// URLs with it.
func URLBase(publicURL string, r *http.Request) string {
	if publicURL != "" {
		return strings.TrimSuffix(publicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
