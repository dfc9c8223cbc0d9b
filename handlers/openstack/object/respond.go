package object

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"stratus/handlers/httpx"
	"stratus/models"
)

// swiftError is an answer this package decides itself (a bad header, a
// refusal), with Swift's status for it.
type swiftError struct {
	status int
	msg    string
}

func (e *swiftError) Error() string { return e.msg }

func notFound(msg string) error     { return &swiftError{status: http.StatusNotFound, msg: msg} }
func unauthorized(msg string) error { return &swiftError{status: http.StatusUnauthorized, msg: msg} }
func badRequest(msg string) error   { return &swiftError{status: http.StatusBadRequest, msg: msg} }

// status maps an error to Swift's status and a message for the client.
// Swift's choices differ from the JSON API's in places: invalid input is
// 400 (the API's 422 is kept for an ETag that does not match the body),
// and an account over its quota is 413.
func status(err error) (int, string) {
	var se *swiftError
	if errors.As(err, &se) {
		return se.status, se.msg
	}
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		keys := make([]string, 0, len(ve.Fields))
		for k := range ve.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		lines := make([]string, len(keys))
		for i, k := range keys {
			lines[i] = k + ": " + ve.Fields[k]
		}
		st := http.StatusBadRequest
		if _, ok := ve.Fields["limit"]; ok {
			st = http.StatusPreconditionFailed // Swift: "Maximum limit is 10000"
		}
		return st, strings.Join(lines, "\n")
	}
	var me *models.Error
	msg := ""
	if errors.As(err, &me) {
		msg = me.Msg
	}
	table := []struct {
		sentinel error
		status   int
		fallback string
	}{
		{models.ErrNotFound, http.StatusNotFound, "Not found."},
		{models.ErrConflict, http.StatusConflict, "Conflict."},
		{models.ErrForbidden, http.StatusForbidden, "Forbidden."},
		{models.ErrQuotaExceeded, http.StatusRequestEntityTooLarge, "Upload exceeds quota."},
		{models.ErrTooLarge, http.StatusRequestEntityTooLarge, "Your request is too large."},
		{models.ErrPreconditionFailed, http.StatusPreconditionFailed, "Precondition failed."},
		{models.ErrInvalid, http.StatusUnprocessableEntity, "Unprocessable entity."},
		{models.ErrUnauthenticated, http.StatusUnauthorized, "Authentication required."},
	}
	for _, row := range table {
		if errors.Is(err, row.sentinel) {
			if msg == "" {
				msg = row.fallback
			}
			return row.status, msg
		}
	}
	return http.StatusInternalServerError, ""
}

// fail answers with an error as Swift does: a status and a short text.
// Internal errors are logged with the request ID; their text never
// reaches the client.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	st, msg := status(err)
	if st == http.StatusInternalServerError {
		a.Log.Error("object storage request failed", "method", r.Method, "path", r.URL.Path, "err", err, "request_id", httpx.RequestID(r))
		msg = "Internal error (request " + httpx.RequestID(r) + ")."
	}
	if st == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Swift realm="`+Prefix+`"`)
	}
	h := w.Header()
	for _, k := range []string{"ETag", "Last-Modified", "Content-Disposition", "Accept-Ranges"} {
		h.Del(k)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	body := fmt.Sprintf("%d %s: %s\n", st, http.StatusText(st), msg)
	if r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		w.WriteHeader(st)
		return
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(st)
	_, _ = w.Write([]byte(body))
}

// empty answers with a status and no body.
func empty(w http.ResponseWriter, st int) {
	w.Header().Set("Content-Length", "0")
	if st != http.StatusNoContent && st != http.StatusNotModified {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(st)
}
