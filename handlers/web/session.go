package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"stratus/handlers/httpx"
	"stratus/models"
)

// Session keys. The session holds who logged in, when, and in which project
// they work; roles are read fresh from the database on every request.
const (
	keyUserID     = "user_id"
	keyProjectID  = "project_id"
	keyLoginAt    = "login_at" // Unix microseconds of the login (the store's clock)
	keyCSRF       = "csrf"
	keyFlash      = "flash"
	keyFlashError = "flash_error"
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

// csrfToken returns the session's synchronizer token, making one if the
// session has none yet (the login form needs one before anyone logs in).
func (h *Web) csrfToken(r *http.Request) string {
	ctx := r.Context()
	if t := h.Sessions.GetString(ctx, keyCSRF); t != "" {
		return t
	}
	t := newCSRFToken()
	h.Sessions.Put(ctx, keyCSRF, t)
	return t
}

func newCSRFToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b)
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
				h.errorPage(w, r, http.StatusRequestEntityTooLarge, "The form is too large",
					fmt.Sprintf("Forms may carry at most %d KiB. Shorten what you typed and send it again.", tooBig.Limit>>10))
				return
			}
			h.errorPage(w, r, http.StatusBadRequest, "The form could not be read", "Go back, reload the page and try again.")
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

// csrfMatches reports whether token is the session's CSRF token.
func (h *Web) csrfMatches(r *http.Request, token string) bool {
	want := []byte(h.Sessions.GetString(r.Context(), keyCSRF))
	return len(want) > 0 && subtle.ConstantTimeCompare([]byte(token), want) == 1
}

func (h *Web) csrfRefused(w http.ResponseWriter, r *http.Request) {
	h.Log.Warn("CSRF token missing or wrong", "method", r.Method, "path", r.URL.Path,
		"request_id", httpx.RequestID(r), "remote", httpx.RemoteHost(r))
	h.errorPage(w, r, http.StatusForbidden, "This form has expired",
		"The form was not sent by this Stratus page, or your session changed since it was loaded. Go back, reload the page and try again.")
}

// crossOriginDenied answers a state-changing request another site made the
// browser send (http.CrossOriginProtection refused it).
func (h *Web) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	h.Log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path,
		"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "request_id", httpx.RequestID(r))
	w.Header().Set("Cache-Control", "no-store")
	h.renderStatic(w, r, http.StatusForbidden, "Cross-site request refused",
		"Another site tried to make your browser change something in Stratus. Nothing was changed.")
}

// flash stores a one-time message shown by the next page.
func (h *Web) flash(r *http.Request, msg string) { h.Sessions.Put(r.Context(), keyFlash, msg) }

func (h *Web) flashError(r *http.Request, msg string) {
	h.Sessions.Put(r.Context(), keyFlashError, msg)
}
