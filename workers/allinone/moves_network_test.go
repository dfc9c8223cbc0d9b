package allinone_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/allinone"
	hostnet "stratus/workers/net"
)

// Moves carry an instance's ports (Nova's pre_live_migration and
// migrate_instance_finish): the destination plugs them before the guest
// arrives, the other hosts tunnel to it, the binding follows the guest,
// the source unplugs them, and a revert brings them back.
func TestMovesCarryPorts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		tunnel := map[string]string{"h1": "192.0.2.1", "h2": "192.0.2.2", "h3": "192.0.2.3"}
		// One m1.nano per host: the two instances land on two hosts, the
		// third is where they can move.
		b := setup(t, s, []string{"h1", "h2", "h3"}, 128, func(c *allinone.Config) {
			c.TunnelAddresses = tunnel
			c.Agent.NetworkSyncInterval = 50 * time.Millisecond
		})
		ctx := context.Background()
		n, err := s.CreateNetwork(ctx, b.member, models.NetworkInput{Name: "net1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSubnet(ctx, b.member, models.SubnetInput{NetworkID: n.ID, CIDR: "10.30.0.0/24"}); err != nil {
			t.Fatal(err)
		}
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros", Count: 2,
			Networks: []models.NetworkRequest{{Network: "net1"}}})
		if err != nil {
			t.Fatal(err)
		}
		vm := b.waitStatus(t, insts[0].ID, "ACTIVE")
		peer := b.waitStatus(t, insts[1].ID, "ACTIVE")
		src, peerHost := vm.Host, peer.Host
		dst := ""
		for _, h := range []string{"h1", "h2", "h3"} {
			if h != src && h != peerHost {
				dst = h
			}
		}
		ports, err := s.ListPorts(ctx, b.member, models.PortFilter{DeviceID: []string{vm.ID}})
		if err != nil || len(ports.Items) != 1 {
			t.Fatalf("vm's ports: %+v %v", ports.Items, err)
		}
		port := ports.Items[0]
		portNow := func() models.Port {
			t.Helper()
			p, err := s.GetPort(ctx, b.member, port.ID)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		// where tells which hosts have the port plugged, and each host's
		// tunnel peers on net1.
		where := func() string {
			var out []string
			for _, h := range []string{"h1", "h2", "h3"} {
				_, plugged := b.nets[h].Port(port.ID)
				peers := "-"
				if net, ok := b.nets[h].Network(n.ID); ok {
					peers = strings.Join(net.Peers, ",")
				}
				out = append(out, fmt.Sprintf("%s: port %v, peers %s", h, plugged, peers))
			}
			return strings.Join(out, "; ")
		}
		peersOf := func(hosts ...string) string {
			var ps []string
			for _, h := range hosts {
				ps = append(ps, tunnel[h])
			}
			slices.Sort(ps)
			return strings.Join(ps, ",")
		}
		state := func(hosts map[string]string) string {
			var out []string
			for _, h := range []string{"h1", "h2", "h3"} {
				out = append(out, h+": "+hosts[h])
			}
			return strings.Join(out, "; ")
		}
		waitWhere := func(what string, want map[string]string) {
			t.Helper()
			w := state(want)
			waitFor(t, 10*time.Second, what, func() (bool, string) { got := where(); return got == w, got + " — want " + w })
		}
		waitWhere("before the move", map[string]string{
			src:      "port true, peers " + peersOf(peerHost),
			peerHost: "port false, peers " + peersOf(src),
			dst:      "port false, peers -",
		})

		// Live migration held while the memory "copies": the destination
		// has the port plugged (bridge, chains), the binding is the
		// source's, and every host tunnels to every other.
		release := b.drivers[src].HoldNextMigration()
		defer release()
		if _, err := s.MoveInstance(ctx, b.admin, vm.ID, models.ActionLiveMigrate, models.MoveRequest{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the migration running", func() (bool, string) {
			m, err := s.LatestMigration(ctx, b.admin, vm.ID)
			return err == nil && m.Status == models.MigrationRunning, m.Status
		})
		waitWhere("during the live migration", map[string]string{
			src:      "port true, peers " + peersOf(dst, peerHost),
			peerHost: "port false, peers " + peersOf(src, dst),
			dst:      "port true, peers " + peersOf(src, peerHost),
		})
		if p := portNow(); p.BindingHostID != src || p.Status != models.PortActive {
			t.Fatalf("during the move the port is %s on %s", p.Status, p.BindingHostID)
		}
		if nics := b.drivers[dst].NICs(vm.ID); len(nics) != 1 || nics[0].PortID != port.ID || nics[0].Bridge != hostnet.BridgeName(n.ID) {
			t.Fatalf("the prepared domain's NICs: %+v", nics)
		}
		release()
		got := b.waitStatus(t, vm.ID, "ACTIVE")
		if got.Host != dst {
			t.Fatalf("live-migrated to %s, want %s", got.Host, dst)
		}
		waitWhere("after the live migration", map[string]string{
			src:      "port false, peers -",
			peerHost: "port false, peers " + peersOf(dst),
			dst:      "port true, peers " + peersOf(peerHost),
		})
		waitFor(t, 5*time.Second, "the port ACTIVE on "+dst, func() (bool, string) {
			p := portNow()
			return p.BindingHostID == dst && p.Status == models.PortActive, p.Status + " on " + p.BindingHostID
		})
		if leases := b.nets[dst].DHCPHosts(n.ID); len(leases) != 1 || leases[0].MAC != port.MACAddress {
			t.Errorf("DHCP on %s serves %+v", dst, leases)
		}
		if nics := b.drivers[dst].NICs(vm.ID); len(nics) != 1 || nics[0].PortID != port.ID {
			t.Fatalf("the moved domain's NICs: %+v", nics)
		}

		// Cold migration back to the free host, then revert: the resized
		// domain is defined with its NIC there, the revert brings the port
		// back to where the kept copy starts.
		back := src
		if _, err := s.MoveInstance(ctx, b.admin, vm.ID, models.ActionMigrate, models.MoveRequest{}); err != nil {
			t.Fatal(err)
		}
		got = b.waitStatus(t, vm.ID, "VERIFY_RESIZE")
		if got.Host != back {
			t.Fatalf("cold-migrated to %s, want %s", got.Host, back)
		}
		if nics := b.drivers[back].NICs(vm.ID); len(nics) != 1 || nics[0].PortID != port.ID || nics[0].MAC != port.MACAddress {
			t.Fatalf("the cold-migrated domain's NICs: %+v", nics)
		}
		waitWhere("cold-migrated", map[string]string{
			back:     "port true, peers " + peersOf(peerHost),
			peerHost: "port false, peers " + peersOf(back),
			dst:      "port false, peers -",
		})
		if p := portNow(); p.BindingHostID != back || p.Status != models.PortActive {
			t.Fatalf("after the cold migration the port is %s on %s", p.Status, p.BindingHostID)
		}
		if _, err := s.MoveInstance(ctx, b.member, vm.ID, models.ActionRevertResize, models.MoveRequest{}); err != nil {
			t.Fatal(err)
		}
		got = b.waitStatus(t, vm.ID, "ACTIVE")
		if got.Host != dst {
			t.Fatalf("reverted to %s, want %s", got.Host, dst)
		}
		waitWhere("reverted", map[string]string{
			back:     "port false, peers -",
			peerHost: "port false, peers " + peersOf(dst),
			dst:      "port true, peers " + peersOf(peerHost),
		})
		waitFor(t, 5*time.Second, "the port ACTIVE on "+dst+" again", func() (bool, string) {
			p := portNow()
			return p.BindingHostID == dst && p.Status == models.PortActive, p.Status + " on " + p.BindingHostID
		})
	})
}
