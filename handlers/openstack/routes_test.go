package openstack_test

import (
	"testing"

	"stratus/handlers/openstack"
	"stratus/handlers/policy"
	"stratus/models/storetest"
)

// The facade's route tables: every route of every service under its
// prefix, once, with a policy action the table knows (the RBAC matrix in
// handlers walks the same list).
func TestRouteTables(t *testing.T) {
	s := storetest.New(t, storetest.SQLite)
	enf, err := policy.New("")
	if err != nil {
		t.Fatal(err)
	}
	routes := openstack.New(openstack.Deps{Store: s, Policy: enf}).Routes()
	seen := map[string]bool{}
	prefixes := map[string]int{}
	for _, rt := range routes {
		key := rt.Method + " " + rt.Pattern
		if seen[key] {
			t.Errorf("%s appears twice", key)
		}
		seen[key] = true
		if !enf.Known(rt.Action) {
			t.Errorf("%s: unknown action %s", key, rt.Action)
		}
		for _, p := range []string{"/identity", "/compute", "/image", "/network", "/volume"} {
			if len(rt.Pattern) >= len(p) && rt.Pattern[:len(p)] == p {
				prefixes[p]++
			}
		}
	}
	for p, min := range map[string]int{"/identity": 30, "/compute": 45, "/image": 15, "/network": 25, "/volume": 20} {
		if prefixes[p] < min {
			t.Errorf("%s: %d routes, want at least %d", p, prefixes[p], min)
		}
	}
	if len(prefixes) != 5 || len(routes) != prefixes["/identity"]+prefixes["/compute"]+prefixes["/image"]+prefixes["/network"]+prefixes["/volume"] {
		t.Errorf("routes outside the five services: %v of %d", prefixes, len(routes))
	}
}
