package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"stratus/handlers/httpx"
	"stratus/models"
	"stratus/views/i18n"
)

// Session keys. The session holds who logged in, when, and in which project
// they work; roles are read fresh from the database on every request.
const (
	keyUserID     = "user_id"
	keyProjectID  = "project_id"
	keyLoginAt    = "login_at" // Unix microseconds of the login (the store's clock)
	keyCSRF       = "csrf"
	keyFlash      = "flash"       // see flash.go
	keyFlashError = "flash_error" // see flash.go
)

// Request body limits. The UI's forms are small; the launch form carries
// user data (up to models.MaxUserDataBytes) besides its fields. An image
// upload is streamed into the image store, which enforces its own limit.
const (
	maxFormBytes   = 64 << 10
	maxLaunchBytes = 256 << 10
)

// limitBody bounds the request body to n bytes (n < 0: no bound, for a
// route that streams its body).
func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && n >= 0 {
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// noStore keeps pages (which may show a token secret, or an operator's view
// of users) out of browser and proxy caches.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// authenticate resolves the session's user into a Caller in the context.
// A session whose user is gone or disabled, or that began before the
// user's last password change, is destroyed: the request goes on as
// anonymous, and the policy check sends it to the login page.
func (h *Web) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if h.Sessions.GetString(ctx, keyUserID) == "" {
			next.ServeHTTP(w, r)
			return
		}
		projectID := h.Sessions.GetString(ctx, keyProjectID)
		c, err := h.SessionCaller(r)
		if errors.Is(err, models.ErrUnauthenticated) {
			if err := h.Sessions.Destroy(ctx); err != nil {
				h.serverError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		if c.ProjectID == "" {
			// The project was disabled or the user lost their role on it
			// (or never had one): move them to a project they still have.
			if c, err = h.fallbackProject(r, c); err != nil {
				h.serverError(w, r, err)
				return
			}
			if c.ProjectID != projectID {
				h.Sessions.Put(ctx, keyProjectID, c.ProjectID)
			}
		}
		c.RemoteAddr = httpx.RemoteHost(r)
		c.RequestID = httpx.RequestID(r)
		next.ServeHTTP(w, r.WithContext(httpx.WithCaller(ctx, c)))
	})
}

// SessionCaller resolves who the request's web session belongs to (the
// session must be loaded: Sessions.LoadAndSave). No session, or one that is
// no longer valid, is ErrUnauthenticated. The console proxy uses it too.
func (h *Web) SessionCaller(r *http.Request) (models.Caller, error) {
	ctx := r.Context()
	userID := h.Sessions.GetString(ctx, keyUserID)
	if userID == "" {
		return models.Caller{}, models.ErrUnauthenticated
	}
	loginAt := time.UnixMicro(h.Sessions.GetInt64(ctx, keyLoginAt)).UTC()
	return h.Store.ResolveSession(ctx, userID, h.Sessions.GetString(ctx, keyProjectID), loginAt)
}

// fallbackProject resolves the caller in the first project they have a role
// on, or returns them unscoped when they have none.
func (h *Web) fallbackProject(r *http.Request, c models.Caller) (models.Caller, error) {
	ms, err := h.Store.ProjectsOfUser(r.Context(), c.UserID)
	if err != nil || len(ms) == 0 {
		return c, err
	}
	nc, err := h.Store.ResolveCaller(r.Context(), c.UserID, ms[0].ID)
	if errors.Is(err, models.ErrUnauthenticated) {
		return c, nil
	}
	return nc, err
}

// csrfToken returns the session's synchronizer token as this response
// carries it (making the session's token first if it has none: the login
// form needs one before anyone logs in). Pages are compressed, and a
// compressed page that holds a secret beside text an attacker can choose
// (a filter in the URL) leaks the secret through its size (BREACH). So the
// page never holds the token itself but the token masked with a one-time
// pad drawn for this response — a different string on every response, the
// same one everywhere on a page (see csrfMask).
func (h *Web) csrfToken(r *http.Request) string {
	ctx := r.Context()
	t := h.Sessions.GetString(ctx, keyCSRF)
	if t == "" {
		t = newCSRFToken()
		h.Sessions.Put(ctx, keyCSRF, t)
	}
	m, _ := ctx.Value(csrfMaskKey).(*csrfMask)
	if m == nil {
		return maskCSRF(t) // outside the router (never on a page)
	}
	if m.token != t { // first use, or a token renewed by login
		m.token, m.masked = t, maskCSRF(t)
	}
	return m.masked
}

func newCSRFToken() string {
	b := make([]byte, csrfTokenBytes)
	_, _ = rand.Read(b) // never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b)
}

const csrfTokenBytes = 32

// csrfMask holds the masked token of one response, so that every copy on
// a page is the same string (and compresses to almost nothing).
type csrfMask struct{ token, masked string }

type ctxKey int

const csrfMaskKey ctxKey = iota

// withCSRFMask gives each request its own csrfMask.
func withCSRFMask(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), csrfMaskKey, &csrfMask{})))
	})
}

// maskCSRF is pad ‖ (pad ⊕ token), base64url, with a fresh random pad.
func maskCSRF(token string) string {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return ""
	}
	out := make([]byte, 2*len(raw))
	pad, masked := out[:len(raw)], out[len(raw):]
	_, _ = rand.Read(pad)
	for i := range raw {
		masked[i] = pad[i] ^ raw[i]
	}
	return base64.RawURLEncoding.EncodeToString(out)
}

// unmaskCSRF undoes maskCSRF; a malformed value gives nil.
func unmaskCSRF(sent string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(sent)
	if err != nil || len(b) != 2*csrfTokenBytes {
		return nil
	}
	pad, masked := b[:csrfTokenBytes], b[csrfTokenBytes:]
	out := make([]byte, csrfTokenBytes)
	for i := range out {
		out[i] = pad[i] ^ masked[i]
	}
	return out
}

// verifyCSRF refuses a state-changing request whose token (the csrf_token
// form field, or the X-CSRF-Token header htmx sends) is not the session's.
// It runs before the handler, so a refused request writes nothing.
func (h *Web) verifyCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		// Parse first: a form over the body limit must read as too large,
		// not as a missing token.
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				h.errorPage(w, r, http.StatusRequestEntityTooLarge, i18n.T(r.Context(), "The form is too large"),
					i18n.T(r.Context(), "Forms may carry at most %s KiB. Shorten what you typed and send it again.", strconv.FormatInt(tooBig.Limit>>10, 10)))
				return
			}
			h.errorPage(w, r, http.StatusBadRequest, i18n.T(r.Context(), "The form could not be read"), i18n.T(r.Context(), "Go back, reload the page and try again."))
			return
		}
		// Either carrier may hold it: a form always has the field; htmx also
		// sends the header from the page's <meta>, which can be older than
		// the form when htmx swapped a new page into an old one.
		if !h.csrfMatches(r, r.Header.Get("X-CSRF-Token")) && !h.csrfMatches(r, r.PostFormValue("csrf_token")) {
			h.csrfRefused(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// verifyCSRFStream is verifyCSRF for a route whose body is a stream (an
// image upload): the token must come in the X-CSRF-Token header, or — for a
// browser without JavaScript posting multipart/form-data — the handler
// checks the form's first part itself (checkStreamCSRF). The body is never
// parsed here, so it is never buffered.
func (h *Web) verifyCSRFStream(next http.Handler) http.Handler {
	form := limitBody(maxFormBytes)(h.verifyCSRF(next))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "multipart/form-data") && r.Header.Get("X-CSRF-Token") == "" {
			next.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			// Not a file: an ordinary (small) form, checked as one; the
			// handler refuses it as an upload.
			form.ServeHTTP(w, r)
			return
		}
		if !h.csrfMatches(r, r.Header.Get("X-CSRF-Token")) {
			h.csrfRefused(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// csrfMatches reports whether sent is the session's CSRF token as a page
// carried it (masked: any pad will do).
func (h *Web) csrfMatches(r *http.Request, sent string) bool {
	want, err := base64.RawURLEncoding.DecodeString(h.Sessions.GetString(r.Context(), keyCSRF))
	got := unmaskCSRF(sent)
	return err == nil && len(want) == csrfTokenBytes && got != nil && subtle.ConstantTimeCompare(got, want) == 1
}

func (h *Web) csrfRefused(w http.ResponseWriter, r *http.Request) {
	h.Log.Warn("CSRF token missing or wrong", "method", r.Method, "path", r.URL.Path,
		"request_id", httpx.RequestID(r), "remote", httpx.RemoteHost(r))
	h.errorPage(w, r, http.StatusForbidden, i18n.T(r.Context(), "This form has expired"),
		i18n.T(r.Context(), "The form was not sent by this Stratus page, or your session changed since it was loaded. Go back, reload the page and try again."))
}

// crossOriginDenied answers a state-changing request another site made the
// browser send (http.CrossOriginProtection refused it).
func (h *Web) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	h.Log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path,
		"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "request_id", httpx.RequestID(r))
	w.Header().Set("Cache-Control", "no-store")
	h.renderStatic(w, r, http.StatusForbidden, i18n.T(r.Context(), "Cross-site request refused"),
		i18n.T(r.Context(), "Another site tried to make your browser change something in Stratus. Nothing was changed."))
}

// guardSessions lets a session that cannot be loaded or saved (the
// database does not answer) end the request with one clean error page: scs
// calls its ErrorFunc (SessionFailed) and then still writes the handler's
// own answer through this writer, which drops it.
func guardSessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&sessionGuard{ResponseWriter: w}, r)
	})
}

type sessionGuard struct {
	http.ResponseWriter
	failed bool // SessionFailed answered: drop what follows
}

func (g *sessionGuard) WriteHeader(code int) {
	if !g.failed {
		g.ResponseWriter.WriteHeader(code)
	}
}

func (g *sessionGuard) Write(b []byte) (int, error) {
	if g.failed {
		return len(b), nil
	}
	return g.ResponseWriter.Write(b)
}

func (g *sessionGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// SessionFailed is the session manager's ErrorFunc: a session that could
// not be loaded or saved. While the database does not answer that is the
// 503 page; anything else is a 500 with the request ID.
func (h *Web) SessionFailed(w http.ResponseWriter, r *http.Request, err error) {
	if g, ok := w.(*sessionGuard); ok {
		if g.failed {
			return
		}
		w = g.ResponseWriter
		defer func() { g.failed = true }()
	}
	if p := httpx.ProblemFor(err); p.Status == http.StatusServiceUnavailable {
		h.unavailable(w, r, p, err)
		return
	}
	h.Log.Error("session failed", "err", err, "method", r.Method, "path", r.URL.Path, "request_id", httpx.RequestID(r))
	h.renderStatic(w, r, http.StatusInternalServerError, i18n.T(r.Context(), "Something went wrong"),
		i18n.T(r.Context(), "Stratus could not read or save your session. The error was logged; give the request ID below to an operator."))
}
