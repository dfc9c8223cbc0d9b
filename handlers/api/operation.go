package api

import (
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"stratus/handlers/httpx"
	"stratus/models"
)

// route is one row of the route table.
type route struct {
	Method  string
	Pattern string // chi pattern relative to /api/v1
	Action  string // policy action the route requires
	Summary string // one line for the OpenAPI document
	Status  int    // status of a successful answer
	Op      operation
}

// operation is a typed handler with its input and output types kept for the
// OpenAPI reflector: the document describes the types the handler really
// takes and returns, because both come from the handler's signature.
type operation struct {
	id    string       // OpenAPI operationId: the handler's name
	in    reflect.Type // struct whose path, query and body tags say where each input comes from
	inErr error        // what is wrong with in, reported by check at start-up
	out   reflect.Type // response body; none for an empty answer (204); a blob for bytes
	run   func(w http.ResponseWriter, r *http.Request) (any, error)
}

// none is the input of a handler that takes nothing and the output of one
// that answers with no body.
type none struct{}

var noneType = reflect.TypeFor[none]()

// op wraps the handler of a route that needs a caller — every route but the
// public ones. It binds In from the request (path parameters, query
// parameters, JSON body) and hands fn the authenticated caller, so fn only
// validates meaning, calls one model operation with that caller and returns
// what to render.
func op[In, Out any](fn func(r *http.Request, c models.Caller, in In) (Out, error)) operation {
	return bound(funcName(fn), func(r *http.Request, in In) (Out, error) {
		// The route's policy check has already refused anonymous requests
		// (its action is not public): a missing caller is a guard, not a
		// path.
		c, ok := httpx.CallerFrom(r.Context())
		if !ok {
			var zero Out
			return zero, models.ErrUnauthenticated
		}
		return fn(r, c, in)
	})
}

// publicOp wraps the handler of a public route (logging in, this document):
// one that must work without a caller, and so is given none.
func publicOp[In, Out any](fn func(r *http.Request, in In) (Out, error)) operation {
	return bound(funcName(fn), fn)
}

// bound is the operation that binds In from the request before calling fn.
func bound[In, Out any](id string, fn func(r *http.Request, in In) (Out, error)) operation {
	fields, err := inputFields(reflect.TypeFor[In]())
	return operation{
		id:    id,
		in:    reflect.TypeFor[In](),
		inErr: err,
		out:   reflect.TypeFor[Out](),
		run: func(w http.ResponseWriter, r *http.Request) (any, error) {
			var in In
			if err := bind(w, r, fields, &in); err != nil {
				return nil, err
			}
			return fn(r, in)
		},
	}
}

// serve renders the operation's result: the route's status with the JSON
// body, or the route's status alone when the handler answers with none.
func (rt route) serve(a *API) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out, err := rt.Op.run(w, r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if b, ok := out.(blob); ok {
			b.serveBlob(w, r, func(status int, code, msg string) { a.writeProblem(w, r, status, code, msg, nil) })
			return
		}
		if rt.Op.out == noneType {
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(rt.Status)
			return
		}
		writeJSON(w, rt.Status, out)
	}
}

// funcName is a handler's name ("listProjects" for a.listProjects): the
// OpenAPI operationId, so the document points at the code that serves it.
func funcName(fn any) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	name = strings.TrimSuffix(name, "-fm") // a method value
	return name[strings.LastIndexByte(name, '.')+1:]
}

var patternParam = regexp.MustCompile(`\{([^}:]+)(?::[^}]*)?\}`)

// pathParams lists the {names} of a chi pattern in order.
func pathParams(pattern string) []string {
	var out []string
	for _, m := range patternParam.FindAllStringSubmatch(pattern, -1) {
		out = append(out, m[1])
	}
	return out
}

// check refuses a route the table must not contain: an unknown method, a
// status that does not match the output, a path parameter without its input
// field (or the other way round).
func (rt route) check() error {
	if !slices.Contains([]string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete}, rt.Method) {
		return fmt.Errorf("%s %s: unsupported method", rt.Method, rt.Pattern)
	}
	if rt.Action == "" || rt.Summary == "" || rt.Op.id == "" {
		return fmt.Errorf("%s %s: action, summary and operation id are required", rt.Method, rt.Pattern)
	}
	if (rt.Status == http.StatusNoContent) != (rt.Op.out == noneType) {
		return fmt.Errorf("%s %s: status %d does not match output %s", rt.Method, rt.Pattern, rt.Status, rt.Op.out)
	}
	if rt.Op.out.Implements(blobType) && (rt.Method != http.MethodGet || rt.Status != http.StatusOK) {
		return fmt.Errorf("%s %s: a binary answer is a GET with status 200", rt.Method, rt.Pattern)
	}
	if rt.Op.inErr != nil {
		return fmt.Errorf("%s %s: %w", rt.Method, rt.Pattern, rt.Op.inErr)
	}
	fields, _ := inputFields(rt.Op.in)
	var inPath []string
	for _, f := range fields {
		if f.source == fromPath {
			inPath = append(inPath, f.name)
		}
	}
	want := pathParams(rt.Pattern)
	slices.Sort(inPath)
	slices.Sort(want)
	if !slices.Equal(inPath, want) {
		return fmt.Errorf("%s %s: path parameters %v but input fields %v", rt.Method, rt.Pattern, want, inPath)
	}
	return nil
}
