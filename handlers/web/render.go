package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/a-h/templ"

	"stratus/handlers/httpx"
	"stratus/models"
	"stratus/views/i18n"
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
		s.Languages = h.languages(c)
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
	if err := c.Render(h.renderContext(r), &buf); err != nil {
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
		if err := templ.RenderFragments(h.renderContext(r), &buf, c, fragment); err != nil {
			h.Log.Error("render fragment", "err", err, "path", r.URL.Path, "request_id", httpx.RequestID(r))
			http.Error(w, "internal error (request "+httpx.RequestID(r)+")", http.StatusInternalServerError)
			return
		}
		h.write(w, status, buf.Bytes())
		return
	}
	h.render(w, r, status, c)
}

// renderContext is the request's context with what views need besides
// their props: the icon sprite's URL.
func (h *Web) renderContext(r *http.Request) context.Context {
	return ui.WithSprite(r.Context(), h.Assets.URL("icons.svg"))
}

// renderDialog answers a page that is a question (a confirmation): to a
// browser without JavaScript the whole page; to htmx, which followed a
// link to it, only the named fragment, shown in the page's #dialog over
// the page the link was on (no navigation, no scrolling, no history entry).
func (h *Web) renderDialog(w http.ResponseWriter, r *http.Request, c templ.Component, fragment string) {
	w.Header().Add("Vary", "HX-Request")
	if r.Header.Get("HX-Request") != "true" || r.Header.Get("HX-History-Restore-Request") == "true" {
		h.render(w, r, http.StatusOK, c)
		return
	}
	var buf bytes.Buffer
	if err := templ.RenderFragments(h.renderContext(r), &buf, c, fragment); err != nil {
		h.Log.Error("render dialog", "err", err, "path", r.URL.Path, "request_id", httpx.RequestID(r))
		http.Error(w, "internal error (request "+httpx.RequestID(r)+")", http.StatusInternalServerError)
		return
	}
	w.Header().Set("HX-Retarget", "#dialog")
	w.Header().Set("HX-Reswap", "innerHTML show:none")
	w.Header().Set("HX-Push-Url", "false")
	h.write(w, http.StatusOK, buf.Bytes())
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
	h.errorPage(w, r, http.StatusForbidden, i18n.T(r.Context(), "You may not do this"),
		i18n.T(r.Context(), "Your role does not allow this page or action. Ask an operator if you think it should."))
}

// fail answers a model error with the page its status calls for. Internal
// errors are logged with the request ID and shown only as that ID.
func (h *Web) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := httpx.ProblemFor(err)
	switch p.Status {
	case http.StatusInternalServerError, http.StatusServiceUnavailable:
		h.serverError(w, r, err)
	case http.StatusUnauthorized:
		h.denied(w, r, models.ErrUnauthenticated)
	case http.StatusNotFound:
		h.errorPage(w, r, p.Status, i18n.T(r.Context(), "Not found"), problemText(r.Context(), p, err))
	case http.StatusForbidden:
		h.errorPage(w, r, p.Status, i18n.T(r.Context(), "You may not do this"), problemText(r.Context(), p, err))
	case http.StatusConflict:
		h.errorPage(w, r, p.Status, i18n.T(r.Context(), "Not possible now"), problemText(r.Context(), p, err))
	default:
		h.errorPage(w, r, p.Status, i18n.T(r.Context(), "Invalid request"), problemText(r.Context(), p, err))
	}
}

// problemText is a problem's message with its field errors, in the
// reader's language: the API keeps the models' English, the console says
// what the catalogue has for it (modelMessage).
func problemText(ctx context.Context, p httpx.Problem, err error) string {
	msg := modelMessage(ctx, err, p.Message)
	if len(p.Fields) == 0 {
		return msg
	}
	var parts []string
	for k, v := range fieldErrors(ctx, err) { // p.Fields, translated
		parts = append(parts, i18n.T(ctx, "%s %s", k, v))
	}
	sort.Strings(parts)
	return i18n.T(ctx, "%s: %s", msg, strings.Join(parts, "; "))
}

// modelMessage is the message of a model error in the reader's language:
// the format it was made from (models.Error's Format) looked up in the
// catalogue (modelFormat); else the message itself when the catalogue has
// it (a fixed sentence); else the English.
func modelMessage(ctx context.Context, err error, msg string) string {
	var me *models.Error
	if errors.As(err, &me) && me.Format != "" && me.Msg == msg {
		return modelFormat(ctx, me.Format, me.Args)
	}
	return i18n.Known(ctx, msg)
}

// modelFormat is a message the models made with fmt.Sprintf, in the
// reader's language: its format looked up in the catalogue, with its
// arguments that are status codes ("SHUTOFF") translated as the badges
// are and those that are another field's problem (or a list of problems,
// a manifest's per-segment errors) translated in turn.
func modelFormat(ctx context.Context, format string, args []any) string {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			if statusCode.MatchString(v) {
				a = i18n.Known(ctx, v)
			}
		case models.Problem:
			a = fieldMessage(ctx, v)
		case models.ProblemList:
			texts := make([]string, len(v))
			for j, p := range v {
				texts[j] = fieldMessage(ctx, p)
			}
			a = strings.Join(texts, "; ")
		case models.QuotaName:
			label, _ := pages.QuotaLabel(string(v))
			a = i18n.Known(ctx, label)
		}
		out[i] = a
	}
	return i18n.From(ctx).T(format, out...)
}

// fieldMessage is a field's problem in the reader's language: its format
// through the catalogue when it was made from one, else its text when the
// catalogue has it, else the English.
func fieldMessage(ctx context.Context, p models.Problem) string {
	if p.Msg.Format != "" {
		return modelFormat(ctx, p.Msg.Format, p.Msg.Args)
	}
	return i18n.Known(ctx, p.Text)
}

// statusCode is a Nova-style status argument of a model message.
var statusCode = regexp.MustCompile(`^[A-Z][A-Z_]+$`)

// userMessage is the text of a model error that may be shown as it is (a
// flash after a redirect), or a generic line with the request ID.
func (h *Web) userMessage(r *http.Request, err error) string {
	p := httpx.ProblemFor(err)
	if p.Status == http.StatusInternalServerError {
		h.Log.Error("request failed", "err", err, "path", r.URL.Path, "request_id", httpx.RequestID(r))
		return i18n.T(r.Context(), "Something went wrong on our side (request %s).", httpx.RequestID(r))
	}
	return problemText(r.Context(), p, err)
}

func (h *Web) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if p := httpx.ProblemFor(err); p.Status == http.StatusServiceUnavailable {
		h.unavailable(w, r, p, err)
		return
	}
	h.Log.Error("request failed", "err", err, "method", r.Method, "path", r.URL.Path, "request_id", httpx.RequestID(r))
	h.errorPage(w, r, http.StatusInternalServerError, i18n.T(r.Context(), "Something went wrong"),
		i18n.T(r.Context(), "Stratus could not complete this request. The error was logged; give the request ID below to an operator."))
}

// unavailable answers while the database does not answer: 503 with
// Retry-After and a page that says so. The page touches neither the
// session nor the database (both would fail again). An htmx request shows
// it as the whole page — except a fragment fetched by GET (a poll, a
// filter), which changes nothing on the page: the poller tries again in a
// second and the page heals itself when the database is back.
func (h *Web) unavailable(w http.ResponseWriter, r *http.Request, p httpx.Problem, err error) {
	h.Log.Warn("request failed: database unavailable", "err", err, "method", r.Method, "path", r.URL.Path, "request_id", httpx.RequestID(r))
	hdr := w.Header()
	for k := range hdr {
		if strings.HasPrefix(k, "Hx-") {
			hdr.Del(k) // a retarget meant for the answer that could not be made
		}
	}
	switch {
	case isHTMX(r) && r.Method == http.MethodGet:
		hdr.Set("HX-Reswap", "none")
	case r.Header.Get("HX-Request") == "true":
		hdr.Set("HX-Retarget", "body")
		hdr.Set("HX-Reswap", "innerHTML")
	}
	hdr.Set("Cache-Control", "no-store")
	httpx.SetRetryAfter(w, p)
	h.renderStatic(w, r, http.StatusServiceUnavailable, i18n.T(r.Context(), "Stratus is briefly unavailable"),
		i18n.T(r.Context(), "Stratus cannot reach its database right now. Nothing is wrong with your request: try again in a few seconds."))
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
	h.errorPage(w, r, http.StatusNotFound, i18n.T(r.Context(), "Page not found"), i18n.T(r.Context(), "There is no page at this address."))
}

func (h *Web) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusMethodNotAllowed, i18n.T(r.Context(), "Method not allowed"), i18n.T(r.Context(), "This page does not accept this kind of request."))
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

// fieldErrors returns a validation error's fields in the reader's
// language (fieldMessage), or nil.
func fieldErrors(ctx context.Context, err error) map[string]string {
	var ve *models.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	out := make(map[string]string, len(ve.Fields))
	for k := range ve.Fields {
		out[k] = fieldMessage(ctx, ve.Problem(k))
	}
	return out
}

// formFailed puts a model error that the user can act on into the form —
// field errors beside their fields, a conflict as the form's message — and
// reports whether it did. Other errors (internal, not found) are left to
// fail.
func (h *Web) formFailed(r *http.Request, err error, form *ui.Form) bool {
	if err == nil {
		return false
	}
	if fields := fieldErrors(r.Context(), err); fields != nil {
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
