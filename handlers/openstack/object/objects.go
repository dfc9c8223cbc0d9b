package object

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"stratus/handlers/httpx"
	"stratus/models"
)

// getObject is GET or HEAD on an object: its bytes (ranges, conditional
// requests), or with ?multipart-manifest=get a large object's manifest.
func (a *API) getObject(w http.ResponseWriter, r *http.Request, q *request) {
	manifest := r.URL.Query().Get("multipart-manifest") == "get"
	rd, err := a.Store.ReadObject(r.Context(), q.project, q.container, q.object,
		models.ReadOptions{Body: r.Method == http.MethodGet, Manifest: manifest})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if rd.Content != nil {
		defer rd.Content.Close()
	}
	h := w.Header()
	objectHeaders(h, rd, manifest)
	// Objects share the web UI's origin: a tenant's HTML or SVG must not
	// run script there (it would act with a viewer's session). Sandboxed,
	// a document gets an opaque origin and no scripts.
	h.Set("Content-Security-Policy", objectCSP)
	if q.tempURL != nil {
		h.Set("Content-Disposition", q.tempURL.disposition(q.object))
	}
	modified := lastModified(rd.Object.LastModified())
	if st := preconditions(r, rd.ETag, modified); st != 0 {
		if st == http.StatusNotModified {
			h.Del("Content-Type")
			w.WriteHeader(st)
			return
		}
		a.fail(w, r, &swiftError{status: st, msg: "The object does not match the request's If-Match or If-Unmodified-Since."})
		return
	}
	if r.Method == http.MethodHead {
		h.Set("Content-Length", strconv.FormatInt(rd.Size, 10))
		w.WriteHeader(http.StatusOK)
		return
	}
	content := io.ReadSeeker(rd.Content)
	if manifest && rd.Object.Large == models.LargeSLO && r.URL.Query().Get("format") == "raw" {
		raw, err := models.RawManifest(rd.Content)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		content = bytes.NewReader(raw)
	}
	// The preconditions are answered; http.ServeContent does the ranges.
	r2 := r.Clone(r.Context())
	for _, k := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		r2.Header.Del(k)
	}
	http.ServeContent(abortOnError{ResponseWriter: w}, r2, "", modified, content)
}

// objectCSP is the Content-Security-Policy of every object served.
const objectCSP = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"

// abortOnError drops the connection when the body cannot be completed (a
// segment of a large object vanished mid-stream) rather than end it as if
// the object were shorter; the client sees a broken download, as with
// Swift.
type abortOnError struct{ http.ResponseWriter }

func (w abortOnError) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(w.ResponseWriter, r)
	}
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	return n, nil
}

// preconditions applies If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since (RFC 9110's order), comparing ETags with or without
// their quotes as Swift does. It returns 0 to go on, 412 or 304.
func preconditions(r *http.Request, etag string, modified time.Time) int {
	bare := strings.Trim(etag, `"`)
	matches := func(header string) bool {
		for _, t := range strings.Split(header, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || strings.Trim(t, `"`) == bare {
				return true
			}
		}
		return false
	}
	if im := r.Header.Get("If-Match"); im != "" {
		if !matches(im) {
			return http.StatusPreconditionFailed
		}
	} else if ius := r.Header.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && modified.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if matches(inm) {
			return http.StatusNotModified
		}
	} else if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !modified.After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

// objectWrite reads what a PUT says about the object besides its bytes.
func (a *API) objectWrite(r *http.Request) (models.ObjectWrite, error) {
	h := r.Header
	w := models.ObjectWrite{ContentType: h.Get("Content-Type"), ETag: h.Get("ETag"), ContentLength: r.ContentLength,
		Metadata: objectMeta(h), Manifest: h.Get("X-Object-Manifest")}
	if truthy(h.Get("X-Detect-Content-Type")) {
		w.ContentType = ""
	}
	if w.ContentType != "" {
		if _, _, err := mime.ParseMediaType(w.ContentType); err != nil {
			return w, badRequest("Content-Type is not a media type")
		}
	}
	at, err := deleteAt(h, time.Now())
	if err != nil {
		return w, err
	}
	w.DeleteAt = at
	w.IfNoneMatch = strings.TrimSpace(h.Get("If-None-Match")) == "*"
	if inm := h.Get("If-None-Match"); inm != "" && !w.IfNoneMatch {
		return w, badRequest("If-None-Match on a PUT can only be *")
	}
	return w, nil
}

// putObject is PUT on an object: upload (streamed), server-side copy
// (X-Copy-From, or a COPY), or a static large object's manifest
// (?multipart-manifest=put).
func (a *API) putObject(w http.ResponseWriter, r *http.Request, q *request) {
	if err := copyError(r); err != nil {
		a.fail(w, r, err)
		return
	}
	ow, err := a.objectWrite(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if q.tempURL != nil && (ow.Manifest != "" || r.Header.Get("X-Copy-From") != "" || r.URL.Query().Has("multipart-manifest")) {
		a.fail(w, r, badRequest("A temporary URL can upload an object, not a manifest or a copy."))
		return
	}
	if src := r.Header.Get("X-Copy-From"); src != "" {
		a.copyObject(w, r, q, ow, src)
		return
	}
	if r.ContentLength < 0 && len(r.TransferEncoding) == 0 || (r.ContentLength == 0 && r.Header.Get("Content-Length") == "" && len(r.TransferEncoding) == 0) {
		a.fail(w, r, &swiftError{status: http.StatusLengthRequired, msg: "Send Content-Length or Transfer-Encoding: chunked."})
		return
	}
	body := &uploadBody{r: r.Body}
	var o models.Object
	if r.URL.Query().Get("multipart-manifest") == "put" {
		segs, perr := models.ParseManifest(body)
		if perr != nil {
			a.fail(w, r, perr)
			return
		}
		ow.ContentLength = -1
		o, err = a.Store.PutManifest(r.Context(), q.project, q.container, q.object, ow, segs)
	} else {
		o, err = a.Store.PutObject(r.Context(), q.project, q.container, q.object, ow, body)
	}
	if err != nil && body.err != nil {
		a.Log.Warn("object upload cut short", "container", q.container, "err", body.err, "request_id", httpx.RequestID(r))
		a.fail(w, r, &swiftError{status: http.StatusBadRequest, msg: "The upload was cut short; nothing was stored."})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	written(w, o)
}

// written answers a successful PUT (201).
func written(w http.ResponseWriter, o models.Object) {
	h := w.Header()
	h.Set("ETag", o.ETagHeader())
	h.Set("Last-Modified", lastModified(o.LastModified()).Format(http.TimeFormat))
	h.Set("X-Timestamp", models.SwiftTimestamp(o.LastModified()))
	empty(w, http.StatusCreated)
}

// uploadBody remembers why reading a request body failed, if it did: a
// client that went away is not a server error.
type uploadBody struct {
	r   io.Reader
	err error
}

func (b *uploadBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// copyObject serves a PUT with X-Copy-From: the source must be readable by
// the caller (its own project, or a container ACL), the destination
// writable (already checked).
func (a *API) copyObject(w http.ResponseWriter, r *http.Request, q *request, ow models.ObjectWrite, from string) {
	from, err := url.PathUnescape(from)
	if err != nil {
		a.fail(w, r, &swiftError{status: http.StatusPreconditionFailed, msg: "X-Copy-From must be <container>/<object>"})
		return
	}
	sc, so, ok := strings.Cut(strings.TrimPrefix(from, "/"), "/")
	if !ok || sc == "" || so == "" {
		a.fail(w, r, &swiftError{status: http.StatusPreconditionFailed, msg: "X-Copy-From must be <container>/<object>"})
		return
	}
	src := models.CopySource{Project: q.project, Container: sc, Name: so, Manifest: r.URL.Query().Get("multipart-manifest") == "get"}
	srcAccount := q.account
	if acct := r.Header.Get("X-Copy-From-Account"); acct != "" {
		srcAccount = acct
		if src.Project = models.ProjectOfAccount(acct); src.Project == "" {
			a.fail(w, r, notFound("The source account does not exist."))
			return
		}
	}
	ok, err = a.mayRead(r, q, src.Project, sc)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !ok {
		a.fail(w, r, notFound("The source object does not exist or you may not read it."))
		return
	}
	ow.ContentLength = -1
	o, source, err := a.Store.CopyObject(r.Context(), src, q.project, q.container, q.object, ow, truthy(r.Header.Get("X-Fresh-Metadata")))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("X-Copied-From", url.PathEscape(sc)+"/"+escapeObject(so))
	h.Set("X-Copied-From-Account", srcAccount)
	h.Set("X-Copied-From-Last-Modified", lastModified(source.LastModified()).Format(http.TimeFormat))
	written(w, o)
}

// postObject is POST on an object: replace its metadata (202).
func (a *API) postObject(w http.ResponseWriter, r *http.Request, q *request) {
	at, err := deleteAt(r.Header, time.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct != "" {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			a.fail(w, r, badRequest("Content-Type is not a media type"))
			return
		}
	}
	ch := models.ObjectChange{Metadata: objectMeta(r.Header), ContentType: ct, DeleteAt: at}
	if _, err := a.Store.UpdateObject(r.Context(), q.project, q.container, q.object, ch); err != nil {
		a.fail(w, r, err)
		return
	}
	empty(w, http.StatusAccepted)
}

// deleteObject is DELETE on an object (204); with
// ?multipart-manifest=delete, a static large object and its segments.
func (a *API) deleteObject(w http.ResponseWriter, r *http.Request, q *request) {
	if r.URL.Query().Get("multipart-manifest") == "delete" {
		a.deleteLargeObject(w, r, q)
		return
	}
	if _, err := a.Store.DeleteObject(r.Context(), q.project, q.container, q.object); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteLargeObject deletes a static large object's segments, then its
// manifest, and reports as a bulk delete does.
func (a *API) deleteLargeObject(w http.ResponseWriter, r *http.Request, q *request) {
	deletes, err := a.Store.DeleteLargeObject(r.Context(), q.project, q.container, q.object)
	if errors.Is(err, models.ErrInvalid) {
		// Not a large object: delete it as it is, as Swift does.
		if _, err := a.Store.DeleteObject(r.Context(), q.project, q.container, q.object); err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	res := bulkResult{}
	for p, err := range deletes {
		res.record(p, err)
	}
	a.writeBulk(w, r, res)
}

// disposition is the Content-Disposition of a download through a
// temporary URL: an attachment named after the object (or ?filename=), or
// inline with ?inline.
func (t *tempURL) disposition(object string) string {
	name := t.filename
	if name == "" {
		name = path.Base(object)
	}
	kind := "attachment"
	if t.inline {
		kind = "inline"
	}
	return mime.FormatMediaType(kind, map[string]string{"filename": name})
}
