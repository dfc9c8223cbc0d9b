package allinone_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers"
	"stratus/workers/allinone"
	"stratus/workers/compute"
	netfake "stratus/workers/net/fake"
	"stratus/workers/virt"
	"stratus/workers/virt/fake"
)

// Moves on the fake driver: the scheduler's claims, the allocations held on
// both hosts until confirm or revert, quota, the states and the action log.

func (b *bundle) launch(t *testing.T, name, flavor string) models.Instance {
	t.Helper()
	insts, err := b.store.CreateInstances(context.Background(), b.member, models.InstanceCreate{Name: name, Flavor: flavor, Image: "cirros"})
	if err != nil {
		t.Fatal(err)
	}
	id := insts[0].ID
	waitFor(t, 20*time.Second, name+" ACTIVE", func() (bool, string) { st := b.instance(t, id).Status(); return st == "ACTIVE", st })
	return b.instance(t, id)
}

func (b *bundle) waitStatus(t *testing.T, id, want string) models.Instance {
	t.Helper()
	waitFor(t, 30*time.Second, "status "+want, func() (bool, string) {
		i := b.instance(t, id)
		return i.Status() == want, fmt.Sprintf("%s (%s/%s) on %s: %s", i.Status(), i.VMState, i.TaskState, i.Host, i.FaultMessage)
	})
	return b.instance(t, id)
}

// used is what the database says a host holds (vcpus, MB, instances).
func (b *bundle) used(t *testing.T, host string) string {
	t.Helper()
	h, err := b.store.GetHost(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d vcpus, %d MB, %d instances", h.UsedVCPUs, h.UsedRAMMB, h.InstanceCount)
}

func lastAction(t *testing.T, s *models.Store, c models.Caller, id string) models.InstanceAction {
	t.Helper()
	acts, err := s.ListInstanceActions(context.Background(), c, id)
	if err != nil || len(acts) == 0 {
		t.Fatalf("action log: %v %v", acts, err)
	}
	return acts[0]
}

func TestResizeConfirmAndRevert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s, []string{"h1", "h2"}, 8192, nil)
		ctx := context.Background()
		inst := b.launch(t, "vm", "m1.nano")
		src := inst.Host
		dst := map[string]string{"h1": "h2", "h2": "h1"}[src]

		// Shrinking the disk, the same flavor and an unknown one are 400s
		// naming the field; nothing changes.
		for flavor, want := range map[string]string{"m1.nano": "already has", "nope": "no flavor"} {
			_, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionResize, models.MoveRequest{Flavor: flavor})
			var ve *models.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(ve.Fields["flavor"], want) {
				t.Fatalf("resize to %s: %v", flavor, err)
			}
		}
		// Confirming what was never resized names the state.
		if _, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionConfirmResize, models.MoveRequest{}); !errors.Is(err, models.ErrConflict) ||
			!strings.Contains(err.Error(), "ACTIVE") {
			t.Fatalf("confirm of an ACTIVE instance: %v", err)
		}
		// Members may not migrate.
		if _, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionMigrate, models.MoveRequest{}); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("member migrate: %v", err)
		}

		// Resize to m1.tiny: VERIFY_RESIZE on the other host, both hosts
		// holding their allocation.
		got, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionResize, models.MoveRequest{Flavor: "m1.tiny"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status() != "RESIZE" || got.FlavorName != "m1.tiny" {
			t.Fatalf("right after the resize: %s with %s", got.Status(), got.FlavorName)
		}
		if _, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionResize, models.MoveRequest{Flavor: "m1.small"}); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("a second resize while resizing: %v", err)
		}
		got = b.waitStatus(t, inst.ID, "VERIFY_RESIZE")
		if got.Host != dst || got.RAMMB != 512 {
			t.Fatalf("resized to %s with %d MB", got.Host, got.RAMMB)
		}
		if u := b.used(t, src); u != "1 vcpus, 128 MB, 1 instances" {
			t.Errorf("source holds %s until confirmed", u)
		}
		if u := b.used(t, dst); u != "1 vcpus, 512 MB, 1 instances" {
			t.Errorf("destination holds %s", u)
		}
		if st := b.drivers[dst].Domains()[inst.ID]; st != virt.Running {
			t.Errorf("destination domain %s", st)
		}
		if st, ok := b.drivers[src].Domains()[inst.ID]; !ok || st != virt.Shutdown {
			t.Errorf("source copy kept stopped for a revert: %s (%v)", st, ok)
		}
		// The power sync on the source leaves the kept copy alone.
		time.Sleep(500 * time.Millisecond)
		if _, ok := b.drivers[src].Domains()[inst.ID]; !ok {
			t.Fatal("the source's power sync destroyed the copy kept for a revert")
		}

		// Revert: back on the source with the old flavor; the destination
		// gives everything back.
		if _, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionRevertResize, models.MoveRequest{}); err != nil {
			t.Fatal(err)
		}
		got = b.waitStatus(t, inst.ID, "ACTIVE")
		if got.Host != src || got.FlavorName != "m1.nano" || got.RAMMB != 128 {
			t.Fatalf("reverted to %s with %s (%d MB)", got.Host, got.FlavorName, got.RAMMB)
		}
		if u := b.used(t, dst); u != "0 vcpus, 0 MB, 0 instances" {
			t.Errorf("destination after the revert holds %s", u)
		}
		if _, ok := b.drivers[dst].Domains()[inst.ID]; ok {
			t.Error("the destination's copy survived the revert")
		}
		if st := b.drivers[src].Domains()[inst.ID]; st != virt.Running {
			t.Errorf("source domain after the revert: %s", st)
		}
		if a := lastAction(t, s, b.member, inst.ID); a.Action != "revertResize" || a.Result != models.ActionSuccess {
			t.Errorf("last action %+v", a)
		}

		// Resize again and confirm: the source's copy and allocation go.
		if _, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionResize, models.MoveRequest{Flavor: "m1.tiny"}); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, inst.ID, "VERIFY_RESIZE")
		if _, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionConfirmResize, models.MoveRequest{}); err != nil {
			t.Fatal(err)
		}
		got = b.waitStatus(t, inst.ID, "ACTIVE")
		if got.Host != dst || got.FlavorName != "m1.tiny" {
			t.Fatalf("confirmed on %s with %s", got.Host, got.FlavorName)
		}
		waitFor(t, 10*time.Second, "the source's copy destroyed", func() (bool, string) {
			_, ok := b.drivers[src].Domains()[inst.ID]
			return !ok, b.used(t, src)
		})
		if u := b.used(t, src); u != "0 vcpus, 0 MB, 0 instances" {
			t.Errorf("source after the confirm holds %s", u)
		}
		ms, err := s.ListMigrations(ctx, b.member, models.MigrationFilter{InstanceID: inst.ID})
		if err != nil || len(ms) != 2 || ms[0].Status != models.MigrationConfirmed || ms[1].Status != models.MigrationReverted {
			t.Fatalf("migrations: %+v %v", ms, err)
		}
	})
}

// A revert whose destination keeps failing to destroy its copy ends, at
// the step's last attempt, with the instance in ERROR on its source (its
// old flavor, the kept copy not started), the migration in error and only
// the source's claim held, instead of resize_reverting for ever.
func TestRevertWhoseDestinationCannotDestroyItsCopy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s, []string{"h1", "h2"}, 8192, func(c *allinone.Config) {
			c.Agent.Backoff = workers.Backoff{Base: time.Millisecond, Max: 50 * time.Millisecond}
		})
		ctx := context.Background()
		inst := b.launch(t, "vm", "m1.nano")
		src := inst.Host
		dst := map[string]string{"h1": "h2", "h2": "h1"}[src]
		if _, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionResize, models.MoveRequest{Flavor: "m1.tiny"}); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, inst.ID, "VERIFY_RESIZE")

		// Every attempt of the destination's step (5) is refused.
		path := "/var/lib/stratus/instances/" + inst.ID + "/disk"
		b.drivers[dst].FailNext("destroy", models.DefaultMaxAttempts, "cannot remove "+path+": device or resource busy")
		if _, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionRevertResize, models.MoveRequest{}); err != nil {
			t.Fatal(err)
		}
		got := b.waitStatus(t, inst.ID, "ERROR")
		if got.Host != src || got.FlavorName != "m1.nano" || got.RAMMB != 128 || got.TaskState != models.TaskNone {
			t.Fatalf("after the failed revert: on %s with %s (%d MB), task %q", got.Host, got.FlavorName, got.RAMMB, got.TaskState)
		}
		// The owner reads why, without the server's paths.
		if !strings.Contains(got.FaultMessage, "reverting on "+dst+" failed") ||
			!strings.Contains(got.FaultMessage, "cannot remove disk: device or resource busy") || strings.Contains(got.FaultMessage, "/var/lib") {
			t.Errorf("fault %q", got.FaultMessage)
		}
		if a := lastAction(t, s, b.member, inst.ID); a.Action != "revertResize" || a.Result != models.ActionError ||
			strings.Contains(a.Message, "/var/lib") {
			t.Errorf("last action %+v", a)
		}
		m, err := s.LatestMigration(ctx, b.admin, inst.ID)
		if err != nil || m.Status != models.MigrationError || !strings.Contains(m.ErrorMessage, path) {
			t.Fatalf("migration %s: %q %v", m.Status, m.ErrorMessage, err)
		}
		// Only the source's claim is held, for the old flavor.
		if u := b.used(t, src); u != "1 vcpus, 128 MB, 1 instances" {
			t.Errorf("source holds %s", u)
		}
		if u := b.used(t, dst); u != "0 vcpus, 0 MB, 0 instances" {
			t.Errorf("destination holds %s", u)
		}
		// The destination destroys its leftover once its hypervisor stops
		// refusing; the source's kept copy stays, not started.
		waitFor(t, 10*time.Second, "the destination's copy destroyed", func() (bool, string) {
			st, ok := b.drivers[dst].Domains()[inst.ID]
			return !ok, string(st)
		})
		time.Sleep(500 * time.Millisecond) // a few power syncs
		if st, ok := b.drivers[src].Domains()[inst.ID]; !ok || st != virt.Shutdown {
			t.Fatalf("the source's kept copy: %s (%v)", st, ok)
		}

		// A hard reboot starts the kept copy; a delete then gives everything
		// back once (no claim freed twice).
		if _, err := s.PowerAction(ctx, b.member, inst.ID, models.PowerRebootHard); err != nil {
			t.Fatal(err)
		}
		got = b.waitStatus(t, inst.ID, "ACTIVE")
		if got.Host != src || got.FaultMessage != "" || b.drivers[src].Domains()[inst.ID] != virt.Running {
			t.Fatalf("after the hard reboot: on %s, fault %q, domain %s", got.Host, got.FaultMessage, b.drivers[src].Domains()[inst.ID])
		}
		if _, err := s.DeleteInstance(ctx, b.member, inst.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "deleted", func() (bool, string) {
			i, err := s.InstanceByID(ctx, inst.ID)
			return err == nil && i.VMState == models.VMDeleted, string(i.VMState)
		})
		for _, h := range []string{src, dst} {
			if u := b.used(t, h); u != "0 vcpus, 0 MB, 0 instances" {
				t.Errorf("%s after the delete holds %s", h, u)
			}
		}
	})
}

func TestResizeChecksQuotaAndCapacity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		// h2 has room for the nano but not for a 2 GB m1.small.
		b := setup(t, s, []string{"h1", "h2"}, 1024, nil)
		ctx := context.Background()
		inst := b.launch(t, "vm", "m1.nano")
		// The growth counts against quota: 128 MB used of a 300 MB limit.
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaRAMMB: 300}); err != nil {
			t.Fatal(err)
		}
		_, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionResize, models.MoveRequest{Flavor: "m1.tiny"})
		if !errors.Is(err, models.ErrQuotaExceeded) {
			t.Fatalf("resize over quota: %v", err)
		}
		if i := b.instance(t, inst.ID); i.Status() != "ACTIVE" || i.FlavorName != "m1.nano" {
			t.Fatalf("a refused resize changed the instance: %s %s", i.Status(), i.FlavorName)
		}
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaRAMMB: -1}); err != nil {
			t.Fatal(err)
		}
		// No host has room for m1.small: the resize ends with the reason,
		// the instance runs on as it was.
		if _, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionResize, models.MoveRequest{Flavor: "m1.small"}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "the resize refused", func() (bool, string) {
			a := lastAction(t, s, b.member, inst.ID)
			return a.Action == "resize" && a.Result == models.ActionError, a.Result + ": " + a.Message
		})
		a := lastAction(t, s, b.member, inst.ID)
		// The source is named as the instance's own host, not as a host
		// an earlier build failed on.
		if !strings.Contains(a.Message, "No valid host") || !strings.Contains(a.Message, "RamFilter") ||
			!strings.Contains(a.Message, "1 removed by RetryFilter (the instance's own host: a resize goes to another host)") {
			t.Errorf("refusal: %q", a.Message)
		}
		i := b.waitStatus(t, inst.ID, "ACTIVE")
		if i.FlavorName != "m1.nano" || i.RAMMB != 128 {
			t.Errorf("after the refused resize: %s, %d MB", i.FlavorName, i.RAMMB)
		}
		for _, h := range []string{"h1", "h2"} {
			want := "0 vcpus, 0 MB, 0 instances"
			if h == i.Host {
				want = "1 vcpus, 128 MB, 1 instances"
			}
			if u := b.used(t, h); u != want {
				t.Errorf("%s holds %s, want %s", h, u, want)
			}
		}
	})
}

func TestColdAndLiveMigrate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s, []string{"h1", "h2", "h3"}, 8192, nil)
		ctx := context.Background()
		inst := b.launch(t, "vm", "m1.nano")
		src := inst.Host
		// To a chosen host that is not the source.
		var to string
		for _, h := range []string{"h1", "h2", "h3"} {
			if h != src {
				to = h
				break
			}
		}
		if _, err := s.MoveInstance(ctx, b.admin, inst.ID, models.ActionMigrate, models.MoveRequest{Host: src}); err == nil {
			t.Fatal("migrating to its own host was accepted")
		}
		if _, err := s.MoveInstance(ctx, b.admin, inst.ID, models.ActionMigrate, models.MoveRequest{Host: to}); err != nil {
			t.Fatal(err)
		}
		got := b.waitStatus(t, inst.ID, "VERIFY_RESIZE")
		if got.Host != to || got.FlavorName != "m1.nano" {
			t.Fatalf("migrated to %s (%s), asked %s", got.Host, got.FlavorName, to)
		}
		if _, err := s.MoveInstance(ctx, b.member, inst.ID, models.ActionConfirmResize, models.MoveRequest{}); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, inst.ID, "ACTIVE")

		// Live: stays ACTIVE (MIGRATING), lands on the scheduler's pick.
		src = to
		got, err := s.MoveInstance(ctx, b.admin, inst.ID, models.ActionLiveMigrate, models.MoveRequest{BlockMigration: "auto"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status() != "MIGRATING" {
			t.Fatalf("live migration started as %s", got.Status())
		}
		got = b.waitStatus(t, inst.ID, "ACTIVE")
		if got.Host == src {
			t.Fatalf("still on %s", src)
		}
		if _, ok := b.drivers[src].Domains()[inst.ID]; ok {
			t.Error("the live-migrated domain is still on the source")
		}
		if st := b.drivers[got.Host].Domains()[inst.ID]; st != virt.Running {
			t.Errorf("destination domain %s", st)
		}
		if u := b.used(t, src); u != "0 vcpus, 0 MB, 0 instances" {
			t.Errorf("source after the live migration holds %s", u)
		}
		m, err := s.LatestMigration(ctx, b.admin, inst.ID)
		if err != nil || m.Status != models.MigrationCompleted || m.MemoryTotalBytes != 128<<20 {
			t.Fatalf("latest migration %+v %v", m, err)
		}

		// A failed live migration leaves the guest running on the source.
		src = got.Host
		b.drivers[src].FailNextMigrations(1, "connection refused")
		if _, err := s.MoveInstance(ctx, b.admin, inst.ID, models.ActionLiveMigrate, models.MoveRequest{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "the failure recorded", func() (bool, string) {
			a := lastAction(t, s, b.member, inst.ID)
			return a.Action == "live-migration" && a.Result == models.ActionError, a.Result
		})
		got = b.waitStatus(t, inst.ID, "ACTIVE")
		if got.Host != src || b.drivers[src].Domains()[inst.ID] != virt.Running {
			t.Fatalf("after a failed live migration: on %s, domain %s", got.Host, b.drivers[src].Domains()[inst.ID])
		}
		if a := lastAction(t, s, b.member, inst.ID); !strings.Contains(a.Message, "connection refused") {
			t.Errorf("failure message %q", a.Message)
		}
		total := 0
		for _, h := range []string{"h1", "h2", "h3"} {
			hh, _ := s.GetHost(ctx, h)
			total += hh.InstanceCount
		}
		if total != 1 {
			t.Errorf("allocations after the failure: %d hosts hold the instance", total)
		}
		// Live migration of a stopped instance names the state.
		if _, err := s.PowerAction(ctx, b.member, inst.ID, models.PowerStop); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, inst.ID, "SHUTOFF")
		if _, err := s.MoveInstance(ctx, b.admin, inst.ID, models.ActionLiveMigrate, models.MoveRequest{}); !errors.Is(err, models.ErrConflict) ||
			!strings.Contains(err.Error(), "SHUTOFF") {
			t.Fatalf("live migrating a stopped instance: %v", err)
		}
	})
}

func TestEvacuate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s, []string{"h2"}, 8192, nil)
		ctx := context.Background()
		drv := fake.New(fake.Config{VCPUs: 8, RAMMB: 8192, DiskGB: 100})
		agent, err := compute.New(compute.Config{Store: s, Driver: drv, Network: netfake.New(), Host: "doomed", HeartbeatInterval: 100 * time.Millisecond,
			PollInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		agentCtx, kill := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- agent.Run(agentCtx) }()
		waitFor(t, 5*time.Second, "host registered", func() (bool, string) {
			_, err := s.GetHost(ctx, "doomed")
			return err == nil, fmt.Sprint(err)
		})
		// The project's one network: the instance gets a port on it.
		n, err := s.CreateNetwork(ctx, b.member, models.NetworkInput{Name: "net1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSubnet(ctx, b.member, models.SubnetInput{NetworkID: n.ID, CIDR: "10.40.0.0/24"}); err != nil {
			t.Fatal(err)
		}
		// h2 is disabled while we launch, so the instance lands on doomed.
		if _, err := s.SetHostEnabled(ctx, b.admin, "h2", false, "test"); err != nil {
			t.Fatal(err)
		}
		inst := b.launch(t, "vm", "m1.nano")
		if inst.Host != "doomed" {
			t.Fatalf("launched on %s", inst.Host)
		}
		if _, err := s.SetHostEnabled(ctx, b.admin, "h2", true, ""); err != nil {
			t.Fatal(err)
		}
		// While the host is up, evacuate is refused naming why.
		if _, err := s.MoveInstance(ctx, b.admin, inst.ID, models.ActionEvacuate, models.MoveRequest{}); !errors.Is(err, models.ErrConflict) ||
			!strings.Contains(err.Error(), "is up") {
			t.Fatalf("evacuate from a live host: %v", err)
		}
		kill()
		<-done
		waitFor(t, 30*time.Second, "doomed marked down", func() (bool, string) {
			h, _ := s.GetHost(ctx, "doomed")
			return !h.Up, fmt.Sprint(h.Up)
		})
		if _, err := s.MoveInstance(ctx, b.admin, inst.ID, models.ActionEvacuate, models.MoveRequest{}); err != nil {
			t.Fatal(err)
		}
		got := b.waitStatus(t, inst.ID, "ACTIVE")
		if got.Host != "h2" || got.ID != inst.ID {
			t.Fatalf("evacuated to %s", got.Host)
		}
		if st := b.drivers["h2"].Domains()[inst.ID]; st != virt.Running {
			t.Errorf("rebuilt domain %s", st)
		}
		// Its port is bound to h2, plugged there, and the rebuilt domain
		// has its NIC.
		ports, err := s.ListPorts(ctx, b.member, models.PortFilter{DeviceID: []string{inst.ID}})
		if err != nil || len(ports.Items) != 1 {
			t.Fatalf("ports %+v %v", ports.Items, err)
		}
		p := ports.Items[0]
		if nics := b.drivers["h2"].NICs(inst.ID); len(nics) != 1 || nics[0].PortID != p.ID || nics[0].MAC != p.MACAddress {
			t.Errorf("the rebuilt domain's NICs: %+v", nics)
		}
		if _, ok := b.nets["h2"].Port(p.ID); !ok || p.BindingHostID != "h2" || p.Status != models.PortActive {
			t.Errorf("port %s on %s (plugged on h2: %v)", p.Status, p.BindingHostID, ok)
		}
		if h, _ := s.GetHost(ctx, "doomed"); h.InstanceCount != 0 || h.UsedRAMMB != 0 {
			t.Errorf("the dead host still holds %d instances, %d MB", h.InstanceCount, h.UsedRAMMB)
		}
		if a := lastAction(t, s, b.member, inst.ID); a.Action != "evacuate" || a.Result != models.ActionSuccess {
			t.Errorf("last action %+v", a)
		}
		// The dead host comes back: its agent destroys its stale copy.
		agent2, err := compute.New(compute.Config{Store: s, Driver: drv, Network: netfake.New(), Host: "doomed", HeartbeatInterval: 100 * time.Millisecond,
			PollInterval: 20 * time.Millisecond, PowerSyncInterval: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx2, stop2 := context.WithCancel(ctx)
		done2 := make(chan error, 1)
		go func() { done2 <- agent2.Run(ctx2) }()
		defer func() { stop2(); <-done2 }()
		waitFor(t, 10*time.Second, "the stale copy destroyed", func() (bool, string) {
			_, ok := drv.Domains()[inst.ID]
			return !ok, "still there"
		})
	})
}

func TestDrainAndAutoEvacuate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s, []string{"h2"}, 8192, func(c *allinone.Config) { c.AutoEvacuate = time.Second })
		ctx := context.Background()
		drv := fake.New(fake.Config{VCPUs: 8, RAMMB: 8192, DiskGB: 100})
		agent, err := compute.New(compute.Config{Store: s, Driver: drv, Network: netfake.New(), Host: "doomed", HeartbeatInterval: 100 * time.Millisecond,
			PollInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		agentCtx, kill := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- agent.Run(agentCtx) }()
		waitFor(t, 5*time.Second, "host registered", func() (bool, string) {
			_, err := s.GetHost(ctx, "doomed")
			return err == nil, fmt.Sprint(err)
		})
		onDoomed := func(names ...string) []models.Instance {
			if _, err := s.SetHostEnabled(ctx, b.admin, "h2", false, "test"); err != nil {
				t.Fatal(err)
			}
			var out []models.Instance
			for _, n := range names {
				out = append(out, b.launch(t, n, "m1.nano"))
			}
			if _, err := s.SetHostEnabled(ctx, b.admin, "h2", true, ""); err != nil {
				t.Fatal(err)
			}
			return out
		}
		// Drain: every running instance live-migrates away; evacuate is
		// refused while the host is up.
		insts := onDoomed("a", "b")
		if _, err := s.DrainHost(ctx, b.admin, "doomed", models.ActionEvacuate); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("evacuate all of an up host: %v", err)
		}
		if _, err := s.DrainHost(ctx, b.member, "doomed", models.ActionLiveMigrate); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("a member's drain: %v", err)
		}
		d, err := s.DrainHost(ctx, b.admin, "doomed", models.ActionLiveMigrate)
		if err != nil || len(d.Started) != 2 {
			t.Fatalf("drain: %+v %v", d, err)
		}
		for _, i := range insts {
			if got := b.waitStatus(t, i.ID, "ACTIVE"); got.Host != "h2" {
				t.Errorf("%s drained to %s", i.Name, got.Host)
			}
		}

		// Auto-evacuation: only once the dead host is fenced (disabled).
		insts = onDoomed("c")
		kill()
		<-done
		waitFor(t, 30*time.Second, "doomed marked down", func() (bool, string) {
			h, _ := s.GetHost(ctx, "doomed")
			return !h.Up, "up"
		})
		time.Sleep(8 * time.Second) // past twice the service-down-time: still not fenced, as it is enabled
		if i := b.instance(t, insts[0].ID); i.Host != "doomed" || i.TaskState != models.TaskNone {
			t.Fatalf("evacuated from a host nobody fenced: %s on %s", i.TaskState, i.Host)
		}
		if _, err := s.SetHostEnabled(ctx, b.admin, "doomed", false, "fenced: powered off"); err != nil {
			t.Fatal(err)
		}
		got := b.waitStatus(t, insts[0].ID, "ACTIVE")
		waitFor(t, 30*time.Second, "evacuated to h2", func() (bool, string) {
			got = b.instance(t, insts[0].ID)
			return got.Host == "h2" && got.Status() == "ACTIVE", got.Status() + " on " + got.Host
		})
		if a := lastAction(t, s, b.member, got.ID); a.Action != "evacuate" || a.UserName != "system" {
			t.Errorf("auto-evacuation's action: %+v", a)
		}
	})
}
