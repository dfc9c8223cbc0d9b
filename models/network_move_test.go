package models_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// A moving instance's ports: the destination plugs them (and the other
// hosts tunnel to it) while the binding stays on the source; the binding
// moves when the guest runs on the destination, and back on a revert; a
// failed move unplugs them from the destination again.
func TestHostNetworkStateDuringMoves(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := netSetup(t, s)
		ctx := context.Background()
		tunnel := map[string]string{"hv1": "192.0.2.1", "hv2": "192.0.2.2", "hv3": "192.0.2.3"}
		hosts := map[string]models.Host{}
		for _, h := range []string{"hv1", "hv2", "hv3"} {
			host, err := s.RegisterHost(ctx, models.HostInventory{Name: h, Driver: "fake", TunnelAddress: tunnel[h], VCPUs: 16, RAMMB: 8192,
				DiskGB: 100, CPURatio: 1, RAMRatio: 1, DiskRatio: 1})
			if err != nil {
				t.Fatal(err)
			}
			hosts[h] = host
		}
		n, _ := netWithSubnet(t, s, b.member, "net1", "10.0.0.0/24")
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: b.image.ID, Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		vm, peer := insts[0].ID, insts[1].ID
		for id, h := range map[string]string{vm: "hv1", peer: "hv3"} {
			inst, err := s.InstanceByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.PlaceInstance(ctx, inst, hosts[h], nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.BindInstancePorts(ctx, id, h); err != nil {
				t.Fatal(err)
			}
			if err := s.FinishSpawn(ctx, id, h, models.PowerRunning); err != nil {
				t.Fatal(err)
			}
		}
		nics, err := s.InstanceNICs(ctx, vm)
		if err != nil || len(nics) != 1 {
			t.Fatalf("vm's NICs: %+v %v", nics, err)
		}
		port, group := nics[0].Port.ID, nics[0].Port.SecurityGroups[0]

		// state is what host's networking holds of the moving port: whether
		// its port (and its group's rules) are there, and net1's peers.
		state := func(host string) string {
			t.Helper()
			st, err := s.HostNetworkState(ctx, host)
			if err != nil {
				t.Fatal(err)
			}
			has := "no port"
			for _, p := range st.Ports {
				if p.ID == port {
					has = "port bound to " + p.BindingHostID
					if _, ok := st.Rules[group]; !ok {
						has += " without its group's rules"
					}
				}
			}
			peers := "no net1"
			for _, hn := range st.Networks {
				if hn.Network.ID == n.ID {
					peers = "peers " + strings.Join(hn.Peers, ",")
				}
			}
			return has + ", " + peers
		}
		expect := func(when string, want map[string]string) {
			t.Helper()
			for _, h := range []string{"hv1", "hv2", "hv3"} {
				if got := state(h); got != want[h] {
					t.Errorf("%s: %s has %q, want %q", when, h, got, want[h])
				}
			}
		}
		revision := func() int64 {
			t.Helper()
			rev, err := s.NetworkRevision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return rev
		}
		portOf := func() models.Port {
			t.Helper()
			p, err := s.GetPort(ctx, b.member, port)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		if err := s.SetPortsStatus(ctx, "hv1", []string{port}, models.PortActive); err != nil {
			t.Fatal(err)
		}
		expect("before any move", map[string]string{
			"hv1": "port bound to hv1, peers 192.0.2.3",
			"hv2": "no port, no net1",
			"hv3": "no port, peers 192.0.2.1",
		})

		// Live migration to hv2: scheduled, hv2 plugs the port, bound to
		// hv1 still, and hv1 and hv3 tunnel to hv2 too.
		if _, err := s.MoveInstance(ctx, b.admin, vm, models.ActionLiveMigrate, models.MoveRequest{Host: "hv2"}); err != nil {
			t.Fatal(err)
		}
		m, err := s.LatestMigration(ctx, b.admin, vm)
		if err != nil {
			t.Fatal(err)
		}
		expect("live migration queued", map[string]string{
			"hv1": "port bound to hv1, peers 192.0.2.3",
			"hv2": "no port, no net1",
			"hv3": "no port, peers 192.0.2.1",
		})
		rev := revision()
		if err := s.PlaceMove(ctx, m.ID, hosts["hv2"]); err != nil {
			t.Fatal(err)
		}
		if revision() == rev {
			t.Error("scheduling the move did not move the network revision: no agent would plug the port on hv2")
		}
		during := map[string]string{
			"hv1": "port bound to hv1, peers 192.0.2.2,192.0.2.3",
			"hv2": "port bound to hv1, peers 192.0.2.1,192.0.2.3",
			"hv3": "no port, peers 192.0.2.1,192.0.2.2",
		}
		expect("live migration preparing", during)
		// hv2's agent reporting the port ACTIVE does not take the binding.
		if err := s.SetPortsStatus(ctx, "hv2", []string{port}, models.PortActive); err != nil {
			t.Fatal(err)
		}
		if p := portOf(); p.BindingHostID != "hv1" {
			t.Fatalf("port bound to %s while preparing", p.BindingHostID)
		}
		if err := s.SetMoveTarget(ctx, m.ID, "{}"); err != nil {
			t.Fatal(err)
		}
		expect("live migration running", during)
		// The guest runs on hv2: the binding moves there (DOWN until hv2's
		// agent says it plugged it), hv1 keeps nothing.
		rev = revision()
		if err := s.SourceMigrated(ctx, m.ID, models.MigrationStats{}); err != nil {
			t.Fatal(err)
		}
		if p := portOf(); p.BindingHostID != "hv2" || p.Status != models.PortDown || revision() == rev {
			t.Fatalf("after the guest moved: port on %s, %s (revision %d → %d)", p.BindingHostID, p.Status, rev, revision())
		}
		after := map[string]string{
			"hv1": "no port, no net1",
			"hv2": "port bound to hv2, peers 192.0.2.3",
			"hv3": "no port, peers 192.0.2.2",
		}
		expect("live migration post-migrating", after)
		if err := s.FinishMove(ctx, m.ID, models.PowerRunning); err != nil {
			t.Fatal(err)
		}
		expect("live migration completed", after)

		// Resize to hv1 and revert: hv1 plugs the port while the disks move
		// and holds the binding once finished; the revert gives it back.
		if _, err := s.MoveInstance(ctx, b.member, vm, models.ActionResize, models.MoveRequest{Flavor: "m1.tiny"}); err != nil {
			t.Fatal(err)
		}
		if m, err = s.LatestMigration(ctx, b.admin, vm); err != nil {
			t.Fatal(err)
		}
		if err := s.PlaceMove(ctx, m.ID, hosts["hv1"]); err != nil {
			t.Fatal(err)
		}
		during = map[string]string{
			"hv1": "port bound to hv2, peers 192.0.2.2,192.0.2.3",
			"hv2": "port bound to hv2, peers 192.0.2.1,192.0.2.3",
			"hv3": "no port, peers 192.0.2.1,192.0.2.2",
		}
		expect("resize migrating", during)
		if err := s.SetMoveTarget(ctx, m.ID, "{}"); err != nil {
			t.Fatal(err)
		}
		if err := s.SourceMigrated(ctx, m.ID, models.MigrationStats{}); err != nil {
			t.Fatal(err)
		}
		expect("resize post-migrating (the source still owns the port)", during)
		if err := s.FinishMove(ctx, m.ID, models.PowerRunning); err != nil {
			t.Fatal(err)
		}
		expect("resize finished", map[string]string{
			"hv1": "port bound to hv1, peers 192.0.2.3",
			"hv2": "no port, no net1",
			"hv3": "no port, peers 192.0.2.1",
		})
		if _, err := s.MoveInstance(ctx, b.member, vm, models.ActionRevertResize, models.MoveRequest{}); err != nil {
			t.Fatal(err)
		}
		rev = revision()
		if err := s.RevertedOnDest(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		if revision() == rev {
			t.Error("the revert did not move the network revision")
		}
		back := map[string]string{
			"hv1": "no port, no net1",
			"hv2": "port bound to hv2, peers 192.0.2.3",
			"hv3": "no port, peers 192.0.2.2",
		}
		expect("reverted", back)
		if err := s.FinishRevert(ctx, m.ID, models.PowerRunning, ""); err != nil {
			t.Fatal(err)
		}

		// A live migration that fails unplugs the port from hv1 again.
		if _, err := s.MoveInstance(ctx, b.admin, vm, models.ActionLiveMigrate, models.MoveRequest{Host: "hv1"}); err != nil {
			t.Fatal(err)
		}
		if m, err = s.LatestMigration(ctx, b.admin, vm); err != nil {
			t.Fatal(err)
		}
		if err := s.PlaceMove(ctx, m.ID, hosts["hv1"]); err != nil {
			t.Fatal(err)
		}
		if got := state("hv1"); got != "port bound to hv2, peers 192.0.2.2,192.0.2.3" {
			t.Errorf("hv1 preparing again: %q", got)
		}
		rev = revision()
		if err := s.FailMove(ctx, m.ID, "injected", true); err != nil {
			t.Fatal(err)
		}
		if revision() == rev {
			t.Error("the failed move did not move the network revision: hv1 would keep the port plugged")
		}
		expect("failed live migration", back)
		if p := portOf(); p.BindingHostID != "hv2" {
			t.Errorf("port bound to %s after the failed move", p.BindingHostID)
		}

		// InstanceNICs binds nothing.
		if nics, err := s.InstanceNICs(ctx, vm); err != nil || len(nics) != 1 || nics[0].Port.BindingHostID != "hv2" ||
			!slices.Contains(nics[0].Network.Subnets, nics[0].Subnets[0].ID) {
			t.Fatalf("NICs: %+v %v", nics, err)
		}
	})
}
