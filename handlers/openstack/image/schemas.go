package image

import (
	"net/http"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// The schemas Glance serves (trimmed to what Stratus images have):
// glanceclient reads them to validate and to tell attributes from
// properties.

func imageSchema() map[string]any {
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	nstr := func(desc string) map[string]any {
		return map[string]any{"type": []any{"null", "string"}, "description": desc}
	}
	ro := func(m map[string]any) map[string]any { m["readOnly"] = true; return m }
	return map[string]any{
		"name": "image",
		"properties": map[string]any{
			"id":               ro(str("An identifier for the image")),
			"name":             nstr("Descriptive name for the image"),
			"status":           ro(map[string]any{"type": "string", "enum": []string{"queued", "saving", "active", "killed", "deleted"}}),
			"visibility":       map[string]any{"type": "string", "enum": []string{"public", "private", "shared"}},
			"protected":        map[string]any{"type": "boolean"},
			"os_hidden":        map[string]any{"type": "boolean"},
			"checksum":         ro(nstr("md5 hash of image contents")),
			"os_hash_algo":     ro(nstr("Algorithm to calculate the os_hash_value")),
			"os_hash_value":    ro(nstr("Hexdigest of the image contents")),
			"owner":            ro(nstr("Owner of the image")),
			"size":             ro(map[string]any{"type": []any{"null", "integer"}}),
			"virtual_size":     ro(map[string]any{"type": []any{"null", "integer"}}),
			"min_ram":          map[string]any{"type": "integer"},
			"min_disk":         map[string]any{"type": "integer"},
			"container_format": map[string]any{"type": []any{"null", "string"}, "enum": []any{nil, "ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"}},
			"disk_format":      map[string]any{"type": []any{"null", "string"}, "enum": []any{nil, "ami", "ari", "aki", "raw", "qcow2", "iso"}},
			"created_at":       ro(str("Date and time of image registration")),
			"updated_at":       ro(str("Date and time of the last image modification")),
			"tags":             map[string]any{"type": "array", "items": map[string]any{"type": "string", "maxLength": 255}},
			"self":             ro(str("An image self url")),
			"file":             ro(str("An image file url")),
			"schema":           ro(str("An image schema url")),
		},
		"additionalProperties": map[string]any{"type": "string"},
		"links": []map[string]string{
			{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"}, {"rel": "describedby", "href": "{schema}"},
		},
	}
}

func memberSchema() map[string]any {
	return map[string]any{
		"name": "member",
		"properties": map[string]any{
			"image_id":   map[string]any{"type": "string"},
			"member_id":  map[string]any{"type": "string"},
			"status":     map[string]any{"type": "string", "enum": []string{"pending", "accepted", "rejected"}},
			"created_at": map[string]any{"type": "string"},
			"updated_at": map[string]any{"type": "string"},
			"schema":     map[string]any{"type": "string", "readOnly": true},
		},
	}
}

func (im *Image) schema(name string) service.Handler {
	var body map[string]any
	switch name {
	case "image":
		body = imageSchema()
	case "images":
		body = map[string]any{"name": "images", "properties": map[string]any{
			"images": map[string]any{"type": "array", "items": imageSchema()},
			"schema": map[string]any{"type": "string"}, "first": map[string]any{"type": "string"}, "next": map[string]any{"type": "string"},
		}, "links": []map[string]string{{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}}}
	case "member":
		body = memberSchema()
	case "members":
		body = map[string]any{"name": "members", "properties": map[string]any{
			"members": map[string]any{"type": "array", "items": memberSchema()}, "schema": map[string]any{"type": "string"},
		}, "links": []map[string]string{{"rel": "describedby", "href": "{schema}"}}}
	}
	return func(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
		service.WriteJSON(w, http.StatusOK, body)
		return nil
	}
}
