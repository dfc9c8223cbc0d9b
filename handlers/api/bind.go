package api

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/models"
)

// A handler's input is a struct whose tags say where each field comes from:
//
//	path:"id"     a URL path parameter; a malformed one is 404 (no such thing)
//	query:"limit" a query parameter; a malformed one is 422 naming it. A
//	              slice of strings takes the parameter repeated
//	              (?resource=a&resource=b), each value checked alone
//	body:"json"   the JSON request body, decoded strictly (see body.go)
//	body:"binary" the raw request body as an io.Reader, unread (see binary.go)
//
// and how a path or query value is checked (the OpenAPI document shows the
// same): format:"uuid", min:"1", max:"1000", enum:"a,b", doc:"what it means".
// Embedded structs (the paging parameters) are walked too. Query parameters
// the input does not name are refused, so a typo in a filter cannot silently
// list everything.

// idPath is the {id} of a resource named by UUID; anything else is 404.
type idPath struct {
	ID string `path:"id" format:"uuid" doc:"The resource's ID (a UUID)."`
}

type source int

const (
	fromPath source = iota + 1
	fromQuery
	fromBody
	fromStream
)

type inputField struct {
	index  []int
	source source
	name   string
	typ    reflect.Type
	format string
	min    *int64
	max    *int64
	enum   []string
	doc    string
}

// inputFields lists where each field of an input struct comes from.
func inputFields(t reflect.Type) ([]inputField, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("input %s is not a struct", t)
	}
	var out []inputField
	bodies := 0
	for _, sf := range reflect.VisibleFields(t) {
		if sf.Anonymous {
			continue // its promoted fields follow
		}
		f := inputField{index: sf.Index, typ: sf.Type, format: sf.Tag.Get("format"), doc: sf.Tag.Get("doc"), enum: enumOf(sf.Type)}
		if e, ok := sf.Tag.Lookup("enum"); ok {
			f.enum = strings.Split(e, ",")
		}
		if n, ok := sf.Tag.Lookup("path"); ok {
			f.source, f.name = fromPath, n
		} else if n, ok := sf.Tag.Lookup("query"); ok {
			f.source, f.name = fromQuery, n
		} else if kind, ok := sf.Tag.Lookup("body"); ok {
			f.source, f.name = fromBody, "body"
			if kind == "binary" {
				f.source = fromStream
				if sf.Type != readerType {
					return nil, fmt.Errorf("input %s: binary body %s must be an io.Reader", t, sf.Name)
				}
			}
			bodies++
		} else {
			return nil, fmt.Errorf("input %s: field %s has no path, query or body tag", t, sf.Name)
		}
		if !sf.IsExported() {
			return nil, fmt.Errorf("input %s: field %s is not exported", t, sf.Name)
		}
		if f.source == fromPath || f.source == fromQuery {
			switch k := sf.Type.Kind(); {
			case k == reflect.String, k == reflect.Int, k == reflect.Int64, k == reflect.Bool:
			case k == reflect.Slice && f.source == fromQuery && sf.Type.Elem().Kind() == reflect.String:
				if _, ok := sf.Tag.Lookup("enum"); !ok {
					f.enum = enumOf(sf.Type.Elem())
				}
			default:
				return nil, fmt.Errorf("input %s: %s parameter %s has unsupported type %s", t, sourceName(f.source), f.name, sf.Type)
			}
		}
		for tag, dst := range map[string]**int64{"min": &f.min, "max": &f.max} {
			if v, ok := sf.Tag.Lookup(tag); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("input %s: field %s: bad %s tag", t, sf.Name, tag)
				}
				*dst = &n
			}
		}
		out = append(out, f)
	}
	if bodies > 1 {
		return nil, fmt.Errorf("input %s: more than one body field", t)
	}
	return out, nil
}

func sourceName(s source) string {
	switch s {
	case fromPath:
		return "path"
	case fromQuery:
		return "query"
	}
	return "body"
}

// bind fills dst (a pointer to an input struct described by fields) from
// the request.
func bind(w http.ResponseWriter, r *http.Request, fields []inputField, dst any) error {
	v := reflect.ValueOf(dst).Elem()
	query := r.URL.Query()
	known := map[string]bool{}
	p := models.Problems{}
	for _, f := range fields {
		fv := v.FieldByIndex(f.index)
		switch f.source {
		case fromPath:
			if err := setScalar(fv, f, chi.URLParam(r, f.name)); err != nil {
				return &models.Error{Kind: models.ErrNotFound, Msg: "not found"}
			}
		case fromQuery:
			known[f.name] = true
			vals, ok := query[f.name]
			switch {
			case !ok:
			case fv.Kind() == reflect.Slice:
				if err := setSlice(fv, f, vals); err != nil {
					p.Add(f.name, err.Error())
				}
			case len(vals) > 1:
				p.Add(f.name, "give this parameter once")
			default:
				if err := setScalar(fv, f, vals[0]); err != nil {
					p.Add(f.name, err.Error())
				}
			}
		case fromBody:
			if err := decodeBody(w, r, fv.Addr().Interface()); err != nil {
				return err
			}
		case fromStream:
			fv.Set(reflect.ValueOf(io.Reader(r.Body)))
		}
	}
	for name := range query {
		if !known[name] {
			p.Add(name, "unknown query parameter")
		}
	}
	return p.Err()
}

// setSlice parses a repeated query parameter's values into a slice field;
// the first bad one is named.
func setSlice(v reflect.Value, f inputField, vals []string) error {
	out := reflect.MakeSlice(v.Type(), len(vals), len(vals))
	for i, s := range vals {
		if err := setScalar(out.Index(i), f, s); err != nil {
			return fmt.Errorf("%q %w", s, err)
		}
	}
	v.Set(out)
	return nil
}

// setScalar parses s into a path or query field.
func setScalar(v reflect.Value, f inputField, s string) error {
	switch v.Kind() {
	case reflect.String:
		if f.format == "uuid" && !models.IsUUID(s) {
			return fmt.Errorf("must be a UUID")
		}
		if len(f.enum) > 0 && !slices.Contains(f.enum, s) {
			return fmt.Errorf("must be one of %s", strings.Join(f.enum, ", "))
		}
		v.SetString(s)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("must be an integer")
		}
		if f.min != nil && n < *f.min {
			if f.max != nil {
				return fmt.Errorf("must be between %d and %d", *f.min, *f.max)
			}
			return fmt.Errorf("must be at least %d", *f.min)
		}
		if f.max != nil && n > *f.max {
			if f.min != nil {
				return fmt.Errorf("must be between %d and %d", *f.min, *f.max)
			}
			return fmt.Errorf("must be at most %d", *f.max)
		}
		v.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("must be true or false")
		}
		v.SetBool(b)
	}
	return nil
}
