package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// volumeBundle is computeSetup plus a live volume backend and a running
// instance on host h1.
type volumeBundle struct {
	computeBundle
	inst models.Instance
}

func volumeSetup(t *testing.T, s *models.Store) volumeBundle {
	t.Helper()
	ctx := context.Background()
	b := volumeBundle{computeBundle: computeSetup(t, s)}
	if _, err := s.RegisterVolumeBackend(ctx, models.VolumeBackendReport{Name: "file", Driver: "file", CapacityGB: 100, FreeGB: 100}); err != nil {
		t.Fatal(err)
	}
	host, err := s.RegisterHost(ctx, models.HostInventory{Name: "h1", Driver: "fake", VCPUs: 8, RAMMB: 8192, DiskGB: 100, CPURatio: 4, RAMRatio: 1, DiskRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PlaceInstance(ctx, insts[0], host, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishSpawn(ctx, insts[0].ID, "h1", models.PowerRunning); err != nil {
		t.Fatal(err)
	}
	b.inst = insts[0]
	return b
}

// available creates a volume and plays its service's part.
func (b volumeBundle) available(t *testing.T, name string, gb int) models.Volume {
	t.Helper()
	ctx := context.Background()
	v, err := b.store.CreateVolume(ctx, b.member, models.VolumeCreate{Name: name, SizeGB: gb})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != models.VolumeCreating || v.Backend != "file" {
		t.Fatalf("new volume is %s on %q, want creating on file", v.Status, v.Backend)
	}
	if err := b.store.FinishVolumeCreate(ctx, v.ID, models.VolumeConnection{Driver: "file", Path: "/v/volume-" + v.ID, Format: "qcow2"}); err != nil {
		t.Fatal(err)
	}
	return b.status(t, v.ID, models.VolumeAvailable)
}

// status reads a volume and checks its status.
func (b volumeBundle) status(t *testing.T, id string, want models.VolumeStatus) models.Volume {
	t.Helper()
	v, err := b.store.GetVolume(context.Background(), b.member, id)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != want {
		t.Fatalf("volume %s is %s (%s), want %s", v.Name, v.Status, v.FaultMessage, want)
	}
	return v
}

func jobKinds(t *testing.T, s *models.Store, resourceID string) []string {
	t.Helper()
	jobs, _, err := s.ListJobs(context.Background(), models.JobFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string // newest first
	for _, j := range jobs {
		if j.ResourceID == resourceID {
			kinds = append(kinds, j.Kind+"@"+j.TargetHost)
		}
	}
	return kinds
}

func TestVolumeLifeCycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := volumeSetup(t, s)
		ctx := context.Background()
		v := b.available(t, "data", 2)
		if kinds := jobKinds(t, s, v.ID); len(kinds) != 1 || kinds[0] != "volume.create@volume/file" {
			t.Fatalf("jobs %v, want one volume.create for the file backend", kinds)
		}

		att, err := s.AttachVolume(ctx, b.member, b.inst.ID, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if att.Device != "vdb" || att.Host != "h1" {
			t.Fatalf("attachment %+v, want vdb on h1", att)
		}
		b.status(t, v.ID, models.VolumeAttaching)
		if _, err := s.AttachVolume(ctx, b.member, b.inst.ID, v.ID); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("attaching an attaching volume: %v, want a conflict", err)
		}
		if err := s.FinishAttach(ctx, v.ID, b.inst.ID); err != nil {
			t.Fatal(err)
		}
		v = b.status(t, v.ID, models.VolumeInUse)
		if len(v.Attachments) != 1 || v.Attachments[0].InstanceID != b.inst.ID || v.Attachments[0].AttachedAt == nil {
			t.Fatalf("attachments %+v", v.Attachments)
		}
		if _, err := s.DeleteVolume(ctx, b.member, v.ID); !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), b.inst.ID) {
			t.Fatalf("deleting an attached volume: %v, want a conflict naming the instance", err)
		}

		// A snapshot of an in-use volume needs force.
		if _, err := s.CreateSnapshot(ctx, b.member, models.SnapshotCreate{VolumeID: v.ID}); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("snapshot of in-use without force: %v", err)
		}
		snap, err := s.CreateSnapshot(ctx, b.member, models.SnapshotCreate{VolumeID: v.ID, Name: "s1", Force: true})
		if err != nil {
			t.Fatal(err)
		}
		// While it is taken, the volume refuses other changes.
		if _, err := s.DetachVolume(ctx, b.member, b.inst.ID, v.ID, false); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("detach during a snapshot: %v", err)
		}
		newConn := models.VolumeConnection{Driver: "file", Path: "/v/volume-" + v.ID + "." + snap.ID, Format: "qcow2"}
		if err := s.FinishSnapshot(ctx, snap.ID, "volume-"+v.ID, &newConn); err != nil {
			t.Fatal(err)
		}
		v = b.status(t, v.ID, models.VolumeInUse)
		if v.Connection == nil || v.Connection.Path != newConn.Path {
			t.Fatalf("volume connection %+v, want the overlay", v.Connection)
		}

		// Extend in use: the backend, then the host.
		if _, err := s.ExtendVolume(ctx, b.member, v.ID, 1); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("shrinking: %v", err)
		}
		if _, err := s.ExtendVolume(ctx, b.member, v.ID, 3); err != nil {
			t.Fatal(err)
		}
		v = b.status(t, v.ID, models.VolumeExtending)
		if v.SizeGB != 3 {
			t.Fatalf("size %d while extending, want 3", v.SizeGB)
		}
		if err := s.FinishBackendExtend(ctx, models.ExtendVolume{VolumeID: v.ID, NewSizeGB: 3, OldSizeGB: 2}); err != nil {
			t.Fatal(err)
		}
		b.status(t, v.ID, models.VolumeExtending)
		if kinds := jobKinds(t, s, v.ID); kinds[0] != "volume.extend_live@h1" {
			t.Fatalf("newest job %v, want volume.extend_live on h1", kinds)
		}
		if err := s.FinishLiveExtend(ctx, v.ID); err != nil {
			t.Fatal(err)
		}
		b.status(t, v.ID, models.VolumeInUse)

		// Detach: the guest keeps it once (back in use, with the reason),
		// then lets it go.
		if _, err := s.DetachVolume(ctx, b.member, b.inst.ID, v.ID, false); err != nil {
			t.Fatal(err)
		}
		b.status(t, v.ID, models.VolumeDetaching)
		if err := s.FailDetach(ctx, v.ID, b.inst.ID, "the guest did not release the disk within 1m0s"); err != nil {
			t.Fatal(err)
		}
		if v = b.status(t, v.ID, models.VolumeInUse); !strings.Contains(v.FaultMessage, "did not release") {
			t.Fatalf("fault %q", v.FaultMessage)
		}
		if _, err := s.DetachVolume(ctx, b.member, b.inst.ID, v.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishDetach(ctx, v.ID, b.inst.ID); err != nil {
			t.Fatal(err)
		}
		if v = b.status(t, v.ID, models.VolumeAvailable); len(v.Attachments) != 0 || v.FaultMessage != "" {
			t.Fatalf("detached volume %+v", v)
		}

		// Delete: refused while a snapshot exists, then the service's job.
		if _, err := s.DeleteVolume(ctx, b.member, v.ID); !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), snap.ID) {
			t.Fatalf("deleting a volume with a snapshot: %v, want a conflict naming it", err)
		}
		fromSnap, err := s.CreateVolume(ctx, b.member, models.VolumeCreate{SnapshotID: snap.ID})
		if err != nil {
			t.Fatal(err)
		}
		if fromSnap.SizeGB != 2 || fromSnap.Backend != "file" {
			t.Fatalf("volume from snapshot: %d GB on %q, want 2 on file", fromSnap.SizeGB, fromSnap.Backend)
		}
		if _, err := s.DeleteSnapshot(ctx, b.member, snap.ID); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("deleting a snapshot a volume is being made from: %v", err)
		}
		if err := s.FailVolumeCreate(ctx, fromSnap.ID, "qemu-img create: no space left"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteSnapshot(ctx, b.member, snap.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishSnapshotDelete(ctx, snap.ID); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{v.ID, fromSnap.ID} {
			if _, err := s.DeleteVolume(ctx, b.member, id); err != nil {
				t.Fatal(err)
			}
			if err := s.FinishVolumeDelete(ctx, id); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetVolume(ctx, b.member, id); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("deleted volume: %v", err)
			}
		}
		page, _ := s.ListVolumeBackends(ctx, models.ListOptions{})
		backends := page.Items
		if len(backends) != 1 || backends[0].AllocatedGB != 0 || !backends[0].Up {
			t.Fatalf("backend after everything is deleted: %+v, want nothing allocated", backends)
		}
	})
}

func TestVolumeRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := volumeSetup(t, s)
		ctx := context.Background()
		for name, tc := range map[string]struct {
			in    models.VolumeCreate
			field string
		}{
			"no size":      {models.VolumeCreate{Name: "x"}, "size_gb"},
			"negative":     {models.VolumeCreate{SizeGB: -1}, "size_gb"},
			"huge":         {models.VolumeCreate{SizeGB: models.MaxVolumeSizeGB + 1}, "size_gb"},
			"two sources":  {models.VolumeCreate{SizeGB: 1, ImageID: b.image.ID, SourceVolID: b.image.ID}, "source"},
			"bad type":     {models.VolumeCreate{SizeGB: 1, VolumeType: "gold"}, "volume_type"},
			"bad image":    {models.VolumeCreate{SizeGB: 1, ImageID: "00000000-0000-4000-8000-000000000000"}, "image_id"},
			"bad snapshot": {models.VolumeCreate{SnapshotID: "nope"}, "snapshot_id"},
			"control char": {models.VolumeCreate{SizeGB: 1, Name: "a\x07b"}, "name"},
			"bad zone":     {models.VolumeCreate{SizeGB: 1, AvailabilityZone: "mars"}, "availability_zone"},
		} {
			_, err := s.CreateVolume(ctx, b.member, tc.in)
			var ve *models.ValidationError
			if !errors.As(err, &ve) || ve.Fields[tc.field] == "" {
				t.Errorf("%s: %v, want a validation error on %s", name, err, tc.field)
			}
		}
		// Another project sees nothing and attaches nothing.
		v := b.available(t, "mine", 1)
		other := otherProjectMember(t, s)
		if _, err := s.GetVolume(ctx, other, v.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project reads the volume: %v", err)
		}
		if _, err := s.AttachVolume(ctx, other, b.inst.ID, v.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project attaches to our instance: %v", err)
		}
		if _, err := s.ExtendVolume(ctx, other, v.ID, 5); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project extends the volume: %v", err)
		}
		if _, err := s.DeleteVolume(ctx, other, v.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project deletes the volume: %v", err)
		}
		// Only operators force a detach.
		if _, err := s.AttachVolume(ctx, b.member, b.inst.ID, v.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishAttach(ctx, v.ID, b.inst.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DetachVolume(ctx, b.member, b.inst.ID, v.ID, true); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("a member forces a detach: %v", err)
		}
		if _, err := s.DetachVolume(ctx, b.admin, b.inst.ID, v.ID, true); err != nil {
			t.Fatal(err)
		}
		b.status(t, v.ID, models.VolumeAvailable)
		if kinds := jobKinds(t, s, v.ID); kinds[0] != "volume.detach@h1" {
			t.Fatalf("newest job %v, want the host's cleanup detach", kinds)
		}
		// A backend that is down or full: the volume is in error with why.
		if _, err := s.SetVolumeBackendEnabled(ctx, b.admin, "file", false); err != nil {
			t.Fatal(err)
		}
		failed, err := s.CreateVolume(ctx, b.member, models.VolumeCreate{SizeGB: 1})
		if err != nil {
			t.Fatal(err)
		}
		if failed.Status != models.VolumeError || !strings.Contains(failed.FaultMessage, "1 disabled") {
			t.Fatalf("volume with no backend: %s %q", failed.Status, failed.FaultMessage)
		}
		if _, err := s.DeleteVolume(ctx, b.member, failed.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetVolume(ctx, b.member, failed.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("a volume without backend data is deleted at once: %v", err)
		}
	})
}

// otherProjectMember is a member of a second project.
func otherProjectMember(t *testing.T, s *models.Store) models.Caller {
	t.Helper()
	ctx := context.Background()
	boot := models.Caller{UserName: "test"}
	pr, err := s.CreateProject(ctx, boot, models.ProjectInput{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, boot, models.UserInput{Name: "eve", Password: "eve-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssignRole(ctx, boot, models.AssignmentInput{User: "eve", Project: "other", Role: "member"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.ResolveCaller(ctx, u.ID, pr.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestVolumeQuotaIsRaceFree: N concurrent creates against a gigabytes
// quota never exceed it, and the backend never allocates more than it has.
func TestVolumeQuotaIsRaceFree(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := volumeSetup(t, s)
		ctx := context.Background()
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaGigabytes: 25, models.QuotaVolumes: 100}); err != nil {
			t.Fatal(err)
		}
		const requests = 60
		var wg sync.WaitGroup
		var mu sync.Mutex
		created, refused := 0, 0
		var other []error
		for i := range requests {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.CreateVolume(ctx, b.member, models.VolumeCreate{Name: fmt.Sprintf("v%d", i), SizeGB: 2})
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
			}()
		}
		wg.Wait()
		if len(other) > 0 {
			t.Fatalf("unexpected errors: %v", other[0])
		}
		if created != 12 || refused != requests-12 {
			t.Fatalf("created %d, refused %d; want 12 volumes of 2 GB under a 25 GB quota", created, refused)
		}
		lines, _ := s.ProjectQuotas(ctx, b.member.ProjectID)
		for _, l := range lines {
			if l.Resource == models.QuotaGigabytes && l.Used != 24 {
				t.Fatalf("gigabytes used %d, want 24", l.Used)
			}
		}
		page, _ := s.ListVolumeBackends(ctx, models.ListOptions{})
		if backends := page.Items; backends[0].AllocatedGB != 24 {
			t.Fatalf("backend allocated %d GB, want 24", backends[0].AllocatedGB)
		}
	})
}

func TestBootFromVolume(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := volumeSetup(t, s)
		ctx := context.Background()
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "bfv", Flavor: "m1.small",
			BootVolume: &models.BootVolume{Source: "image", ID: b.image.ID, SizeGB: 3, DeleteOnTermination: true}})
		if err != nil {
			t.Fatal(err)
		}
		inst := insts[0]
		if inst.DiskGB != 0 || inst.ImageID != b.image.ID {
			t.Fatalf("instance disk %d GB image %q: the flavor's disk is not used, the image lends its kernel", inst.DiskGB, inst.ImageID)
		}
		vols, err := s.InstanceVolumes(ctx, b.member, inst.ID)
		if err != nil || len(vols) != 1 {
			t.Fatalf("boot volumes %v %v", vols, err)
		}
		v := vols[0]
		if v.Status != models.VolumeCreating || !v.Bootable || v.SizeGB != 3 || v.Attachments[0].BootIndex != 0 {
			t.Fatalf("boot volume %+v", v)
		}
		if err := s.FinishVolumeCreate(ctx, v.ID, models.VolumeConnection{Driver: "file", Path: "/v/x"}); err != nil {
			t.Fatal(err)
		}
		b.status(t, v.ID, models.VolumeAttaching)
		host, _ := s.GetHost(ctx, "h1")
		if err := s.PlaceInstance(ctx, inst, host, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishSpawn(ctx, inst.ID, "h1", models.PowerRunning); err != nil {
			t.Fatal(err)
		}
		v = b.status(t, v.ID, models.VolumeInUse)
		if v.Attachments[0].Host != "h1" {
			t.Fatalf("boot attachment host %q", v.Attachments[0].Host)
		}
		if _, err := s.DetachVolume(ctx, b.member, inst.ID, v.ID, false); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("detaching the root volume: %v", err)
		}
		// Deleting the instance deletes the volume (delete_on_termination).
		if _, err := s.DeleteInstance(ctx, b.member, inst.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishDelete(ctx, inst.ID); err != nil {
			t.Fatal(err)
		}
		b.status(t, v.ID, models.VolumeDeleting)

		// Bad boot sources name the field.
		for _, bv := range []models.BootVolume{{Source: "tape", ID: "x"}, {Source: "volume", ID: "nope"}, {Source: "image"}} {
			_, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "bad", Flavor: "m1.small", BootVolume: &bv})
			var ve *models.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("boot volume %+v: %v, want a validation error", bv, err)
			}
			for f := range ve.Fields {
				if !strings.HasPrefix(f, "boot_volume.") {
					t.Fatalf("boot volume %+v: field %q, want boot_volume.*", bv, f)
				}
			}
		}
	})
}

// TestVolumeDeleteReadsOnlyWhatItNeeds: deciding whether a volume may be
// deleted reads whether it has attachments and snapshots, naming a few —
// as many rows for a volume with twelve snapshots as for one with four —
// and the refusal still counts them all.
func TestVolumeDeleteReadsOnlyWhatItNeeds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := volumeSetup(t, s)
		ctx := context.Background()
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaSnapshots: -1}); err != nil {
			t.Fatal(err)
		}
		rows := s.CountRowsRead()
		refused := func(n int) int64 {
			t.Helper()
			v := b.available(t, fmt.Sprintf("with-%d", n), 1)
			for i := range n {
				sn, err := s.CreateSnapshot(ctx, b.member, models.SnapshotCreate{VolumeID: v.ID, Name: fmt.Sprint("s", i)})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.FinishSnapshot(ctx, sn.ID, "snapshot-"+sn.ID, nil); err != nil {
					t.Fatal(err)
				}
			}
			before := rows()
			_, err := s.DeleteVolume(ctx, b.member, v.ID)
			read := rows() - before
			if !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), fmt.Sprintf("has %d snapshot(s)", n)) {
				t.Fatalf("deleting a volume with %d snapshots: %v", n, err)
			}
			if strings.Count(err.Error(), ",") > 3 {
				t.Errorf("the refusal names every snapshot: %v", err)
			}
			return read
		}
		few, many := refused(4), refused(12)
		if many != few {
			t.Errorf("a refused delete reads %d rows for a volume with 4 snapshots, %d with 12", few, many)
		}

		// An attached volume: refused, naming the instance.
		v := b.available(t, "attached", 1)
		if _, err := s.AttachVolume(ctx, b.member, b.inst.ID, v.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteVolume(ctx, b.member, v.ID); !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), b.inst.ID) {
			t.Errorf("deleting an attached volume: %v", err)
		}
	})
}
