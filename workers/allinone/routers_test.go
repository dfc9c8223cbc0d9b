package allinone_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/allinone"
)

// Routers reach the host that carries them through its agent: the host
// registered with an external interface gets the router (its legs,
// floating IPs and rules, here in the fake network driver), the other
// none; associating, moving and releasing a floating IP and deleting the
// router follow within a sync or two.
func TestRoutersOnHosts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s, []string{"h1", "h2"}, 128, func(c *allinone.Config) {
			c.ExternalInterfaces = map[string]string{"h1": "br-ex"}
			c.Agent.NetworkSyncInterval = 50 * time.Millisecond
		})
		ctx := context.Background()
		adminUser, _ := s.GetUser(ctx, "admin")
		adminProject, _ := s.GetProject(ctx, "admin")
		admin, err := s.ResolveCaller(ctx, adminUser.ID, adminProject.ID)
		if err != nil {
			t.Fatal(err)
		}
		ext, err := s.CreateNetwork(ctx, admin, models.NetworkInput{Name: "public", RouterExternal: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSubnet(ctx, admin, models.SubnetInput{NetworkID: ext.ID, CIDR: "203.0.113.0/24", EnableDHCP: new(bool)}); err != nil {
			t.Fatal(err)
		}
		n, err := s.CreateNetwork(ctx, b.member, models.NetworkInput{Name: "net1"})
		if err != nil {
			t.Fatal(err)
		}
		sn, err := s.CreateSubnet(ctx, b.member, models.SubnetInput{NetworkID: n.ID, CIDR: "10.20.0.0/24"})
		if err != nil {
			t.Fatal(err)
		}
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "web", Flavor: "m1.nano", Image: "cirros", Count: 2,
			Networks: []models.NetworkRequest{{Network: "net1"}}})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "both instances ACTIVE", func() (bool, string) {
			a, c := b.instance(t, insts[0].ID), b.instance(t, insts[1].ID)
			return a.VMState == models.VMActive && c.VMState == models.VMActive, string(a.VMState) + " " + string(c.VMState)
		})
		r, err := s.CreateRouter(ctx, b.member, models.RouterInput{Name: "r1", ExternalGatewayInfo: &models.GatewayInput{NetworkID: ext.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Host != "h1" {
			t.Fatalf("router on %q, want h1 (the only host with an external interface)", r.Host)
		}
		if _, err := s.AddRouterInterface(ctx, b.member, "r1", models.RouterInterfaceInput{SubnetID: sn.ID}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the router's legs on h1", func() (bool, string) {
			hr, rules, ok := b.nets["h1"].Router(r.ID)
			return ok && hr.Gateway != nil && len(hr.Interfaces) == 1 && hr.Interfaces[0].Addrs[0].String() == "10.20.0.1/24" &&
				strings.Contains(rules, "-s 10.20.0.0/24"), rules
		})
		if got := b.nets["h2"].Routers(); len(got) != 0 {
			t.Fatalf("h2 (no external interface) carries routers %v", got)
		}
		fixed := func(i int) string {
			ps, _ := s.ListPorts(ctx, b.member, models.PortFilter{DeviceID: []string{insts[i].ID}})
			return ps.Items[0].FixedIPs[0].IPAddress
		}
		port := func(i int) string {
			ps, _ := s.ListPorts(ctx, b.member, models.PortFilter{DeviceID: []string{insts[i].ID}})
			return ps.Items[0].ID
		}
		fip, err := s.CreateFloatingIP(ctx, b.member, models.FloatingIPInput{FloatingNetworkID: ext.ID, PortID: port(0)})
		if err != nil {
			t.Fatal(err)
		}
		dnat := func(to string) func() (bool, string) {
			return func() (bool, string) {
				_, rules, _ := b.nets["h1"].Router(r.ID)
				return strings.Contains(rules, "-d "+fip.FloatingIPAddress+"/32") == (to != "") &&
					(to == "" || strings.Contains(rules, "--to-destination "+to+"\n")), rules
			}
		}
		waitFor(t, 5*time.Second, "the floating IP's DNAT to instance 0", dnat(fixed(0)))
		if _, err := s.UpdateFloatingIP(ctx, b.member, fip.ID, models.FloatingIPUpdate{PortID: models.NullString(port(1))}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the floating IP's DNAT moved to instance 1", dnat(fixed(1)))
		if err := s.DeleteFloatingIP(ctx, b.member, fip.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the released floating IP's rules gone", dnat(""))
		if _, err := s.RemoveRouterInterface(ctx, b.member, "r1", models.RouterInterfaceInput{SubnetID: sn.ID}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRouter(ctx, b.member, "r1"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the deleted router gone from h1", func() (bool, string) {
			got := b.nets["h1"].Routers()
			return len(got) == 0, strings.Join(got, ",")
		})
	})
}
