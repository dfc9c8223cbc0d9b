package openstack_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	gcos "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/quotas"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"stratus/models"
	"stratus/models/storetest"
)

// Neutron's L3 through gophercloud, as Terraform's openstack_networking_
// router_v2, router_interface_v2 and floatingip_v2 use it: an operator's
// external network, a router with its gateway and an interface, a floating
// IP refused (409) before the interface exists, associated, disassociated
// and released; another project's router 404.
func TestGophercloudRoutersAndFloatingIPs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloud(t, s, "h1")
		op, err := gcos.NewNetworkV2(c.provider("admin", adminPassword, "admin"), region)
		must(t, err, "operator's network client")
		nc, err := gcos.NewNetworkV2(c.provider("demo", demoPassword, "demo"), region)
		must(t, err, "network client")

		yes := true
		pub, err := networks.Create(ctx, op, external.CreateOptsExt{CreateOptsBuilder: networks.CreateOpts{Name: "public"}, External: &yes}).Extract()
		must(t, err, "create public")
		_, err = subnets.Create(ctx, op, subnets.CreateOpts{NetworkID: pub.ID, CIDR: "203.0.113.0/24", IPVersion: 4}).Extract()
		must(t, err, "create public subnet")
		net, err := networks.Create(ctx, nc, networks.CreateOpts{Name: "net1"}).Extract()
		must(t, err, "create network")
		sub, err := subnets.Create(ctx, nc, subnets.CreateOpts{NetworkID: net.ID, CIDR: "10.5.0.0/24", IPVersion: 4}).Extract()
		must(t, err, "create subnet")
		port, err := ports.Create(ctx, nc, ports.CreateOpts{NetworkID: net.ID}).Extract()
		must(t, err, "create port")

		_, err = routers.Create(ctx, nc, routers.CreateOpts{Name: "r1", GatewayInfo: &routers.GatewayInfo{NetworkID: net.ID}}).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Fatalf("a gateway on an internal network: %v, want 400", err)
		}
		r, err := routers.Create(ctx, nc, routers.CreateOpts{Name: "r1", GatewayInfo: &routers.GatewayInfo{NetworkID: pub.ID}}).Extract()
		must(t, err, "create router")
		if r.GatewayInfo.NetworkID != pub.ID || len(r.GatewayInfo.ExternalFixedIPs) != 1 || r.GatewayInfo.ExternalFixedIPs[0].IPAddress != "203.0.113.2" {
			t.Fatalf("router %+v", r)
		}
		fip, err := floatingips.Create(ctx, nc, floatingips.CreateOpts{FloatingNetworkID: pub.ID}).Extract()
		must(t, err, "allocate floating IP")
		if fip.FloatingIP != "203.0.113.3" || fip.PortID != "" || fip.Status != "DOWN" {
			t.Fatalf("floating IP %+v", fip)
		}
		_, err = floatingips.Update(ctx, nc, fip.ID, floatingips.UpdateOpts{PortID: &port.ID}).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
			t.Fatalf("associate without a router interface: %v, want 409", err)
		}
		info, err := routers.AddInterface(ctx, nc, r.ID, routers.AddInterfaceOpts{SubnetID: sub.ID}).Extract()
		must(t, err, "add interface")
		if info.SubnetID != sub.ID || info.PortID == "" {
			t.Fatalf("interface %+v", info)
		}
		fip, err = floatingips.Update(ctx, nc, fip.ID, floatingips.UpdateOpts{PortID: &port.ID}).Extract()
		must(t, err, "associate")
		if fip.PortID != port.ID || fip.FixedIP != port.FixedIPs[0].IPAddress || fip.RouterID != r.ID || fip.Status != "ACTIVE" {
			t.Fatalf("associated %+v", fip)
		}
		pages, err := floatingips.List(nc, floatingips.ListOpts{PortID: port.ID}).AllPages(ctx)
		must(t, err, "list floating IPs")
		all, err := floatingips.ExtractFloatingIPs(pages)
		must(t, err, "extract floating IPs")
		if len(all) != 1 || all[0].ID != fip.ID {
			t.Fatalf("floating IPs of the port: %+v", all)
		}
		if err := routers.Delete(ctx, nc, r.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
			t.Fatalf("delete a router with an interface: %v, want 409", err)
		}
		none := "" // gophercloud sends port_id null
		fip, err = floatingips.Update(ctx, nc, fip.ID, floatingips.UpdateOpts{PortID: &none}).Extract()
		must(t, err, "disassociate")
		if fip.PortID != "" {
			t.Fatalf("disassociated %+v", fip)
		}
		must(t, floatingips.Delete(ctx, nc, fip.ID).ExtractErr(), "release")
		_, err = routers.RemoveInterface(ctx, nc, r.ID, routers.RemoveInterfaceOpts{SubnetID: sub.ID}).Extract()
		must(t, err, "remove interface")
		must(t, routers.Delete(ctx, nc, r.ID).ExtractErr(), "delete router")
		q, err := quotas.GetDetail(ctx, nc, fip.ProjectID).Extract()
		must(t, err, "quota details")
		if q.Router.Limit != 10 || q.FloatingIP.Limit != 50 || q.FloatingIP.Used != 0 {
			t.Fatalf("router and floatingip quotas: %+v %+v", q.Router, q.FloatingIP)
		}
		if _, err := routers.Get(ctx, nc, r.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Fatalf("deleted router: %v, want 404", err)
		}
	})
}
