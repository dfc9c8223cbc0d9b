package allinone_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/allinone"
	"stratus/workers/hostdrivers"
	"stratus/workers/virt"
	"stratus/workers/volume"
)

// The block storage path end to end, in process: the API's intents, the
// file backend's volume service (real qemu-img files in a temp directory)
// and a fake compute host. The libvirt system test does the same with real
// guests.

func volumeCloud(t *testing.T, s *models.Store) (*bundle, string) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("qemu-img is missing (.ci/deps installs qemu-utils)")
		}
		t.Skip("qemu-img is not installed")
	}
	dir := filepath.Join(t.TempDir(), "volumes")
	vb, err := hostdrivers.OpenVolumeBackend(hostdrivers.VolumeConfig{Driver: hostdrivers.VolumeFile, Dir: dir,
		ImageCacheDir: filepath.Join(t.TempDir(), "cache"), Images: hostdrivers.ImagesConfig{Store: s}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, s, []string{"h1"}, 8192, func(c *allinone.Config) {
		c.Agent.DetachTimeout = 200 * time.Millisecond
		c.Volumes = []volume.Config{{Name: "file", Backend: vb.Backend, Images: vb.Images, CollectInterval: time.Hour}}
	})
	return b, dir
}

func (b *bundle) volume(t *testing.T, id string) models.Volume {
	t.Helper()
	v, err := b.store.GetVolume(context.Background(), b.member, id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (b *bundle) waitVolume(t *testing.T, id string, want models.VolumeStatus) models.Volume {
	t.Helper()
	var v models.Volume
	waitFor(t, 30*time.Second, "volume "+string(want), func() (bool, string) {
		v = b.volume(t, id)
		return v.Status == want && (want != models.VolumeInUse || v.Attachments[0].Status == models.AttachmentAttached),
			string(v.Status) + " " + v.FaultMessage
	})
	return v
}

func (b *bundle) waitSnapshot(t *testing.T, id string, want models.SnapshotStatus) {
	t.Helper()
	waitFor(t, 30*time.Second, "snapshot "+string(want), func() (bool, string) {
		sn, err := b.store.GetSnapshot(context.Background(), b.member, id)
		if want == "" { // gone
			return err != nil, string(sn.Status)
		}
		return err == nil && sn.Status == want, string(sn.Status) + " " + sn.FaultMessage
	})
}

func virtualSize(t *testing.T, path string) int64 {
	t.Helper()
	out, err := exec.Command("qemu-img", "info", "-U", "--output=json", path).Output()
	if err != nil {
		t.Fatalf("qemu-img info %s: %v", path, err)
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	_ = json.Unmarshal(out, &info)
	return info.VirtualSize
}

func TestVolumesEndToEndOnTheFileBackend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b, dir := volumeCloud(t, s)
		ctx := context.Background()
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		inst := insts[0]
		waitFor(t, 10*time.Second, "instance ACTIVE", func() (bool, string) {
			i := b.instance(t, inst.ID)
			return i.Status() == "ACTIVE", i.Status()
		})
		drv := b.drivers["h1"]

		// A blank volume is a file of its size.
		v, err := s.CreateVolume(ctx, b.member, models.VolumeCreate{Name: "data", SizeGB: 1})
		if err != nil {
			t.Fatal(err)
		}
		v = b.waitVolume(t, v.ID, models.VolumeAvailable)
		if v.Connection == nil || virtualSize(t, v.Connection.Path) != 1<<30 {
			t.Fatalf("blank volume's data: %+v", v.Connection)
		}

		// Attach: the host's domain has a disk whose serial is the volume ID.
		if _, err := s.AttachVolume(ctx, b.member, inst.ID, v.ID); err != nil {
			t.Fatal(err)
		}
		v = b.waitVolume(t, v.ID, models.VolumeInUse)
		disks := drv.VolumeDisks(inst.ID)
		if len(disks) != 1 || disks[0].Serial != v.ID || disks[0].Path != v.Connection.Path || disks[0].Device != "vdb" {
			t.Fatalf("domain disks %+v", disks)
		}

		// A snapshot of the in-use volume goes through the host, which
		// switches the disk to the overlay.
		snap, err := s.CreateSnapshot(ctx, b.member, models.SnapshotCreate{VolumeID: v.ID, Name: "s1", Force: true})
		if err != nil {
			t.Fatal(err)
		}
		b.waitSnapshot(t, snap.ID, models.SnapshotAvailable)
		v = b.volume(t, v.ID)
		if disks = drv.VolumeDisks(inst.ID); disks[0].Path != v.Connection.Path || !strings.HasSuffix(v.Connection.Path, "."+snap.ID) {
			t.Fatalf("after a live snapshot the disk is %s, the volume at %s", disks[0].Path, v.Connection.Path)
		}
		// The fake hypervisor makes no file: make the overlay as libvirt would.
		frozen := filepath.Join(dir, "volume-"+v.ID)
		if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", frozen, v.Connection.Path).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}

		// Extend in use: the host grows it under the guest.
		if _, err := s.ExtendVolume(ctx, b.member, v.ID, 2); err != nil {
			t.Fatal(err)
		}
		v = b.waitVolume(t, v.ID, models.VolumeInUse)
		if v.SizeGB != 2 {
			t.Fatalf("extended volume is %d GB", v.SizeGB)
		}

		// A guest that holds the disk: the detach times out, clearly.
		drv.HoldVolume(v.ID)
		if _, err := s.DetachVolume(ctx, b.member, inst.ID, v.ID, false); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the detach to fail", func() (bool, string) {
			v = b.volume(t, v.ID)
			return v.Status == models.VolumeInUse && strings.Contains(v.FaultMessage, "did not release"), string(v.Status)
		})
		drv.ReleaseVolume(v.ID)
		if _, err := s.DetachVolume(ctx, b.member, inst.ID, v.ID, false); err != nil {
			t.Fatal(err)
		}
		v = b.waitVolume(t, v.ID, models.VolumeAvailable)
		if len(drv.VolumeDisks(inst.ID)) != 0 {
			t.Fatalf("the domain still has %+v", drv.VolumeDisks(inst.ID))
		}

		// Extend available: the backend grows the file.
		if _, err := s.ExtendVolume(ctx, b.member, v.ID, 3); err != nil {
			t.Fatal(err)
		}
		v = b.waitVolume(t, v.ID, models.VolumeAvailable)
		if got := virtualSize(t, v.Connection.Path); got != 3<<30 {
			t.Fatalf("extended file is %d bytes", got)
		}

		// A volume from the snapshot, a clone, and one from an image.
		fromSnap, err := s.CreateVolume(ctx, b.member, models.VolumeCreate{Name: "from-snap", SnapshotID: snap.ID})
		if err != nil {
			t.Fatal(err)
		}
		clone, err := s.CreateVolume(ctx, b.member, models.VolumeCreate{Name: "clone", SourceVolID: v.ID})
		if err != nil {
			t.Fatal(err)
		}
		im, _ := s.CreateImage(ctx, b.member, models.ImageInput{Name: "disk", DiskFormat: "raw"})
		if _, err := s.UploadImage(ctx, b.member, im.ID, bytes.NewReader(bytes.Repeat([]byte("stratus!"), 128<<10))); err != nil {
			t.Fatal(err)
		}
		fromImage, err := s.CreateVolume(ctx, b.member, models.VolumeCreate{Name: "from-image", ImageID: im.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{fromSnap.ID, clone.ID, fromImage.ID} {
			b.waitVolume(t, id, models.VolumeAvailable)
		}
		if fi := b.volume(t, fromImage.ID); !fi.Bootable || fi.Progress != 100 || fi.SizeGB != 1 || fi.ImageMeta["image_id"] != im.ID {
			t.Fatalf("volume from image %+v", fi)
		}
		if got := virtualSize(t, b.volume(t, clone.ID).Connection.Path); got != 3<<30 {
			t.Fatalf("clone is %d bytes", got)
		}

		// Deleting the snapshot keeps the volume made from it whole.
		if _, err := s.DeleteSnapshot(ctx, b.member, snap.ID); err != nil {
			t.Fatal(err)
		}
		b.waitSnapshot(t, snap.ID, "")
		if _, err := os.Stat(frozen); !os.IsNotExist(err) {
			t.Fatalf("the snapshot's file is still there: %v", err)
		}
		if out, err := exec.Command("qemu-img", "check", b.volume(t, fromSnap.ID).Connection.Path).CombinedOutput(); err != nil {
			t.Fatalf("the volume made from the deleted snapshot is broken: %v %s", err, out)
		}

		// Delete everything: the backend directory holds nothing.
		for _, id := range []string{v.ID, fromSnap.ID, clone.ID, fromImage.ID} {
			if _, err := s.DeleteVolume(ctx, b.member, id); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 30*time.Second, "every volume gone", func() (bool, string) {
			page, _ := s.ListVolumes(ctx, b.member, models.VolumeFilter{})
			return len(page.Items) == 0, ""
		})
		entries, _ := os.ReadDir(dir)
		var left []string
		for _, e := range entries {
			left = append(left, e.Name())
		}
		if len(left) != 0 {
			t.Fatalf("the backend directory still holds %v", left)
		}
		page, _ := s.ListVolumeBackends(ctx, models.ListOptions{})
		if page.Items[0].AllocatedGB != 0 {
			t.Fatalf("backend still allocates %d GB", page.Items[0].AllocatedGB)
		}
	})
}

func TestReconcileDetachesWhatTheDatabaseForgot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b, _ := volumeCloud(t, s)
		ctx := context.Background()
		insts, _ := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros"})
		waitFor(t, 10*time.Second, "instance ACTIVE", func() (bool, string) {
			i := b.instance(t, insts[0].ID)
			return i.Status() == "ACTIVE", i.Status()
		})
		v, _ := s.CreateVolume(ctx, b.member, models.VolumeCreate{SizeGB: 1})
		b.waitVolume(t, v.ID, models.VolumeAvailable)
		if _, err := s.AttachVolume(ctx, b.member, insts[0].ID, v.ID); err != nil {
			t.Fatal(err)
		}
		b.waitVolume(t, v.ID, models.VolumeInUse)
		// An operator force-detaches while the guest holds the disk: the
		// database is free at once, and the host removes the disk.
		drv := b.drivers["h1"]
		drv.HoldVolume(v.ID)
		if _, err := s.DetachVolume(ctx, b.admin, insts[0].ID, v.ID, true); err != nil {
			t.Fatal(err)
		}
		b.waitVolume(t, v.ID, models.VolumeAvailable)
		waitFor(t, 10*time.Second, "the disk removed", func() (bool, string) {
			return len(drv.VolumeDisks(insts[0].ID)) == 0, ""
		})
		// A disk the database knows nothing about is removed at agent start.
		v2, _ := s.CreateVolume(ctx, b.member, models.VolumeCreate{SizeGB: 1})
		v2 = b.waitVolume(t, v2.ID, models.VolumeAvailable)
		if _, err := s.AttachVolume(ctx, b.member, insts[0].ID, v2.ID); err != nil {
			t.Fatal(err)
		}
		b.waitVolume(t, v2.ID, models.VolumeInUse)
		if _, err := s.DetachVolume(ctx, b.admin, insts[0].ID, v2.ID, true); err != nil {
			t.Fatal(err)
		}
		b.waitVolume(t, v2.ID, models.VolumeAvailable)
		// Put the disk back behind Stratus' back, then reconcile.
		stray := virt.VolumeDisk{Serial: v2.ID, Device: "vdc", Driver: "file", Path: v2.Connection.Path, Format: "qcow2"}
		if err := drv.AttachVolume(ctx, insts[0].ID, stray); err != nil {
			t.Fatal(err)
		}
		if err := b.cloud.Agents["h1"].ReconcileVolumes(ctx); err != nil {
			t.Fatal(err)
		}
		if got := drv.VolumeDisks(insts[0].ID); len(got) != 0 {
			t.Fatalf("reconcile left %+v", got)
		}
		if !slices.Contains([]models.VolumeStatus{models.VolumeAvailable}, b.volume(t, v2.ID).Status) {
			t.Fatal("volume changed")
		}
	})
}
