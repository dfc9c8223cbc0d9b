package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/a-h/templ"

	"stratus/handlers/httpx"
	"stratus/models"
	"stratus/views/layout"
	"stratus/views/pages"
	"stratus/views/ui"
)

// shell gathers what the page frame needs for this request: the caller, the
// project picker's choices, the CSRF token, the navigation, a flash message.
// An htmx request for a piece of a page (a poll, a filter) gets no frame:
// it neither pays for the picker's query nor consumes a flash message that
// only a whole page can show.
func (h *Web) shell(r *http.Request, title, nav string) layout.Shell {
	ctx := r.Context()
	s := layout.Shell{
		Title:     title,
		CSRF:      h.csrfToken(r),
		Path:      r.URL.RequestURI(),
		RequestID: httpx.RequestID(r),
		Assets:    h.assets(),
	}
	if isHTMX(r) && r.Header.Get("HX-Target") != "" {
		if c, ok := httpx.CallerFrom(ctx); ok {
			s.Caller = &c
		}
		return s
	}
	if msg := h.Sessions.PopString(ctx, keyFlashError); msg != "" {
		s.Flash = layout.Flash{Message: msg, Error: true}
	} else if msg := h.Sessions.PopString(ctx, keyFlash); msg != "" {
		s.Flash = layout.Flash{Message: msg}
	}
	if c, ok := httpx.CallerFrom(ctx); ok {
		s.Caller = &c
		ms, err := h.Store.ProjectsOfUser(ctx, c.UserID)
		if err != nil {
			// The picker is a convenience: show the page without it.
			h.Log.Error("list projects for the picker", "err", err, "request_id", s.RequestID)
		}
		s.Projects = ms
		s.Nav = h.nav(&c, nav)
	}
	return s
}

func (h *Web) assets() layout.Assets {
	return layout.Assets{CSS: h.Assets.URL("app.css"), JS: h.Assets.URL("app.js"), Htmx: h.Assets.URL("htmx.min.js")}
}

// render writes a component with a status. It renders into a buffer first
// so that a failure half-way sends a clean error, not half a page.
func (h *Web) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		h.Log.Error("render page", "err", err, "path", r.URL.Path, "request_id", httpx.RequestID(r))
		http.Error(w, "internal error (request "+httpx.RequestID(r)+")", http.StatusInternalServerError)
		return
	}
	h.write(w, status, buf.Bytes())
}

// renderPage answers with only the named fragment of a page when htmx asks
// for it (its target is the fragment's element), else with the whole page.
func (h *Web) renderPage(w http.ResponseWriter, r *http.Request, status int, c templ.Component, fragment string) {
	w.Header().Add("Vary", "HX-Request, HX-Target")
	if fragment != "" && wantsFragment(r, fragment) {
		var buf bytes.Buffer
		if err := templ.RenderFragments(r.Context(), &buf, c, fragment); err != nil {
			h.Log.Error("render fragment", "err", err, "path", r.URL.Path, "request_id", httpx.RequestID(r))
			http.Error(w, "internal error (request "+httpx.RequestID(r)+")", http.StatusInternalServerError)
			return
		}
		h.write(w, status, buf.Bytes())
		return
	}
	h.render(w, r, status, c)
}

func (h *Web) write(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// isHTMX reports an htmx request that is not a boosted navigation or a
// history restore: one that wants a piece of a page, not a page.
func isHTMX(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" &&
		r.Header.Get("HX-History-Restore-Request") != "true"
}

func wantsFragment(r *http.Request, id string) bool {
	return isHTMX(r) && r.Header.Get("HX-Target") == id
}

// redirect sends the browser to a local URL after a form (303: the next
// request is a GET). htmx follows it by itself.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// safeNext returns a local path to go to, or "" when next is empty or could
// lead off this site (an open redirect): it must be a path on this host,
// not "//host", not "/\host", no scheme, no control characters.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") {
		return ""
	}
	if strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\\\r\n\t\x00") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return u.RequestURI()
}

// denied is the policy's refusal: no caller → the login page (coming back
// here after), a caller without the role → a 403 page.
func (h *Web) denied(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, models.ErrUnauthenticated) {
		to := "/login"
		if r.Method == http.MethodGet && r.URL.Path != "/" {
			to += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		if r.Header.Get("HX-Request") == "true" {
			// htmx would swap the login page into a fragment; make it
			// load the whole login page instead.
			w.Header().Set("HX-Redirect", to)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		redirect(w, r, to)
		return
	}
	h.errorPage(w, r, http.StatusForbidden, "You may not do this",
		"Your role does not allow this page or action. Ask an operator if you think it should.")
}

// fail answers a model error with the page its status calls for. Internal
// errors are logged with the request ID and shown only as that ID.
func (h *Web) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := httpx.ProblemFor(err)
	switch p.Status {
	case http.StatusInternalServerError:
		h.serverError(w, r, err)
	case http.StatusUnauthorized:
		h.denied(w, r, models.ErrUnauthenticated)
	case http.StatusNotFound:
		h.errorPage(w, r, p.Status, "Not found", p.Message)
	case http.StatusForbidden:
		h.errorPage(w, r, p.Status, "You may not do this", p.Message)
	case http.StatusConflict:
		h.errorPage(w, r, p.Status, "Not possible now", p.Message)
	default:
		h.errorPage(w, r, p.Status, "Invalid request", problemText(p))
	}
}

// problemText is a problem's message with its field errors.
func problemText(p httpx.Problem) string {
	if len(p.Fields) == 0 {
		return p.Message
	}
	var parts []string
	for k, v := range p.Fields {
		parts = append(parts, k+" "+v)
	}
	return p.Message + ": " + strings.Join(parts, "; ")
}

// userMessage is the text of a model error that may be shown as it is (a
// flash after a redirect), or a generic line with the request ID.
func (h *Web) userMessage(r *http.Request, err error) string {
	p := httpx.ProblemFor(err)
	if p.Status == http.StatusInternalServerError {
		h.Log.Error("request failed", "err", err, "path", r.URL.Path, "request_id", httpx.RequestID(r))
		return "Something went wrong on our side (request " + httpx.RequestID(r) + ")."
	}
	return problemText(p)
}

func (h *Web) serverError(w http.ResponseWriter, r *http.Request, err error) {
	h.Log.Error("request failed", "err", err, "method", r.Method, "path", r.URL.Path, "request_id", httpx.RequestID(r))
	h.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
		"Stratus could not complete this request. The error was logged; give the request ID below to an operator.")
}

// errorPage renders a refusal or failure page, in the layout when someone
// is logged in.
func (h *Web) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	if isHTMX(r) {
		// The request wanted a piece of a page (a row, a panel): show
		// the error as the whole page instead of inside that piece.
		w.Header().Set("HX-Retarget", "body")
		w.Header().Set("HX-Reswap", "innerHTML")
	}
	s := h.shell(r, title, "")
	h.render(w, r, status, pages.ErrorPage(s, pages.ErrorProps{Status: status, Title: title, Message: msg, RequestID: s.RequestID}))
}

// renderStatic renders an error page without touching the session (for
// refusals made before the session is loaded).
func (h *Web) renderStatic(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	s := layout.Shell{Title: title, RequestID: httpx.RequestID(r), Assets: h.assets()}
	h.render(w, r, status, pages.ErrorPage(s, pages.ErrorProps{Status: status, Title: title, Message: msg, RequestID: s.RequestID}))
}

func (h *Web) notFound(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
}

func (h *Web) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page does not accept this kind of request.")
}

// callerOf returns the request's caller. Routes behind a non-public action
// always have one (the policy check ran first).
func callerOf(ctx context.Context) models.Caller {
	c, _ := httpx.CallerFrom(ctx)
	return c
}

// allowed reports whether the caller may perform an action (for showing or
// hiding what a page offers; the route's own check is what enforces).
func (h *Web) allowed(ctx context.Context, action string) bool {
	c, ok := httpx.CallerFrom(ctx)
	if !ok {
		return false
	}
	return h.Policy.Allowed(&c, action)
}

// fieldErrors returns a validation error's fields, or nil.
func fieldErrors(err error) map[string]string {
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		return ve.Fields
	}
	return nil
}

// formFailed puts a model error that the user can act on into the form —
// field errors beside their fields, a conflict as the form's message — and
// reports whether it did. Other errors (internal, not found) are left to
// fail.
func (h *Web) formFailed(r *http.Request, err error, form *ui.Form) bool {
	if err == nil {
		return false
	}
	if fields := fieldErrors(err); fields != nil {
		for k, v := range fields {
			form.Errors[k] = v
		}
		return true
	}
	if errors.Is(err, models.ErrConflict) {
		form.Error = h.userMessage(r, err)
		return true
	}
	return false
}

// httpStatus is the status a model error maps to.
func httpStatus(err error) int { return httpx.ProblemFor(err).Status }
