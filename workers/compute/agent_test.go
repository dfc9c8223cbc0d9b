package compute

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
	netfake "stratus/workers/net/fake"
	"stratus/workers/virt"
	"stratus/workers/virt/fake"
)

// consoleDriver is the fake hypervisor with serial console logs in files,
// as the libvirt driver has them.
type consoleDriver struct {
	*fake.Driver
	dir string
}

func (d consoleDriver) ConsoleLogPath(id string) string { return filepath.Join(d.dir, id+".log") }
func (d consoleDriver) VNC(context.Context, string) (string, int, error) {
	return "", 0, virt.ErrNotFound
}

// activeOnHost creates n ACTIVE instances on host, each with a running
// domain in drv, and returns their IDs.
func activeOnHost(t *testing.T, s *models.Store, drv *fake.Driver, host string, n int) []string {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Bootstrap(ctx, models.BootstrapInput{AdminName: "admin", AdminProject: "admin", AdminPassword: "admin-password",
		DemoProject: "demo", DemoUser: "demo", DemoPassword: "demo-password"}); err != nil {
		t.Fatal(err)
	}
	demo, _ := s.GetUser(ctx, "demo")
	project, _ := s.GetProject(ctx, "demo")
	member, _ := s.ResolveCaller(ctx, demo.ID, project.ID)
	admin, _ := s.GetUser(ctx, "admin")
	adminC, _ := s.ResolveCaller(ctx, admin.ID, "")
	if _, err := s.SetQuotas(ctx, adminC, "demo", map[string]int64{models.QuotaInstances: -1, models.QuotaVCPUs: -1, models.QuotaRAMMB: -1}); err != nil {
		t.Fatal(err)
	}
	im, err := s.CreateImage(ctx, member, models.ImageInput{Name: "cirros"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadImage(ctx, member, im.ID, bytes.NewReader([]byte("raw disk bytes"))); err != nil {
		t.Fatal(err)
	}
	h, err := s.RegisterHost(ctx, models.HostInventory{Name: host, Driver: "fake", VCPUs: 64, RAMMB: 65536, DiskGB: 1000,
		CPURatio: 4, RAMRatio: 1, DiskRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	insts, err := s.CreateInstances(ctx, member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros", Count: n})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i, inst := range insts {
		if err := s.PlaceInstance(ctx, inst, h, nil); err != nil {
			t.Fatal(err)
		}
		if err := drv.Spawn(ctx, virt.InstanceSpec{ID: inst.ID, RAMMB: inst.RAMMB, DiskGB: inst.DiskGB}); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishSpawn(ctx, inst.ID, host, models.PowerRunning); err != nil {
			t.Fatal(err)
		}
		ids[i] = inst.ID
	}
	return ids
}

// A power sync that finds the hypervisor agreeing with the database reads
// the host's instances once and writes nothing (it used to open a
// transaction per instance); a change is written and logged.
func TestPowerSyncWritesOnlyChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		drv := fake.New(fake.DefaultConfig())
		ids := activeOnHost(t, s, drv, "h1", 20)
		a, err := New(Config{Store: s, Driver: drv, Network: netfake.New(), Host: "h1"})
		if err != nil {
			t.Fatal(err)
		}
		queries := s.CountQueries()
		if err := a.SyncPower(ctx, "test"); err != nil {
			t.Fatal(err)
		}
		if n := queries(); n > 1 {
			t.Errorf("a power sync with nothing to change ran %d queries for 20 instances, want 1", n)
		}
		if err := drv.SetState(ids[3], virt.Shutdown); err != nil {
			t.Fatal(err)
		}
		if err := a.SyncPower(ctx, "test"); err != nil {
			t.Fatal(err)
		}
		inst, _ := s.InstanceByID(ctx, ids[3])
		if inst.VMState != models.VMStopped || inst.PowerState != models.PowerShutdown {
			t.Errorf("instance shut down behind Stratus' back: %s/%s", inst.VMState, inst.PowerState)
		}
	})
}

// The console log shipper runs every 2 s on every host: when no log
// changed it touches the database not at all (it used to read every
// instance row of the host each time), and a changed log is saved.
func TestConsoleLogShipperIsQuietWhenNothingChanged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		drv := consoleDriver{Driver: fake.New(fake.DefaultConfig()), dir: t.TempDir()}
		ids := activeOnHost(t, s, drv.Driver, "h1", 10)
		for _, id := range ids {
			if err := os.WriteFile(drv.ConsoleLogPath(id), []byte("booting "+id+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		a, err := New(Config{Store: s, Driver: drv, Network: netfake.New(), Host: "h1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.SyncPower(ctx, "agent start"); err != nil { // learns the host's instances
			t.Fatal(err)
		}
		if err := a.shipConsoleLogs(ctx); err != nil {
			t.Fatal(err)
		}
		queries := s.CountQueries()
		for range 5 {
			if err := a.shipConsoleLogs(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := queries(); n != 0 {
			t.Errorf("5 shipper runs with no log changed ran %d queries, want 0", n)
		}
		f, err := os.OpenFile(drv.ConsoleLogPath(ids[7]), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString("login: \n")
		f.Close()
		if err := a.shipConsoleLogs(ctx); err != nil {
			t.Fatal(err)
		}
		member := consoleCaller(t, s)
		for i, id := range ids {
			log, err := s.ConsoleLog(ctx, member, id, 0)
			want := "booting " + id + "\n"
			if i == 7 {
				want += "login: \n"
			}
			if err != nil || log != want {
				t.Errorf("console log of instance %d: %q %v, want %q", i, log, err, want)
			}
		}
	})
}

func consoleCaller(t *testing.T, s *models.Store) models.Caller {
	t.Helper()
	ctx := context.Background()
	demo, _ := s.GetUser(ctx, "demo")
	project, _ := s.GetProject(ctx, "demo")
	c, err := s.ResolveCaller(ctx, demo.ID, project.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// listHook is the fake hypervisor running hook as List begins: work that
// lands while a power sync looks.
type listHook struct {
	*fake.Driver
	hook func()
}

func (d listHook) List(ctx context.Context) ([]virt.Domain, error) {
	if d.hook != nil {
		d.hook()
	}
	return d.Driver.List(ctx)
}

// A build that lands on the host while a power sync runs — placed here,
// its domain made just before the sync lists the domains — is this host's:
// the sync must not take its domain for one that left the host and destroy
// it.
func TestPowerSyncKeepsABuildThatLandsDuringIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		drv := fake.New(fake.DefaultConfig())
		activeOnHost(t, s, drv, "h1", 1)
		demo, _ := s.GetUser(ctx, "demo")
		project, _ := s.GetProject(ctx, "demo")
		member, _ := s.ResolveCaller(ctx, demo.ID, project.ID)
		insts, err := s.CreateInstances(ctx, member, models.InstanceCreate{Name: "late", Flavor: "m1.nano", Image: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		late := insts[0]
		h, _ := s.GetHost(ctx, "h1")
		hooked := listHook{Driver: drv, hook: func() {
			if err := s.PlaceInstance(ctx, late, h, nil); err != nil {
				t.Error(err)
			}
			if err := drv.Spawn(ctx, virt.InstanceSpec{ID: late.ID, RAMMB: late.RAMMB, DiskGB: late.DiskGB}); err != nil {
				t.Error(err)
			}
		}}
		a, err := New(Config{Store: s, Driver: hooked, Network: netfake.New(), Host: "h1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.SyncPower(ctx, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := drv.State(ctx, late.ID); err != nil {
			t.Errorf("the domain of the build that landed during the sync: %v", err)
		}
	})
}
