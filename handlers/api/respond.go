package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/httpx"
	"stratus/models"
)

// errorBody is the one shape of every error the API returns.
type errorBody struct {
	Error problem `json:"error"`
}

type problem struct {
	// Code is stable for programs: not_found, conflict, forbidden, invalid,
	// unauthorized, quota_exceeded, too_large, unsupported_media_type,
	// range_not_satisfiable, precondition_failed, method_not_allowed,
	// unavailable (503 with Retry-After: the database does not answer;
	// the same request works once it does), internal.
	Code      string            `json:"code"`
	Message   string            `json:"message"`              // for people
	Fields    map[string]string `json:"fields,omitempty"`     // invalid inputs: name → what is wrong
	RequestID string            `json:"request_id,omitempty"` // quote it when reporting a problem
}

// writeJSON renders v with status. API answers are never cached: they carry
// tokens and per-caller data.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only an unencodable type gets here, which the route tests catch.
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// fail renders err through the shared error table. Internal errors are
// logged with the request ID; their text never reaches the client.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var media *mediaTypeError
	if errors.As(err, &media) {
		a.writeProblem(w, r, http.StatusUnsupportedMediaType, "unsupported_media_type", media.Error(), nil)
		return
	}
	p := httpx.ProblemFor(err)
	switch p.Status {
	case http.StatusInternalServerError:
		a.Log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err, "request_id", httpx.RequestID(r))
	case http.StatusServiceUnavailable:
		a.Log.Warn("api request failed: database unavailable", "method", r.Method, "path", r.URL.Path, "err", err, "request_id", httpx.RequestID(r))
	}
	httpx.SetRetryAfter(w, p)
	if p.Status == http.StatusUnauthorized {
		// RFC 6750: say which scheme to use, and whether the token given
		// was the problem.
		challenge := `Bearer realm="stratus"`
		if badTokenFrom(r.Context()) {
			challenge += `, error="invalid_token"`
			if !errors.As(err, new(*models.Error)) {
				p.Message = "the token is invalid, expired or revoked"
			}
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	a.writeProblem(w, r, p.Status, p.Code, p.Message, p.Fields)
}

// writeProblem renders an error in the one shape.
func (a *API) writeProblem(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields map[string]string) {
	writeJSON(w, status, errorBody{Error: problem{Code: code, Message: msg, Fields: fields, RequestID: httpx.RequestID(r)}})
}

func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, &models.Error{Kind: models.ErrNotFound, Msg: "no such API endpoint: " + r.URL.Path})
}

// methodNotAllowed answers 405 in the API's shape with the Allow header
// chi's default handler would have set.
func (a *API) methodNotAllowed(mux chi.Router) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RoutePath != "" {
			path = rctx.RoutePath
		}
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if mux.Match(chi.NewRouteContext(), m, path) {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: problem{
			Code:      "method_not_allowed",
			Message:   r.Method + " is not allowed here; use " + strings.Join(allow, " or "),
			RequestID: httpx.RequestID(r),
		}})
	}
}
