package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"

	"stratus/models"
)

// schemaSet reflects Go types into JSON Schema (the dialect of OpenAPI 3.1)
// the way encoding/json renders them: json tags name the members, embedded
// structs are flattened, pointers may be null, time.Time is an RFC 3339
// string. Named structs become components referenced by $ref.
//
// "required" means "always present": response members without omitempty.
// Request members are all optional as far as JSON goes — the server checks
// what it needs and answers 422 naming the field — so request schemas list
// none.
type schemaSet struct {
	defs  map[string]any
	names map[reflect.Type]string
	dirs  map[reflect.Type]bool // true when the type was reflected as a request
}

func newSchemaSet() *schemaSet {
	return &schemaSet{defs: map[string]any{}, names: map[reflect.Type]string{}, dirs: map[reflect.Type]bool{}}
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// enumOf lists the values of the string types that have a fixed set.
func enumOf(t reflect.Type) []string {
	switch t {
	case reflect.TypeFor[models.Role]():
		return strs(models.Roles)
	case reflect.TypeFor[models.JobState]():
		return strs(models.JobStates())
	case reflect.TypeFor[models.VMState]():
		return strs(models.VMStates())
	case reflect.TypeFor[models.TaskState]():
		return strs(models.TaskStates())
	case reflect.TypeFor[models.PowerState]():
		return strs(models.PowerStates())
	case reflect.TypeFor[instanceStatus]():
		return append(models.InstanceStatuses(), "UNKNOWN")
	case reflect.TypeFor[statusFilter]():
		return models.InstanceStatuses()
	case reflect.TypeFor[powerAction]():
		return models.PowerActions()
	case reflect.TypeFor[actionName]():
		return models.InstanceActions()
	case reflect.TypeFor[quotaResource]():
		return models.QuotaResources()
	case reflect.TypeFor[models.VolumeStatus]():
		return strs(models.VolumeStatuses())
	case reflect.TypeFor[models.SnapshotStatus]():
		return []string{string(models.SnapshotCreating), string(models.SnapshotAvailable), string(models.SnapshotDeleting), string(models.SnapshotError)}
	case reflect.TypeFor[volumeAction]():
		return []string{"extend"}
	case reflect.TypeFor[hostState]():
		return []string{hostUp, hostDown}
	}
	return nil
}

func strs[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// schema returns the schema of t (a $ref for named structs).
func (s *schemaSet) schema(t reflect.Type, request bool) (map[string]any, error) {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}, nil
	case rawType:
		return map[string]any{"description": "any JSON value"}, nil
	case reflect.TypeFor[models.Nullable]():
		return map[string]any{"type": []any{"string", "null"}}, nil
	case reflect.TypeFor[models.GatewayUpdate]():
		inner, err := s.schema(reflect.TypeFor[models.GatewayInput](), request)
		if err != nil {
			return nil, err
		}
		return nullable(inner), nil
	}
	if enum := enumOf(t); enum != nil {
		return map[string]any{"type": "string", "enum": enum}, nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		inner, err := s.schema(t.Elem(), request)
		if err != nil {
			return nil, err
		}
		return nullable(inner), nil
	case reflect.String:
		return map[string]any{"type": "string"}, nil
	case reflect.Bool:
		return map[string]any{"type": "boolean"}, nil
	case reflect.Int, reflect.Int64, reflect.Uint64:
		return map[string]any{"type": "integer", "format": "int64"}, nil
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return map[string]any{"type": "integer"}, nil
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}, nil
		}
		items, err := s.schema(t.Elem(), request)
		if err != nil {
			return nil, err
		}
		// encoding/json renders a nil slice as null; handlers return empty
		// lists as [] (nonNil), so arrays are not nullable here.
		return map[string]any{"type": "array", "items": items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map %s: keys must be strings", t)
		}
		vals, err := s.schema(t.Elem(), request)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"type": "object", "additionalProperties": vals}
		if enum := enumOf(t.Key()); enum != nil {
			out["propertyNames"] = map[string]any{"enum": enum}
		}
		return out, nil
	case reflect.Interface:
		return map[string]any{}, nil
	case reflect.Struct:
		if t.Name() == "" {
			return s.object(t, request)
		}
		return s.ref(t, request)
	}
	return nil, fmt.Errorf("type %s: no JSON schema for kind %s", t, t.Kind())
}

// ref registers a named struct as a component and refers to it.
func (s *schemaSet) ref(t reflect.Type, request bool) (map[string]any, error) {
	if name, ok := s.names[t]; ok {
		if s.dirs[t] != request {
			return nil, fmt.Errorf("type %s is used both as a request and as a response; give each its own type", t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}, nil
	}
	name := componentName(t)
	if strings.ContainsAny(name, "[]") {
		return nil, fmt.Errorf("type %s: generic types need a named wrapper", t)
	}
	if _, taken := s.defs[name]; taken {
		return nil, fmt.Errorf("types %s and another are both named %s", t, name)
	}
	s.names[t], s.dirs[t] = name, request
	s.defs[name] = nil // reserve the name; a recursive type refers to it meanwhile
	obj, err := s.object(t, request)
	if err != nil {
		return nil, err
	}
	s.defs[name] = obj
	return map[string]any{"$ref": "#/components/schemas/" + name}, nil
}

func componentName(t reflect.Type) string {
	r := []rune(t.Name())
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// object reflects a struct's JSON members.
func (s *schemaSet) object(t reflect.Type, request bool) (map[string]any, error) {
	props := map[string]any{}
	var required []string
	if err := s.members(t, request, props, &required); err != nil {
		return nil, err
	}
	out := map[string]any{"type": "object", "properties": props}
	if request {
		out["additionalProperties"] = false // the decoder refuses unknown members
	} else if len(required) > 0 {
		out["required"] = required
	}
	return out, nil
}

func (s *schemaSet) members(t reflect.Type, request bool, props map[string]any, required *[]string) error {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if err := s.members(ft, request, props, required); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.Contains(opts, "string") {
			return fmt.Errorf("%s.%s: the ,string option is not supported", t, f.Name)
		}
		sch, err := s.schema(ft, request)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", t, f.Name, err)
		}
		props[name] = sch
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
	return nil
}

// nullable lets a schema also be null.
func nullable(sch map[string]any) map[string]any {
	if _, ok := sch["$ref"]; ok {
		return map[string]any{"oneOf": []any{sch, map[string]any{"type": "null"}}}
	}
	out := map[string]any{}
	for k, v := range sch {
		out[k] = v
	}
	if typ, ok := sch["type"].(string); ok {
		out["type"] = []any{typ, "null"}
	}
	if enum, ok := sch["enum"].([]string); ok {
		e := make([]any, 0, len(enum)+1)
		for _, v := range enum {
			e = append(e, v)
		}
		out["enum"] = append(e, nil)
	}
	return out
}
