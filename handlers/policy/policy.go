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
		"identity:audit:list":             "system:admin",

		// The web UI's own session endpoints.
		"web:login":  "public",
		"web:logout": "authenticated",

		// The API's own description (GET /api/v1/openapi.json).
		"api:openapi": "public",

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
		"image:create":   "role:member",
		"image:upload":   "role:member",
		"image:update":   "role:member or system:admin",
		"image:delete":   "role:member or system:admin",

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
		"compute:instance:list":        "role:reader",
		"compute:instance:get":         "role:reader",
		"compute:instance:create":      "role:member",
		"compute:instance:action":      "role:member",
		"compute:instance:delete":      "role:member",
		"compute:instance:actions":     "role:reader",
		"compute:instance:console":     "role:member",
		"compute:instance:console_log": "role:member",
		"compute:instance:list_all":    "system:admin",

		// Quotas and usage.
		"compute:usage":        "role:reader",
		"compute:quota:get":    "system:admin",
		"compute:quota:update": "system:admin",

		// Hypervisors (operators).
		"compute:host:list":   "system:admin",
		"compute:host:get":    "system:admin",
		"compute:host:update": "system:admin",
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
