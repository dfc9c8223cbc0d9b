package object

import (
	"net/http"
	"strings"

	"stratus/models"
)

// containerChange reads metadata and ACLs from a container PUT or POST.
func containerChange(h http.Header) models.ContainerChange {
	set, remove := metaChange(h, "container")
	ch := models.ContainerChange{Set: set, Remove: remove}
	for _, acl := range []struct {
		name string
		dst  **string
	}{{"X-Container-Read", &ch.ReadACL}, {"X-Container-Write", &ch.WriteACL}} {
		if vs, ok := h[acl.name]; ok {
			v := strings.Join(vs, ",")
			*acl.dst = &v
		}
		if _, ok := h["X-Remove-"+strings.TrimPrefix(acl.name, "X-")]; ok {
			empty := ""
			*acl.dst = &empty
		}
	}
	return ch
}

// putContainer is PUT on a container: create it (201), or update its
// metadata when it exists (202).
func (a *API) putContainer(w http.ResponseWriter, r *http.Request, q *request) {
	_, created, err := a.Store.CreateContainer(r.Context(), q.project, q.container, containerChange(r.Header))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if created {
		empty(w, http.StatusCreated)
		return
	}
	empty(w, http.StatusAccepted)
}

// postContainer is POST on a container: metadata and ACLs (204).
func (a *API) postContainer(w http.ResponseWriter, r *http.Request, q *request) {
	if _, err := a.Store.UpdateContainer(r.Context(), q.project, q.container, containerChange(r.Header)); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteContainer deletes an empty container (204; 409 when it is not).
func (a *API) deleteContainer(w http.ResponseWriter, r *http.Request, q *request) {
	if err := a.Store.DeleteContainer(r.Context(), q.project, q.container); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// headContainer is HEAD on a container: its counts and metadata (204).
func (a *API) headContainer(w http.ResponseWriter, r *http.Request, q *request) {
	c, err := a.Store.GetContainer(r.Context(), q.project, q.container)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	containerHeaders(w.Header(), c, q, a.Policy.Allowed(q.caller, "object:container:update"))
	w.WriteHeader(http.StatusNoContent)
}

// getContainer is GET on a container: its listing.
func (a *API) getContainer(w http.ResponseWriter, r *http.Request, q *request) {
	o, pathMode, err := listing(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, entries, err := a.Store.ListObjects(r.Context(), q.project, q.container, o)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	containerHeaders(w.Header(), c, q, a.Policy.Allowed(q.caller, "object:container:update"))
	format := listingFormat(r)
	n, body := objectListing(format, q.container, entries, pathMode)
	writeListing(w, r, format, n, body)
}
