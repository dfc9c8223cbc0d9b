package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// TestSnapshotOfVolumeBackedInstance: Nova's createImage on a
// volume-backed instance takes a forced snapshot of the boot volume and an
// image without data that maps it (saving until the snapshot is
// available, then active; the instance in task image_snapshot meanwhile);
// launching that image boots from a new volume made from the snapshot. A
// failed volume snapshot kills the image; quotas apply; deleting the image
// keeps the volume snapshot.
func TestSnapshotOfVolumeBackedInstance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := volumeSetup(t, s)
		ctx := context.Background()
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "bfv", Flavor: "m1.small",
			BootVolume: &models.BootVolume{Source: "image", ID: b.image.ID, SizeGB: 3, DeleteOnTermination: true}})
		if err != nil {
			t.Fatal(err)
		}
		inst := insts[0]
		vols, _ := s.InstanceVolumes(ctx, b.member, inst.ID)
		root := vols[0]
		if err := s.FinishVolumeCreate(ctx, root.ID, models.VolumeConnection{Driver: "file", Path: "/v/volume-" + root.ID, Format: "qcow2"}); err != nil {
			t.Fatal(err)
		}
		host, _ := s.GetHost(ctx, "h1")
		if err := s.PlaceInstance(ctx, inst, host, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishSpawn(ctx, inst.ID, "h1", models.PowerRunning); err != nil {
			t.Fatal(err)
		}
		b.status(t, root.ID, models.VolumeInUse)

		got, im, err := s.SnapshotInstance(ctx, b.member, inst.ID, "bfv-snap")
		if err != nil {
			t.Fatal(err)
		}
		if got.TaskState != models.TaskImageSnapshot || im.Status != models.ImageSaving || im.SizeBytes != 0 ||
			im.Visibility != models.VisibilityPrivate || im.Properties["bdm_v2"] != "True" ||
			im.Properties["root_device_name"] != "/dev/vda" || im.Properties["instance_uuid"] != inst.ID {
			t.Fatalf("snapshot: task %q image %+v", got.TaskState, im)
		}
		snaps, err := s.ListSnapshots(ctx, b.member, models.SnapshotFilter{VolumeID: root.ID})
		if err != nil || len(snaps.Items) != 1 || snaps.Items[0].Status != models.SnapshotCreating || snaps.Items[0].SizeGB != 3 {
			t.Fatalf("volume snapshots %+v %v", snaps.Items, err)
		}
		snap := snaps.Items[0]
		var bdm []map[string]any
		if err := json.Unmarshal([]byte(im.Properties["block_device_mapping"]), &bdm); err != nil || len(bdm) != 1 {
			t.Fatalf("block_device_mapping %q: %v", im.Properties["block_device_mapping"], err)
		}
		if m := bdm[0]; m["source_type"] != "snapshot" || m["destination_type"] != "volume" || m["snapshot_id"] != snap.ID ||
			m["volume_size"] != 3.0 || m["boot_index"] != 0.0 || m["delete_on_termination"] != true {
			t.Fatalf("mapping %+v", m)
		}
		// Busy while it runs: a second snapshot names the task.
		if _, _, err := s.SnapshotInstance(ctx, b.member, inst.ID, "again"); !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), "image_snapshot") {
			t.Fatalf("snapshot during a snapshot: %v", err)
		}
		// The saving image cannot be launched yet.
		if _, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "early", Flavor: "m1.small", Image: im.ID}); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("launch of a saving image: %v", err)
		}

		// The volume service takes it: the image is active, the instance idle.
		if err := s.FinishSnapshot(ctx, snap.ID, "/v/volume-"+root.ID, nil); err != nil {
			t.Fatal(err)
		}
		if im, _ = s.GetImage(ctx, b.member, im.ID); im.Status != models.ImageActive || im.Progress != 100 {
			t.Fatalf("image after the volume snapshot: %s %d%%", im.Status, im.Progress)
		}
		acts, _ := s.ListInstanceActions(ctx, b.member, inst.ID)
		if i, _ := s.GetInstance(ctx, b.member, inst.ID); i.TaskState != models.TaskNone || acts[0].Action != "snapshot" || acts[0].Result != models.ActionSuccess {
			t.Fatalf("instance after the snapshot: task %q, log %+v", i.TaskState, acts[0])
		}

		// It has no data to download: a 409 that says why, not a missing file.
		if _, _, err := s.OpenImageFile(ctx, b.member, im.ID); !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), snap.ID) {
			t.Fatalf("download of a volume snapshot's image: %v", err)
		}

		// Launching the image boots from a new volume made from the snapshot.
		from, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "from-snap", Flavor: "m1.small", Image: im.ID})
		if err != nil {
			t.Fatal(err)
		}
		if from[0].DiskGB != 0 || from[0].ImageID != b.image.ID {
			t.Fatalf("instance from the snapshot: disk %d GB, image %q", from[0].DiskGB, from[0].ImageID)
		}
		fvols, _ := s.InstanceVolumes(ctx, b.member, from[0].ID)
		if len(fvols) != 1 || fvols[0].SourceSnapshotID != snap.ID || fvols[0].SizeGB != 3 || !fvols[0].Bootable ||
			fvols[0].Attachments[0].BootIndex != 0 || !fvols[0].Attachments[0].DeleteOnTermination {
			t.Fatalf("boot volume of the snapshot's instance %+v", fvols)
		}
		// A rebuild from it is refused: it is no root disk.
		local, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "local", Flavor: "m1.nano", Image: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PlaceInstance(ctx, local[0], host, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishSpawn(ctx, local[0].ID, "h1", models.PowerRunning); err != nil {
			t.Fatal(err)
		}
		var ve *models.ValidationError
		if _, err := s.RebuildInstance(ctx, b.member, local[0].ID, models.RebuildRequest{Image: im.ID}); !errors.As(err, &ve) || ve.Fields["image"] == "" {
			t.Fatalf("rebuild from a volume snapshot's image: %v", err)
		}

		// A failed volume snapshot kills its image and says why.
		_, bad, err := s.SnapshotInstance(ctx, b.member, inst.ID, "bad")
		if err != nil {
			t.Fatal(err)
		}
		snaps, _ = s.ListSnapshots(ctx, b.member, models.SnapshotFilter{VolumeID: root.ID})
		if err := s.FailSnapshot(ctx, snaps.Items[0].ID, "backend full"); err != nil {
			t.Fatal(err)
		}
		acts, _ = s.ListInstanceActions(ctx, b.member, inst.ID)
		if bad, _ = s.GetImage(ctx, b.member, bad.ID); bad.Status != models.ImageKilled || acts[0].Result != models.ActionError ||
			!strings.Contains(acts[0].Message, "backend full") {
			t.Fatalf("after a failed volume snapshot: image %s, log %+v", bad.Status, acts[0])
		}
		if i, _ := s.GetInstance(ctx, b.member, inst.ID); i.TaskState != models.TaskNone {
			t.Fatalf("task after a failed snapshot %q", i.TaskState)
		}

		// Quotas: volume snapshots, then images.
		used := len(snaps.Items)
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaSnapshots: int64(used)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SnapshotInstance(ctx, b.member, inst.ID, "over"); !errors.Is(err, models.ErrQuotaExceeded) {
			t.Fatalf("snapshot over the snapshots quota: %v", err)
		}
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaSnapshots: -1, models.QuotaImages: 3}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SnapshotInstance(ctx, b.member, inst.ID, "over"); !errors.Is(err, models.ErrQuotaExceeded) {
			t.Fatalf("snapshot over the images quota: %v", err)
		}
		if n, _ := s.ListSnapshots(ctx, b.member, models.SnapshotFilter{VolumeID: root.ID}); len(n.Items) != used {
			t.Fatalf("a refused snapshot left %d volume snapshots, want %d", len(n.Items), used)
		}

		// Deleting the image keeps the volume snapshot (Nova's behaviour).
		if err := s.DeleteImage(ctx, b.member, im.ID); err != nil {
			t.Fatal(err)
		}
		if sn, err := s.GetSnapshot(ctx, b.member, snap.ID); err != nil || sn.Status != models.SnapshotAvailable {
			t.Fatalf("volume snapshot after its image was deleted: %+v %v", sn, err)
		}
	})
}
