package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"stratus/handlers/httpx"
	"stratus/handlers/openstack/object"
	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
	"stratus/views/ui"
)

// objectName is the ?name= of an object route (or its form field).
func objectName(r *http.Request) string {
	if n := r.URL.Query().Get("name"); n != "" {
		return n
	}
	return r.PostFormValue("name")
}

// folderOf is the pseudo-folder an object is listed in.
func folderOf(name string) string {
	if i := strings.LastIndex(strings.TrimSuffix(name, "/"), "/"); i >= 0 {
		return name[:i+1]
	}
	return ""
}

// objectDetail is an object's page.
func (h *Web) objectDetail(w http.ResponseWriter, r *http.Request) {
	h.renderObject(w, r, http.StatusOK, ui.NewForm(map[string]string{"hours": "24"}), "", time.Time{})
}

func (h *Web) renderObject(w http.ResponseWriter, r *http.Request, status int, form ui.Form, tempURL string, until time.Time) {
	ctx := r.Context()
	c := callerOf(ctx)
	container, name := containerParam(r), objectName(r)
	ct, err := h.Store.GetContainer(ctx, c.ProjectID, container)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rd, err := h.Store.ReadObject(ctx, c.ProjectID, container, name, models.ReadOptions{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.ObjectProps{Container: ct, Read: rd, TempForm: form, TempURL: tempURL, TempUntil: until,
		FileHref: pages.ObjectHref(container, name, "file"), Back: pages.ContainerHref(container, folderOf(name)),
		CanTempURL: h.allowed(ctx, "object:tempurl:create"), CanDelete: h.allowed(ctx, "object:object:delete")}
	p.Crumbs = append(pages.FolderCrumbs(container, folderOf(name), false), ui.Crumb{Label: pages.BaseName(name)})
	if ct.Public() {
		p.PublicURL = h.publicURL(r, c.ProjectID, container, name)
	}
	for k, v := range rd.Object.Metadata {
		p.Meta = append(p.Meta, [2]string{http.CanonicalHeaderKey(k), v})
	}
	sort.Slice(p.Meta, func(i, j int) bool { return p.Meta[i][0] < p.Meta[j][0] })
	h.render(w, r, status, pages.ObjectPage(h.shell(r, pages.BaseName(name), "containers"), p))
}

// downloadObject sends an object's bytes as a download (ranges work, so a
// browser can resume). Its path ends in /file, which the compression
// middleware leaves alone.
func (h *Web) downloadObject(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	container, name := containerParam(r), objectName(r)
	rd, err := h.Store.ReadObject(ctx, c.ProjectID, container, name, models.ReadOptions{Body: true})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer rd.Content.Close()
	hd := w.Header()
	hd.Set("Content-Type", rd.Object.ContentType)
	hd.Set("ETag", `"`+strings.Trim(rd.ETag, `"`)+`"`)
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": pages.BaseName(name)}))
	// Never rendered in the UI's origin (see the Swift API's objectCSP).
	hd.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	hd.Set("Cache-Control", "private, no-cache")
	http.ServeContent(w, r, "", rd.Object.LastModified(), rd.Content)
}

// uploadObject streams request bodies into objects, never parsing or
// buffering them. The page's script PUTs each file as the raw body to
// ?name=<folder + file name> with the CSRF token in a header and reads the
// plain-text answer; a browser without JavaScript POSTs multipart/form-data
// (the CSRF token first, then the files) to ?prefix=<folder> and is sent
// back to the folder.
func (h *Web) uploadObject(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	container := containerParam(r)
	if _, err := h.Store.GetContainer(ctx, c.ProjectID, container); err != nil {
		h.fail(w, r, err) // another project's container stays "not found"
		return
	}
	ctype := r.Header.Get("Content-Type")
	if strings.HasPrefix(ctype, "multipart/form-data") {
		h.uploadForm(w, r, container)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if strings.HasPrefix(ctype, "application/x-www-form-urlencoded") {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		_, _ = io.WriteString(w, i18n.T(ctx, "Send the file as the request body (or as the files of a multipart form)."))
		return
	}
	name := r.URL.Query().Get("name")
	if mt, _, err := mime.ParseMediaType(ctype); err != nil || mt == "application/octet-stream" {
		ctype = "" // guessed from the name, as Swift does
	}
	o, err := h.Store.PutObject(ctx, c.ProjectID, container, name, models.ObjectWrite{ContentType: ctype, ContentLength: r.ContentLength}, r.Body)
	if err != nil {
		w.WriteHeader(httpStatus(err))
		_, _ = io.WriteString(w, h.userMessage(r, err))
		return
	}
	_, _ = io.WriteString(w, i18n.T(ctx, "Uploaded %s (%s).", pages.BaseName(o.Name), i18n.Bytes(ctx, o.SizeBytes)))
}

// uploadForm stores each file part of a no-JavaScript upload form.
func (h *Web) uploadForm(w http.ResponseWriter, r *http.Request, container string) {
	ctx := r.Context()
	c := callerOf(ctx)
	prefix := r.URL.Query().Get("prefix")
	back := pages.ContainerHref(container, prefix)
	mr, err := r.MultipartReader()
	if err != nil {
		h.flashError(r, i18n.T(r.Context(), "The upload form could not be read."))
		redirect(w, r, back)
		return
	}
	checked := r.Header.Get("X-CSRF-Token") != "" // verifyCSRFStream checked it
	var stored []string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			h.flashError(r, i18n.T(r.Context(), "The upload was cut short."))
			redirect(w, r, back)
			return
		}
		if part.FormName() == "csrf_token" {
			tok, _ := io.ReadAll(io.LimitReader(part, 256))
			checked = checked || h.csrfMatches(r, string(tok))
			continue
		}
		if !checked {
			h.csrfRefused(w, r)
			return
		}
		if part.FormName() != "file" || part.FileName() == "" {
			continue
		}
		name := prefix + path.Base(part.FileName())
		ct := part.Header.Get("Content-Type")
		if ct == "application/octet-stream" {
			ct = ""
		}
		if _, err := h.Store.PutObject(ctx, c.ProjectID, container, name, models.ObjectWrite{ContentType: ct, ContentLength: -1}, part); err != nil {
			msg := h.userMessage(r, err)
			if len(stored) > 0 {
				msg = i18n.T(r.Context(), "Uploaded %s; then %s failed: %s", strings.Join(stored, ", "), pages.BaseName(name), msg)
			}
			h.flashError(r, msg)
			redirect(w, r, back)
			return
		}
		stored = append(stored, pages.BaseName(name))
	}
	if len(stored) == 0 {
		h.flashError(r, i18n.T(r.Context(), "Choose one or more files to upload."))
	} else {
		h.flash(r, i18n.T(r.Context(), "Uploaded %s file(s): %s.", strconv.Itoa(len(stored)), strings.Join(stored, ", ")))
	}
	redirect(w, r, back)
}

// deleteObject deletes an object — a static large object with its
// segments, as `swift delete` does.
func (h *Web) deleteObject(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	project, container, name := callerOf(ctx).ProjectID, containerParam(r), objectName(r)
	back := safeNext(r.PostFormValue("next"))
	if back == "" || strings.Contains(back, "/object?") {
		back = pages.ContainerHref(container, folderOf(name))
	}
	if _, err := h.Store.GetContainer(ctx, project, container); err != nil {
		h.fail(w, r, err)
		return
	}
	deletes, err := h.Store.DeleteLargeObject(ctx, project, container, name)
	switch {
	case errors.Is(err, models.ErrInvalid): // not a large object
		_, err = h.Store.DeleteObject(ctx, project, container, name)
	case err == nil:
		manifest := "/" + container + "/" + name
		for p, derr := range deletes {
			// A segment already gone is no failure; anything else stops
			// before the manifest, which a retry needs.
			if derr != nil && (p == manifest || !errors.Is(derr, models.ErrNotFound)) {
				err = derr
				break
			}
		}
	}
	h.finish(w, r, err, back, i18n.T(r.Context(), "%s deleted.", pages.BaseName(name)))
}

// createTempURL makes a temporary URL for an object: signed with the
// account's Temp-URL-Key (created on first use), HMAC-SHA256 over the path
// from /v1/ on, as `swift tempurl` signs it.
func (h *Web) createTempURL(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	project, container, name := callerOf(ctx).ProjectID, containerParam(r), objectName(r)
	form := ui.NewForm(map[string]string{"hours": r.PostFormValue("hours")})
	hours, err := strconv.Atoi(form.Get("hours"))
	if err != nil || hours < 1 || hours > 24*365 {
		form.Errors["hours"] = i18n.T(r.Context(), "choose how long the URL works")
		h.renderObject(w, r, http.StatusUnprocessableEntity, form, "", time.Time{})
		return
	}
	if _, err := h.Store.GetObject(ctx, project, container, name); err != nil {
		h.fail(w, r, err)
		return
	}
	key, err := h.Store.EnsureTempURLKey(ctx, project)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	until := time.Now().Add(time.Duration(hours) * time.Hour)
	signed := "/v1/" + models.AccountName(project) + "/" + container + "/" + name
	u := h.publicURL(r, project, container, name) + "?" + object.SignTempURL(key, http.MethodGet, signed, until)
	h.Log.Info("temporary URL created", "project", project, "container", container, "expires", until.UTC(), "request_id", httpx.RequestID(r))
	h.renderObject(w, r, http.StatusOK, form, u, until)
}
