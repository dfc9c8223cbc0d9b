package api_test

import (
	"slices"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// Image data is described as what it is — application/octet-stream, the
// way OpenAPI 3.1 says raw bytes — with the download's headers and its
// 206 for a Range; everything else stays JSON.
func TestOpenAPIDescribesImageData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		doc := setup(t, s).doc
		file := doc["paths"].(map[string]any)["/images/{id}/file"].(map[string]any)

		put := file["put"].(map[string]any)
		content := put["requestBody"].(map[string]any)["content"].(map[string]any)
		if len(content) != 1 {
			t.Fatalf("upload media types %v", content)
		}
		sch, ok := content["application/octet-stream"].(map[string]any)["schema"].(map[string]any)
		if !ok || sch["contentMediaType"] != "application/octet-stream" || sch["type"] != nil {
			t.Errorf("upload body schema %v: want contentMediaType and no type (raw bytes in OpenAPI 3.1)", sch)
		}
		if _, ok := put["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)["application/json"]; !ok {
			t.Errorf("the upload answers with the image as JSON: %v", put["responses"])
		}

		get := file["get"].(map[string]any)
		responses := get["responses"].(map[string]any)
		for status, headers := range map[string][]string{
			"200": {"Content-Length", "Accept-Ranges", "ETag", "Digest", "X-Image-Checksum-SHA256", "Last-Modified"},
			"206": {"Content-Length", "Content-Range", "ETag", "Digest", "X-Image-Checksum-SHA256"},
		} {
			rs, ok := responses[status].(map[string]any)
			if !ok {
				t.Errorf("download: no %s response", status)
				continue
			}
			c := rs["content"].(map[string]any)
			if _, ok := c["application/octet-stream"]; !ok || len(c) != 1 {
				t.Errorf("download %s: media types %v", status, c)
			}
			for _, h := range headers {
				if _, ok := rs["headers"].(map[string]any)[h]; !ok {
					t.Errorf("download %s: header %s not described", status, h)
				}
			}
		}
		if _, ok := get["requestBody"]; ok {
			t.Error("a download with a request body")
		}
		create := doc["paths"].(map[string]any)["/images"].(map[string]any)["post"].(map[string]any)
		if _, ok := create["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"]; !ok {
			t.Errorf("image metadata is JSON: %v", create["requestBody"])
		}
	})
}

// The instance schema says what the API promises: Nova's statuses and
// states as enums, null for an idle task, a hidden host and no fault.
func TestOpenAPIDescribesInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		doc := setup(t, s).doc
		schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
		inst := schemas["Instance"].(map[string]any)
		props := inst["properties"].(map[string]any)
		enum := func(name string) []any {
			e, _ := props[name].(map[string]any)["enum"].([]any)
			return e
		}
		for _, st := range []any{"BUILD", "ACTIVE", "SHUTOFF", "REBOOT", "HARD_REBOOT", "ERROR", "DELETED"} {
			if !slices.Contains(enum("status"), st) {
				t.Errorf("status enum %v lacks %v", enum("status"), st)
			}
		}
		if !slices.Contains(enum("task_state"), nil) || !slices.Contains(enum("task_state"), "powering-off") {
			t.Errorf("task_state enum %v: want the tasks and null", enum("task_state"))
		}
		if !slices.Contains(enum("power_state"), "shutdown") || !slices.Contains(enum("vm_state"), "stopped") {
			t.Errorf("power_state %v, vm_state %v", enum("power_state"), enum("vm_state"))
		}
		for _, name := range []string{"host", "host_id", "keypair", "launched_at"} {
			if typ, _ := props[name].(map[string]any)["type"].([]any); !slices.Contains(typ, "null") {
				t.Errorf("%s is not nullable: %v", name, props[name])
			}
		}
		if _, ok := props["fault"].(map[string]any)["oneOf"]; !ok {
			t.Errorf("fault is not an object or null: %v", props["fault"])
		}
		required := inst["required"].([]any)
		for _, name := range []string{"id", "status", "task_state", "host", "flavor", "image", "fault", "created_at"} {
			if !slices.Contains(required, any(name)) {
				t.Errorf("%s is not always present", name)
			}
		}

		list := doc["paths"].(map[string]any)["/instances"].(map[string]any)["get"].(map[string]any)
		params := map[string]map[string]any{}
		for _, p := range list["parameters"].([]any) {
			params[p.(map[string]any)["name"].(string)] = p.(map[string]any)
		}
		for _, name := range []string{"limit", "marker", "name", "status", "all_projects", "project_id", "host"} {
			if params[name] == nil {
				t.Errorf("GET /instances: no parameter %s", name)
			}
		}
		if e, _ := params["status"]["schema"].(map[string]any)["enum"].([]any); !slices.Contains(e, "SHUTOFF") {
			t.Errorf("status filter enum %v", e)
		}
		for path, method := range map[string]string{"/instances": "post", "/instances/{id}/actions": "post", "/instances/{id}": "delete"} {
			if _, ok := doc["paths"].(map[string]any)[path].(map[string]any)[method].(map[string]any)["responses"].(map[string]any)["202"]; !ok {
				t.Errorf("%s %s does not answer 202", method, path)
			}
		}

		quotas := doc["paths"].(map[string]any)["/quotas/{project}"].(map[string]any)["put"].(map[string]any)
		body := quotas["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
		names, _ := body["propertyNames"].(map[string]any)["enum"].([]any)
		if body["additionalProperties"].(map[string]any)["type"] != "integer" || len(names) != len(models.QuotaResources()) {
			t.Errorf("quota body %v", body)
		}
	})
}
