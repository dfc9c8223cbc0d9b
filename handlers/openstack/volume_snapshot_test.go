package openstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/allinone"
	"stratus/workers/hostdrivers"
	"stratus/workers/volume"
)

// fileVolumes adds a volume service on the file backend (qemu-img files
// in a temporary directory) to a test cloud.
func fileVolumes(t *testing.T, s *models.Store) func(*allinone.Config) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("qemu-img is missing (.ci/deps installs qemu-utils)")
		}
		t.Skip("qemu-img is not installed")
	}
	vb, err := hostdrivers.OpenVolumeBackend(hostdrivers.VolumeConfig{Driver: hostdrivers.VolumeFile, Dir: filepath.Join(t.TempDir(), "volumes"),
		ImageCacheDir: filepath.Join(t.TempDir(), "cache"), Images: hostdrivers.ImagesConfig{Store: s}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return func(c *allinone.Config) {
		c.Volumes = []volume.Config{{Name: "file", Backend: vb.Backend, Images: vb.Images, CollectInterval: time.Hour}}
	}
}

// TestGophercloudCreateImageOfVolumeBackedServer: Nova's createImage on a
// server booted from a volume (block_device_mapping_v2) answers the image,
// which has no data and maps a snapshot of the boot volume
// (block_device_mapping with source_type snapshot); the image ends active,
// and a server created from it boots from a new volume made from that
// snapshot.
func TestGophercloudCreateImageOfVolumeBackedServer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloudWith(t, s, fileVolumes(t, s), "h1")
		p := c.provider("demo", demoPassword, "demo")
		cc := c.compute(p, "2.79")
		ic := c.image(p)
		imageID := uploadImage(t, ic, "busybox", bytes.Repeat([]byte("disk "), 1024))
		fl, err := flavors.ListDetail(cc, nil).AllPages(ctx)
		must(t, err, "flavors")
		fls, _ := flavors.ExtractFlavors(fl)
		srv, err := servers.Create(ctx, cc, servers.CreateOpts{Name: "bfv", FlavorRef: fls[0].ID, Networks: "none",
			BlockDevice: []servers.BlockDevice{{SourceType: servers.SourceImage, DestinationType: servers.DestinationVolume, UUID: imageID,
				VolumeSize: 1, BootIndex: 0, DeleteOnTermination: true}}}, nil).Extract()
		must(t, err, "create a volume-backed server")
		vm := waitServer(t, cc, srv.ID, status("ACTIVE"))
		if len(vm.AttachedVolumes) != 1 {
			t.Fatalf("volume-backed server's volumes %+v", vm.AttachedVolumes)
		}

		snapImageID, err := servers.CreateImage(ctx, cc, srv.ID, servers.CreateImageOpts{Name: "bfv-snap"}).ExtractImageID()
		must(t, err, "createImage")
		var im *images.Image
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			im, err = images.Get(ctx, ic, snapImageID).Extract()
			must(t, err, "get the snapshot image")
			if im.Status == images.ImageStatusActive || time.Now().After(deadline) {
				break
			}
		}
		if im.Status != images.ImageStatusActive || im.SizeBytes != 0 || im.Properties["bdm_v2"] != "True" || im.Properties["root_device_name"] != "/dev/vda" {
			t.Fatalf("snapshot image %+v", im)
		}
		var bdm []map[string]any
		if raw, _ := im.Properties["block_device_mapping"].(string); json.Unmarshal([]byte(raw), &bdm) != nil || len(bdm) != 1 ||
			bdm[0]["source_type"] != "snapshot" || bdm[0]["destination_type"] != "volume" || bdm[0]["boot_index"] != 0.0 {
			t.Fatalf("block_device_mapping %v", im.Properties["block_device_mapping"])
		}
		snapID, _ := bdm[0]["snapshot_id"].(string)
		admin, _ := s.GetUser(ctx, "admin")
		op, _ := s.ResolveCaller(ctx, admin.ID, "")
		if sn, err := s.GetSnapshot(ctx, op, snapID); err != nil || sn.VolumeID != vm.AttachedVolumes[0].ID || sn.Status != models.SnapshotAvailable {
			t.Fatalf("the mapped volume snapshot %+v %v", sn, err)
		}
		waitServer(t, cc, srv.ID, status("ACTIVE"))

		from, err := servers.Create(ctx, cc, servers.CreateOpts{Name: "from-snap", FlavorRef: fls[0].ID, ImageRef: snapImageID, Networks: "none"}, nil).Extract()
		must(t, err, "create a server from the snapshot image")
		got := waitServer(t, cc, from.ID, status("ACTIVE"))
		if len(got.AttachedVolumes) != 1 || got.AttachedVolumes[0].ID == vm.AttachedVolumes[0].ID {
			t.Fatalf("the new server's volumes %+v (the first's: %+v)", got.AttachedVolumes, vm.AttachedVolumes)
		}
		if v, err := s.GetVolume(ctx, op, got.AttachedVolumes[0].ID); err != nil || v.SourceSnapshotID != snapID {
			t.Fatalf("the new server's boot volume %+v %v: not made from snapshot %s", v, err, snapID)
		}
	})
}
