package api_test

import (
	"net/http"
	"regexp"
	"testing"

	"stratus/handlers/api"
	"stratus/handlers/policy"
	"stratus/models"
	"stratus/models/storetest"
)

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// concrete fills a route pattern's parameters with an ID that exists
// nowhere: the policy must refuse before any lookup, so the answer is 401 or
// 403 and never 404.
func concrete(pattern string) string {
	return pathParam.ReplaceAllStringFunc(pattern, func(p string) string {
		if p == "{id}" && regexp.MustCompile(`^/jobs/`).MatchString(pattern) {
			return "1"
		}
		return "00000000-0000-4000-8000-000000000000"
	})
}

// Generated from Routes(), so a new route cannot be forgotten: anonymous
// callers get 401 on every non-public route, a project member gets 403 on
// every operator route, and an unscoped token gets 403 on every project
// route.
func TestEveryRouteRefusesWhoItMust(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		enf, err := policy.New("")
		if err != nil {
			t.Fatal(err)
		}
		routes := api.New(api.Deps{Store: s, Policy: enf}).Routes()
		if len(routes) < 20 {
			t.Fatalf("only %d routes", len(routes))
		}
		member := e.demo()
		unscoped := e.login("demo", demoPassword, "")
		for _, rt := range routes {
			t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
				e := e.at(t)
				path := concrete(rt.Pattern)
				rule := policy.DefaultRule(rt.Action)
				if rule == "public" {
					return
				}
				want(t, e.do(rt.Method, path, "", nil), http.StatusUnauthorized, "unauthorized")
				if rule == "system:admin" {
					want(t, e.do(rt.Method, path, member, nil), http.StatusForbidden, "forbidden")
				}
				if rule == "role:reader" || rule == "role:member" || rule == "role:admin" {
					want(t, e.do(rt.Method, path, unscoped, nil), http.StatusForbidden, "forbidden")
				}
			})
		}
	})
}

func TestRoutesCarryKnownActions(t *testing.T) {
	enf, err := policy.New("")
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(api.Deps{Policy: enf})
	public := 0
	for _, rt := range a.Routes() {
		if !enf.Known(rt.Action) {
			t.Errorf("%s %s: unknown action %q", rt.Method, rt.Pattern, rt.Action)
		}
		if enf.Public(rt.Action) {
			public++
			if rt.Pattern != "/auth/tokens" && rt.Pattern != "/openapi.json" {
				t.Errorf("%s %s is public", rt.Method, rt.Pattern)
			}
		}
	}
	if public != 2 {
		t.Errorf("%d public routes, want 2 (log in, this document)", public)
	}
}
