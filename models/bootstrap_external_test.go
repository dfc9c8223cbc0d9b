package models_test

import (
	"bytes"
	"context"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// stratus dev's external network and demo router: made once, found on the
// next start, and good for a floating IP at once.
func TestBootstrapExternalNetworkAndDemoRouter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		in := models.BootstrapInput{AdminName: "admin", AdminProject: "admin", DemoProject: "demo", DemoUser: "demo",
			DemoPassword: "demo-password-1", DemoNetwork: "demo-net", DemoCIDR: "10.0.0.0/24",
			ExternalNetwork: "public", ExternalCIDR: "203.0.113.0/24", DemoRouter: "demo-router"}
		for range 2 {
			if _, err := s.Bootstrap(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		u, _ := s.GetUser(ctx, "demo")
		p, _ := s.GetProject(ctx, "demo")
		demo, err := s.ResolveCaller(ctx, u.ID, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		admin, _ := s.GetUser(ctx, "admin")
		op, _ := s.ResolveCaller(ctx, admin.ID, "")
		ext := true
		exts, err := s.ListNetworks(ctx, op, models.NetworkFilter{AllProjects: true, RouterExternal: &ext})
		if err != nil || len(exts.Items) != 1 || exts.Items[0].Name != "public" || len(exts.Items[0].Subnets) != 1 {
			t.Fatalf("external networks: %+v %v", exts.Items, err)
		}
		sn, err := s.GetSubnet(ctx, op, exts.Items[0].Subnets[0])
		if err != nil || sn.CIDR != "203.0.113.0/24" || sn.GatewayIP == nil || *sn.GatewayIP != "203.0.113.1" || sn.EnableDHCP ||
			len(sn.AllocationPools) != 1 || sn.AllocationPools[0].Start != "203.0.113.10" || sn.AllocationPools[0].End != "203.0.113.250" {
			t.Fatalf("external subnet: %+v %v", sn, err)
		}
		routers, err := s.ListRouters(ctx, demo, models.RouterFilter{})
		if err != nil || len(routers.Items) != 1 || routers.Items[0].Name != "demo-router" || routers.Items[0].ExternalGatewayInfo == nil ||
			routers.Items[0].ExternalGatewayInfo.NetworkID != exts.Items[0].ID {
			t.Fatalf("demo routers: %+v %v", routers.Items, err)
		}
		// A floating IP for an instance on demo-net, at once.
		im, err := s.CreateImage(ctx, demo, models.ImageInput{Name: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		if im, err = s.UploadImage(ctx, demo, im.ID, bytes.NewReader(make([]byte, 4096))); err != nil {
			t.Fatal(err)
		}
		insts, err := s.CreateInstances(ctx, demo, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: im.ID, Count: 1,
			Networks: []models.NetworkRequest{{Network: "demo-net"}}})
		if err != nil {
			t.Fatal(err)
		}
		ports, _ := s.ListPorts(ctx, demo, models.PortFilter{DeviceID: []string{insts[0].ID}})
		fip, err := s.CreateFloatingIP(ctx, demo, models.FloatingIPInput{FloatingNetworkID: "public", PortID: ports.Items[0].ID})
		if err != nil || fip.FloatingIPAddress == "" || fip.RouterID != routers.Items[0].ID {
			t.Fatalf("floating IP for the demo instance: %+v %v", fip, err)
		}
	})
}
