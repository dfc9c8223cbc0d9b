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

// demoNetworks lists the networks demo may use.
func demoNetworks(t *testing.T, c *compute) []models.Network {
	t.Helper()
	page, err := c.store.ListNetworks(context.Background(), c.demoC, models.NetworkFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

func TestNetworkCreateFormNamesTheFieldAndWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		br := c.browser(t)
		br.login("demo", demoPassword)
		p := br.get("/networks")
		wantStatus(t, p, http.StatusOK)
		if p.testID("create-network").Length() != 1 {
			t.Fatal("a member sees no Create network button")
		}
		p = br.get("/networks/new")
		wantStatus(t, p, http.StatusOK)
		if p.testID("network-shared").Length() != 0 {
			t.Error("a member is offered to share the network")
		}
		if _, on := p.testID("subnet-dhcp").Attr("checked"); !on {
			t.Error("DHCP is not on by default")
		}
		cases := []struct {
			name  string
			form  url.Values
			field string
		}{
			{"host bits", url.Values{"name": {"n"}, "cidr": {"10.0.0.1/24"}}, "cidr"},
			{"prefix /33", url.Values{"name": {"n"}, "cidr": {"10.0.0.0/33"}}, "cidr"},
			{"IPv6", url.Values{"name": {"n"}, "cidr": {"fd00::/64"}}, "cidr"},
			{"gateway outside", url.Values{"name": {"n"}, "cidr": {"10.0.0.0/24"}, "gateway_ip": {"10.9.0.1"}}, "gateway_ip"},
			{"pool outside", url.Values{"name": {"n"}, "cidr": {"10.0.0.0/24"}, "pool_start": {"10.0.1.2"}, "pool_end": {"10.0.1.9"}}, "allocation_pools"},
			{"pool half", url.Values{"name": {"n"}, "cidr": {"10.0.0.0/24"}, "pool_start": {"10.0.0.2"}}, "allocation_pools"},
			{"bad DNS", url.Values{"name": {"n"}, "cidr": {"10.0.0.0/24"}, "dns_nameservers": {"dns.example"}}, "dns_nameservers"},
			{"bad name", url.Values{"name": {"n\x00"}, "cidr": {"10.0.0.0/24"}}, "name"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p := br.submit("/networks", tc.form)
				wantStatus(t, p, http.StatusUnprocessableEntity)
				if p.testID("error-"+tc.field).Text() == "" {
					t.Errorf("no error beside %s: %v", tc.field, testIDs(p.testID("network-form")))
				}
				if v, _ := p.testID("subnet-cidr").Attr("value"); v != tc.form.Get("cidr") {
					t.Errorf("the CIDR typed is not kept: %q", v)
				}
			})
		}
		// A member may not create a shared network.
		p = br.submit("/networks", url.Values{"name": {"pub"}, "cidr": {"10.0.0.0/24"}, "shared": {"true"}})
		wantStatus(t, p, http.StatusForbidden)
		if !strings.Contains(p.testID("form-error").Text(), "operators") {
			t.Errorf("form error %q", p.testID("form-error").Text())
		}
		if nets := demoNetworks(t, c); len(nets) != 0 {
			t.Fatalf("refused forms wrote %d networks", len(nets))
		}

		p = br.submit("/networks", url.Values{"name": {"app-net"}, "cidr": {"10.20.0.0/24"}, "no_gateway": {"true"},
			"dns_nameservers": {"9.9.9.9, 1.1.1.1"}, "pool_start": {"10.20.0.10"}, "pool_end": {"10.20.0.20"}})
		wantStatus(t, p, http.StatusSeeOther)
		nets := demoNetworks(t, c)
		if len(nets) != 1 || !strings.HasSuffix(p.location(), "/networks/"+nets[0].ID) {
			t.Fatalf("created %+v, sent to %q", nets, p.location())
		}
		sn, err := s.GetSubnet(context.Background(), c.demoC, nets[0].Subnets[0])
		if err != nil || sn.GatewayIP != nil || sn.EnableDHCP || len(sn.DNSNameservers) != 2 ||
			sn.AllocationPools[0] != (models.AllocationPool{Start: "10.20.0.10", End: "10.20.0.20"}) {
			t.Fatalf("subnet %+v %v (DHCP was left unticked)", sn, err)
		}
		p = br.get("/networks")
		row := p.testID("network-row-app-net")
		if !strings.Contains(row.Find(`[data-testid="network-subnets"]`).Text(), "10.20.0.0/24") ||
			strings.TrimSpace(row.Find(`[data-testid="network-ports"]`).Text()) != "0" {
			t.Errorf("list row %q", row.Text())
		}
	})
}

func TestNetworkDetailSubnetsPortsAndScoping(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		ctx := context.Background()
		n, _, err := s.CreateNetworkWithSubnet(ctx, c.demoC, models.NetworkInput{Name: "app-net"}, models.SubnetInput{CIDR: "10.0.0.0/24"})
		if err != nil {
			t.Fatal(err)
		}
		br := c.browser(t)
		br.login("demo", demoPassword)
		p := br.get("/networks/" + n.ID)
		wantStatus(t, p, http.StatusOK)
		if p.testID("subnet-row-10.0.0.0/24").Length() != 1 || p.testID("network-share").Length() != 0 {
			t.Fatalf("detail: %v", testIDs(p.testID("network-live")))
		}
		// Add an overlapping subnet: named beside the CIDR; then a good one.
		p = br.submit("/networks/"+n.ID+"/subnets", url.Values{"cidr": {"10.0.0.128/25"}, "enable_dhcp": {"true"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.testID("error-cidr").Text(), "overlaps") {
			t.Errorf("overlap error %q", p.testID("error-cidr").Text())
		}
		p = br.submit("/networks/"+n.ID+"/subnets", url.Values{"cidr": {"10.1.0.0/24"}, "subnet_name": {"second"}, "enable_dhcp": {"true"}})
		wantStatus(t, p, http.StatusSeeOther)
		got, _ := s.GetNetwork(ctx, c.demoC, n.ID)
		if len(got.Subnets) != 2 {
			t.Fatalf("subnets %v", got.Subnets)
		}

		// An instance on it: its port shows with its address and a link.
		insts, err := s.CreateInstances(ctx, c.demoC, models.InstanceCreate{Name: "web", Flavor: "m1.tiny", Image: c.image.ID,
			Networks: []models.NetworkRequest{{Network: n.ID, FixedIP: "10.0.0.7"}}})
		if err != nil {
			t.Fatal(err)
		}
		p = br.get("/networks/" + n.ID)
		if p.testID("port-instance").Text() != "web" || !strings.Contains(p.testID("port-ips").Text(), "10.0.0.7") {
			t.Errorf("ports: %q %q", p.testID("port-instance").Text(), p.testID("port-ips").Text())
		}
		if p.testID("network-live").AttrOr("data-polling", "") != "true" {
			t.Error("the page does not poll while the instance's port is DOWN")
		}
		if p = br.get("/networks"); strings.TrimSpace(p.testID("network-ports").Text()) != "1" ||
			p.testID("topology-inst-web").Length() != 1 || !strings.Contains(p.testID("topology").Text(), "10.0.0.7") {
			t.Errorf("list: ports %q, topology %q", p.testID("network-ports").Text(), p.testID("topology").Text())
		}
		// Deleting a network in use: a 409 the page shows; nothing deleted.
		p = br.submit("/networks/"+n.ID+"/delete", nil)
		wantStatus(t, p, http.StatusSeeOther)
		if p = br.get(p.location()); !strings.Contains(p.body, "in use") {
			t.Errorf("the refusal is not shown: %q", p.testID("flash").Text())
		}
		if _, err := s.GetNetwork(ctx, c.demoC, n.ID); err != nil {
			t.Fatal(err)
		}

		// Another project: every page and action is a 404.
		eve := c.browser(t)
		eve.login("eve", evePassword)
		wantStatus(t, eve.get("/networks/"+n.ID), http.StatusNotFound)
		wantStatus(t, eve.submit("/networks/"+n.ID+"/delete", nil), http.StatusNotFound)
		wantStatus(t, eve.submit("/networks/"+n.ID+"/subnets", url.Values{"cidr": {"10.9.0.0/24"}}), http.StatusNotFound)
		wantStatus(t, eve.submit("/subnets/"+got.Subnets[1]+"/delete", nil), http.StatusNotFound)
		if p := eve.get("/networks"); p.testID("network-row-app-net").Length() != 0 {
			t.Error("eve's list shows demo's network")
		}

		// The subnet without ports goes; after the instance, the network.
		p = br.submit("/subnets/"+got.Subnets[1]+"/delete", nil)
		wantStatus(t, p, http.StatusSeeOther)
		if got, _ := s.GetNetwork(ctx, c.demoC, n.ID); len(got.Subnets) != 1 {
			t.Fatalf("subnets after delete %v", got.Subnets)
		}
		if _, err := s.DeleteInstance(ctx, c.demoC, insts[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishDelete(ctx, insts[0].ID); err != nil {
			t.Fatal(err)
		}
		p = br.submit("/networks/"+n.ID+"/delete", nil)
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/networks" {
			t.Fatalf("after delete: %q", p.location())
		}
		if nets := demoNetworks(t, c); len(nets) != 0 {
			t.Fatalf("networks left: %+v", nets)
		}
	})
}

func TestOperatorSharesANetwork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		ctx := context.Background()
		n, _, err := s.CreateNetworkWithSubnet(ctx, c.demoC, models.NetworkInput{Name: "app-net"}, models.SubnetInput{CIDR: "10.0.0.0/24"})
		if err != nil {
			t.Fatal(err)
		}
		// A member cannot share (the policy: operators only).
		demo := c.browser(t)
		demo.login("demo", demoPassword)
		wantStatus(t, demo.submit("/networks/"+n.ID+"/shared", url.Values{"shared": {"true"}}), http.StatusForbidden)

		admin := c.browser(t)
		admin.login("admin", adminPassword)
		p := admin.get("/networks/" + n.ID)
		wantStatus(t, p, http.StatusOK)
		if p.testID("network-share").Length() != 1 {
			t.Fatal("the operator is not offered to share")
		}
		wantStatus(t, admin.submit("/networks/"+n.ID+"/shared", url.Values{"shared": {"true"}}), http.StatusSeeOther)
		eve := c.browser(t)
		eve.login("eve", evePassword)
		p = eve.get("/networks")
		if !strings.Contains(p.testID("network-row-app-net").Find(`[data-testid="network-shared"]`).Text(), "shared") {
			t.Fatalf("eve does not see the shared network: %q", p.testID("networks-table").Text())
		}
		if p := eve.get("/networks/" + n.ID); p.testID("network-delete").Length() != 0 || p.testID("subnet-form").Length() != 0 {
			t.Error("eve is offered to change another project's shared network")
		}
		if p := eve.get("/networks/new"); p.testID("network-shared").Length() != 0 {
			t.Error("a member is offered the Shared box")
		}
		if p := admin.get("/networks/new"); p.testID("network-shared").Length() != 1 {
			t.Error("an operator is not offered the Shared box")
		}
	})
}

func TestSecurityGroupRulesEditor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		ctx := context.Background()
		br := c.browser(t)
		br.login("demo", demoPassword)
		p := br.get("/security-groups")
		wantStatus(t, p, http.StatusOK)
		if p.testID("sg-row-default").Length() != 1 || p.testID("sg-delete-default").Length() != 0 {
			t.Fatalf("the default group (not deletable) is not listed: %v", testIDs(p.testID("security-groups-table")))
		}
		p = br.submit("/security-groups", url.Values{"name": {"bad\x00"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("error-name").Text() == "" {
			t.Error("no error beside name")
		}
		p = br.submit("/security-groups", url.Values{"name": {"web"}, "description": {"web servers"}})
		wantStatus(t, p, http.StatusSeeOther)
		id := strings.TrimPrefix(p.location(), "/security-groups/")
		g, err := s.GetSecurityGroup(ctx, c.demoC, id)
		if err != nil || g.Name != "web" {
			t.Fatalf("group %+v %v", g, err)
		}
		base := len(g.Rules)
		p = br.get(p.location())
		if p.testID("sg-rule-form").AttrOr("hx-post", "") != "/security-groups/"+id+"/rules" {
			t.Fatal("the rule form does not post with htmx")
		}
		htmx := []string{"HX-Request", "true", "HX-Target", "sg-rules"}
		// A good rule: the editor alone comes back, with it.
		p = br.submit("/security-groups/"+id+"/rules", url.Values{"direction": {"ingress"}, "protocol": {"tcp"},
			"port_range_min": {"80"}, "remote_ip_prefix": {"203.0.113.0/24"}}, htmx...)
		wantStatus(t, p, http.StatusOK)
		if strings.Contains(p.body, "<html") || p.testID("sg-rules").Length() != 1 {
			t.Fatal("htmx got more than the editor")
		}
		if p.doc.Find(`[data-testid="sg-rule"][data-ports="80"]`).Length() != 1 {
			t.Errorf("the new rule is not shown: %q", p.testID("sg-rules-table").Text())
		}
		// Bad input: the field is named, nothing written.
		bad := []struct {
			name  string
			form  url.Values
			field string
		}{
			{"icmp ports", url.Values{"direction": {"ingress"}, "protocol": {"icmp"}, "port_range_min": {"8"}}, "port_range_min"},
			{"reversed", url.Values{"direction": {"ingress"}, "protocol": {"tcp"}, "port_range_min": {"90"}, "port_range_max": {"80"}}, "port_range_min"},
			{"not a number", url.Values{"direction": {"ingress"}, "protocol": {"tcp"}, "port_range_min": {"http"}}, "port_range_min"},
			{"bad CIDR", url.Values{"direction": {"ingress"}, "protocol": {"tcp"}, "remote_ip_prefix": {"10.0.0.1/24"}}, "remote_ip_prefix"},
			{"both remotes", url.Values{"direction": {"ingress"}, "protocol": {"tcp"}, "remote_ip_prefix": {"10.0.0.0/24"}, "remote_group_id": {id}}, "remote_group_id"},
			{"direction", url.Values{"direction": {"sideways"}, "protocol": {"tcp"}}, "direction"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				p := br.submit("/security-groups/"+id+"/rules", tc.form, htmx...)
				wantStatus(t, p, http.StatusUnprocessableEntity)
				if p.testID("error-"+tc.field).Text() == "" {
					t.Errorf("no error beside %s: %v", tc.field, testIDs(p.testID("sg-rule-form")))
				}
			})
		}
		// A duplicate is said on the form.
		p = br.submit("/security-groups/"+id+"/rules", url.Values{"direction": {"ingress"}, "protocol": {"tcp"},
			"port_range_min": {"80"}, "remote_ip_prefix": {"203.0.113.0/24"}}, htmx...)
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("form-error").Text() == "" {
			t.Error("a duplicate rule is not refused on the form")
		}
		g, _ = s.GetSecurityGroup(ctx, c.demoC, id)
		if len(g.Rules) != base+1 {
			t.Fatalf("%d rules, want %d", len(g.Rules), base+1)
		}
		var rule models.SecurityGroupRule
		for _, r := range g.Rules {
			if r.RemoteIPPrefix == "203.0.113.0/24" {
				rule = r
			}
		}
		// Another project: the group, its rules and the rule are 404s.
		eve := c.browser(t)
		eve.login("eve", evePassword)
		wantStatus(t, eve.get("/security-groups/"+id), http.StatusNotFound)
		wantStatus(t, eve.submit("/security-groups/"+id+"/rules", url.Values{"direction": {"ingress"}}), http.StatusNotFound)
		wantStatus(t, eve.submit("/security-group-rules/"+rule.ID+"/delete", nil), http.StatusNotFound)
		wantStatus(t, eve.submit("/security-groups/"+id+"/delete", nil), http.StatusNotFound)

		// Removing it: the editor comes back without it.
		p = br.submit("/security-group-rules/"+rule.ID+"/delete", nil, htmx...)
		wantStatus(t, p, http.StatusOK)
		if p.doc.Find(`[data-testid="sg-rule"][data-ports="80"]`).Length() != 0 || strings.Contains(p.body, "<html") {
			t.Error("the removed rule is still shown")
		}
		// Without JavaScript, the forms post and redirect.
		p = br.submit("/security-groups/"+id+"/rules", url.Values{"direction": {"egress"}, "protocol": {"udp"}, "port_range_min": {"53"}})
		wantStatus(t, p, http.StatusSeeOther)
		p = br.submit("/security-groups/"+id+"/delete", nil)
		wantStatus(t, p, http.StatusSeeOther)
		if _, err := s.GetSecurityGroup(ctx, c.demoC, id); err == nil {
			t.Fatal("the group is still there")
		}
	})
}

func TestLaunchWithNetworksAndGroupsShowsAddresses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		ctx := context.Background()
		n1, _, err := s.CreateNetworkWithSubnet(ctx, c.demoC, models.NetworkInput{Name: "front"}, models.SubnetInput{CIDR: "10.0.0.0/24"})
		if err != nil {
			t.Fatal(err)
		}
		n2, _, err := s.CreateNetworkWithSubnet(ctx, c.demoC, models.NetworkInput{Name: "back"}, models.SubnetInput{CIDR: "10.1.0.0/24"})
		if err != nil {
			t.Fatal(err)
		}
		web, err := s.CreateSecurityGroup(ctx, c.demoC, models.SecurityGroupInput{Name: "web"})
		if err != nil {
			t.Fatal(err)
		}
		br := c.browser(t)
		br.login("demo", demoPassword)
		p := br.get("/instances/new")
		if p.testID("launch-network-front").Length() != 1 || p.testID("launch-network-back").Length() != 1 {
			t.Fatalf("networks on offer: %v", testIDs(p.testID("launch-networks")))
		}
		if _, on := p.testID("launch-sg-default").Attr("checked"); !on {
			t.Error("the default group is not ticked")
		}
		flavor, _ := s.GetFlavor(ctx, c.demoC, "m1.tiny")
		form := url.Values{"name": {"app"}, "count": {"1"}, "image": {c.image.ID}, "flavor": {flavor.ID}, "networks_offered": {"1"}}
		// Several networks, none ticked: a launch without a NIC is what
		// the form says; an unknown network is named.
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad["networks"] = []string{"00000000-0000-4000-8000-000000000000"}
		p = br.submit("/instances", bad)
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("error-networks").Text() == "" {
			t.Errorf("no error beside networks: %v", testIDs(p.testID("launch-form")))
		}
		form["networks"] = []string{n1.ID, n2.ID}
		form["security_groups"] = []string{web.ID}
		p = br.submit("/instances", form)
		wantStatus(t, p, http.StatusSeeOther)
		insts, _ := s.ListInstances(ctx, c.demoC, models.InstanceFilter{})
		if len(insts.Items) != 1 {
			t.Fatalf("%d instances", len(insts.Items))
		}
		inst := insts.Items[0]
		c.activate(t, inst)
		p = br.get("/instances/" + inst.ID)
		wantStatus(t, p, http.StatusOK)
		addrs := p.testID("detail-addresses").Text()
		if !strings.Contains(addrs, "10.0.0.") || !strings.Contains(addrs, "on front") || !strings.Contains(addrs, "10.1.0.") {
			t.Errorf("addresses %q", addrs)
		}
		if p.testID("instance-port-front").Length() != 1 || p.testID("instance-port-back").Length() != 1 {
			t.Errorf("ports: %v", testIDs(p.testID("instance-network")))
		}
		if g := strings.TrimSpace(p.testID("instance-groups").Text()); g != "web" {
			t.Errorf("groups %q", g)
		}
		// Change the groups: add default, remove web.
		def := ""
		groups, _ := s.ListSecurityGroups(ctx, c.demoC, models.SecurityGroupFilter{ListOptions: models.ListOptions{}})
		for _, g := range groups.Items {
			if g.Name == models.DefaultSecurityGroup {
				def = g.ID
			}
		}
		p = br.submit("/instances/"+inst.ID+"/security-groups", url.Values{"security_groups": {def}})
		wantStatus(t, p, http.StatusSeeOther)
		got, err := s.InstanceSecurityGroups(ctx, c.demoC, inst.ID)
		if err != nil || len(got) != 1 || got[0].Name != "default" {
			t.Fatalf("groups after change: %+v %v", got, err)
		}
		// Another project may not change them.
		eve := c.browser(t)
		eve.login("eve", evePassword)
		wantStatus(t, eve.submit("/instances/"+inst.ID+"/security-groups", url.Values{"security_groups": {def}}), http.StatusNotFound)
		// Nothing ticked with networks on offer: no NIC.
		form["name"], form["networks"] = []string{"bare"}, nil
		wantStatus(t, br.submit("/instances", form), http.StatusSeeOther)
		bare, _ := s.ListInstances(ctx, c.demoC, models.InstanceFilter{ListOptions: models.ListOptions{Name: "bare"}})
		if p := br.get("/instances/" + bare.Items[0].ID); !strings.Contains(p.testID("detail-addresses").Text(), "none") {
			t.Errorf("addresses of an instance without NIC: %q", p.testID("detail-addresses").Text())
		}
	})
}

func TestSidebarHasTheNetworkSection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		br := c.browser(t)
		br.login("demo", demoPassword)
		p := br.get("/")
		for _, href := range []string{"/networks", "/security-groups"} {
			if p.doc.Find(`nav a[href="`+href+`"]`).Length() == 0 {
				t.Errorf("no sidebar link to %s", href)
			}
		}
		chart := p.doc.Find("[data-chart]").AttrOr("data-chart", "") + p.body
		for _, q := range []string{"Networks", "Subnets", "Ports", "Security groups", "SG rules"} {
			if !strings.Contains(chart, q) {
				t.Errorf("the quota chart has no %s", q)
			}
		}
	})
}
