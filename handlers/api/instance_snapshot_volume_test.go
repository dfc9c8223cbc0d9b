package api_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/allinone"
	"stratus/workers/hostdrivers"
	"stratus/workers/volume"
)

// TestSnapshotActionOnVolumeBackedInstance: the snapshot action on an
// instance launched with boot_volume answers the image, which maps a
// snapshot of the boot volume and ends active with no data (a download is
// a 409 saying so); launching that image boots from a new volume made from
// the snapshot.
func TestSnapshotActionOnVolumeBackedInstance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		if _, err := exec.LookPath("qemu-img"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("qemu-img is missing (.ci/deps installs qemu-utils)")
			}
			t.Skip("qemu-img is not installed")
		}
		e := setup(t, s)
		demo := e.demo()
		vb, err := hostdrivers.OpenVolumeBackend(hostdrivers.VolumeConfig{Driver: hostdrivers.VolumeFile, Dir: filepath.Join(t.TempDir(), "volumes"),
			ImageCacheDir: filepath.Join(t.TempDir(), "cache"), Images: hostdrivers.ImagesConfig{Store: s}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		startCloudWith(t, s, 10*time.Millisecond, func(c *allinone.Config) {
			c.Volumes = []volume.Config{{Name: "file", Backend: vb.Backend, Images: vb.Images, CollectInterval: time.Hour}}
		}, "h1")
		imageID := e.activeImage(demo, map[string]any{"name": "disk", "disk_format": "raw"}, bytes.Repeat([]byte("stratus!"), 8<<10))
		r := e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "bfv", "flavor": "m1.nano",
			"boot_volume": map[string]any{"source": "image", "id": imageID, "size_gb": 1, "delete_on_termination": true}})
		want(t, r, http.StatusAccepted, "")
		id := r.list("instances")[0]["id"].(string)
		e.status(demo, id, "ACTIVE")

		r = e.do(http.MethodPost, "/instances/"+id+"/actions", demo, map[string]any{"action": "snapshot", "name": "bfv-snap"})
		want(t, r, http.StatusAccepted, "")
		snapImage := r.str("snapshot_image_id")
		if snapImage == "" || r.str("task_state") != "image_snapshot" {
			t.Fatalf("snapshot answered %s", r.raw)
		}
		var im resp
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			im = e.do(http.MethodGet, "/images/"+snapImage, demo, nil)
			want(t, im, http.StatusOK, "")
			if im.str("status") == models.ImageActive || time.Now().After(deadline) {
				break
			}
		}
		props, _ := im.body["properties"].(map[string]any)
		if im.str("status") != models.ImageActive || im.body["size"] != 0.0 || props["bdm_v2"] != "True" ||
			!strings.Contains(props["block_device_mapping"].(string), `"source_type":"snapshot"`) {
			t.Fatalf("snapshot image %s", im.raw)
		}
		if rec := e.raw(http.MethodGet, "/images/"+snapImage+"/file", demo, nil, nil); rec.Code != http.StatusConflict ||
			!strings.Contains(rec.Body.String(), "volume snapshot") {
			t.Fatalf("download of the snapshot image: %d %s", rec.Code, rec.Body)
		}
		e.status(demo, id, "ACTIVE")

		r = e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "from-snap", "flavor": "m1.nano", "image": snapImage})
		want(t, r, http.StatusAccepted, "")
		from := r.list("instances")[0]["id"].(string)
		e.status(demo, from, "ACTIVE")
		admin, _ := s.GetUser(context.Background(), "admin")
		op, _ := s.ResolveCaller(context.Background(), admin.ID, "")
		vols, err := s.InstanceVolumes(context.Background(), op, from)
		if err != nil || len(vols) != 1 || vols[0].SourceSnapshotID == "" || !strings.Contains(props["block_device_mapping"].(string), vols[0].SourceSnapshotID) {
			t.Fatalf("the new instance's volumes %+v %v", vols, err)
		}
	})
}
