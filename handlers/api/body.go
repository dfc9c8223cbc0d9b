package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"stratus/models"
)

// maxBodyBytes bounds a request body: no API input comes near it, and a
// client cannot make the server buffer more.
const maxBodyBytes = 1 << 20

// decodeBody reads one JSON object into dst, strictly: unknown fields, wrong
// types, malformed JSON and trailing data are 422 with the field named (or
// "body" when no single field is to blame); an oversized body is 413.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &models.Error{Kind: models.ErrTooLarge, Msg: fmt.Sprintf("the request body is larger than %d bytes", maxBodyBytes)}
		}
		return fmt.Errorf("read request body: %w", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return models.Invalid("body", "a JSON object is required")
	}
	if data[0] != '{' {
		return models.Invalid("body", "must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyProblem(err, data, reflect.TypeOf(dst).Elem())
	}
	if dec.More() {
		return models.Invalid("body", "must hold a single JSON object")
	}
	return nil
}

// bodyProblem turns a decoding error into a validation error naming the
// field at fault.
func bodyProblem(err error, data []byte, t reflect.Type) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return models.Invalid("body", fmt.Sprintf("malformed JSON at byte %d", syntax.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return models.Invalid("body", "malformed JSON: it ends too early")
	case errors.As(err, &typ) && typ.Field != "":
		return models.Invalid(typ.Field, "must be "+jsonKind(typ.Type))
	}
	// Unknown fields and errors from a type's own UnmarshalJSON (a bad
	// time) do not say where they are: decode the members one at a time to
	// find the culprit.
	var members map[string]json.RawMessage
	if json.Unmarshal(data, &members) == nil {
		for _, name := range slices.Sorted(maps.Keys(members)) {
			one, _ := json.Marshal(map[string]json.RawMessage{name: members[name]})
			dec := json.NewDecoder(bytes.NewReader(one))
			dec.DisallowUnknownFields()
			err := dec.Decode(reflect.New(t).Interface())
			if err == nil {
				continue
			}
			if t.Kind() == reflect.Map { // every member is a value of the map
				return models.Invalid(name, "must be "+jsonKind(t.Elem()))
			}
			f, ok := jsonField(t, name)
			switch {
			case !ok:
				return models.Invalid(name, "unknown field")
			case strings.HasPrefix(err.Error(), "json: unknown field "):
				return models.Invalid(name, "has an "+strings.TrimPrefix(err.Error(), "json: "))
			default:
				return models.Invalid(name, "must be "+jsonKind(f.Type))
			}
		}
	}
	return models.Invalid("body", "is not valid for this request")
}

// jsonField finds the struct field that a JSON member name decodes into.
func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	for _, sf := range reflect.VisibleFields(t) {
		if sf.Anonymous || !sf.IsExported() {
			continue
		}
		n, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if n == "-" {
			continue
		}
		if n == "" {
			n = sf.Name
		}
		if strings.EqualFold(n, name) {
			return sf, true
		}
	}
	return reflect.StructField{}, false
}

// jsonKind says in words what JSON a Go type takes.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return "an RFC 3339 date-time such as 2030-01-02T15:04:05Z"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "an integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "an array"
	}
	return "an object"
}
