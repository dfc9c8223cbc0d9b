package allinone_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/allinone"
	hostnet "stratus/workers/net"
)

// The agents drive the host network driver (the fake here; the Linux one
// in the namespace tests): a launch's ports are bound to its host and
// plugged before the domain starts, the domain gets its NICs, the ports go
// ACTIVE, each host's tunnel reaches the other, a rule change reaches the
// hosts' firewalls, and deleting everything takes it all away.
func TestNetworkingOnHosts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		// One m1.nano per host: the two instances land on different hosts.
		b := setup(t, s, []string{"h1", "h2"}, 128, func(c *allinone.Config) {
			c.TunnelAddresses = map[string]string{"h1": "192.0.2.1", "h2": "192.0.2.2"}
			c.Agent.NetworkSyncInterval = 50 * time.Millisecond
		})
		ctx := context.Background()
		n, err := s.CreateNetwork(ctx, b.member, models.NetworkInput{Name: "net1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSubnet(ctx, b.member, models.SubnetInput{NetworkID: n.ID, CIDR: "10.20.0.0/24", DNSNameservers: []string{"10.20.0.53"}}); err != nil {
			t.Fatal(err)
		}
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "web", Flavor: "m1.nano", Image: "cirros", Count: 2,
			Networks: []models.NetworkRequest{{Network: "net1"}}})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "both instances ACTIVE", func() (bool, string) {
			a, c := b.instance(t, insts[0].ID), b.instance(t, insts[1].ID)
			return a.VMState == models.VMActive && c.VMState == models.VMActive,
				fmt.Sprintf("%s %q, %s %q", a.VMState, a.FaultMessage, c.VMState, c.FaultMessage)
		})
		ports, err := s.ListPorts(ctx, b.member, models.PortFilter{NetworkID: []string{n.ID}})
		if err != nil {
			t.Fatal(err)
		}
		hostOf := map[string]string{}
		for _, p := range ports.Items {
			if p.DeviceOwner == models.DeviceOwnerDHCP {
				continue
			}
			hostOf[p.DeviceID] = p.BindingHostID
			if p.Status != models.PortActive {
				t.Fatalf("port %s of %s is %s after the build", p.ID, p.DeviceID, p.Status)
			}
		}
		if hostOf[insts[0].ID] == hostOf[insts[1].ID] {
			t.Fatalf("both instances on %s", hostOf[insts[0].ID])
		}
		for _, inst := range insts {
			host := hostOf[inst.ID]
			nics := b.drivers[host].NICs(inst.ID)
			var port models.Port
			for _, p := range ports.Items {
				if p.DeviceID == inst.ID {
					port = p
				}
			}
			if len(nics) != 1 || nics[0].PortID != port.ID || nics[0].MAC != port.MACAddress || nics[0].Bridge != hostnet.BridgeName(n.ID) ||
				nics[0].Tap != hostnet.TapName(port.ID) || nics[0].MTU != n.MTU || len(nics[0].Subnets) != 1 ||
				nics[0].Subnets[0].IP != port.FixedIPs[0].IPAddress || !nics[0].Subnets[0].DHCP {
				t.Fatalf("instance %s on %s got NICs %+v for port %+v", inst.ID, host, nics, port)
			}
			// The other host's tunnel follows where the ports are: it bound
			// its port a moment ago, so within a sync or two.
			other := map[string]string{"h1": "192.0.2.2", "h2": "192.0.2.1"}[host]
			waitFor(t, 5*time.Second, "the peer's flood entry on "+host, func() (bool, string) {
				net, ok := b.nets[host].Network(n.ID)
				return ok && len(net.Peers) == 1 && net.Peers[0] == other && net.VNI == n.SegmentationID, fmt.Sprintf("%+v (present %v)", net, ok)
			})
			leases := b.nets[host].DHCPHosts(n.ID)
			if len(leases) != 1 || leases[0].MAC != port.MACAddress || leases[0].IP != port.FixedIPs[0].IPAddress {
				t.Fatalf("host %s serves DHCP leases %+v, want only its own port's", host, leases)
			}
		}
		// A rule opening tcp/22 in the default group reaches both hosts'
		// firewalls within seconds.
		before := map[string]int{"h1": b.nets["h1"].Rules(), "h2": b.nets["h2"].Rules()}
		groups, err := s.ListSecurityGroups(ctx, b.member, models.SecurityGroupFilter{ListOptions: models.ListOptions{}})
		if err != nil || len(groups.Items) != 1 {
			t.Fatalf("groups %+v, %v", groups.Items, err)
		}
		tcp, port22 := "tcp", 22
		rule, err := s.CreateSecurityGroupRule(ctx, b.member, models.SecurityGroupRuleInput{SecurityGroupID: groups.Items[0].ID,
			Direction: "ingress", Protocol: &tcp, PortRangeMin: &port22, PortRangeMax: &port22})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the rule on both hosts", func() (bool, string) {
			r1, r2 := b.nets["h1"].Rules(), b.nets["h2"].Rules()
			return r1 == before["h1"]+1 && r2 == before["h2"]+1, fmt.Sprintf("h1 %d→%d, h2 %d→%d", before["h1"], r1, before["h2"], r2)
		})
		if err := s.DeleteSecurityGroupRule(ctx, b.member, rule.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the rule gone from both hosts", func() (bool, string) {
			r1, r2 := b.nets["h1"].Rules(), b.nets["h2"].Rules()
			return r1 == before["h1"] && r2 == before["h2"], fmt.Sprintf("h1 %d, h2 %d", r1, r2)
		})
		// Idle: the revision does not move, so no host applies again.
		applies := b.nets["h1"].Applies()
		time.Sleep(300 * time.Millisecond)
		if got := b.nets["h1"].Applies(); got != applies {
			t.Fatalf("an idle host applied %d times in 300 ms", got-applies)
		}
		// Deleting the instances takes their ports, the DHCP ports, the
		// bridges and every chain away.
		for _, inst := range insts {
			if _, err := s.DeleteInstance(ctx, b.member, inst.ID); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 10*time.Second, "nothing left on the hosts", func() (bool, string) {
			left, _ := s.ListPorts(ctx, b.member, models.PortFilter{NetworkID: []string{n.ID}})
			state := fmt.Sprintf("ports %d, h1 bridges %v chains %d, h2 bridges %v chains %d", len(left.Items),
				b.nets["h1"].Bridges(), b.nets["h1"].Chains(), b.nets["h2"].Bridges(), b.nets["h2"].Chains())
			return len(left.Items) == 0 && len(b.nets["h1"].Bridges()) == 0 && len(b.nets["h2"].Bridges()) == 0 &&
				b.nets["h1"].Chains() == 2 && b.nets["h2"].Chains() == 2, state
		})
	})
}
