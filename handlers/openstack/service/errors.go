package service

import (
	"errors"
	"net/http"
	"sort"
	"strings"

	"stratus/handlers/httpx"
	"stratus/models"
)

// Fail renders err in the service's shape. The status comes from the one
// error table (httpx.ProblemFor), translated to OpenStack's conventions:
// invalid input is 400, not 422, with the fields named in the message.
// Internal errors are logged with the request ID; their text never leaves.
func (s *Service) Fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *HTTPError
	if errors.As(err, &he) {
		s.WriteError(w, r, he.Status, he.Message)
		return
	}
	p := httpx.ProblemFor(err)
	httpx.SetRetryAfter(w, p)
	status, msg := p.Status, p.Message
	switch {
	case status == http.StatusUnprocessableEntity:
		status = http.StatusBadRequest
		msg = invalidMessage(err, msg)
	case errors.Is(err, models.ErrQuotaExceeded) && s.QuotaStatus != 0:
		status = s.QuotaStatus
	case status == http.StatusUnauthorized:
		s.Unauthorized(w, r)
		return
	case status == http.StatusInternalServerError:
		s.Log.Error("openstack request failed", "method", r.Method, "path", r.URL.Path, "err", err, "request_id", httpx.RequestID(r))
		msg = "An unexpected error prevented the server from fulfilling your request (request " + httpx.RequestID(r) + ")."
	case errors.Is(err, models.ErrForbidden) && !errors.As(err, new(*models.Error)):
		msg = "Policy does not allow this request to be performed."
	}
	s.WriteError(w, r, status, msg)
}

// invalidMessage says which input is wrong and why.
func invalidMessage(err error, fallback string) string {
	var ve *models.ValidationError
	if !errors.As(err, &ve) {
		var me *models.Error
		if errors.As(err, &me) {
			return me.Msg
		}
		return fallback
	}
	keys := make([]string, 0, len(ve.Fields))
	for k := range ve.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = "Invalid input for field/attribute " + k + ": " + ve.Fields[k]
	}
	return strings.Join(parts, "; ")
}

// WriteError renders status and message in the service's shape.
func (s *Service) WriteError(w http.ResponseWriter, r *http.Request, status int, message string) {
	WriteJSON(w, status, s.Shape(status, message))
}

// Unauthorized is keystonemiddleware's answer to a missing or bad token:
// 401, the same body in every service, and where to get a token.
func (s *Service) Unauthorized(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", `Keystone uri="`+s.BaseURL(r)+`/identity"`)
	WriteJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{
		"code": http.StatusUnauthorized, "title": "Unauthorized",
		"message": "The request you have made requires authentication.",
	}})
}

// HTTPError is an error a handler answers with a chosen status: a request
// the model never sees (a malformed body, an action Stratus does not
// offer).
type HTTPError struct {
	Status  int
	Message string
}

func (e *HTTPError) Error() string { return e.Message }

// BadRequest is a 400 with msg.
func BadRequest(msg string) error { return &HTTPError{Status: http.StatusBadRequest, Message: msg} }

// NotFound is a 404 with msg.
func NotFound(msg string) error { return &HTTPError{Status: http.StatusNotFound, Message: msg} }

// Forbidden is a 403 with msg.
func Forbidden(msg string) error { return &HTTPError{Status: http.StatusForbidden, Message: msg} }

// StatusTitle is the reason phrase: "Not Found".
func StatusTitle(status int) string { return http.StatusText(status) }
