package allinone_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// TestSnapshotOfVolumeBackedInstance: the snapshot action on an instance
// booted from a volume takes a live snapshot of its boot volume through
// the file backend and the (fake) host, and the image it gives ends
// active; launching that image boots a new instance from a new volume made
// from the snapshot, which holds the data the first volume had (read back
// with qemu-img).
func TestSnapshotOfVolumeBackedInstance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b, dir := volumeCloud(t, s)
		ctx := context.Background()
		data := bytes.Repeat([]byte("stratus!"), 128<<10)
		disk, _ := s.CreateImage(ctx, b.member, models.ImageInput{Name: "disk", DiskFormat: "raw"})
		if _, err := s.UploadImage(ctx, b.member, disk.ID, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "bfv", Flavor: "m1.nano",
			BootVolume: &models.BootVolume{Source: "image", ID: disk.ID, SizeGB: 1, DeleteOnTermination: true}})
		if err != nil {
			t.Fatal(err)
		}
		id := insts[0].ID
		active := func(id string) func() (bool, string) {
			return func() (bool, string) {
				i := b.instance(t, id)
				return i.Status() == "ACTIVE" && i.TaskState == models.TaskNone, i.Status() + "/" + string(i.TaskState)
			}
		}
		waitFor(t, 30*time.Second, "the volume-backed instance ACTIVE", active(id))
		vols, _ := s.InstanceVolumes(ctx, b.member, id)
		root := vols[0]

		inst, im, err := s.SnapshotInstance(ctx, b.member, id, "bfv-snap")
		if err != nil || inst.TaskState != models.TaskImageSnapshot || im.Status != models.ImageSaving {
			t.Fatalf("snapshot: task %q image %+v: %v", inst.TaskState, im, err)
		}
		waitFor(t, 30*time.Second, "the image active", func() (bool, string) {
			got, err := s.GetImage(ctx, b.member, im.ID)
			return err == nil && got.Status == models.ImageActive, got.Status
		})
		waitFor(t, 10*time.Second, "the instance idle", active(id))
		snaps, _ := s.ListSnapshots(ctx, b.member, models.SnapshotFilter{VolumeID: root.ID})
		if len(snaps.Items) != 1 || snaps.Items[0].Status != models.SnapshotAvailable {
			t.Fatalf("volume snapshots %+v", snaps.Items)
		}
		snap := snaps.Items[0]
		acts, _ := s.ListInstanceActions(ctx, b.member, id)
		if acts[0].Action != "snapshot" || acts[0].Result != models.ActionSuccess {
			t.Fatalf("action log %+v", acts[0])
		}
		// The host switched the running disk to an overlay; the fake
		// hypervisor makes no file: make it as libvirt would.
		frozen := filepath.Join(dir, "volume-"+root.ID)
		if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", frozen, b.volume(t, root.ID).Connection.Path).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}

		// Launch the image: a new instance on a new volume from the snapshot.
		from, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "from-snap", Flavor: "m1.nano", Image: im.ID})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "the snapshot's instance ACTIVE", active(from[0].ID))
		fvols, _ := s.InstanceVolumes(ctx, b.member, from[0].ID)
		if len(fvols) != 1 || fvols[0].SourceSnapshotID != snap.ID || fvols[0].ID == root.ID || fvols[0].Status != models.VolumeInUse ||
			fvols[0].Attachments[0].BootIndex != 0 {
			t.Fatalf("the new instance's volumes %+v", fvols)
		}
		raw := filepath.Join(t.TempDir(), "copy.raw")
		if out, err := exec.Command("qemu-img", "convert", "-U", "-O", "raw", fvols[0].Connection.Path, raw).CombinedOutput(); err != nil {
			t.Fatalf("read the new volume: %v %s", err, out)
		}
		f, err := os.Open(raw)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		head := make([]byte, len(data))
		if _, err := f.ReadAt(head, 0); err != nil || !bytes.Equal(head, data) {
			t.Fatalf("the new volume does not start with the first volume's data (%v): %q…", err, head[:16])
		}
	})
}

// TestBootVolumeFailureIsFinal: when the boot volume of a launch cannot be
// made (here an image qemu-img cannot read), the instance goes to ERROR
// saying so as soon as the volume does — not rescheduled host after host,
// since no host could build it.
func TestBootVolumeFailureIsFinal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b, _ := volumeCloud(t, s)
		ctx := context.Background()
		// A qcow2 header (no backing file) of an unknown version.
		bad := append([]byte{'Q', 'F', 'I', 0xfb, 0, 0, 0, 99}, make([]byte, 1<<20)...)
		im, _ := s.CreateImage(ctx, b.member, models.ImageInput{Name: "broken", DiskFormat: "qcow2"})
		if _, err := s.UploadImage(ctx, b.member, im.ID, bytes.NewReader(bad)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "bfv", Flavor: "m1.nano",
			BootVolume: &models.BootVolume{Source: "image", ID: im.ID, SizeGB: 1, DeleteOnTermination: true}})
		if err != nil {
			t.Fatal(err)
		}
		id := insts[0].ID
		var inst models.Instance
		waitFor(t, 30*time.Second, "the instance in ERROR", func() (bool, string) {
			inst = b.instance(t, id)
			vols, _ := s.InstanceVolumes(ctx, b.member, id)
			vs := ""
			for _, v := range vols {
				vs += " volume " + string(v.Status) + " " + v.FaultMessage
			}
			return inst.Status() == "ERROR", inst.Status() + " " + inst.FaultMessage + vs
		})
		t.Logf("launch → ERROR: %s", time.Since(start).Round(time.Millisecond))
		if !strings.Contains(inst.FaultMessage, "its boot volume could not be created") {
			t.Errorf("fault %q: want it to name the boot volume", inst.FaultMessage)
		}
		acts, _ := s.ListInstanceActions(ctx, b.member, id)
		for _, a := range acts {
			if a.Action == "reschedule" {
				t.Errorf("rescheduled: %+v", a)
			}
		}
		if acts[len(acts)-1].Action != "create" || acts[len(acts)-1].Result != models.ActionError {
			t.Errorf("the create action: %+v", acts[len(acts)-1])
		}
	})
}
