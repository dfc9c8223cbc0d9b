package openstack_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// TestNeutronFiltersComeBeforeThePage: Neutron's exact filters besides the
// name (id, project_id/tenant_id, cidr, mac_address, floating_ip_address,
// a rule's direction) choose the rows before a page of them is cut, so
// that limit=1 answers the one match, not an empty page because another
// row came first; and they stay inside what the caller may see.
func TestNeutronFiltersComeBeforeThePage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloud(t, s)
		demo := map[string]string{"X-Auth-Token": c.token("demo", demoPassword, "demo")}
		admin := map[string]string{"X-Auth-Token": c.token("admin", adminPassword, "admin")}
		demoProject, _ := s.GetProject(ctx, "demo")
		adminProject, _ := s.GetProject(ctx, "admin")
		const api = "/network/v2.0/"
		create := func(auth map[string]string, collection, key string, body map[string]any) map[string]any {
			t.Helper()
			code, _, out := c.call(http.MethodPost, api+collection, auth, map[string]any{key: body})
			m, _ := out[key].(map[string]any)
			if code != http.StatusCreated || m["id"] == nil {
				t.Fatalf("POST %s: %d %v", collection, code, out)
			}
			return m
		}
		list := func(auth map[string]string, path, collection string) (ids []string, next bool) {
			t.Helper()
			code, _, out := c.call(http.MethodGet, api+path, auth, nil)
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d %v", path, code, out)
			}
			items, _ := out[collection].([]any)
			for _, it := range items {
				ids = append(ids, it.(map[string]any)["id"].(string))
			}
			return ids, out[collection+"_links"] != nil
		}
		only := func(auth map[string]string, path, collection string, want any) {
			t.Helper()
			if ids, _ := list(auth, path, collection); len(ids) != 1 || ids[0] != want {
				t.Errorf("GET %s: %v, want only %v", path, ids, want)
			}
		}
		none := func(auth map[string]string, path, collection string) {
			t.Helper()
			if ids, next := list(auth, path, collection); len(ids) != 0 || next {
				t.Errorf("GET %s: %v (next link %v), want none and no next page", path, ids, next)
			}
		}

		// Neutron's lists page by name: each "a-…" row comes first.
		pub := create(admin, "networks", "network", map[string]any{"name": "a-public", "router:external": true})
		create(admin, "subnets", "subnet", map[string]any{"network_id": pub["id"], "cidr": "203.0.113.0/24", "ip_version": 4})
		net := create(demo, "networks", "network", map[string]any{"name": "b-net"})
		only(demo, "networks?limit=1&id="+net["id"].(string), "networks", net["id"])
		only(demo, "networks?limit=1&project_id="+demoProject.ID, "networks", net["id"])
		only(demo, "networks?limit=1&tenant_id="+demoProject.ID, "networks", net["id"])
		only(demo, "networks?limit=1&project_id="+adminProject.ID, "networks", pub["id"]) // seen, as external

		create(demo, "subnets", "subnet", map[string]any{"name": "a-sub", "network_id": net["id"], "cidr": "10.1.0.0/24", "ip_version": 4})
		sub := create(demo, "subnets", "subnet", map[string]any{"name": "b-sub", "network_id": net["id"], "cidr": "10.2.0.0/24", "ip_version": 4})
		only(demo, "subnets?limit=1&cidr="+url.QueryEscape("10.2.0.0/24"), "subnets", sub["id"])
		only(demo, "subnets?limit=1&id="+sub["id"].(string), "subnets", sub["id"])

		create(demo, "ports", "port", map[string]any{"name": "a-port", "network_id": net["id"]})
		port := create(demo, "ports", "port", map[string]any{"name": "b-port", "network_id": net["id"]})
		only(demo, "ports?limit=1&mac_address="+url.QueryEscape(port["mac_address"].(string)), "ports", port["id"])
		only(demo, "ports?limit=1&id="+port["id"].(string), "ports", port["id"])
		none(demo, "ports?limit=1&project_id="+adminProject.ID, "ports") // another project's: not widened

		create(demo, "routers", "router", map[string]any{"name": "a-router"})
		router := create(demo, "routers", "router", map[string]any{"name": "b-router"})
		only(demo, "routers?limit=1&id="+router["id"].(string), "routers", router["id"])

		group := create(demo, "security-groups", "security_group", map[string]any{"name": "z-group"}) // "default" comes first
		only(demo, "security-groups?limit=1&id="+group["id"].(string), "security_groups", group["id"])
		// A new group's egress rules are older than the ingress rule added to it.
		rule := create(demo, "security-group-rules", "security_group_rule", map[string]any{"security_group_id": group["id"],
			"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22})
		only(demo, "security-group-rules?limit=1&direction=ingress&security_group_id="+group["id"].(string), "security_group_rules", rule["id"])
		only(demo, "security-group-rules?limit=1&id="+rule["id"].(string), "security_group_rules", rule["id"])

		// Floating IPs page by ID: filter for the one whose ID sorts last.
		fip1 := create(demo, "floatingips", "floatingip", map[string]any{"floating_network_id": pub["id"]})
		fip2 := create(demo, "floatingips", "floatingip", map[string]any{"floating_network_id": pub["id"]})
		last := fip2
		if strings.Compare(fip1["id"].(string), fip2["id"].(string)) > 0 {
			last = fip1
		}
		only(demo, "floatingips?limit=1&floating_ip_address="+last["floating_ip_address"].(string), "floatingips", last["id"])
		only(demo, "floatingips?limit=1&id="+last["id"].(string), "floatingips", last["id"])
		none(demo, "floatingips?limit=1&name=x", "floatingips") // a floating IP has no name
	})
}

// TestNeutronQuotaListQueries: an operator's list of every project's
// networking quotas holds the projects with networking limits of their own,
// as Neutron lists the projects with rows in its quota table (one set to
// the default value included; a project with only compute limits of its
// own, or none, has Neutron's defaults and is left out); each keeps its own
// limits; and it costs the same number of queries for two such projects as
// for seven (it read each project's limits one by one).
func TestNeutronQuotaListQueries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloud(t, s)
		admin := map[string]string{"X-Auth-Token": c.token("admin", adminPassword, "admin")}
		adminUser, _ := s.GetUser(ctx, "admin")
		op, err := s.ResolveCaller(ctx, adminUser.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		demoProject, _ := s.GetProject(ctx, "demo")
		addProject := func(name string) string {
			t.Helper()
			p, err := s.CreateProject(ctx, op, models.ProjectInput{Name: name})
			if err != nil {
				t.Fatal(err)
			}
			return p.ID
		}
		setQuota := func(project string, quota map[string]any) {
			t.Helper()
			if code, _, out := c.call(http.MethodPut, "/network/v2.0/quotas/"+project, admin,
				map[string]any{"quota": quota}); code != http.StatusOK {
				t.Fatalf("set %s's quota %v: %d %v", project, quota, code, out)
			}
		}
		setQuota(demoProject.ID, map[string]any{"network": 7})
		compute := addProject("compute-only")
		if _, err := s.SetQuotas(ctx, op, compute, map[string]int64{models.QuotaInstances: 5}); err != nil {
			t.Fatal(err)
		}
		addProject("defaults")
		atDefault := addProject("at-default")
		setQuota(atDefault, map[string]any{"port": models.DefaultQuotas()[models.QuotaPorts]})

		count := s.CountQueries()
		list := func(projects ...string) int64 {
			t.Helper()
			before := count()
			code, _, out := c.call(http.MethodGet, "/network/v2.0/quotas", admin, nil)
			n := count() - before
			quotas, _ := out["quotas"].([]any)
			var got []string
			for _, q := range quotas {
				q := q.(map[string]any)
				got = append(got, q["project_id"].(string))
				if want := q["project_id"] == demoProject.ID; (q["network"] == 7.0) != want || q["tenant_id"] != q["project_id"] {
					t.Errorf("quotas %v: network 7 for demo only", q)
				}
			}
			slices.Sort(got)
			slices.Sort(projects)
			if code != http.StatusOK || !slices.Equal(got, projects) {
				t.Fatalf("GET quotas: %d %v, want the projects %v", code, out, projects)
			}
			return n
		}
		few := list(demoProject.ID, atDefault)
		more := []string{demoProject.ID, atDefault}
		for _, name := range []string{"p1", "p2", "p3", "p4", "p5"} {
			id := addProject(name)
			setQuota(id, map[string]any{"router": 3})
			more = append(more, id)
		}
		if many := list(more...); many != few {
			t.Errorf("GET quotas: %d queries for 7 projects, %d for 2: want as many", many, few)
		}
	})
}

// TestNeutronFiltersTakeSeveralValues: each exact filter may be repeated,
// as Neutron takes it (openstacksdk and Horizon ask for several ports or
// networks at once: ?id=a&id=b), and matches any of its values, still
// before the page is cut and inside what the caller may see.
func TestNeutronFiltersTakeSeveralValues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := newCloud(t, s)
		demo := map[string]string{"X-Auth-Token": c.token("demo", demoPassword, "demo")}
		admin := map[string]string{"X-Auth-Token": c.token("admin", adminPassword, "admin")}
		const api = "/network/v2.0/"
		create := func(auth map[string]string, collection, key string, body map[string]any) string {
			t.Helper()
			code, _, out := c.call(http.MethodPost, api+collection, auth, map[string]any{key: body})
			m, _ := out[key].(map[string]any)
			if code != http.StatusCreated || m["id"] == nil {
				t.Fatalf("POST %s: %d %v", collection, code, out)
			}
			return m["id"].(string)
		}
		// get lists one page: its IDs and the path of the next page ("" on the last).
		get := func(path, collection string) (ids []string, next string) {
			t.Helper()
			code, _, out := c.call(http.MethodGet, path, demo, nil)
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d %v", path, code, out)
			}
			items, _ := out[collection].([]any)
			for _, it := range items {
				ids = append(ids, it.(map[string]any)["id"].(string))
			}
			if links, _ := out[collection+"_links"].([]any); len(links) > 0 {
				next = strings.TrimPrefix(links[0].(map[string]any)["href"].(string), c.srv.URL)
			}
			return ids, next
		}
		want := func(path, collection string, ids ...string) {
			t.Helper()
			if got, next := get(api+path, collection); strings.Join(got, " ") != strings.Join(ids, " ") || next != "" {
				t.Errorf("GET %s: %v (next %q), want %v and no next page", path, got, next, ids)
			}
		}
		// paged walks every page of limit=1 and wants ids, one a page.
		paged := func(path, collection string, ids ...string) {
			t.Helper()
			var got []string
			for next := api + path + "&limit=1"; next != "" && len(got) <= len(ids); {
				var page []string
				page, next = get(next, collection)
				if len(page) > 1 {
					t.Errorf("GET %s: %v, more than the limit", path, page)
				}
				got = append(got, page...)
			}
			if strings.Join(got, " ") != strings.Join(ids, " ") {
				t.Errorf("GET %s by pages of one: %v, want %v", path, got, ids)
			}
		}
		of := func(name string, ids ...string) string {
			v := url.Values{name: ids}
			return v.Encode()
		}

		// Neutron's lists page by name: a-, b-, c-, in that order.
		nets := []string{create(demo, "networks", "network", map[string]any{"name": "a-net"}),
			create(demo, "networks", "network", map[string]any{"name": "b-net"}),
			create(demo, "networks", "network", map[string]any{"name": "c-net"})}
		private := create(admin, "networks", "network", map[string]any{"name": "a-private"}) // the admin project's own
		shared := create(admin, "networks", "network", map[string]any{"name": "d-shared", "shared": true})
		want("networks?"+of("id", nets[2], nets[0]), "networks", nets[0], nets[2])
		paged("networks?"+of("id", nets[2], nets[0]), "networks", nets[0], nets[2])
		want("networks?"+of("id", private, nets[1]), "networks", nets[1]) // another project's: not widened
		want("networks?"+of("id", private), "networks")
		want("networks?"+of("name", "a-net", "c-net"), "networks", nets[0], nets[2])
		want("networks?"+of("shared", "true"), "networks", shared)
		want("networks?"+of("shared", "true", "false"), "networks", nets[0], nets[1], nets[2], shared) // either: all
		if code, _, out := c.call(http.MethodGet, api+"networks?shared=maybe", demo, nil); code != http.StatusBadRequest ||
			!strings.Contains(out["NeutronError"].(map[string]any)["message"].(string), "shared") {
			t.Errorf("GET networks?shared=maybe: %d %v, want 400 naming shared", code, out)
		}

		subs := make([]string, len(nets))
		for i, n := range nets {
			subs[i] = create(demo, "subnets", "subnet", map[string]any{"name": "s" + string(rune('a'+i)), "network_id": n,
				"cidr": "10.9." + string(rune('1'+i)) + ".0/24", "ip_version": 4})
		}
		want("subnets?"+of("network_id", nets[0], nets[2]), "subnets", subs[0], subs[2])
		paged("subnets?"+of("network_id", nets[2], nets[0]), "subnets", subs[0], subs[2])
		want("subnets?"+of("cidr", "10.9.2.0/24", "10.9.3.0/24"), "subnets", subs[1], subs[2])

		ports := make([]string, len(nets))
		for i, n := range nets {
			ports[i] = create(demo, "ports", "port", map[string]any{"name": "p" + string(rune('a'+i)), "network_id": n,
				"device_id": "dev-" + string(rune('a'+i))})
		}
		want("ports?"+of("network_id", nets[0], nets[1]), "ports", ports[0], ports[1])
		paged("ports?"+of("network_id", nets[0], nets[1]), "ports", ports[0], ports[1])
		want("ports?"+of("id", ports[2], ports[0]), "ports", ports[0], ports[2])
		want("ports?"+of("device_id", "dev-b", "dev-c"), "ports", ports[1], ports[2])
		paged("ports?"+of("device_id", "dev-c", "dev-a")+"&"+of("network_id", nets[0], nets[2]), "ports", ports[0], ports[2])

		group := create(demo, "security-groups", "security_group", map[string]any{"name": "g"})
		rule := create(demo, "security-group-rules", "security_group_rule", map[string]any{"security_group_id": group,
			"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22})
		in, _ := get(api+"security-group-rules?"+of("security_group_id", group)+"&direction=ingress", "security_group_rules")
		out, _ := get(api+"security-group-rules?"+of("security_group_id", group)+"&direction=egress", "security_group_rules")
		both, _ := get(api+"security-group-rules?"+of("security_group_id", group)+"&"+of("direction", "ingress", "egress"), "security_group_rules")
		if len(in) != 1 || in[0] != rule || len(out) == 0 || len(both) != len(in)+len(out) {
			t.Errorf("a group's rules: ingress %v, egress %v, either %v", in, out, both)
		}
	})
}
