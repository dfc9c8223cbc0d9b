package models_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// netBundle is computeSetup plus a second project ("other") with a member.
type netBundle struct {
	computeBundle
	other models.Caller
}

func netSetup(t *testing.T, s *models.Store) netBundle {
	t.Helper()
	b := computeSetup(t, s)
	ctx := context.Background()
	boot := models.Caller{UserName: "test"}
	if _, err := s.CreateProject(ctx, boot, models.ProjectInput{Name: "other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, boot, models.UserInput{Name: "olga", Password: "olga-password-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssignRole(ctx, boot, models.AssignmentInput{User: "olga", Project: "other", Role: "member"}); err != nil {
		t.Fatal(err)
	}
	u, _ := s.GetUser(ctx, "olga")
	pr, _ := s.GetProject(ctx, "other")
	other, err := s.ResolveCaller(ctx, u.ID, pr.ID)
	if err != nil {
		t.Fatal(err)
	}
	return netBundle{computeBundle: b, other: other}
}

// netWithSubnet makes a network with one subnet of cidr.
func netWithSubnet(t testing.TB, s *models.Store, c models.Caller, name, cidr string) (models.Network, models.Subnet) {
	t.Helper()
	ctx := context.Background()
	n, err := s.CreateNetwork(ctx, c, models.NetworkInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := s.CreateSubnet(ctx, c, models.SubnetInput{NetworkID: n.ID, Name: name + "-subnet", CIDR: cidr})
	if err != nil {
		t.Fatal(err)
	}
	return n, sn
}

func fieldsOf(err error) map[string]string {
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		return ve.Fields
	}
	return nil
}

func TestNetworkBasics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		n1, sn := netWithSubnet(t, s, b.member, "net1", "10.0.0.0/24")
		n2, _ := netWithSubnet(t, s, b.member, "net2", "10.0.1.0/24")
		if n1.SegmentationID == n2.SegmentationID || n1.SegmentationID < 1 {
			t.Fatalf("VNIs %d and %d must differ and be positive", n1.SegmentationID, n2.SegmentationID)
		}
		if n1.MTU != 1450 || n1.Status != models.NetworkActive {
			t.Fatalf("network %+v: want MTU 1450, ACTIVE", n1)
		}
		if sn.GatewayIP == nil || *sn.GatewayIP != "10.0.0.1" || len(sn.AllocationPools) != 1 ||
			sn.AllocationPools[0] != (models.AllocationPool{Start: "10.0.0.2", End: "10.0.0.254"}) {
			t.Fatalf("subnet defaults: gateway %v pools %v", sn.GatewayIP, sn.AllocationPools)
		}
		got, err := s.GetNetwork(ctx, b.member, "net1")
		if err != nil || len(got.Subnets) != 1 || got.Subnets[0] != sn.ID {
			t.Fatalf("get by name: %+v %v", got, err)
		}
		// Another project: its own network may reuse the CIDR; the first
		// project's network is not found; it may not create a shared one.
		_, osn := netWithSubnet(t, s, b.other, "onet", "10.0.0.0/24")
		if osn.CIDR != "10.0.0.0/24" {
			t.Fatal(osn.CIDR)
		}
		if _, err := s.GetNetwork(ctx, b.other, n1.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project's network: want not found, got %v", err)
		}
		if _, err := s.GetSubnet(ctx, b.other, sn.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project's subnet: want not found, got %v", err)
		}
		if _, err := s.CreateNetwork(ctx, b.member, models.NetworkInput{Name: "pub", Shared: true}); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("a member creating a shared network: want forbidden, got %v", err)
		}
		if err := s.DeleteNetwork(ctx, b.other, n1.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project deleting: want not found, got %v", err)
		}
		// A shared network is visible (not changeable) to every project.
		adminUser, _ := s.GetUser(ctx, "admin")
		adminProject, _ := s.GetProject(ctx, "admin")
		operator, err := s.ResolveCaller(ctx, adminUser.ID, adminProject.ID)
		if err != nil {
			t.Fatal(err)
		}
		shared, err := s.CreateNetwork(ctx, operator, models.NetworkInput{Name: "public", Shared: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetNetwork(ctx, b.other, "public"); err != nil {
			t.Fatalf("shared network by name: %v", err)
		}
		if _, err := s.UpdateNetwork(ctx, b.other, shared.ID, models.NetworkUpdate{Name: ptr("mine")}); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("renaming another's shared network: want forbidden, got %v", err)
		}
		page, err := s.ListNetworks(ctx, b.other, models.NetworkFilter{})
		if err != nil || len(page.Items) != 2 {
			t.Fatalf("other's list: want onet and public, got %d (%v)", len(page.Items), err)
		}
		// A network with a port in use cannot go; without, it goes with
		// its subnets.
		pt, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: n2.ID})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteNetwork(ctx, b.member, n2.ID); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("deleting a network with a port: want conflict, got %v", err)
		}
		if err := s.DeletePort(ctx, b.member, pt.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteNetwork(ctx, b.member, n2.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetNetwork(ctx, b.member, n2.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("deleted network: %v", err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestSubnetBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		n, _ := netWithSubnet(t, s, b.member, "net1", "10.0.0.0/24")
		cases := []struct {
			name  string
			in    models.SubnetInput
			field string
		}{
			{"host bits", models.SubnetInput{CIDR: "10.1.0.1/24"}, "cidr"},
			{"prefix too long", models.SubnetInput{CIDR: "10.1.0.0/33"}, "cidr"},
			{"IPv6", models.SubnetInput{CIDR: "fd00::/64"}, "cidr"},
			{"not a CIDR", models.SubnetInput{CIDR: "ten"}, "cidr"},
			{"overlaps", models.SubnetInput{CIDR: "10.0.0.128/25"}, "cidr"},
			{"ip version 6", models.SubnetInput{CIDR: "10.2.0.0/24", IPVersion: 6}, "ip_version"},
			{"pool outside", models.SubnetInput{CIDR: "10.3.0.0/24", AllocationPools: []models.PoolRequest{{Start: "10.3.1.5", End: "10.3.1.9"}}}, "allocation_pools[0]"},
			{"pool reversed", models.SubnetInput{CIDR: "10.3.0.0/24", AllocationPools: []models.PoolRequest{{Start: "10.3.0.9", End: "10.3.0.5"}}}, "allocation_pools[0]"},
			{"pool has gateway", models.SubnetInput{CIDR: "10.3.0.0/24", AllocationPools: []models.PoolRequest{{Start: "10.3.0.1", End: "10.3.0.9"}}}, "allocation_pools[0]"},
			{"gateway outside", models.SubnetInput{CIDR: "10.3.0.0/24", GatewayIP: models.NullString("10.4.0.1")}, "gateway_ip"},
			{"bad DNS", models.SubnetInput{CIDR: "10.3.0.0/24", DNSNameservers: []string{"dns.example"}}, "dns_nameservers"},
			{"no network", models.SubnetInput{CIDR: "10.3.0.0/24", NetworkID: "00000000-0000-4000-8000-000000000000"}, "network_id"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.in.NetworkID == "" {
					tc.in.NetworkID = n.ID
				}
				_, err := s.CreateSubnet(ctx, b.member, tc.in)
				if f := fieldsOf(err); f[tc.field] == "" {
					t.Fatalf("want a problem on %s, got %v", tc.field, err)
				}
			})
		}
		got, _ := s.GetNetwork(ctx, b.member, n.ID)
		if len(got.Subnets) != 1 {
			t.Fatalf("bad input wrote subnets: %v", got.Subnets)
		}
		// No gateway: null; the pool is then the whole range.
		nogw, err := s.CreateSubnet(ctx, b.member, models.SubnetInput{NetworkID: n.ID, CIDR: "10.5.0.0/29", GatewayIP: models.Nullable{Set: true}})
		if err != nil || nogw.GatewayIP != nil || nogw.AllocationPools[0].Start != "10.5.0.1" || nogw.AllocationPools[0].End != "10.5.0.6" {
			t.Fatalf("no gateway: %+v %v", nogw, err)
		}
	})
}

func TestPortFixedIPs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		n, sn := netWithSubnet(t, s, b.member, "net1", "10.0.0.0/29") // pool .2–.6
		p1, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: n.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(p1.FixedIPs) != 1 || p1.FixedIPs[0].IPAddress != "10.0.0.2" || p1.Status != models.PortDown || len(p1.SecurityGroups) != 1 {
			t.Fatalf("first port: %+v", p1)
		}
		p2, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: n.ID, FixedIPs: []models.FixedIPRequest{{IPAddress: "10.0.0.5"}}})
		if err != nil || p2.FixedIPs[0] != (models.FixedIP{SubnetID: sn.ID, IPAddress: "10.0.0.5"}) {
			t.Fatalf("asked-for address: %+v %v", p2, err)
		}
		// Two automatic addresses on one subnet, and an automatic one
		// before the address a later entry names: each a different one.
		p4, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: n.ID, FixedIPs: []models.FixedIPRequest{
			{SubnetID: sn.ID}, {SubnetID: sn.ID}, {IPAddress: "10.0.0.3"}}})
		if err != nil || len(p4.FixedIPs) != 3 || p4.FixedIPs[0].IPAddress != "10.0.0.4" || p4.FixedIPs[1].IPAddress != "10.0.0.6" ||
			p4.FixedIPs[2].IPAddress != "10.0.0.3" {
			t.Fatalf("two automatic addresses and a named one: %+v %v, want .4 .6 then the named .3", p4.FixedIPs, err)
		}
		if err := s.DeletePort(ctx, b.member, p4.ID); err != nil {
			t.Fatal(err)
		}
		for name, ip := range map[string]string{"taken": "10.0.0.5", "outside": "10.9.0.5", "gateway": "10.0.0.1",
			"broadcast": "10.0.0.7", "not an IP": "x"} {
			_, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: n.ID, FixedIPs: []models.FixedIPRequest{{IPAddress: ip}}})
			if fieldsOf(err)["fixed_ips[0].ip_address"] == "" {
				t.Errorf("%s (%s): want a problem on fixed_ips[0].ip_address, got %v", name, ip, err)
			}
		}
		// Three left (.3 .4 .6), then the subnet is full: 409.
		for range 3 {
			if _, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: n.ID}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: n.ID}); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("full subnet: want conflict, got %v", err)
		}
		page, _ := s.ListPorts(ctx, b.member, models.PortFilter{NetworkID: []string{n.ID}})
		if len(page.Items) != 5 {
			t.Fatalf("refused ports were written: %d ports", len(page.Items))
		}
		// Deleting frees the address for the next port.
		if err := s.DeletePort(ctx, b.member, p2.ID); err != nil {
			t.Fatal(err)
		}
		p3, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: n.ID})
		if err != nil || p3.FixedIPs[0].IPAddress != "10.0.0.5" {
			t.Fatalf("freed address not reused: %+v %v", p3, err)
		}
		if _, err := s.GetPort(ctx, b.other, p3.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project's port: %v", err)
		}
		if _, err := s.CreatePort(ctx, b.other, models.PortInput{NetworkID: n.ID}); fieldsOf(err)["network_id"] == "" {
			t.Fatalf("a port on another project's private network: %v", err)
		}
	})
}

// TestIPAMConcurrent: 253 concurrent port creations on a /24 get 253
// different addresses; one more is a 409.
func TestIPAMConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		n, _ := netWithSubnet(t, s, b.member, "big", "10.20.0.0/24")
		ips, errs := createPortsConcurrently(ctx, s, b.member, n.ID, 253)
		for _, err := range errs {
			t.Error(err)
		}
		seen := map[string]bool{}
		for _, ip := range ips {
			if seen[ip] {
				t.Errorf("address %s handed out twice", ip)
			}
			seen[ip] = true
			if a := netip.MustParseAddr(ip); !netip.MustParsePrefix("10.20.0.0/24").Contains(a) || ip == "10.20.0.1" {
				t.Errorf("address %s outside the pool", ip)
			}
		}
		if len(seen) != 253 {
			t.Fatalf("%d distinct addresses, want 253", len(seen))
		}
		if _, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: n.ID}); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("254th port: want conflict, got %v", err)
		}
	})
}

// createPortsConcurrently creates n ports at once and returns their
// addresses and the errors.
func createPortsConcurrently(ctx context.Context, s *models.Store, c models.Caller, netID string, n int) ([]string, []error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ips []string
	var errs []error
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := s.CreatePort(ctx, c, models.PortInput{NetworkID: netID, Name: fmt.Sprintf("p%d", i)})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for _, ip := range p.FixedIPs {
				ips = append(ips, ip.IPAddress)
			}
		}()
	}
	wg.Wait()
	return ips, errs
}

func TestSecurityGroupRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		page, err := s.ListSecurityGroups(ctx, b.member, models.SecurityGroupFilter{ListOptions: models.ListOptions{}})
		if err != nil || len(page.Items) != 1 || page.Items[0].Name != "default" || len(page.Items[0].Rules) != 2 {
			t.Fatalf("default group on first use: %+v %v", page.Items, err)
		}
		def := page.Items[0]
		for _, r := range def.Rules {
			if r.Direction == models.DirectionIngress && (r.RemoteGroupJSON == nil || *r.RemoteGroupJSON != def.ID) {
				t.Fatalf("default ingress must come from the group itself: %+v", r)
			}
		}
		g, err := s.CreateSecurityGroup(ctx, b.member, models.SecurityGroupInput{Name: "web"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.CreateSecurityGroupRule(ctx, b.member, models.SecurityGroupRuleInput{SecurityGroupID: g.ID, Direction: "ingress",
			Protocol: ptr("tcp"), PortRangeMin: ptr(80), PortRangeMax: ptr(80), RemoteIPPrefix: ptr("0.0.0.0/0")})
		if err != nil {
			t.Fatal(err)
		}
		if r.ProtocolJSON == nil || *r.ProtocolJSON != "tcp" || r.RemoteIPJSON != nil {
			t.Fatalf("rule view: %+v", r)
		}
		bad := []struct {
			name  string
			in    models.SecurityGroupRuleInput
			field string
		}{
			{"direction", models.SecurityGroupRuleInput{Direction: "sideways"}, "direction"},
			{"reversed ports", models.SecurityGroupRuleInput{Direction: "ingress", Protocol: ptr("tcp"), PortRangeMin: ptr(90), PortRangeMax: ptr(80)}, "port_range_min"},
			{"icmp ports", models.SecurityGroupRuleInput{Direction: "ingress", Protocol: ptr("icmp"), PortRangeMin: ptr(8), PortRangeMax: ptr(0)}, "port_range_min"},
			{"bad CIDR", models.SecurityGroupRuleInput{Direction: "ingress", RemoteIPPrefix: ptr("10.0.0.1/24")}, "remote_ip_prefix"},
			{"IPv6", models.SecurityGroupRuleInput{Direction: "ingress", Ethertype: "IPv6"}, "ethertype"},
			{"protocol", models.SecurityGroupRuleInput{Direction: "ingress", Protocol: ptr("sctpx")}, "protocol"},
			{"both remotes", models.SecurityGroupRuleInput{Direction: "ingress", RemoteIPPrefix: ptr("10.0.0.0/8"), RemoteGroupID: ptr(g.ID)}, "remote_group_id"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				tc.in.SecurityGroupID = g.ID
				if _, err := s.CreateSecurityGroupRule(ctx, b.member, tc.in); fieldsOf(err)[tc.field] == "" {
					t.Fatalf("want a problem on %s, got %v", tc.field, err)
				}
			})
		}
		_, err = s.CreateSecurityGroupRule(ctx, b.member, models.SecurityGroupRuleInput{SecurityGroupID: g.ID, Direction: "ingress",
			Protocol: ptr("tcp"), PortRangeMin: ptr(80), PortRangeMax: ptr(80)})
		if !errors.Is(err, models.ErrConflict) {
			t.Fatalf("duplicate rule: want conflict, got %v", err)
		}
		got, _ := s.GetSecurityGroup(ctx, b.member, "web")
		if len(got.Rules) != 2 {
			t.Fatalf("refused rules were written: %d rules", len(got.Rules))
		}
		if _, err := s.GetSecurityGroup(ctx, b.other, g.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project's group: %v", err)
		}
		if err := s.DeleteSecurityGroupRule(ctx, b.other, r.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project's rule: %v", err)
		}
		if err := s.DeleteSecurityGroup(ctx, b.member, def.ID); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("deleting the default group: %v", err)
		}
		rev, _ := s.NetworkRevision(ctx)
		if err := s.DeleteSecurityGroupRule(ctx, b.member, r.ID); err != nil {
			t.Fatal(err)
		}
		if now, _ := s.NetworkRevision(ctx); now <= rev {
			t.Fatalf("a rule change must move the network revision (%d → %d)", rev, now)
		}
	})
}

func TestLaunchWithNetworks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		launch := func(in models.InstanceCreate) ([]models.Instance, error) {
			in.Flavor, in.Image = "m1.nano", b.image.ID
			if in.Name == "" {
				in.Name = "vm"
			}
			return s.CreateInstances(ctx, b.member, in)
		}
		// No network: no NIC.
		insts, err := launch(models.InstanceCreate{})
		if err != nil {
			t.Fatal(err)
		}
		if addrs, _ := s.InstanceAddresses(ctx, []string{insts[0].ID}); len(addrs[insts[0].ID]) != 0 {
			t.Fatalf("no network, yet addresses %v", addrs)
		}
		// One network: it is taken.
		n, _ := netWithSubnet(t, s, b.member, "net1", "10.0.0.0/24")
		insts, err = launch(models.InstanceCreate{Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		addrs, _ := s.InstanceAddresses(ctx, []string{insts[0].ID, insts[1].ID})
		a0, a1 := addrs[insts[0].ID]["net1"], addrs[insts[1].ID]["net1"]
		if len(a0) != 1 || len(a1) != 1 || a0[0].Addr == a1[0].Addr || a0[0].Type != "fixed" || a0[0].MAC == "" {
			t.Fatalf("addresses: %v %v", a0, a1)
		}
		// Two networks: choose.
		n2, _ := netWithSubnet(t, s, b.member, "net2", "10.0.1.0/24")
		if _, err := launch(models.InstanceCreate{}); fieldsOf(err)["networks"] == "" {
			t.Fatalf("several networks: want a problem on networks, got %v", err)
		}
		// By name with a fixed IP and a named group; a bad one is refused
		// with nothing written.
		if _, err := s.CreateSecurityGroup(ctx, b.member, models.SecurityGroupInput{Name: "web"}); err != nil {
			t.Fatal(err)
		}
		insts, err = launch(models.InstanceCreate{Networks: []models.NetworkRequest{{Network: "net2", FixedIP: "10.0.1.50"}, {Network: n.ID}},
			SecurityGroups: []string{"web"}})
		if err != nil {
			t.Fatal(err)
		}
		ports, _ := s.ListPorts(ctx, b.member, models.PortFilter{DeviceID: []string{insts[0].ID}})
		if len(ports.Items) != 2 {
			t.Fatalf("want 2 ports, got %d", len(ports.Items))
		}
		for _, p := range ports.Items {
			if len(p.SecurityGroups) != 1 || p.DeviceOwner != "compute:nova" {
				t.Fatalf("port %+v", p)
			}
			if p.NetworkID == n2.ID && p.FixedIPs[0].IPAddress != "10.0.1.50" {
				t.Fatalf("fixed IP not honoured: %+v", p.FixedIPs)
			}
		}
		before, _ := s.ListPorts(ctx, b.member, models.PortFilter{})
		for name, in := range map[string]models.InstanceCreate{
			"taken IP":      {Networks: []models.NetworkRequest{{Network: "net2", FixedIP: "10.0.1.50"}}},
			"no network":    {Networks: []models.NetworkRequest{{Network: "nope"}}},
			"no group":      {Networks: []models.NetworkRequest{{Network: "net2"}}, SecurityGroups: []string{"nope"}},
			"fixed IP × 2":  {Count: 2, Networks: []models.NetworkRequest{{Network: "net2", FixedIP: "10.0.1.60"}}},
			"port and more": {Networks: []models.NetworkRequest{{Port: ports.Items[0].ID, Network: "net2"}}},
		} {
			if _, err := launch(in); fieldsOf(err) == nil {
				t.Errorf("%s: want a validation error, got %v", name, err)
			}
		}
		after, _ := s.ListPorts(ctx, b.member, models.PortFilter{})
		if len(after.Items) != len(before.Items) {
			t.Fatalf("refused launches left ports: %d → %d", len(before.Items), len(after.Items))
		}
		// Deleting the instance deletes its ports and frees the addresses.
		if _, err := s.DeleteInstance(ctx, b.member, insts[0].ID); err != nil {
			t.Fatal(err)
		}
		left, _ := s.ListPorts(ctx, b.member, models.PortFilter{DeviceID: []string{insts[0].ID}})
		if len(left.Items) != 0 {
			t.Fatalf("ports left after delete: %d", len(left.Items))
		}
		if _, err := launch(models.InstanceCreate{Networks: []models.NetworkRequest{{Network: "net2", FixedIP: "10.0.1.50"}}}); err != nil {
			t.Fatalf("freed fixed IP not reusable: %v", err)
		}
		// A port made beforehand survives its instance, unbound.
		pre, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: n.ID, Name: "keep"})
		if err != nil {
			t.Fatal(err)
		}
		insts, err = launch(models.InstanceCreate{Networks: []models.NetworkRequest{{Port: pre.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteInstance(ctx, b.member, insts[0].ID); err != nil {
			t.Fatal(err)
		}
		kept, err := s.GetPort(ctx, b.member, pre.ID)
		if err != nil || kept.DeviceID != "" || len(kept.FixedIPs) != 1 {
			t.Fatalf("preserved port: %+v %v", kept, err)
		}
	})
}

func TestHostNetworkState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		for _, h := range []struct{ name, tunnel string }{{"hv1", "192.0.2.1"}, {"hv2", "192.0.2.2"}} {
			if _, err := s.RegisterHost(ctx, models.HostInventory{Name: h.name, TunnelAddress: h.tunnel, VCPUs: 4, RAMMB: 8192, DiskGB: 100,
				CPURatio: 1, RAMRatio: 1, DiskRatio: 1}); err != nil {
				t.Fatal(err)
			}
		}
		n, _ := netWithSubnet(t, s, b.member, "net1", "10.0.0.0/24")
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: b.image.ID, Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		nics, err := s.BindInstancePorts(ctx, insts[0].ID, "hv1")
		if err != nil || len(nics) != 1 || nics[0].Network.ID != n.ID || len(nics[0].Subnets) != 1 || nics[0].Port.BindingHostID != "hv1" {
			t.Fatalf("bind: %+v %v", nics, err)
		}
		if _, err := s.BindInstancePorts(ctx, insts[1].ID, "hv2"); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"hv1", "hv2"} {
			if err := s.EnsureDHCPPorts(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		st, err := s.HostNetworkState(ctx, "hv1")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Networks) != 1 || len(st.Networks[0].Peers) != 1 || st.Networks[0].Peers[0] != "192.0.2.2" {
			t.Fatalf("networks and peers: %+v", st.Networks)
		}
		if len(st.Ports) != 2 { // the instance's and the DHCP port
			t.Fatalf("want 2 ports on hv1, got %d", len(st.Ports))
		}
		group := nics[0].Port.SecurityGroups[0]
		if len(st.Rules[group]) != 2 || len(st.Members[group]) != 2 {
			t.Fatalf("rules %v, members %v (both instances are members of default)", st.Rules[group], st.Members[group])
		}
		// DHCP ports do not count against the quota and go when the host
		// has no port left on the network.
		if _, err := s.DeleteInstance(ctx, b.member, insts[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureDHCPPorts(ctx, "hv1"); err != nil {
			t.Fatal(err)
		}
		st, _ = s.HostNetworkState(ctx, "hv1")
		if len(st.Ports) != 0 || len(st.Networks) != 0 {
			t.Fatalf("hv1 still has %d ports on %d networks", len(st.Ports), len(st.Networks))
		}
	})
}

// BenchmarkIPAMConcurrent253 (make bench) measures 253 concurrent port
// creations on a /24 on each engine: every address once, none twice.
func BenchmarkIPAMConcurrent253(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(string(e), func(b *testing.B) {
			s := storetest.New(b, e)
			ctx := context.Background()
			c := benchCaller(b, s)
			n, err := s.CreateNetwork(ctx, c, models.NetworkInput{Name: "big"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.CreateSubnet(ctx, c, models.SubnetInput{NetworkID: n.ID, CIDR: "10.20.0.0/24"}); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			ips, errs := createPortsConcurrently(ctx, s, c, n.ID, 253)
			elapsed := time.Since(t0)
			seen := map[string]bool{}
			for _, ip := range ips {
				seen[ip] = true
			}
			if len(errs) > 0 || len(seen) != 253 || len(ips) != 253 {
				b.Fatalf("%d addresses, %d distinct, %d errors", len(ips), len(seen), len(errs))
			}
			b.ReportMetric(float64(elapsed.Milliseconds()), "ms/253-ports")
			b.ReportMetric(float64(len(ips)-len(seen)), "duplicates")
		})
	}
}

func benchCaller(b *testing.B, s *models.Store) models.Caller {
	ctx := context.Background()
	if _, err := s.Bootstrap(ctx, models.BootstrapInput{AdminName: "admin", AdminProject: "admin", AdminPassword: "admin-password",
		DemoProject: "demo", DemoUser: "demo", DemoPassword: "demo-password"}); err != nil {
		b.Fatal(err)
	}
	u, _ := s.GetUser(ctx, "demo")
	p, _ := s.GetProject(ctx, "demo")
	c, err := s.ResolveCaller(ctx, u.ID, p.ID)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func TestCreateNetworkWithSubnet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		count := func() int {
			t.Helper()
			nets, err := s.ListNetworks(ctx, b.member, models.NetworkFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return len(nets.Items)
		}
		// Problems of both halves at once, the subnet's name as
		// subnet_name; nothing written.
		_, _, err := s.CreateNetworkWithSubnet(ctx, b.member, models.NetworkInput{Name: "bad\x00"},
			models.SubnetInput{Name: string(make([]byte, 300)), CIDR: "10.0.0.1/24"})
		f := fieldsOf(err)
		if f["name"] == "" || f["cidr"] == "" || f["subnet_name"] == "" {
			t.Fatalf("want name, cidr and subnet_name problems, got %v", err)
		}
		// The subnet refused by its quota: the network goes too.
		if _, err := s.SetQuotas(ctx, models.Caller{UserName: "test", SystemRole: models.RoleAdmin}, "demo",
			map[string]int64{models.QuotaSubnets: 0}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateNetworkWithSubnet(ctx, b.member, models.NetworkInput{Name: "n"}, models.SubnetInput{CIDR: "10.0.0.0/24"}); !errors.Is(err, models.ErrQuotaExceeded) {
			t.Fatalf("over the subnets quota: %v", err)
		}
		if n := count(); n != 0 {
			t.Fatalf("%d networks written by refused creates", n)
		}
		if _, err := s.SetQuotas(ctx, models.Caller{UserName: "test", SystemRole: models.RoleAdmin}, "demo",
			map[string]int64{models.QuotaSubnets: 10}); err != nil {
			t.Fatal(err)
		}
		n, sn, err := s.CreateNetworkWithSubnet(ctx, b.member, models.NetworkInput{Name: "n"},
			models.SubnetInput{CIDR: "10.0.0.0/24", GatewayIP: models.Nullable{Set: true}, DNSNameservers: []string{"9.9.9.9"}})
		if err != nil || sn.NetworkID != n.ID || sn.GatewayIP != nil || len(n.Subnets) != 1 || sn.DNSNameservers[0] != "9.9.9.9" {
			t.Fatalf("created %+v %+v %v", n, sn, err)
		}
		counts, err := s.NetworkPortCounts(ctx, b.member, []string{n.ID})
		if err != nil || counts[n.ID] != 0 {
			t.Fatalf("port counts %v %v", counts, err)
		}
		if _, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: n.ID}); err != nil {
			t.Fatal(err)
		}
		if counts, _ := s.NetworkPortCounts(ctx, b.member, []string{n.ID}); counts[n.ID] != 1 {
			t.Fatalf("port counts after one port: %v", counts)
		}
		if counts, _ := s.NetworkPortCounts(ctx, b.other, []string{n.ID}); counts[n.ID] != 0 {
			t.Fatalf("another project counts the ports: %v", counts)
		}
	})
}

// A launch or port naming "default" before the project ever used a group
// gets the default group (made on that first use), as in Neutron.
func TestDefaultGroupByNameOnFirstUse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		n, _ := netWithSubnet(t, s, b.other, "onet", "10.5.0.0/24")
		groups := []string{"default"}
		p, err := s.CreatePort(context.Background(), b.other, models.PortInput{NetworkID: n.ID, SecurityGroups: &groups})
		if err != nil {
			t.Fatal(err)
		}
		g, err := s.ListSecurityGroups(context.Background(), b.other, models.SecurityGroupFilter{ListOptions: models.ListOptions{}})
		if err != nil || len(g.Items) != 1 || g.Items[0].Name != "default" || len(p.SecurityGroups) != 1 || p.SecurityGroups[0] != g.Items[0].ID {
			t.Fatalf("port groups %v, project groups %+v (%v)", p.SecurityGroups, g.Items, err)
		}
	})
}

// Unnamed items (most ports) page like named ones: an unnamed marker is
// an item of the list, not "no item with this ID".
func TestUnnamedItemsPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		n, _ := netWithSubnet(t, s, b.member, "paged", "10.30.0.0/24")
		made := map[string]bool{}
		for i := 0; i < 3; i++ {
			p, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: n.ID})
			if err != nil {
				t.Fatal(err)
			}
			made[p.ID] = true
		}
		if _, err := s.CreatePort(ctx, b.member, models.PortInput{NetworkID: n.ID, Name: "named"}); err != nil {
			t.Fatal(err)
		}
		seen, marker := map[string]bool{}, ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("the pages never end")
			}
			page, err := s.ListPorts(ctx, b.member, models.PortFilter{NetworkID: []string{n.ID}, ListOptions: models.ListOptions{Limit: 1, Marker: marker}})
			if err != nil {
				t.Fatalf("page after %q: %v", marker, err)
			}
			for _, p := range page.Items {
				seen[p.ID] = true
			}
			if page.NextMarker == "" {
				break
			}
			marker = page.NextMarker
		}
		for id := range made {
			if !seen[id] {
				t.Errorf("unnamed port %s never listed (saw %d ports)", id, len(seen))
			}
		}
	})
}
