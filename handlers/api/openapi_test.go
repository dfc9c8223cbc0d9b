package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/api"
	"stratus/handlers/policy"
	"stratus/models"
	"stratus/models/storetest"
)

// The document served at /api/v1/openapi.json describes exactly the routes
// the router serves — every chi route is in it with its method, and nothing
// else is — and every schema it refers to exists. (That each answer matches
// its schema is checked on every request the other tests make: see env.do.)
func TestOpenAPIDocumentMatchesTheRouter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		doc := e.doc
		if doc["openapi"] != "3.1.0" {
			t.Errorf("openapi %v", doc["openapi"])
		}
		enf, _ := policy.New("")
		a := api.New(api.Deps{Store: s, Policy: enf})

		served := map[string]bool{}
		param := regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)
		err := chi.Walk(a.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			served[method+" "+param.ReplaceAllString(route, "{$1}")] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		documented := map[string]bool{}
		opIDs := map[string]bool{}
		for path, item := range doc["paths"].(map[string]any) {
			for method, o := range item.(map[string]any) {
				documented[strings.ToUpper(method)+" "+path] = true
				op := o.(map[string]any)
				id, _ := op["operationId"].(string)
				if id == "" || opIDs[id] {
					t.Errorf("%s %s: operationId %q missing or repeated", method, path, id)
				}
				opIDs[id] = true
				if op["summary"] == "" || op["x-stratus-action"] == "" {
					t.Errorf("%s %s: no summary or action", method, path)
				}
				checkOperation(t, doc, strings.ToUpper(method), path, op, enf)
			}
		}
		for k := range served {
			if !documented[k] {
				t.Errorf("%s is served but not documented", k)
			}
		}
		for k := range documented {
			if !served[k] {
				t.Errorf("%s is documented but not served", k)
			}
		}
		if len(served) != len(a.Routes()) {
			t.Errorf("router has %d routes, table %d", len(served), len(a.Routes()))
		}

		// Every $ref anywhere resolves.
		raw, _ := json.Marshal(doc)
		schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
		for _, m := range regexp.MustCompile(`"\$ref":"#/components/schemas/([^"]+)"`).FindAllStringSubmatch(string(raw), -1) {
			if _, ok := schemas[m[1]]; !ok {
				t.Errorf("dangling $ref to %s", m[1])
			}
		}
		for _, name := range []string{"Project", "User", "Token", "RoleAssignmentView", "AuditEvent", "Job", "IssuedToken", "Me",
			"ProjectInput", "UserInput", "UserUpdate", "ProjectUpdate", "AssignmentInput", "APITokenInput", "IssueTokenRequest", "ErrorBody",
			"Flavor", "FlavorDetail", "FlavorInput", "FlavorUpdate", "Image", "ImageInput", "ImageUpdate", "KeyPair", "NewKeyPair",
			"KeyPairInput", "ServerGroup", "ServerGroupInput", "Instance", "InstanceCreate", "InstanceActionRequest", "InstanceAction",
			"QuotaSet", "Host", "HostUpdate"} {
			if _, ok := schemas[name]; !ok {
				t.Errorf("no schema for %s", name)
			}
		}
		// The reflector follows json tags: no hash, no Go field names.
		user := schemas["User"].(map[string]any)["properties"].(map[string]any)
		for _, hidden := range []string{"password_hash", "PasswordHash", "FailedLogins", "failed_logins"} {
			if _, ok := user[hidden]; ok {
				t.Errorf("User schema shows %s", hidden)
			}
		}
		if _, ok := user["locked_until"]; !ok {
			t.Errorf("User schema lacks locked_until")
		}
		if req := schemas["User"].(map[string]any)["required"].([]any); slices.Contains(req, "locked_until") || !slices.Contains(req, "id") {
			t.Errorf("User required %v: omitempty members are optional, the rest always present", req)
		}
	})
}

// checkOperation checks one operation against the route table's rules.
func checkOperation(t *testing.T, doc map[string]any, method, path string, op map[string]any, enf *policy.Enforcer) {
	t.Helper()
	responses := op["responses"].(map[string]any)
	if _, ok := responses["default"]; !ok {
		t.Errorf("%s %s: no error response", method, path)
	}
	var success []string
	for code := range responses {
		if code != "default" {
			success = append(success, code)
		}
	}
	slices.Sort(success)
	ok := responses[success[0]].(map[string]any)
	content, hasContent := ok["content"].(map[string]any)
	_, binary := content["application/octet-stream"]
	switch {
	case binary && !slices.Equal(success, []string{"200", "206"}):
		t.Errorf("%s %s: binary success responses %v, want 200 and 206 (a Range)", method, path, success)
	case !binary && len(success) != 1:
		t.Fatalf("%s %s: success responses %v, want one", method, path, success)
	}
	if (success[0] == "204") == hasContent {
		t.Errorf("%s %s: %s with content %t", method, path, success[0], hasContent)
	}
	if hasContent && len(content) != 1 {
		t.Errorf("%s %s: %d media types, want one", method, path, len(content))
	}
	// A POST creates (201) or starts something that finishes later (202);
	// only the job queue's verbs answer 200.
	if method == http.MethodPost && success[0] != "201" && success[0] != "202" && !strings.HasPrefix(path, "/jobs/") {
		t.Errorf("%s %s: a POST answers %s, want 201 or 202", method, path, success[0])
	}
	_, hasBody := op["requestBody"]
	if (method == http.MethodPost || method == http.MethodPatch) && !hasBody && !strings.HasPrefix(path, "/jobs/") {
		t.Errorf("%s %s: no request body", method, path)
	}
	if hasBody && (method == http.MethodGet || method == http.MethodDelete) {
		t.Errorf("%s %s: a request body on %s", method, path, method)
	}
	sec, hasSec := op["security"].([]any)
	public := enf.Public(op["x-stratus-action"].(string))
	if public != (hasSec && len(sec) == 0) {
		t.Errorf("%s %s: public %t but security %v", method, path, public, op["security"])
	}
	// Every {param} of the path is declared, as a required path parameter.
	params, _ := op["parameters"].([]any)
	for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
		found := false
		for _, p := range params {
			pm := p.(map[string]any)
			if pm["name"] == m[1] && pm["in"] == "path" && pm["required"] == true {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %s: path parameter %s not declared", method, path, m[1])
		}
	}
	if strings.HasSuffix(path, "s") && method == http.MethodGet && !strings.Contains(path, "{") && path != "/jobs/counts" {
		var names []string
		for _, p := range params {
			names = append(names, p.(map[string]any)["name"].(string))
		}
		if !slices.Contains(names, "limit") || !slices.Contains(names, "marker") {
			t.Errorf("%s %s: a list without limit and marker: %v", method, path, names)
		}
	}
}
