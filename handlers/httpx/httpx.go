// Package httpx is the HTTP plumbing the web and API adapters share: the
// caller in the request context, request IDs, the one table that maps model
// errors to status codes, and security headers.
package httpx

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5/middleware"

	"stratus/models"
)

type ctxKey int

const callerKey ctxKey = iota

// WithCaller stores the authenticated caller in the context.
func WithCaller(ctx context.Context, c models.Caller) context.Context {
	return context.WithValue(ctx, callerKey, c)
}

// CallerFrom returns the authenticated caller, if any.
func CallerFrom(ctx context.Context) (models.Caller, bool) {
	c, ok := ctx.Value(callerKey).(models.Caller)
	return c, ok
}

// RemoteHost is the client's address without the port, for the audit log.
func RemoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// BearerToken returns the secret of an "Authorization: Bearer …" header.
// given says whether the request had an Authorization header at all; ok
// whether it was a well-formed bearer credential.
func BearerToken(r *http.Request) (secret string, given, ok bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false, false
	}
	scheme, secret, _ := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	return secret, true, strings.EqualFold(scheme, "Bearer") && secret != ""
}

// RequestID returns the request's ID (set by chi's RequestID middleware).
func RequestID(r *http.Request) string { return middleware.GetReqID(r.Context()) }

// Problem is an error as both adapters present it.
type Problem struct {
	Status  int
	Code    string // not_found, conflict, forbidden, invalid, unauthorized, quota_exceeded, unavailable, internal
	Message string
	Fields  map[string]string
	// RetryAfter, in seconds, is when to try again (503: the database is
	// unreachable); 0 when the answer will not change by waiting.
	RetryAfter int
}

// RetryAfterSeconds is what a 503 tells clients to wait: a database that
// restarts is back within seconds, and the load balancer's probe (/readyz)
// says the same.
const RetryAfterSeconds = 5

// SetRetryAfter sets the Retry-After header a problem calls for.
func SetRetryAfter(w http.ResponseWriter, p Problem) {
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
}

// ProblemFor is the one error→status table. Errors written for users
// (*models.Error, *models.ValidationError) keep their message; a database
// that does not answer is 503 (models.Unavailable), whatever the request
// was; anything else is an internal error whose text must not reach the
// client — the caller logs it with the request ID.
func ProblemFor(err error) Problem {
	if models.Unavailable(err) {
		return Problem{Status: http.StatusServiceUnavailable, Code: "unavailable", RetryAfter: RetryAfterSeconds,
			Message: "Stratus cannot reach its database right now. Try again in a few seconds."}
	}
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		return Problem{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: "some fields are invalid", Fields: ve.Fields}
	}
	table := []struct {
		sentinel error
		status   int
		code     string
		message  string
	}{
		{models.ErrNotFound, http.StatusNotFound, "not_found", "not found"},
		{models.ErrConflict, http.StatusConflict, "conflict", "the resource is busy or in a conflicting state"},
		{models.ErrForbidden, http.StatusForbidden, "forbidden", "your role does not allow this"},
		{models.ErrQuotaExceeded, http.StatusForbidden, "quota_exceeded", "quota exceeded"},
		{models.ErrInvalid, http.StatusUnprocessableEntity, "invalid", "invalid input"},
		{models.ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large", "the request body is too large"},
		{models.ErrUnauthenticated, http.StatusUnauthorized, "unauthorized", "authentication required"},
	}
	for _, row := range table {
		if errors.Is(err, row.sentinel) {
			p := Problem{Status: row.status, Code: row.code, Message: row.message}
			var me *models.Error
			if errors.As(err, &me) {
				p.Message = me.Msg
			}
			return p
		}
	}
	return Problem{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

// SecurityHeaders sets the headers every response carries: a CSP that
// allows no inline script and no framing, nosniff, and no referrer leaks.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
