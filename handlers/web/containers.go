package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/object"
	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
	"stratus/views/ui"
)

// The Containers panel: the project's Swift containers and their objects,
// over the same object intents as the Swift API (handlers/openstack/object).
// Containers are named in the path; objects, whose names hold slashes, in
// ?name=.

const (
	containersPageSize = 50
	objectsPageSize    = 100
	// publicReadACL is what "Make public" sets, as Horizon does: anyone
	// may read the objects and list the container.
	publicReadACL = ".r:*,.rlistings"
)

// containerParam is the {container} of a route, decoded: chi matches on the
// escaped path when a name holds characters that Go escapes otherwise.
func containerParam(r *http.Request) string {
	v := chi.URLParam(r, "container")
	if r.URL.RawPath != "" {
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
	}
	return v
}

// publicURL is a container's (or, with a name, an object's) anonymous URL.
func (h *Web) publicURL(r *http.Request, project, container, name string) string {
	u := object.URLBase(h.PublicURL, r) + object.Prefix + "/v1/" + models.AccountName(project) + "/" + url.PathEscape(container)
	if name != "" {
		u += "/" + escapePath(name)
	}
	return u
}

// escapePath escapes an object name for a URL path, keeping its slashes.
func escapePath(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// containers is the Containers panel.
func (h *Web) containers(w http.ResponseWriter, r *http.Request) {
	h.renderContainers(w, r, http.StatusOK, ui.NewForm(nil))
}

func (h *Web) renderContainers(w http.ResponseWriter, r *http.Request, status int, form ui.Form) {
	ctx := r.Context()
	c := callerOf(ctx)
	lq := readList(r, "/containers", containersPageSize, "name")
	entries, err := h.Store.ListContainers(ctx, c.ProjectID, models.ListingOptions{Prefix: lq.get("name"), Marker: lq.marker, Limit: lq.limit})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	acct, err := h.Store.GetAccount(ctx, c.ProjectID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.ContainersProps{Account: acct, Form: form, Filter: lq.get("name"), Here: lq.here(),
		StorageURL: object.URLBase(h.PublicURL, r) + object.Prefix + "/v1/" + models.AccountName(c.ProjectID),
		CanCreate:  h.allowed(ctx, "object:container:create"), CanUpdate: h.allowed(ctx, "object:container:update"),
		CanDelete: h.allowed(ctx, "object:container:delete")}
	for _, e := range entries {
		row := pages.ContainerRow{Entry: e.Item, Public: models.Container{ReadACL: e.Item.ReadACL}.Public()}
		if row.Public {
			row.PublicURL = h.publicURL(r, c.ProjectID, e.Item.Name, "")
		}
		p.Rows = append(p.Rows, row)
	}
	if len(entries) == lq.limit {
		p.Pager = lq.pager(entries[len(entries)-1].Item.Name)
	} else {
		p.Pager = lq.pager("")
	}
	h.renderPage(w, r, status, pages.ContainersPage(h.shell(r, i18n.T(r.Context(), "Containers"), "containers"), p), "results")
}

// createContainer creates a container, public when asked.
func (h *Web) createContainer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := ui.NewForm(map[string]string{"name": strings.TrimSpace(r.PostFormValue("name")), "public": r.PostFormValue("public")})
	ch := models.ContainerChange{}
	if form.Get("public") == "true" {
		acl := publicReadACL
		ch.ReadACL = &acl
	}
	name := form.Get("name")
	if _, err := h.Store.GetContainer(ctx, callerOf(ctx).ProjectID, name); err == nil {
		form.Errors["name"] = i18n.T(r.Context(), "a container with this name exists")
		h.renderContainers(w, r, http.StatusConflict, form)
		return
	}
	_, _, err := h.Store.CreateContainer(ctx, callerOf(ctx).ProjectID, name, ch)
	if fields := fieldErrors(r.Context(), err); fields != nil {
		for k, v := range fields {
			if k == "container" {
				k = "name"
			}
			form.Errors[k] = v
		}
		h.renderContainers(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, i18n.T(r.Context(), "Container %s created.", name))
	redirect(w, r, pages.ContainerHref(name, ""))
}

// setContainerAccess makes a container public (anyone may read its objects
// and list it) or private again; grants to other projects stay.
func (h *Web) setContainerAccess(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	project, name := callerOf(ctx).ProjectID, containerParam(r)
	back := safeNext(r.PostFormValue("next"))
	if back == "" {
		back = pages.ContainerHref(name, "")
	}
	ct, err := h.Store.GetContainer(ctx, project, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	acl, err := models.ParseACL(ct.ReadACL, false)
	if err != nil {
		acl = models.ACL{}
	}
	public := r.PostFormValue("public") == "true"
	var refs []string
	for _, ref := range acl.Referrers {
		if ref != "*" {
			refs = append(refs, ref)
		}
	}
	acl.Referrers, acl.Listings = refs, false
	done := i18n.T(r.Context(), "is private: only this project can read it.")
	if public {
		acl.Referrers, acl.Listings = append(acl.Referrers, "*"), true
		done = i18n.T(r.Context(), "is public: anyone can read its objects at %s", h.publicURL(r, project, name, ""))
	}
	text := acl.String()
	_, err = h.Store.UpdateContainer(ctx, project, name, models.ContainerChange{ReadACL: &text})
	h.finish(w, r, err, back, i18n.T(r.Context(), "Container %s %s", name, done))
}

// deleteContainer deletes an empty container; a full one stays, with a
// flash that says why.
func (h *Web) deleteContainer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := containerParam(r)
	err := h.Store.DeleteContainer(ctx, callerOf(ctx).ProjectID, name)
	back := safeNext(r.PostFormValue("next"))
	if back == "" || (err == nil && strings.HasPrefix(back, pages.ContainerHref(name, ""))) {
		back = "/containers"
	}
	h.finish(w, r, err, back, i18n.T(r.Context(), "Container %s deleted.", name))
}

// container shows a container at a pseudo-folder (?prefix=): its folders
// by the "/" delimiter, then its objects.
func (h *Web) container(w http.ResponseWriter, r *http.Request) {
	h.renderContainer(w, r, http.StatusOK, "")
}

func (h *Web) renderContainer(w http.ResponseWriter, r *http.Request, status int, folderErr string) {
	ctx := r.Context()
	c := callerOf(ctx)
	name := containerParam(r)
	lq := readList(r, pages.ContainerHref(name, ""), objectsPageSize, "prefix")
	prefix := r.URL.Query().Get("prefix") // untrimmed: names may end in spaces
	lq.set("prefix", prefix)
	ct, entries, err := h.Store.ListObjects(ctx, c.ProjectID, name,
		models.ListingOptions{Prefix: prefix, Delimiter: "/", Marker: lq.marker, Limit: lq.limit})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.ContainerProps{Container: ct, Public: ct.Public(), Prefix: prefix, Crumbs: pages.FolderCrumbs(name, prefix, true),
		Here: lq.here(), MaxBytes: h.Store.Options().MaxObjectBytes, FolderErr: folderErr,
		CanUpload: h.allowed(ctx, "object:object:create"), CanDelete: h.allowed(ctx, "object:object:delete"),
		CanUpdate: h.allowed(ctx, "object:container:update")}
	if p.Public {
		p.PublicURL = h.publicURL(r, c.ProjectID, name, "") + "/"
	}
	for _, e := range entries {
		if e.Subdir != "" {
			p.Folders = append(p.Folders, pages.FolderRow{Name: strings.TrimSuffix(strings.TrimPrefix(e.Subdir, prefix), "/"),
				Href: pages.ContainerHref(name, e.Subdir)})
			continue
		}
		if e.Item.Name == prefix {
			continue // the folder's own marker object
		}
		p.Objects = append(p.Objects, pages.ObjectRow{Entry: e.Item, Name: strings.TrimPrefix(e.Item.Name, prefix),
			DetailHref: pages.ObjectHref(name, e.Item.Name, "object"), FileHref: pages.ObjectHref(name, e.Item.Name, "file")})
	}
	next := ""
	if n := len(entries); n == lq.limit {
		next = entries[n-1].Item.Name
		if entries[n-1].Subdir != "" {
			next = entries[n-1].Subdir
		}
	}
	p.Pager = lq.pager(next)
	h.renderPage(w, r, status, pages.ContainerPage(h.shell(r, name, "containers"), p), "results")
}

// createFolder makes a pseudo-folder: an empty object named "<folder>/"
// (what Horizon and the swift CLI make), so it shows before any file is in
// it.
func (h *Web) createFolder(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := containerParam(r)
	prefix := r.PostFormValue("prefix")
	folder := strings.Trim(strings.TrimSpace(r.PostFormValue("folder")), "/")
	if folder == "" {
		h.renderContainer(w, r, http.StatusUnprocessableEntity, i18n.T(r.Context(), "a folder name is required"))
		return
	}
	_, err := h.Store.PutObject(ctx, callerOf(ctx).ProjectID, name, prefix+folder+"/",
		models.ObjectWrite{ContentType: "application/directory", ContentLength: 0}, strings.NewReader(""))
	if fields := fieldErrors(r.Context(), err); fields != nil {
		h.renderContainer(w, r, http.StatusUnprocessableEntity, fields["object"])
		return
	}
	h.finish(w, r, err, pages.ContainerHref(name, prefix+folder+"/"), i18n.T(r.Context(), "Folder %s created.", folder))
}
