package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"stratus/models"
)

// maxBody bounds a JSON request body.
const maxBody = 1 << 20

// WriteJSON renders v with status. Answers carry per-caller data: never
// cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":500,"message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Empty answers status with no body.
func Empty(w http.ResponseWriter, status int) {
	w.Header().Set("Cache-Control", "no-store")
	if status != http.StatusNoContent && status != http.StatusNotModified {
		w.Header().Set("Content-Length", "0")
	}
	w.WriteHeader(status)
}

// Decode reads a JSON object into dst. OpenStack clients send fields a
// service does not know (newer microversions, other clouds' extensions):
// unknown fields are ignored, as the services themselves mostly do;
// malformed JSON and wrong types are a 400 that says where.
func Decode(w http.ResponseWriter, r *http.Request, dst any) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &models.Error{Kind: models.ErrTooLarge, Msg: fmt.Sprintf("The request body is larger than %d bytes.", maxBody)}
		}
		return fmt.Errorf("read request body: %w", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return BadRequest("The request body must be a JSON object.")
	}
	if err := json.Unmarshal(data, dst); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return BadRequest(fmt.Sprintf("Invalid input for field/attribute %s: expected %s.", typ.Field, typ.Type))
		}
		return BadRequest("Malformed request body: " + strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// Query is a request's query parameters with OpenStack's conventions,
// parsed once.
type Query struct{ v url.Values }

// QueryOf parses r's query.
func QueryOf(r *http.Request) Query { return Query{r.URL.Query()} }

// Get returns the parameter's value ("" when absent).
func (q Query) Get(name string) string { return q.v.Get(name) }

// Has reports whether the parameter was given at all.
func (q Query) Has(name string) bool { return q.v.Has(name) }

// Int parses an integer parameter (def when absent); a bad one is 400.
func (q Query) Int(name string, def, min, max int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, BadRequest(fmt.Sprintf("Invalid value %q for %s: must be an integer from %d to %d.", v, name, min, max))
	}
	return n, nil
}

// Limit is the limit parameter of a list (def when absent); 0, or more
// than a page holds, is a full page.
func (q Query) Limit(def int) (int, error) {
	n, err := q.Int("limit", def, 0, 1<<30)
	if err != nil {
		return 0, err
	}
	if n == 0 || n > models.MaxPageSize {
		n = models.MaxPageSize
	}
	return n, nil
}

// Bool parses a boolean parameter as OpenStack does (true/1/yes/on).
func (q Query) Bool(name string) bool {
	switch strings.ToLower(q.Get(name)) {
	case "1", "true", "yes", "on", "t", "y":
		return true
	}
	return false
}
