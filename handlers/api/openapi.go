package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"stratus/handlers/policy"
)

// openAPIDocument is GET /openapi.json. The document is built once, at
// start-up, from the route table and the policy in force.
func (a *API) openAPIDocument(_ *http.Request, _ none) (json.RawMessage, error) {
	return a.openapi, nil
}

const apiDescription = `The Stratus JSON API.

Authenticate with "Authorization: Bearer <token>": POST /auth/tokens exchanges a
username and password for a token; named API tokens come from POST /tokens.

Every error is {"error": {"code", "message", "fields", "request_id"}}: 401
without a valid token, 403 when your role does not allow the action, 404 for
what does not exist or is not yours, 409 for a conflict, 422 with "fields"
naming each invalid input (also for malformed JSON and unknown members), 413
for a body over 1 MiB.

Lists answer {"<things>": [...], "next": <link or null>}; page with "limit"
(1–1000, default 100) and "marker" (the last ID of the previous page), or
simply follow "next". IDs are UUIDs (jobs and audit events: integers); times
are RFC 3339 in UTC.`

// buildOpenAPI describes the route table as an OpenAPI 3.1 document. Each
// operation carries its policy action as x-stratus-action; operations whose
// action is public need no token.
func buildOpenAPI(table []route, enf *policy.Enforcer) (map[string]any, error) {
	s := newSchemaSet()
	errRef := map[string]any{"$ref": "#/components/responses/Error"}
	errSchema, err := s.schema(reflect.TypeFor[errorBody](), false)
	if err != nil {
		return nil, err
	}
	paths := map[string]any{}
	for _, rt := range table {
		o := map[string]any{
			"operationId":      rt.Op.id,
			"summary":          rt.Summary,
			"tags":             []string{tagOf(rt.Pattern)},
			"x-stratus-action": rt.Action,
			"responses":        map[string]any{"default": errRef},
		}
		if enf.Public(rt.Action) {
			o["security"] = []any{}
		}
		params, body, err := s.input(rt.Op.in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", rt.Method, rt.Pattern, err)
		}
		if len(params) > 0 {
			o["parameters"] = params
		}
		if body != nil {
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": body}}}
		}
		ok := map[string]any{"description": http.StatusText(rt.Status)}
		if rt.Op.out != noneType {
			sch, err := s.schema(rt.Op.out, false)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", rt.Method, rt.Pattern, err)
			}
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": sch}}
		}
		o["responses"].(map[string]any)[strconv.Itoa(rt.Status)] = ok
		item, _ := paths[rt.Pattern].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Pattern] = item
		}
		item[strings.ToLower(rt.Method)] = o
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Stratus API",
			"version":     "v1",
			"description": apiDescription,
		},
		"servers":  []any{map[string]any{"url": "/api/v1"}},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths":    paths,
		"components": map[string]any{
			"schemas": s.defs,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "A token from POST /auth/tokens or POST /tokens."},
			},
			"responses": map[string]any{
				"Error": map[string]any{
					"description": "An error (see the code and message)",
					"content":     map[string]any{"application/json": map[string]any{"schema": errSchema}},
				},
			},
		},
	}, nil
}

// tagOf groups operations by their first path segment.
func tagOf(pattern string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(pattern, "/"), "/")
	return seg
}

// input describes an input struct as OpenAPI parameters and a body schema.
func (s *schemaSet) input(t reflect.Type) ([]any, map[string]any, error) {
	fields, err := inputFields(t)
	if err != nil {
		return nil, nil, err
	}
	var params []any
	var body map[string]any
	for _, f := range fields {
		if f.source == fromBody {
			if body, err = s.schema(f.typ, true); err != nil {
				return nil, nil, err
			}
			continue
		}
		sch, err := s.schema(f.typ, false)
		if err != nil {
			return nil, nil, err
		}
		if f.format != "" {
			sch["format"] = f.format
		}
		if f.min != nil {
			sch["minimum"] = *f.min
		}
		if f.max != nil {
			sch["maximum"] = *f.max
		}
		if len(f.enum) > 0 {
			sch["enum"] = f.enum
		}
		p := map[string]any{"name": f.name, "in": sourceName(f.source), "schema": sch}
		if f.source == fromPath {
			p["required"] = true
		}
		if f.doc != "" {
			p["description"] = f.doc
		}
		params = append(params, p)
	}
	return params, body, nil
}
