package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// l3 is what the router and floating IP tests work with: the operators'
// external network "public" (203.0.113.0/24) and demo's network "app-net"
// (10.0.0.0/24).
type l3 struct {
	*compute
	public    models.Network
	appNet    models.Network
	appSubnet models.Subnet
}

func l3Setup(t *testing.T, s *models.Store) *l3 {
	t.Helper()
	ctx := context.Background()
	c := computeSetup(t, s)
	adminProject, err := s.GetProject(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	op, err := s.ResolveCaller(ctx, c.admin.ID, adminProject.ID)
	if err != nil {
		t.Fatal(err)
	}
	x := &l3{compute: c}
	if x.public, err = s.CreateNetwork(ctx, op, models.NetworkInput{Name: "public", RouterExternal: true}); err != nil {
		t.Fatal(err)
	}
	if _, err = s.CreateSubnet(ctx, op, models.SubnetInput{NetworkID: x.public.ID, CIDR: "203.0.113.0/24", EnableDHCP: new(bool)}); err != nil {
		t.Fatal(err)
	}
	if x.appNet, x.appSubnet, err = s.CreateNetworkWithSubnet(ctx, c.demoC, models.NetworkInput{Name: "app-net"}, models.SubnetInput{CIDR: "10.0.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	return x
}

func demoRouters(t *testing.T, x *l3) []models.Router {
	t.Helper()
	page, err := x.store.ListRouters(context.Background(), x.demoC, models.RouterFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

func TestRouterPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		x := l3Setup(t, s)
		ctx := context.Background()
		br := x.browser(t)
		br.login("demo", demoPassword)
		p := br.get("/routers")
		wantStatus(t, p, http.StatusOK)
		if p.testID("router-form").Length() != 1 || p.testID("nav-routers").Length() != 1 {
			t.Fatalf("a member sees no router form or sidebar entry: %v", testIDs(p.doc.Selection))
		}
		if opts := p.testID("router-network").Find("option").Text(); !strings.Contains(opts, "public") || strings.Contains(opts, "app-net") {
			t.Errorf("gateway choices %q: want the external network only", opts)
		}

		// Bad input: the field is named, nothing is written.
		for _, tc := range []struct {
			name  string
			form  url.Values
			field string
		}{
			{"bad name", url.Values{"name": {"r\x00"}}, "name"},
			{"no such network", url.Values{"name": {"r"}, "network_id": {"no-such-net"}}, "network_id"},
			{"not external", url.Values{"name": {"r"}, "network_id": {x.appNet.ID}}, "network_id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := br.submit("/routers", tc.form)
				wantStatus(t, p, http.StatusUnprocessableEntity)
				if p.testID("error-"+tc.field).Text() == "" {
					t.Errorf("no error beside %s: %v", tc.field, testIDs(p.testID("router-form")))
				}
			})
		}
		if rs := demoRouters(t, x); len(rs) != 0 {
			t.Fatalf("refused forms wrote %d routers", len(rs))
		}

		// Create without a gateway, then set it on its page.
		p = br.submit("/routers", url.Values{"name": {"edge"}})
		wantStatus(t, p, http.StatusSeeOther)
		rs := demoRouters(t, x)
		if len(rs) != 1 || p.location() != "/routers/"+rs[0].ID {
			t.Fatalf("created %+v, sent to %q", rs, p.location())
		}
		id := rs[0].ID
		p = br.get("/routers/" + id)
		wantStatus(t, p, http.StatusOK)
		if p.testID("router-no-gateway").Length() != 1 {
			t.Errorf("a router without gateway: %q", p.testID("router-gateway").Text())
		}
		p = br.submit("/routers/"+id+"/gateway", url.Values{"network_id": {""}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.testID("error-network_id").Text(), "external network") {
			t.Errorf("empty gateway choice: %q", p.testID("error-network_id").Text())
		}
		p = br.submit("/routers/"+id+"/gateway", url.Values{"network_id": {x.appNet.ID}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.testID("error-network_id").Text(), "not external") {
			t.Errorf("internal network as gateway: %q", p.testID("error-network_id").Text())
		}
		wantStatus(t, br.submit("/routers/"+id+"/gateway", url.Values{"network_id": {x.public.ID}}), http.StatusSeeOther)
		p = br.get("/routers/" + id)
		if gw := p.testID("router-gateway").Text(); !strings.Contains(gw, "public") || !strings.Contains(gw, "203.0.113.") {
			t.Errorf("gateway shown as %q", gw)
		}
		if p = br.get("/routers"); !strings.Contains(p.testID("router-row-edge").Find(`[data-testid="router-gateway"]`).Text(), "public") {
			t.Errorf("list row %q", p.testID("router-row-edge").Text())
		}

		// Interfaces: the field is named; a subnet of the project's network.
		p = br.submit("/routers/"+id+"/interfaces", url.Values{"subnet_id": {""}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("error-subnet_id").Text() == "" {
			t.Errorf("empty subnet: %v", testIDs(p.testID("interface-form")))
		}
		p = br.submit("/routers/"+id+"/interfaces", url.Values{"subnet_id": {"not-a-subnet"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.testID("error-subnet_id").Text(), "no such subnet") {
			t.Errorf("unknown subnet: %q", p.testID("error-subnet_id").Text())
		}
		if opts := br.get("/routers/" + id).testID("interface-subnet").Find("option").Text(); !strings.Contains(opts, "10.0.0.0/24") || strings.Contains(opts, "203.0.113") {
			t.Errorf("interface choices %q", opts)
		}
		wantStatus(t, br.submit("/routers/"+id+"/interfaces", url.Values{"subnet_id": {x.appSubnet.ID}}), http.StatusSeeOther)
		p = br.get("/routers/" + id)
		if ip := p.testID("router-interface-10.0.0.0/24").Find(`[data-testid="router-interface-ip"]`).Text(); ip != "10.0.0.1" {
			t.Errorf("interface address %q", ip)
		}
		if p.testID("router-live").AttrOr("data-polling", "") != "true" {
			t.Error("the page does not poll while no host carries the router (its interface is DOWN)")
		}
		if strings.Contains(p.testID("interface-subnet").Find("option").Text(), "10.0.0.0/24") {
			t.Error("the attached subnet is offered again")
		}
		if p = br.get("/networks"); p.testID("topology-router-edge").Length() != 1 ||
			!strings.Contains(p.testID("topology-router-edge").Text(), "10.0.0.1") || !strings.Contains(p.testID("topology-router-edge").Text(), "203.0.113.") {
			t.Errorf("the topology does not draw the router on app-net and public: %q", p.testID("topology-router-edge").Text())
		}
		if !strings.Contains(p.testID("network-row-public").Find(`[data-testid="network-shared"]`).Text(), "external") {
			t.Errorf("public is not marked external: %q", p.testID("network-row-public").Text())
		}

		// Deleting a router with an interface: the 409 is a flash error on its page.
		p = br.submit("/routers/"+id+"/delete", nil)
		wantStatus(t, p, http.StatusSeeOther)
		if msg := br.get(p.location()).testID("flash-error").Text(); !strings.Contains(msg, "interface") {
			t.Errorf("the refusal is not shown: %q", msg)
		}

		// A reader (demo in research) sees the list but no forms, and is refused.
		br.submit("/project", url.Values{"project": {x.research.ID}})
		p = br.get("/routers")
		wantStatus(t, p, http.StatusOK)
		if p.testID("router-form").Length() != 0 {
			t.Error("a reader is offered the router form")
		}
		wantStatus(t, br.submit("/routers", url.Values{"name": {"ro"}}), http.StatusForbidden)
		wantStatus(t, br.submit("/routers/"+id+"/interfaces/remove", url.Values{"subnet_id": {x.appSubnet.ID}}), http.StatusForbidden)
		wantStatus(t, br.submit("/routers/"+id+"/gateway/clear", nil), http.StatusForbidden)
		br.submit("/project", url.Values{"project": {x.demoProject.ID}})

		// Another project: every page and action is a 404.
		eve := x.browser(t)
		eve.login("eve", evePassword)
		wantStatus(t, eve.get("/routers/"+id), http.StatusNotFound)
		wantStatus(t, eve.submit("/routers/"+id+"/delete", nil), http.StatusNotFound)
		wantStatus(t, eve.submit("/routers/"+id+"/gateway", url.Values{"network_id": {x.public.ID}}), http.StatusNotFound)
		wantStatus(t, eve.submit("/routers/"+id+"/gateway/clear", nil), http.StatusNotFound)
		wantStatus(t, eve.submit("/routers/"+id+"/interfaces", url.Values{"subnet_id": {x.appSubnet.ID}}), http.StatusNotFound)
		wantStatus(t, eve.submit("/routers/"+id+"/interfaces/remove", url.Values{"subnet_id": {x.appSubnet.ID}}), http.StatusNotFound)
		if eve.get("/routers").testID("router-row-edge").Length() != 0 {
			t.Error("eve's list shows demo's router")
		}

		// Remove the interface, clear the gateway, delete.
		wantStatus(t, br.submit("/routers/"+id+"/interfaces/remove", url.Values{"subnet_id": {x.appSubnet.ID}}), http.StatusSeeOther)
		wantStatus(t, br.submit("/routers/"+id+"/gateway/clear", nil), http.StatusSeeOther)
		got, err := s.GetRouter(ctx, x.demoC, id)
		if err != nil || got.ExternalGatewayInfo != nil {
			t.Fatalf("after clearing: %+v %v", got.ExternalGatewayInfo, err)
		}
		p = br.submit("/routers/"+id+"/delete", nil)
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/routers" {
			t.Fatalf("after delete: %q", p.location())
		}
		if rs := demoRouters(t, x); len(rs) != 0 {
			t.Fatalf("routers left: %+v", rs)
		}
	})
}
