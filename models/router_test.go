package models_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// externalNet makes the operators' external network "public" with a
// floating range of cidr.
func externalNet(t testing.TB, s *models.Store, _ models.Caller, cidr string) (models.Network, models.Subnet) {
	t.Helper()
	ctx := context.Background()
	adminUser, _ := s.GetUser(ctx, "admin")
	adminProject, _ := s.GetProject(ctx, "admin")
	admin, err := s.ResolveCaller(ctx, adminUser.ID, adminProject.ID)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.CreateNetwork(ctx, admin, models.NetworkInput{Name: "public", RouterExternal: true})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := s.CreateSubnet(ctx, admin, models.SubnetInput{NetworkID: n.ID, Name: "public-subnet", CIDR: cidr, EnableDHCP: new(bool)})
	if err != nil {
		t.Fatal(err)
	}
	return n, sn
}

func registerL3Host(t testing.TB, s *models.Store, name, tunnel, ext string) {
	t.Helper()
	if _, err := s.RegisterHost(context.Background(), models.HostInventory{Name: name, TunnelAddress: tunnel, ExternalInterface: ext,
		VCPUs: 4, RAMMB: 8192, DiskGB: 100, CPURatio: 1, RAMRatio: 1, DiskRatio: 1}); err != nil {
		t.Fatal(err)
	}
}

func isKind(err, kind error) bool { return errors.Is(err, kind) }

func TestRoutersAndFloatingIPs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		if _, err := s.CreateNetwork(ctx, b.member, models.NetworkInput{Name: "mine", RouterExternal: true}); !isKind(err, models.ErrForbidden) {
			t.Fatalf("a member made an external network: %v", err)
		}
		registerL3Host(t, s, "hv1", "192.0.2.1", "br-ex")
		ext, extSub := externalNet(t, s, b.admin, "203.0.113.0/24")
		// Members see the external network (to take addresses from) but
		// cannot put instances on it.
		if _, err := s.GetNetwork(ctx, b.member, "public"); err != nil {
			t.Fatalf("member cannot see the external network: %v", err)
		}
		if _, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: ext.ID}); fieldsOf(err)["network_id"] == "" {
			t.Fatalf("a port on the external network: %v", err)
		}
		n, sn := netWithSubnet(t, s, b.member, "net1", "10.0.0.0/24")
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: b.image.ID, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		ports, _ := s.ListPorts(ctx, b.member, models.PortFilter{DeviceID: []string{insts[0].ID}})
		if len(ports.Items) != 1 {
			t.Fatalf("instance ports: %+v", ports.Items)
		}
		vmPort := ports.Items[0]

		fip, err := s.CreateFloatingIP(ctx, b.member, models.FloatingIPInput{FloatingNetworkID: "public"})
		if err != nil {
			t.Fatal(err)
		}
		if fip.FloatingIPAddress != "203.0.113.2" || fip.Status != models.FloatingIPDown || fip.PortID != "" {
			t.Fatalf("floating IP %+v: want 203.0.113.2, DOWN, unassociated", fip)
		}
		// No router yet: a 409 that says what is missing.
		_, err = s.UpdateFloatingIP(ctx, b.member, fip.ID, models.FloatingIPUpdate{PortID: models.NullString(vmPort.ID)})
		if !isKind(err, models.ErrConflict) || !strings.Contains(err.Error(), "no router joins network net1") {
			t.Fatalf("associate without a router: %v", err)
		}
		r, err := s.CreateRouter(ctx, b.member, models.RouterInput{Name: "r1"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Host != "hv1" || r.ExternalGatewayInfo != nil {
			t.Fatalf("router %+v: want it on hv1 without a gateway", r)
		}
		info, err := s.AddRouterInterface(ctx, b.member, "r1", models.RouterInterfaceInput{SubnetID: sn.ID})
		if err != nil {
			t.Fatal(err)
		}
		ifPort, _ := s.GetPort(ctx, b.member, info.PortID)
		if info.NetworkID != n.ID || len(ifPort.FixedIPs) != 1 || ifPort.FixedIPs[0].IPAddress != "10.0.0.1" || ifPort.DeviceOwner != models.DeviceOwnerRouterInterface {
			t.Fatalf("interface %+v, port %+v: want the subnet's gateway 10.0.0.1", info, ifPort)
		}
		if _, err := s.AddRouterInterface(ctx, b.member, "r1", models.RouterInterfaceInput{SubnetID: sn.ID}); !isKind(err, models.ErrConflict) {
			t.Fatalf("the same subnet twice: %v", err)
		}
		// An interface but no gateway: the 409 names the router.
		_, err = s.UpdateFloatingIP(ctx, b.member, fip.ID, models.FloatingIPUpdate{PortID: models.NullString(vmPort.ID)})
		if !isKind(err, models.ErrConflict) || !strings.Contains(err.Error(), "router r1 has an interface") {
			t.Fatalf("associate through a router without gateway: %v", err)
		}
		r, err = s.UpdateRouter(ctx, b.member, "r1", models.RouterUpdate{ExternalGatewayInfo: models.GatewayUpdate{Set: true, Info: &models.GatewayInput{NetworkID: ext.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		if r.ExternalGatewayInfo == nil || !r.ExternalGatewayInfo.EnableSNAT || len(r.ExternalGatewayInfo.ExternalFixedIPs) != 1 ||
			r.ExternalGatewayInfo.ExternalFixedIPs[0].SubnetID != extSub.ID {
			t.Fatalf("gateway %+v", r.ExternalGatewayInfo)
		}
		gwIP := r.ExternalGatewayInfo.ExternalFixedIPs[0].IPAddress
		if gwIP != "203.0.113.3" {
			t.Fatalf("gateway address %s: want the next free one, 203.0.113.3", gwIP)
		}
		fip, err = s.UpdateFloatingIP(ctx, b.member, fip.ID, models.FloatingIPUpdate{PortID: models.NullString(vmPort.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if fip.Status != models.FloatingIPActive || fip.FixedIPAddress != vmPort.FixedIPs[0].IPAddress || fip.RouterID != r.ID {
			t.Fatalf("associated %+v", fip)
		}
		addrs, _ := s.InstanceAddresses(ctx, []string{insts[0].ID})
		if a := addrs[insts[0].ID]["net1"]; len(a) != 2 || a[1].Type != "floating" || a[1].Addr != "203.0.113.2" {
			t.Fatalf("addresses %+v: want the fixed then the floating one", a)
		}
		// The associate forms' choices: the instance's address, taken.
		targets, err := s.FloatingIPTargets(ctx, b.member, "")
		if err != nil || len(targets) != 1 || targets[0].PortID != vmPort.ID || targets[0].InstanceName != "vm" ||
			targets[0].NetworkName != "net1" || targets[0].FloatingIP != "203.0.113.2" {
			t.Fatalf("targets %+v %v: want vm's address on net1, taken by 203.0.113.2", targets, err)
		}
		if targets, _ := s.FloatingIPTargets(ctx, b.member, "no-such-instance"); len(targets) != 0 {
			t.Fatalf("targets of another instance: %+v", targets)
		}
		if targets, _ := s.FloatingIPTargets(ctx, b.other, ""); len(targets) != 0 {
			t.Fatalf("another project sees our addresses: %+v", targets)
		}
		// What stays in use may not go.
		if err := s.DeleteSubnet(ctx, b.member, sn.ID); !isKind(err, models.ErrConflict) || !strings.Contains(err.Error(), "router r1") {
			t.Fatalf("delete a subnet on a router: %v", err)
		}
		if err := s.DeleteRouter(ctx, b.member, "r1"); !isKind(err, models.ErrConflict) {
			t.Fatalf("delete a router with interfaces: %v", err)
		}
		if _, err := s.RemoveRouterInterface(ctx, b.member, "r1", models.RouterInterfaceInput{SubnetID: sn.ID}); !isKind(err, models.ErrConflict) {
			t.Fatalf("remove the interface a floating IP uses: %v", err)
		}
		if err := s.DeletePort(ctx, b.member, info.PortID); !isKind(err, models.ErrConflict) {
			t.Fatalf("delete a router's port directly: %v", err)
		}
		// Another project can neither see nor use them.
		if _, err := s.GetRouter(ctx, b.other, r.ID); !isKind(err, models.ErrNotFound) {
			t.Fatalf("other project reads the router: %v", err)
		}
		if _, err := s.GetFloatingIP(ctx, b.other, fip.ID); !isKind(err, models.ErrNotFound) {
			t.Fatalf("other project reads the floating IP: %v", err)
		}
		ofip, err := s.CreateFloatingIP(ctx, b.other, models.FloatingIPInput{FloatingNetworkID: ext.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateFloatingIP(ctx, b.other, ofip.ID, models.FloatingIPUpdate{PortID: models.NullString(vmPort.ID)}); fieldsOf(err)["port_id"] == "" {
			t.Fatalf("other project associates with our port: %v", err)
		}

		// The host's desired state: the router with its legs and NAT.
		st, err := s.HostNetworkState(ctx, "hv1")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Routers) != 1 || st.Routers[0].Gateway == nil || st.Routers[0].Gateway.Address.String() != gwIP+"/24" ||
			st.Routers[0].Gateway.NextHop != "203.0.113.1" || len(st.Routers[0].Interfaces) != 1 ||
			st.Routers[0].Interfaces[0].Address.String() != "10.0.0.1/24" || len(st.Routers[0].FloatingIPs) != 1 ||
			st.Routers[0].FloatingIPs[0].FixedIP != fip.FixedIPAddress {
			t.Fatalf("host routers %+v", st.Routers)
		}
		if len(st.Networks) != 1 || st.Networks[0].Network.ID != n.ID || len(st.Ports) != 0 {
			t.Fatalf("hv1 carries the router's tenant network only (no external, no router ports as ports): %+v, %d ports", st.Networks, len(st.Ports))
		}
		// The instance's host sees the router's host as its VXLAN peer.
		registerL3Host(t, s, "hv2", "192.0.2.2", "")
		if _, err := s.BindInstancePorts(ctx, insts[0].ID, "hv2"); err != nil {
			t.Fatal(err)
		}
		st2, _ := s.HostNetworkState(ctx, "hv2")
		if len(st2.Networks) != 1 || len(st2.Networks[0].Peers) != 1 || st2.Networks[0].Peers[0] != "192.0.2.1" || len(st2.Routers) != 0 {
			t.Fatalf("hv2: %+v routers %d", st2.Networks, len(st2.Routers))
		}

		// Moving, disassociating, deleting the instance, releasing.
		fip, err = s.UpdateFloatingIP(ctx, b.member, fip.ID, models.FloatingIPUpdate{PortID: models.Nullable{Set: true}})
		if err != nil || fip.PortID != "" || fip.Status != models.FloatingIPDown {
			t.Fatalf("disassociate: %+v %v", fip, err)
		}
		if targets, _ := s.FloatingIPTargets(ctx, b.member, insts[0].ID); len(targets) != 1 || targets[0].FloatingIP != "" {
			t.Fatalf("targets after disassociating: %+v", targets)
		}
		fip2, err := s.CreateFloatingIP(ctx, b.member, models.FloatingIPInput{FloatingNetworkID: ext.ID, PortID: vmPort.ID})
		if err != nil || fip2.PortID != vmPort.ID {
			t.Fatalf("allocate and associate at once: %+v %v", fip2, err)
		}
		if _, err := s.UpdateFloatingIP(ctx, b.member, fip.ID, models.FloatingIPUpdate{PortID: models.NullString(vmPort.ID)}); !isKind(err, models.ErrConflict) {
			t.Fatalf("two floating IPs on one fixed IP: %v", err)
		}
		if _, err := s.DeleteInstance(ctx, b.member, insts[0].ID); err != nil {
			t.Fatal(err)
		}
		fip2, _ = s.GetFloatingIP(ctx, b.member, fip2.ID)
		if fip2.PortID != "" {
			t.Fatalf("the instance's port went but the floating IP still points at it: %+v", fip2)
		}
		for _, f := range []string{fip.ID, fip2.FloatingIPAddress} {
			if err := s.DeleteFloatingIP(ctx, b.member, f); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.RemoveRouterInterface(ctx, b.member, "r1", models.RouterInterfaceInput{SubnetID: sn.ID}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRouter(ctx, b.member, "r1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSubnet(ctx, b.member, sn.ID); err != nil {
			t.Fatalf("the subnet is free again: %v", err)
		}
		// Only the other project's floating IP holds an address of public.
		var used int
		all, _ := s.ListPorts(ctx, b.admin, models.PortFilter{NetworkID: []string{ext.ID}, AllProjects: true})
		used = len(all.Items)
		if used != 1 {
			t.Fatalf("%d ports left on public: want the other project's floating IP only", used)
		}
	})
}

func TestRouterValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		_, _ = externalNet(t, s, b.admin, "203.0.113.0/24")
		n, _ := netWithSubnet(t, s, b.member, "net1", "10.0.0.0/24")
		_, err := s.CreateRouter(ctx, b.member, models.RouterInput{Name: "r", ExternalGatewayInfo: &models.GatewayInput{NetworkID: n.ID}})
		if fieldsOf(err)["external_gateway_info.network_id"] == "" {
			t.Fatalf("a gateway on an internal network: %v", err)
		}
		if _, err := s.CreateRouter(ctx, b.member, models.RouterInput{Name: "r"}); err != nil {
			t.Fatal(err)
		}
		for name, in := range map[string]models.RouterInterfaceInput{"subnet_id": {}, "port_id": {PortID: "nope"}} {
			if _, err := s.AddRouterInterface(ctx, b.member, "r", in); fieldsOf(err)[name] == "" {
				t.Errorf("interface %+v: want a problem with %s, got %v", in, name, err)
			}
		}
		_, err = s.UpdateRouter(ctx, b.member, "r", models.RouterUpdate{Routes: &[]models.RouteRequest{{Destination: "10.9.0.1/24", Nexthop: "10.0.0.9"}}})
		if fieldsOf(err)["routes[0].destination"] == "" {
			t.Fatalf("a route with host bits: %v", err)
		}
		_, err = s.UpdateRouter(ctx, b.member, "r", models.RouterUpdate{Routes: &[]models.RouteRequest{{Destination: "10.9.0.0/24", Nexthop: "10.0.0.9"}}})
		if fieldsOf(err)["routes[0].nexthop"] == "" {
			t.Fatalf("a route whose next hop is on no subnet of the router: %v", err)
		}
		if _, err := s.CreateFloatingIP(ctx, b.member, models.FloatingIPInput{FloatingNetworkID: n.ID}); fieldsOf(err)["floating_network_id"] == "" {
			t.Fatalf("a floating IP from an internal network: %v", err)
		}
		if _, err := s.CreateFloatingIP(ctx, b.member, models.FloatingIPInput{FloatingNetworkID: "public", FloatingIPAddress: "203.0.113.9"}); !isKind(err, models.ErrForbidden) {
			t.Fatalf("a member chose the address: %v", err)
		}
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaRouters: 1, models.QuotaFloatingIPs: 0}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateRouter(ctx, b.member, models.RouterInput{Name: "r2"}); !isKind(err, models.ErrQuotaExceeded) {
			t.Fatalf("routers quota: %v", err)
		}
		if _, err := s.CreateFloatingIP(ctx, b.member, models.FloatingIPInput{FloatingNetworkID: "public"}); !isKind(err, models.ErrQuotaExceeded) {
			t.Fatalf("floatingips quota: %v", err)
		}
	})
}

// TestFloatingIPConcurrentAllocation: many projects' requests racing for
// a small floating range get distinct addresses, and exactly as many as
// the range holds succeed.
func TestFloatingIPConcurrentAllocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		ext, _ := externalNet(t, s, b.admin, "198.51.100.0/28") // 13 addresses after the gateway
		const tries = 20
		var mu sync.Mutex
		got := map[string]int{}
		var ok, full int
		var wg sync.WaitGroup
		for i := range tries {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				c := b.member
				if i%2 == 1 {
					c = b.other
				}
				f, err := s.CreateFloatingIP(ctx, c, models.FloatingIPInput{FloatingNetworkID: ext.ID})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
					got[f.FloatingIPAddress]++
				case isKind(err, models.ErrConflict):
					full++
				default:
					t.Errorf("allocation %d: %v", i, err)
				}
			}(i)
		}
		wg.Wait()
		if ok != 13 || full != tries-13 {
			t.Fatalf("%d allocated, %d refused: want 13 and %d", ok, full, tries-13)
		}
		for a, n := range got {
			if n != 1 {
				t.Fatalf("address %s handed out %d times", a, n)
			}
		}
	})
}

// TestRouterHostFailover: a router lives on a host with an external
// interface; when that host goes down the conductor's recovery moves it to
// another such host, ports and all.
func TestRouterHostFailover(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		r, err := s.CreateRouter(ctx, b.member, models.RouterInput{Name: "r"})
		if err != nil || r.Host != "" {
			t.Fatalf("a router with no host able to carry it: %+v %v", r, err)
		}
		_, sn := netWithSubnet(t, s, b.member, "net1", "10.0.0.0/24")
		info, err := s.AddRouterInterface(ctx, b.member, "r", models.RouterInterfaceInput{SubnetID: sn.ID})
		if err != nil {
			t.Fatal(err)
		}
		registerL3Host(t, s, "hv1", "192.0.2.1", "br-ex")
		if r, _ = s.GetRouter(ctx, b.admin, r.ID); r.Host != "hv1" {
			t.Fatalf("hv1 registered with an external interface but did not adopt the router: %q", r.Host)
		}
		registerL3Host(t, s, "hv2", "192.0.2.2", "br-ex")
		s.SetClock(func() time.Time { return time.Now().Add(time.Hour) })
		if err := s.HostHeartbeat(ctx, "hv2", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MarkHostsDown(ctx, time.Minute); err != nil {
			t.Fatal(err)
		}
		rec, err := s.RecoverDownHosts(ctx)
		if err != nil || rec.Routers != 1 {
			t.Fatalf("recovery %+v %v: want the router moved", rec, err)
		}
		r, _ = s.GetRouter(ctx, b.admin, r.ID)
		p, _ := s.GetPort(ctx, b.admin, info.PortID)
		if r.Host != "hv2" || p.BindingHostID != "hv2" || p.Status != models.PortActive {
			t.Fatalf("router on %q, its port on %q (%s): want both on hv2", r.Host, p.BindingHostID, p.Status)
		}
	})
}
