package object

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"stratus/handlers/httpx"
	"stratus/models"
)

// ServeHTTP answers a request below Prefix: it finds the route, decides
// whether the caller may do it, and runs it.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	txid := transID(r)
	w.Header().Set("X-Trans-Id", txid)
	w.Header().Set("X-Openstack-Request-Id", txid)
	lv, account, container, object, ok := parsePath(strings.TrimPrefix(r.URL.Path, Prefix))
	if !ok {
		a.fail(w, r, notFound("There is nothing at this path. The Swift API is at "+Prefix+"/v1/AUTH_<project id>."))
		return
	}
	rt, allow := a.match(r.Method, lv, r)
	if rt.serve == nil {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		a.fail(w, r, &swiftError{status: http.StatusMethodNotAllowed, msg: r.Method + " is not allowed here; use " + strings.Join(allow, ", ")})
		return
	}
	q := &request{account: account, container: container, object: object}
	if err := a.authorize(r, rt, q); err != nil {
		a.fail(w, r, err)
		return
	}
	rt.serve(w, r, q)
}

// match finds the route of a request and, when there is none for its
// method, the methods the path takes.
func (a *API) match(method string, lv level, r *http.Request) (route, []string) {
	var allow []string
	for _, rt := range a.table {
		if rt.level != lv || (rt.query != "" && !r.URL.Query().Has(rt.query)) {
			continue
		}
		if rt.Method == method {
			return rt, nil
		}
		if !slices.Contains(allow, rt.Method) {
			allow = append(allow, rt.Method)
		}
	}
	if slices.Contains(allow, http.MethodPut) && lv == levelObject {
		allow = append(allow, "COPY")
	}
	return route{}, allow
}

// transID is the request's ID as Swift names it (X-Trans-Id); the access
// log carries the same ID.
func transID(r *http.Request) string {
	return "tx" + strings.NewReplacer("/", "-", " ", "-").Replace(httpx.RequestID(r))
}

type copyErrKey struct{}

// RewriteCopy turns COPY /…/container/object with a Destination header into
// the PUT with X-Copy-From that it means (what Swift's copy middleware
// does). It wraps the whole router, because chi refuses methods it does not
// know before any handler runs.
func RewriteCopy(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "COPY" || !strings.HasPrefix(r.URL.Path, Prefix+"/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		lv, account, container, object, ok := parsePath(strings.TrimPrefix(r.URL.Path, Prefix))
		dest := r.Header.Get("Destination")
		r2 := r.Clone(r.Context())
		r2.Method = http.MethodPut
		r2.Body, r2.ContentLength = http.NoBody, 0
		r2.Header.Del("Transfer-Encoding")
		r2.Header.Set("Content-Length", "0")
		src := "/" + url.PathEscape(container) + "/" + escapeObject(object)
		r2.Header.Set("X-Copy-From", src)
		if da := r.Header.Get("Destination-Account"); da != "" {
			r2.Header.Set("X-Copy-From-Account", account)
			account = da
		}
		dest, err := url.PathUnescape(dest)
		dc, do, found := strings.Cut(strings.TrimPrefix(dest, "/"), "/")
		switch {
		case !ok || lv != levelObject:
			r2 = r2.WithContext(context.WithValue(r2.Context(), copyErrKey{}, "COPY needs an object: COPY /v1/<account>/<container>/<object>"))
		case dest == "" || err != nil || !found || dc == "" || do == "":
			r2 = r2.WithContext(context.WithValue(r2.Context(), copyErrKey{}, "COPY needs a Destination header: <container>/<object>"))
		default:
			r2.URL.Path = Prefix + "/v1/" + account + "/" + dc + "/" + do
			r2.URL.RawPath = ""
		}
		next.ServeHTTP(w, r2)
	})
}

// escapeObject escapes an object name for a path, keeping its slashes.
func escapeObject(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// copyError is what RewriteCopy found wrong with a COPY.
func copyError(r *http.Request) error {
	if msg, ok := r.Context().Value(copyErrKey{}).(string); ok {
		return &swiftError{status: http.StatusPreconditionFailed, msg: msg}
	}
	return nil
}

// callerOf authenticates X-Auth-Token (or X-Storage-Token): nil without
// one, ErrUnauthenticated for a bad one.
func (a *API) callerOf(r *http.Request) (*models.Caller, error) {
	secret := r.Header.Get("X-Auth-Token")
	if secret == "" {
		secret = r.Header.Get("X-Storage-Token")
	}
	if secret == "" {
		return nil, nil
	}
	c, err := a.Store.AuthenticateToken(r.Context(), secret)
	if errors.Is(err, models.ErrUnauthenticated) {
		return nil, &swiftError{status: http.StatusUnauthorized, msg: "The token is invalid, expired or revoked."}
	}
	if err != nil {
		return nil, err
	}
	c.RemoteAddr, c.RequestID = httpx.RemoteHost(r), httpx.RequestID(r)
	return &c, nil
}

// need is what a route needs from a container ACL when the caller is not
// a member of the account's project.
func need(action string) (read, list, write bool) {
	switch action {
	case "object:object:get":
		return true, false, false
	case "object:container:get":
		return false, true, false
	case "object:object:create", "object:object:update", "object:object:delete":
		return false, false, true
	}
	return false, false, false
}

// authorize decides whether the request may run, filling q with who acts
// and how. See the package comment for the rules.
func (a *API) authorize(r *http.Request, rt route, q *request) error {
	if rt.level == levelInfo || rt.level == levelAuth {
		return nil // public (the policy table says so; New checked it)
	}
	q.project = models.ProjectOfAccount(q.account)
	if sig := r.URL.Query().Get("temp_url_sig"); sig != "" {
		if rt.level != levelObject || q.project == "" {
			return unauthorized("Temp URL invalid: temporary URLs name an object.")
		}
		t, err := a.checkTempURL(r, q)
		if err != nil {
			return err
		}
		q.tempURL, q.owner = t, true
		return nil
	}
	c, err := a.callerOf(r)
	if err != nil {
		return err
	}
	q.caller = c
	if q.project == "" {
		return a.denied(c, false, "account not found")
	}
	if c != nil && c.ProjectID == q.project {
		if !a.Policy.Allowed(c, rt.Action) {
			return &swiftError{status: http.StatusForbidden, msg: "Your role on this project does not allow this."}
		}
		q.owner = true
		return nil
	}
	if rt.level == levelAccount {
		return a.denied(c, false, "account not found")
	}
	read, list, write := need(rt.Action)
	ct, err := a.Store.GetContainer(r.Context(), q.project, q.container)
	if errors.Is(err, models.ErrNotFound) {
		return a.denied(c, false, "container not found")
	} else if err != nil {
		return err
	}
	g := ct.GrantFor(c, r.Referer())
	if (read && g.Read) || (list && g.List) || (write && g.Write) {
		q.grant = g
		return nil
	}
	return a.denied(c, g.Read || g.List || g.Write, "container not found")
}

// denied is a refusal: without a token, log in (401); with one, a
// resource you have no access to at all does not exist for you (404),
// while a write to a container you may only read is forbidden (403).
func (a *API) denied(c *models.Caller, someAccess bool, what string) error {
	switch {
	case c == nil:
		return unauthorized("Authentication required: send X-Auth-Token.")
	case someAccess:
		return &swiftError{status: http.StatusForbidden, msg: "The container's ACL does not let you do this."}
	}
	return notFound(strings.ToUpper(what[:1]) + what[1:] + ".")
}

// mayRead reports whether the request's caller may read objects of
// another container of the same or another account (a copy's source).
func (a *API) mayRead(r *http.Request, q *request, project, container string) (bool, error) {
	if q.tempURL != nil {
		return false, nil
	}
	if q.caller != nil && q.caller.ProjectID == project {
		return a.Policy.Allowed(q.caller, "object:object:get"), nil
	}
	ct, err := a.Store.GetContainer(r.Context(), project, container)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return ct.GrantFor(q.caller, r.Referer()).Read, nil
}
