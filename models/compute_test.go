package models_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// computeSetup gives a store with a demo project member, the seed flavors,
// an active image and one registered host.
type computeBundle struct {
	store  *models.Store
	member models.Caller
	admin  models.Caller
	image  models.Image
}

func computeSetup(t *testing.T, s *models.Store) computeBundle {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Bootstrap(ctx, models.BootstrapInput{AdminName: "admin", AdminProject: "admin", AdminPassword: "admin-password",
		DemoProject: "demo", DemoUser: "demo", DemoPassword: "demo-password"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SeedFlavors(ctx); err != nil {
		t.Fatal(err)
	}
	demo, _ := s.GetUser(ctx, "demo")
	demoProject, _ := s.GetProject(ctx, "demo")
	member, err := s.ResolveCaller(ctx, demo.ID, demoProject.ID)
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := s.GetUser(ctx, "admin")
	adminCaller, _ := s.ResolveCaller(ctx, admin.ID, "")
	im, err := s.CreateImage(ctx, member, models.ImageInput{Name: "cirros"})
	if err != nil {
		t.Fatal(err)
	}
	if im, err = s.UploadImage(ctx, member, im.ID, bytes.NewReader(bytes.Repeat([]byte{0}, 4096))); err != nil {
		t.Fatal(err)
	}
	return computeBundle{store: s, member: member, admin: adminCaller, image: im}
}

// operator is the admin user acting in the admin project: an operator,
// and a project other than the member's.
func (b computeBundle) operator(t *testing.T) models.Caller {
	t.Helper()
	ctx := context.Background()
	p, err := b.store.GetProject(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.store.ResolveCaller(ctx, b.admin.UserID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestQuotaIsRaceFree(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaInstances: 10}); err != nil {
			t.Fatal(err)
		}
		const requests = 200
		var wg sync.WaitGroup
		var mu sync.Mutex
		created, refused := 0, 0
		var other []error
		for i := 0; i < requests; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: fmt.Sprintf("vm%d", i), Flavor: "m1.nano", Image: b.image.ID})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created++
				case errors.Is(err, models.ErrQuotaExceeded):
					refused++
				default:
					other = append(other, err)
				}
			}(i)
		}
		wg.Wait()
		if len(other) > 0 {
			t.Fatalf("unexpected errors (%d), first: %v", len(other), other[0])
		}
		if created != 10 || refused != requests-10 {
			t.Fatalf("created %d, refused %d; want exactly 10 created", created, refused)
		}
		q, err := s.ProjectQuotas(ctx, b.member.ProjectID)
		if err != nil {
			t.Fatal(err)
		}
		if q[0].Resource != models.QuotaInstances || q[0].Used != 10 {
			t.Fatalf("usage %+v", q[0])
		}
	})
}

func TestCreateInstancesValidatesAndWritesJobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		_, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "", Flavor: "nope", Image: "missing", Count: 500})
		var ve *models.ValidationError
		if !errors.As(err, &ve) || ve.Fields["name"] == "" || ve.Fields["count"] == "" {
			t.Fatalf("want field errors for name and count, got %v", err)
		}
		_, err = s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "web", Flavor: "nope", Image: "missing"})
		if !errors.As(err, &ve) || ve.Fields["flavor"] == "" || ve.Fields["image"] == "" {
			t.Fatalf("want field errors for flavor and image, got %v", err)
		}
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "web", Flavor: "m1.nano", Image: "cirros", Count: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(insts) != 3 || insts[2].Name != "web-3" || insts[0].Status() != "BUILD" {
			t.Fatalf("instances %+v", insts)
		}
		jobs, _, err := s.ListJobs(ctx, models.JobFilter{Kind: models.ScheduleInstance{}.Kind()})
		if err != nil || len(jobs) != 3 {
			t.Fatalf("schedule jobs: %d %v", len(jobs), err)
		}
		acts, err := s.ListInstanceActions(ctx, b.member, insts[0].ID)
		if err != nil || len(acts) != 1 || acts[0].Action != "create" || acts[0].UserName != "demo" {
			t.Fatalf("actions %+v %v", acts, err)
		}
		if _, err := s.GetInstance(ctx, models.Caller{UserID: "x", ProjectID: "another"}, insts[0].ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project sees the instance: %v", err)
		}
	})
}

func TestClaimsNeverOvercommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaInstances: -1, models.QuotaVCPUs: -1, models.QuotaRAMMB: -1}); err != nil {
			t.Fatal(err)
		}
		// Room for exactly 4 m1.nano (128 MB) instances by RAM.
		host, err := s.RegisterHost(ctx, models.HostInventory{Name: "h1", Driver: "fake", VCPUs: 64, RAMMB: 512, DiskGB: 100,
			CPURatio: 4, RAMRatio: 1, DiskRatio: 1})
		if err != nil {
			t.Fatal(err)
		}
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros", Count: 10})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		placed := 0
		for _, inst := range insts {
			wg.Add(1)
			go func(inst models.Instance) {
				defer wg.Done()
				err := s.PlaceInstance(ctx, inst, host, nil)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					placed++
				} else if !errors.Is(err, models.ErrConflict) {
					t.Errorf("place: %v", err)
				}
			}(inst)
		}
		wg.Wait()
		h, _ := s.GetHost(ctx, "h1")
		if placed != 4 || h.UsedRAMMB != 512 || h.InstanceCount != 4 {
			t.Fatalf("placed %d, host used %d MB / %d instances; want 4 and 512", placed, h.UsedRAMMB, h.InstanceCount)
		}
		// Deleting a placed instance whose host is up hands it to the agent;
		// finishing the delete releases its claim.
		page, _ := s.ListInstances(ctx, b.member, models.InstanceFilter{Status: "BUILD"})
		var onHost models.Instance
		for _, i := range page.Items {
			if i.Host == "h1" {
				onHost = i
			}
		}
		if err := s.FinishSpawn(ctx, onHost.ID, "h1", models.PowerRunning); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteInstance(ctx, b.member, onHost.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishDelete(ctx, onHost.ID); err != nil {
			t.Fatal(err)
		}
		h, _ = s.GetHost(ctx, "h1")
		if h.UsedRAMMB != 384 || h.InstanceCount != 3 {
			t.Fatalf("after delete host uses %d MB / %d instances; want 384 / 3", h.UsedRAMMB, h.InstanceCount)
		}
	})
}

func TestPowerActionsRefuseConflictingTasks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		host, _ := s.RegisterHost(ctx, models.HostInventory{Name: "h1", Driver: "fake", VCPUs: 8, RAMMB: 8192, DiskGB: 100, CPURatio: 4, RAMRatio: 1, DiskRatio: 1})
		insts, _ := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros"})
		id := insts[0].ID
		if _, err := s.PowerAction(ctx, b.member, id, models.PowerStop); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("stop while building: %v", err)
		}
		if err := s.PlaceInstance(ctx, insts[0], host, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishSpawn(ctx, id, "h1", models.PowerRunning); err != nil {
			t.Fatal(err)
		}
		inst, err := s.PowerAction(ctx, b.member, id, models.PowerStop)
		if err != nil || inst.TaskState != models.TaskPoweringOff {
			t.Fatalf("stop: %+v %v", inst, err)
		}
		if _, err := s.PowerAction(ctx, b.member, id, models.PowerReboot); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("reboot during stop: %v", err)
		}
		if err := s.FinishPower(ctx, id, models.PowerStop, models.PowerShutdown, ""); err != nil {
			t.Fatal(err)
		}
		inst, _ = s.GetInstance(ctx, b.member, id)
		if inst.Status() != "SHUTOFF" {
			t.Fatalf("status %s, want SHUTOFF", inst.Status())
		}
		// A look at the hypervisor taken before the instance last changed
		// (here: before the stop finished) applies nothing.
		stale := inst.UpdatedAt.Add(-time.Second)
		if changed, err := s.SyncPowerState(ctx, id, "h1", models.PowerRunning, "power sync", stale); err != nil || changed {
			t.Fatalf("a stale sync: %v %v, want nothing changed", changed, err)
		}
		// The hypervisor is the authority: a stopped instance found running
		// becomes active, and the action log says who noticed.
		changed, err := s.SyncPowerState(ctx, id, "h1", models.PowerRunning, "power sync", inst.UpdatedAt)
		if err != nil || !changed {
			t.Fatalf("sync: %v %v", changed, err)
		}
		acts, _ := s.ListInstanceActions(ctx, b.member, id)
		if acts[0].UserName != "system" || acts[0].Action != "start" {
			t.Fatalf("latest action %+v", acts[0])
		}
	})
}

func TestImageUploadDetectsFormatAndRefusesBackingFiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		qcow := make([]byte, 512)
		copy(qcow, []byte{'Q', 'F', 'I', 0xfb, 0, 0, 0, 3})
		im, _ := s.CreateImage(ctx, b.member, models.ImageInput{Name: "disk"})
		im, err := s.UploadImage(ctx, b.member, im.ID, bytes.NewReader(qcow))
		if err != nil || im.DiskFormat != models.FormatQCOW2 || im.Status != models.ImageActive || len(im.Checksum) != 64 {
			t.Fatalf("qcow2 upload: %+v %v", im, err)
		}
		qcow[15] = 1 // backing_file_offset != 0
		bad, _ := s.CreateImage(ctx, b.member, models.ImageInput{Name: "evil"})
		if _, err := s.UploadImage(ctx, b.member, bad.ID, bytes.NewReader(qcow)); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("backing file accepted: %v", err)
		}
		bad, _ = s.GetImage(ctx, b.member, bad.ID)
		if bad.Status != models.ImageKilled {
			t.Fatalf("refused upload left status %s", bad.Status)
		}
		if _, err := s.UploadImage(ctx, b.member, im.ID, bytes.NewReader(qcow)); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("second upload: %v", err)
		}
	})
}

// A scheduling job that runs a second time after its first run placed the
// instance finds no room (the instance itself took it) — its "no valid
// host" must not fail the instance being built.
func TestFailBuildSparesAPlacedInstance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		host, _ := s.RegisterHost(ctx, models.HostInventory{Name: "h1", Driver: "fake", VCPUs: 8, RAMMB: 8192, DiskGB: 100, CPURatio: 4, RAMRatio: 1, DiskRatio: 1})
		insts, _ := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros"})
		if err := s.PlaceInstance(ctx, insts[0], host, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.FailBuild(ctx, insts[0].ID, "No valid host was found"); err != nil {
			t.Fatal(err)
		}
		inst, _ := s.GetInstance(ctx, b.member, insts[0].ID)
		h, _ := s.GetHost(ctx, "h1")
		if inst.Status() != "BUILD" || inst.TaskState != models.TaskSpawning || h.InstanceCount != 1 {
			t.Fatalf("placed instance now %s/%s, host holds %d; want BUILD/spawning and its claim kept", inst.Status(), inst.TaskState, h.InstanceCount)
		}
	})
}
