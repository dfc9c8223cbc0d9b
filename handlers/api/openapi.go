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
without a valid token, 403 when your role does not allow the action (code
forbidden) or it would exceed the project's quota (quota_exceeded), 404 for
what does not exist or is not yours, 409 for a conflict (such as an action
while another task runs), 422 with "fields" naming each invalid input (also
for malformed JSON and unknown members), 413 for a JSON body over 1 MiB or an
image over the size limit, 415 for image data not sent as
application/octet-stream.

Image data is not JSON: PUT /images/{id}/file takes the bytes as
application/octet-stream (streamed to the image store, up to the configured
image size limit), and GET /images/{id}/file answers with them (Range,
If-None-Match and If-Range work; the ETag and Digest are the SHA-256).

Launching instances, their power actions and their deletion finish in the
background: they answer 202 with the instance in its new task; poll GET
/instances/{id} (status BUILD → ACTIVE, task_state null when done).

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
		params, body, media, err := s.input(rt.Op.in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", rt.Method, rt.Pattern, err)
		}
		if len(params) > 0 {
			o["parameters"] = params
		}
		if body != nil {
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{media: map[string]any{"schema": body}}}
		}
		ok := map[string]any{"description": http.StatusText(rt.Status)}
		switch {
		case rt.Op.out.Implements(blobType):
			for status, resp := range blobResponses(reflect.Zero(rt.Op.out).Interface().(blob)) {
				o["responses"].(map[string]any)[strconv.Itoa(status)] = resp
			}
		case rt.Op.out != noneType:
			sch, err := s.schema(rt.Op.out, false)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", rt.Method, rt.Pattern, err)
			}
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": sch}}
			o["responses"].(map[string]any)[strconv.Itoa(rt.Status)] = ok
		default:
			o["responses"].(map[string]any)[strconv.Itoa(rt.Status)] = ok
		}
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

// input describes an input struct as OpenAPI parameters and a body schema
// with its media type.
func (s *schemaSet) input(t reflect.Type) ([]any, map[string]any, string, error) {
	fields, err := inputFields(t)
	if err != nil {
		return nil, nil, "", err
	}
	var params []any
	var body map[string]any
	media := "application/json"
	for _, f := range fields {
		switch f.source {
		case fromBody:
			if body, err = s.schema(f.typ, true); err != nil {
				return nil, nil, "", err
			}
			continue
		case fromStream:
			body, media = rawBytes(), octetStream
			continue
		}
		sch, err := s.schema(f.typ, false)
		if err != nil {
			return nil, nil, "", err
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
			if f.typ.Kind() == reflect.Slice {
				sch["items"] = map[string]any{"type": "string", "enum": f.enum}
			} else {
				sch["enum"] = f.enum
			}
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
	return params, body, media, nil
}

// rawBytes is the schema of unencoded binary data: OpenAPI 3.1 says it
// with contentMediaType and no type (3.0's "type: string, format: binary").
func rawBytes() map[string]any {
	return map[string]any{"contentMediaType": octetStream}
}

// blobResponses describes a binary answer: the whole data (200) or the
// byte range asked for with Range (206), with the headers b sets.
func blobResponses(b blob) map[int]any {
	headers := map[string]any{
		"Content-Length": map[string]any{"description": "Size of this answer in bytes.", "schema": map[string]any{"type": "integer"}},
		"Accept-Ranges":  map[string]any{"description": "bytes: a Range request may ask for part of the data.", "schema": map[string]any{"type": "string"}},
	}
	for name, doc := range b.blobHeaders() {
		headers[name] = map[string]any{"description": doc, "schema": map[string]any{"type": "string"}}
	}
	partial := map[string]any{
		"Content-Range": map[string]any{"description": "Which bytes of the whole this answer holds.", "schema": map[string]any{"type": "string"}},
	}
	for k, v := range headers {
		partial[k] = v
	}
	content := map[string]any{octetStream: map[string]any{"schema": rawBytes()}}
	return map[int]any{
		http.StatusOK:             map[string]any{"description": "The data", "headers": headers, "content": content},
		http.StatusPartialContent: map[string]any{"description": "The byte range asked for with Range", "headers": partial, "content": content},
	}
}
