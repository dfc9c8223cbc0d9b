// Package policy is Stratus' authorization table: every action a route may
// perform (e.g. "compute:instance:create") mapped to a rule over the caller's
// roles, in one place, for the web, API and compat adapters alike. An
// operator may override rules with a JSON policy file.
//
// Rules are alternatives joined by " or ":
//
//	role:reader|member|admin     at least that role on the caller's current project
//	system:reader|member|admin   at least that role on the system (an operator)
//	authenticated                any logged-in user, with or without a project
//	public                       anyone, even without logging in
//	!                            nobody
package policy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"

	"stratus/handlers/httpx"
	"stratus/models"
)

// defaultRules is the policy table. Reads are for project readers, actions
// for members, project management for project admins, identity and the
// infrastructure for system admins.
func defaultRules() map[string]string {
	return map[string]string{
		// Identity (Keystone).
		"identity:me":                     "authenticated",
		"identity:project:switch":         "authenticated",
		"identity:user:locale":            "authenticated",
		"identity:project:list":           "system:admin",
		"identity:project:get":            "system:admin",
		"identity:project:create":         "system:admin",
		"identity:project:update":         "system:admin",
		"identity:user:list":              "system:admin",
		"identity:user:get":               "system:admin",
		"identity:user:create":            "system:admin",
		"identity:user:update":            "system:admin",
		"identity:role_assignment:list":   "system:admin",
		"identity:role_assignment:create": "system:admin",
		"identity:role_assignment:delete": "system:admin",
		"identity:token:list":             "role:reader or system:reader",
		"identity:token:create":           "role:reader or system:reader",
		"identity:token:revoke":           "authenticated",
		"identity:token:issue":            "public",
		"identity:token:validate":         "authenticated",
		"identity:catalog":                "authenticated",
		"identity:domain:get":             "authenticated",
		"identity:role:list":              "system:reader",
		"identity:audit:list":             "system:admin",

		// The web UI's own session endpoints.
		"web:login":  "public",
		"web:logout": "authenticated",

		// The API's own description (GET /api/v1/openapi.json).
		"api:openapi": "public",

		// The OpenStack-compatible APIs' version documents (discovery).
		"openstack:versions": "public",

		// The project's own pages.
		"project:overview": "role:reader",

		// The job queue (operators).
		"admin:job:list":   "system:admin",
		"admin:job:retry":  "system:admin",
		"admin:job:cancel": "system:admin",

		// Flavors: everyone reads those they may use; operators manage them.
		"compute:flavor:list":     "role:reader or system:reader",
		"compute:flavor:get":      "role:reader or system:reader",
		"compute:flavor:list_all": "system:admin",
		"compute:flavor:create":   "system:admin",
		"compute:flavor:update":   "system:admin",
		"compute:flavor:delete":   "system:admin",

		// Images (Glance). Publishing a public image is checked in the
		// model (operators only). System readers — the compute agents'
		// service accounts — may download any image.
		"image:list":     "role:reader or system:reader",
		"image:list_all": "system:admin",
		"image:get":      "role:reader or system:reader",
		"image:download": "role:reader or system:reader",
		// A snapshot's data comes from the compute host that made it (its
		// service account, a system reader), which also proves it holds
		// the snapshot's one-time secret.
		"image:snapshot_upload": "system:reader",
		"image:create":          "role:member",
		"image:upload":          "role:member",
		"image:update":          "role:member or system:admin",
		"image:delete":          "role:member or system:admin",

		// Image members: the projects a shared image is shared with. The
		// model lets only the owner project (or an operator) change them.
		"image:member:list":   "role:reader or system:reader",
		"image:member:create": "role:member or system:admin",
		"image:member:delete": "role:member or system:admin",

		// Key pairs and server groups belong to the project.
		"compute:keypair:list":        "role:reader",
		"compute:keypair:get":         "role:reader",
		"compute:keypair:create":      "role:member",
		"compute:keypair:delete":      "role:member",
		"compute:server_group:list":   "role:reader",
		"compute:server_group:get":    "role:reader",
		"compute:server_group:create": "role:member",
		"compute:server_group:delete": "role:member",

		// Instances.
		"compute:instance:list":            "role:reader",
		"compute:instance:get":             "role:reader",
		"compute:instance:create":          "role:member",
		"compute:instance:action":          "role:member",
		"compute:instance:delete":          "role:member",
		"compute:instance:actions":         "role:reader",
		"compute:instance:console":         "role:member",
		"compute:instance:console_log":     "role:member",
		"compute:instance:list_all":        "system:admin",
		"compute:instance:security_groups": "role:member",
		// Moves: tenants resize (and confirm or revert, through
		// compute:instance:action); operators move instances between hosts.
		"compute:instance:resize":       "role:member",
		"compute:instance:migrate":      "system:admin",
		"compute:instance:live_migrate": "system:admin",
		"compute:instance:evacuate":     "system:admin",
		"compute:instance:migrations":   "role:reader",
		"compute:migration:list":        "system:admin",

		// Networking (Neutron). Operators alone share networks or mark them
		// external (checked in the model) and list every project's.
		"network:network:list":                   "role:reader or system:reader",
		"network:network:get":                    "role:reader or system:reader",
		"network:network:list_all":               "system:admin",
		"network:network:create":                 "role:member",
		"network:network:update":                 "role:member or system:admin",
		"network:network:delete":                 "role:member or system:admin",
		"network:network:share":                  "system:admin",
		"network:subnet:list":                    "role:reader or system:reader",
		"network:subnet:get":                     "role:reader or system:reader",
		"network:subnet:create":                  "role:member",
		"network:subnet:update":                  "role:member or system:admin",
		"network:subnet:delete":                  "role:member or system:admin",
		"network:port:list":                      "role:reader",
		"network:port:get":                       "role:reader",
		"network:port:create":                    "role:member",
		"network:port:update":                    "role:member",
		"network:port:delete":                    "role:member",
		"network:security_group:list":            "role:reader",
		"network:security_group:get":             "role:reader",
		"network:security_group:create":          "role:member",
		"network:security_group:update":          "role:member",
		"network:security_group:delete":          "role:member",
		"network:security_group_rule:list":       "role:reader",
		"network:security_group_rule:get":        "role:reader",
		"network:security_group_rule:create":     "role:member",
		"network:security_group_rule:delete":     "role:member",
		"network:extension:list":                 "authenticated",
		"network:router:list":                    "role:reader",
		"network:router:get":                     "role:reader",
		"network:router:create":                  "role:member",
		"network:router:update":                  "role:member",
		"network:router:delete":                  "role:member",
		"network:router:add_router_interface":    "role:member",
		"network:router:remove_router_interface": "role:member",
		"network:floatingip:list":                "role:reader",
		"network:floatingip:get":                 "role:reader",
		"network:floatingip:create":              "role:member",
		"network:floatingip:update":              "role:member",
		"network:floatingip:delete":              "role:member",
		"compute:instance:update":                "role:member",

		// Availability zones: the zones a launch may name.
		"compute:availability_zone:list": "role:reader or system:reader",

		// Block storage (Cinder). Forcing a detach and seeing every
		// project's volumes are the operator's.
		"volume:list":            "role:reader",
		"volume:get":             "role:reader",
		"volume:create":          "role:member",
		"volume:update":          "role:member",
		"volume:delete":          "role:member",
		"volume:extend":          "role:member",
		"volume:list_all":        "system:admin",
		"volume:attachment:list": "role:reader",
		"volume:attach":          "role:member",
		"volume:detach":          "role:member",
		"volume:force_detach":    "system:admin",
		"volume:snapshot:list":   "role:reader",
		"volume:snapshot:get":    "role:reader",
		"volume:snapshot:create": "role:member",
		"volume:snapshot:update": "role:member",
		"volume:snapshot:delete": "role:member",
		"volume:type:list":       "role:reader or system:reader",
		"volume:type:get":        "role:reader or system:reader",
		"volume:type:create":     "system:admin",
		"volume:type:update":     "system:admin",
		"volume:type:delete":     "system:admin",
		"volume:backend:list":    "system:admin",
		"volume:backend:update":  "system:admin",

		// Quotas and usage.
		"compute:usage":        "role:reader",
		"compute:quota:get":    "system:admin",
		"compute:quota:update": "system:admin",

		// Object storage (Swift). On another project's account, container
		// ACLs decide instead (handlers/openstack/object); the temporary
		// URL and account keys are for members, who may write.
		"object:info":             "public",
		"object:auth":             "public",
		"object:account:get":      "role:reader",
		"object:account:update":   "role:member",
		"object:container:get":    "role:reader",
		"object:container:create": "role:member",
		"object:container:update": "role:member",
		"object:container:delete": "role:member",
		"object:object:get":       "role:reader",
		"object:object:create":    "role:member",
		"object:object:update":    "role:member",
		"object:object:delete":    "role:member",
		"object:tempurl:create":   "role:member",

		// Hypervisors (operators).
		"compute:host:list":   "system:admin",
		"compute:host:get":    "system:admin",
		"compute:host:update": "system:admin",
		"compute:host:drain":  "system:admin",
	}
}

// Enforcer answers "may this caller do this action?".
type Enforcer struct {
	rules map[string][]term
}

type term struct {
	kind string // role, system, authenticated, public, deny
	role models.Role
}

// New builds the enforcer from the defaults and, when path is not empty, the
// operator's overrides. An override naming an unknown action is refused, so
// that a typo cannot silently leave the default in place.
func New(path string) (*Enforcer, error) {
	table := defaultRules()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read policy file: %w", err)
		}
		var over map[string]string
		if err := json.Unmarshal(b, &over); err != nil {
			return nil, fmt.Errorf("policy file %s: %w", path, err)
		}
		for k, v := range over {
			if _, ok := table[k]; !ok {
				return nil, fmt.Errorf("policy file %s: unknown action %q", path, k)
			}
			table[k] = v
		}
	}
	e := &Enforcer{rules: make(map[string][]term, len(table))}
	for action, rule := range table {
		terms, err := parseRule(rule)
		if err != nil {
			return nil, fmt.Errorf("policy for %s: %w", action, err)
		}
		e.rules[action] = terms
	}
	return e, nil
}

func parseRule(rule string) ([]term, error) {
	var out []term
	for _, alt := range strings.Split(rule, " or ") {
		alt = strings.TrimSpace(alt)
		switch {
		case alt == "authenticated" || alt == "public":
			out = append(out, term{kind: alt})
		case alt == "!":
			out = append(out, term{kind: "deny"})
		case strings.HasPrefix(alt, "role:") || strings.HasPrefix(alt, "system:"):
			kind, name, _ := strings.Cut(alt, ":")
			r, err := models.ParseRole(name)
			if err != nil {
				return nil, fmt.Errorf("rule %q: %w", alt, err)
			}
			out = append(out, term{kind: kind, role: r})
		default:
			return nil, fmt.Errorf("rule %q: want role:R, system:R, authenticated, public, or ! for nobody", alt)
		}
	}
	return out, nil
}

// Allowed reports whether the caller (nil when not logged in) may perform
// the action. An action missing from the table is denied.
func (e *Enforcer) Allowed(c *models.Caller, action string) bool {
	for _, t := range e.rules[action] {
		switch t.kind {
		case "public":
			return true
		case "authenticated":
			if c != nil {
				return true
			}
		case "role":
			if c != nil && c.ProjectID != "" && c.ProjectRole.AtLeast(t.role) {
				return true
			}
		case "system":
			if c != nil && c.SystemRole.AtLeast(t.role) {
				return true
			}
		}
	}
	return false
}

// Known reports whether the action is in the table.
func (e *Enforcer) Known(action string) bool {
	_, ok := e.rules[action]
	return ok
}

// Public reports whether the action needs no login at all.
func (e *Enforcer) Public(action string) bool { return e.Allowed(nil, action) }

// DefaultRule returns the rule text of the default table (for docs).
func DefaultRule(action string) string { return defaultRules()[action] }

// Route is an endpoint as an adapter declares it: its policy action is part
// of the declaration, so tests can walk every route and its rule.
type Route struct {
	Method  string
	Pattern string // chi pattern, relative to where the adapter is mounted
	Action  string
}

// Denied renders a refusal: err is models.ErrUnauthenticated (no caller) or
// models.ErrForbidden (the role does not allow it).
type Denied func(w http.ResponseWriter, r *http.Request, err error)

// Require is the middleware a route declares its action with. It must run
// after the adapter's authentication middleware has put the caller (if any)
// in the context.
func (e *Enforcer) Require(action string, deny Denied) func(http.Handler) http.Handler {
	if !e.Known(action) {
		// A route naming an action the table lacks is a programming error;
		// fail at start-up, not at the first request.
		panic(fmt.Sprintf("policy: route declares unknown action %q", action))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := httpx.CallerFrom(r.Context())
			var cp *models.Caller
			if ok {
				cp = &c
			}
			switch {
			case e.Allowed(cp, action):
				next.ServeHTTP(w, r)
			case cp == nil:
				deny(w, r, models.ErrUnauthenticated)
			default:
				deny(w, r, models.ErrForbidden)
			}
		})
	}
}
