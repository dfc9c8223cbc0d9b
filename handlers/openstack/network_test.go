package openstack_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	gcos "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/quotas"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"stratus/models"
	"stratus/models/storetest"
)

// Networking through gophercloud, as Terraform's openstack_networking_*
// resources use it: a network, a subnet, a port with a fixed IP, a security
// group with a rule; servers on the network, on the port and with a fixed
// IP, showing their addresses; paging; the deletes; another project's
// network answering 404; the errors in Neutron's shape.
func TestGophercloudNetworking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloud(t, s, "h1")
		p := c.provider("demo", demoPassword, "demo")
		nc, err := gcos.NewNetworkV2(p, region)
		must(t, err, "network client")

		net, err := networks.Create(ctx, nc, networks.CreateOpts{Name: "net1"}).Extract()
		must(t, err, "create network")
		if net.Status != "ACTIVE" || net.Name != "net1" || net.ProjectID == "" {
			t.Fatalf("network %+v", net)
		}
		sub, err := subnets.Create(ctx, nc, subnets.CreateOpts{NetworkID: net.ID, CIDR: "10.5.0.0/24", IPVersion: 4, Name: "sub1",
			DNSNameservers: []string{"10.5.0.53"}}).Extract()
		must(t, err, "create subnet")
		if sub.GatewayIP != "10.5.0.1" || len(sub.AllocationPools) != 1 || sub.AllocationPools[0].Start != "10.5.0.2" {
			t.Fatalf("subnet %+v", sub)
		}
		_, err = subnets.Create(ctx, nc, subnets.CreateOpts{NetworkID: net.ID, CIDR: "10.5.0.7/24", IPVersion: 4}).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Errorf("subnet with host bits: %v, want 400", err)
		}
		sg, err := groups.Create(ctx, nc, groups.CreateOpts{Name: "web"}).Extract()
		must(t, err, "create group")
		rule, err := rules.Create(ctx, nc, rules.CreateOpts{SecGroupID: sg.ID, Direction: rules.DirIngress, EtherType: rules.EtherType4,
			Protocol: rules.ProtocolTCP, PortRangeMin: 22, PortRangeMax: 22, RemoteIPPrefix: "0.0.0.0/0"}).Extract()
		must(t, err, "create rule")
		if rule.PortRangeMin != 22 || rule.Protocol != "tcp" || rule.SecGroupID != sg.ID {
			t.Errorf("rule %+v", rule)
		}
		port, err := ports.Create(ctx, nc, ports.CreateOpts{NetworkID: net.ID, Name: "p1",
			FixedIPs: []ports.IP{{SubnetID: sub.ID, IPAddress: "10.5.0.50"}}, SecurityGroups: &[]string{sg.ID}}).Extract()
		must(t, err, "create port")
		if len(port.FixedIPs) != 1 || port.FixedIPs[0].IPAddress != "10.5.0.50" || port.MACAddress == "" || len(port.SecurityGroups) != 1 {
			t.Fatalf("port %+v", port)
		}

		// Servers: on the network (with the group), on the port, with a
		// fixed IP; their addresses by network name.
		cc := c.compute(p, "2.79")
		imageID := uploadImage(t, c.image(p), "img", []byte("a tiny raw disk image……"))
		boot := func(name string, nets []servers.Network, groups []string) string {
			srv, err := servers.Create(ctx, cc, servers.CreateOpts{Name: name, ImageRef: imageID, FlavorRef: "m1.nano",
				Networks: nets, SecurityGroups: groups}, nil).Extract()
			must(t, err, "create "+name)
			waitServer(t, cc, srv.ID, status("ACTIVE"))
			return srv.ID
		}
		addrOf := func(id string) string {
			srv, err := servers.Get(ctx, cc, id).Extract()
			must(t, err, "get server")
			list, _ := srv.Addresses["net1"].([]any)
			if len(list) != 1 {
				t.Fatalf("server %s addresses %v", id, srv.Addresses)
			}
			return list[0].(map[string]any)["addr"].(string)
		}
		onNet := boot("on-net", []servers.Network{{UUID: net.ID}}, []string{"web"})
		onPort := boot("on-port", []servers.Network{{Port: port.ID}}, nil)
		fixed := boot("fixed", []servers.Network{{UUID: net.ID, FixedIP: "10.5.0.99"}}, nil)
		if a := addrOf(onPort); a != "10.5.0.50" {
			t.Errorf("server on the port: %s", a)
		}
		if a := addrOf(fixed); a != "10.5.0.99" {
			t.Errorf("server with a fixed IP: %s", a)
		}
		if a := addrOf(onNet); a == "" || a == "10.5.0.50" || a == "10.5.0.99" {
			t.Errorf("server on the network: %s", a)
		}
		_, err = servers.Create(ctx, cc, servers.CreateOpts{Name: "bad", ImageRef: imageID, FlavorRef: "m1.nano",
			Networks: []servers.Network{{UUID: "00000000-0000-4000-8000-000000000000"}}}, nil).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Errorf("unknown network: %v, want 400", err)
		}
		plist, err := ports.List(nc, ports.ListOpts{DeviceID: onNet}).AllPages(ctx)
		must(t, err, "ports of a server")
		sp, _ := ports.ExtractPorts(plist)
		if len(sp) != 1 || len(sp[0].SecurityGroups) != 1 || sp[0].SecurityGroups[0] != sg.ID || sp[0].DeviceOwner != "compute:nova" {
			t.Errorf("the server's port: %+v", sp)
		}

		// Paging: three networks listed one by one.
		for _, n := range []string{"net2", "net3"} {
			_, err := networks.Create(ctx, nc, networks.CreateOpts{Name: n}).Extract()
			must(t, err, "create "+n)
		}
		var pages, seen int
		err = networks.List(nc, networks.ListOpts{Limit: 1}).EachPage(ctx, func(_ context.Context, pg pagination.Page) (bool, error) {
			list, err := networks.ExtractNetworks(pg)
			pages++
			seen += len(list)
			return true, err
		})
		must(t, err, "page networks")
		if seen != 3 || pages < 3 {
			t.Errorf("paging: %d networks in %d pages", seen, pages)
		}

		// Another project sees none of it.
		admin := c.provider("admin", adminPassword, "admin")
		anc, err := gcos.NewNetworkV2(admin, region)
		must(t, err, "admin network client")
		all, err := networks.List(anc, nil).AllPages(ctx)
		must(t, err, "operator's networks")
		if list, _ := networks.ExtractNetworks(all); len(list) != 3 {
			t.Errorf("an operator sees %d networks, want every project's 3", len(list))
		}
		_, err = networks.Get(ctx, c.otherNetworkClient(t), net.ID).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("another project's network: %v, want 404", err)
		}

		// Networking quotas: the member reads its own with usage; the
		// operator lowers one and the next network is refused with 409.
		demoProject, _ := s.GetProject(ctx, "demo")
		qd, err := quotas.GetDetail(ctx, nc, demoProject.ID).Extract()
		must(t, err, "quota details")
		if qd.Network.Used != 3 || qd.Port.Used != 3 || qd.SecurityGroup.Used < 2 {
			t.Errorf("quota details %+v", qd)
		}
		three := 3
		q, err := quotas.Update(ctx, anc, demoProject.ID, quotas.UpdateOpts{Network: &three}).Extract()
		must(t, err, "set quota")
		if q.Network != 3 {
			t.Errorf("quota after update %+v", q)
		}
		if _, err := networks.Create(ctx, nc, networks.CreateOpts{Name: "net4"}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
			t.Errorf("over the network quota: %v, want 409", err)
		}
		if _, err := quotas.Update(ctx, nc, demoProject.ID, quotas.UpdateOpts{Network: &three}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
			t.Errorf("a member sets quotas: %v, want 403", err)
		}

		// A network in use cannot go; once its servers and port are gone
		// it can, and so can the group.
		if err := networks.Delete(ctx, nc, net.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
			t.Errorf("delete a network in use: %v, want 409", err)
		}
		for _, id := range []string{onNet, onPort, fixed} {
			must(t, servers.Delete(ctx, cc, id).ExtractErr(), "delete server")
			waitServer(t, cc, id, func(_ *servers.Server, err error) bool { return gophercloud.ResponseCodeIs(err, http.StatusNotFound) })
		}
		must(t, ports.Delete(ctx, nc, port.ID).ExtractErr(), "delete port")
		must(t, rules.Delete(ctx, nc, rule.ID).ExtractErr(), "delete rule")
		must(t, groups.Delete(ctx, nc, sg.ID).ExtractErr(), "delete group")
		must(t, subnets.Delete(ctx, nc, sub.ID).ExtractErr(), "delete subnet")
		must(t, networks.Delete(ctx, nc, net.ID).ExtractErr(), "delete network")
		_, err = networks.Get(ctx, nc, net.ID).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("deleted network: %v, want 404", err)
		}
	})
}

// otherNetworkClient is a network client of a member of another project.
func (c *cloud) otherNetworkClient(t *testing.T) *gophercloud.ServiceClient {
	t.Helper()
	c.otherProject(t, "elsewhere", "mallory")
	nc, err := gcos.NewNetworkV2(c.provider("mallory", "mallory-password-1", "elsewhere"), region)
	must(t, err, "network client")
	return nc
}
