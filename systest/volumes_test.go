package systest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startVolumeService runs `stratus volume` with the file backend on a
// directory of the lab (where qemu can reach the files), fetching images
// from the API as the compute host does.
func (c *cloud) startVolumeService(poll time.Duration) string {
	c.t.Helper()
	dir := filepath.Join(c.lab.Dir, "volumes")
	c.start("volume", "--db", c.db, "--data-dir", c.dir, "--log-format", "json", "--backend", "file",
		"--volume-driver", "file", "--volume-dir", dir, "--image-cache-dir", filepath.Join(c.lab.Dir, "volume-image-cache"),
		"--api-url", c.url, "--api-token", c.serviceToken, "--poll-interval", poll.String())
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var out struct {
			Backends []struct {
				Name string `json:"name"`
				Up   bool   `json:"up"`
			} `json:"backends"`
		}
		if st, _ := c.admin.do("GET", "/volume-backends", nil, &out); st == http.StatusOK && len(out.Backends) == 1 && out.Backends[0].Up {
			return dir
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("the volume service never registered its backend:\n%s", tail(c.logs["volume"], 30))
	return ""
}

type volume struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	SizeGB      int    `json:"size_gb"`
	Fault       *string
	Attachments []struct {
		InstanceID string `json:"instance_id"`
		Device     string `json:"device"`
	} `json:"attachments"`
}

func (c *cloud) volume(id string) (volume, int) {
	c.t.Helper()
	var v volume
	st, _ := c.tenant.do("GET", "/volumes/"+id, nil, &v)
	return v, st
}

// waitVolume polls a volume until it has status ("gone": until it is
// deleted), failing early on error.
func (c *cloud) waitVolume(id, status string, within time.Duration) volume {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var v volume
	for time.Now().Before(deadline) {
		var st int
		v, st = c.volume(id)
		if status == "gone" && st == http.StatusNotFound {
			return v
		}
		if v.Status == status {
			return v
		}
		if v.Status == "error" && status != "error" {
			c.t.Fatalf("volume %s went to error: %v\n%s", id, deref(v.Fault), tail(c.logs["volume"], 20))
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("volume %s is %s (%s), not %s, after %s\nvolume service:\n%s\ncompute:\n%s", id, v.Status, deref(v.Fault), status,
		within, tail(c.logs["volume"], 20), tail(c.logs["compute"], 20))
	return v
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (c *cloud) createVolume(body map[string]any) string {
	c.t.Helper()
	var v volume
	c.tenant.mustStatus(http.StatusAccepted, "POST", "/volumes", body, &v)
	return v.ID
}

func (c *cloud) attach(instanceID, volumeID string) {
	c.t.Helper()
	c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances/"+instanceID+"/volume-attachments", map[string]any{"volume_id": volumeID}, nil)
	c.waitVolume(volumeID, "in-use", 60*time.Second)
}

func (c *cloud) detach(instanceID, volumeID string) {
	c.t.Helper()
	c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/instances/"+instanceID+"/volume-attachments/"+volumeID, nil, nil)
	c.waitVolume(volumeID, "available", 90*time.Second)
}

func serial(id string) string { return id[:20] }

// TestVolumesOnLibvirt: block storage on real parts — the file backend's
// volume service, libvirt hot-plugging virtio disks into running TCG guests
// that read and write them and report on their serial consoles; a guest
// booted from a volume is snapshotted (its boot volume, live) and the
// image boots another guest from a volume that has the first one's data.
func TestVolumesOnLibvirt(t *testing.T) {
	c := startCloud(t, 200*time.Millisecond)
	volDir := c.startVolumeService(200 * time.Millisecond)

	vm1, vm2 := c.launch("vol-a", ""), c.launch("vol-b", "")
	c.waitStatus(vm1, "ACTIVE", 3*time.Minute)
	c.waitStatus(vm2, "ACTIVE", 3*time.Minute)
	c.waitConsole(vm1, 3*time.Minute, "STRATUS-GUEST-READY")
	c.waitConsole(vm2, 3*time.Minute, "STRATUS-GUEST-READY")

	// A blank volume attached to a running guest: the guest sees a virtio
	// disk whose serial is the volume ID, and writes its marker on it.
	v1 := c.createVolume(map[string]any{"name": "data", "size_gb": 1})
	c.waitVolume(v1, "available", time.Minute)
	start := time.Now()
	c.attach(vm1, v1)
	c.waitConsole(vm1, 2*time.Minute, "STRATUS-VOL vdb serial="+serial(v1), "STRATUS-VOL-WROTE vdb serial="+serial(v1))
	t.Logf("attach → guest sees the disk: %s", time.Since(start).Round(10*time.Millisecond))

	// An in-use volume cannot be attached again.
	if st, body := c.tenant.do("POST", "/instances/"+vm2+"/volume-attachments", map[string]any{"volume_id": v1}, nil); st != http.StatusConflict {
		t.Fatalf("attaching an in-use volume: %d %s, want 409", st, body)
	}

	// Detach: the guest releases the disk; attach to the second guest,
	// which reads the first one's marker.
	c.detach(vm1, v1)
	c.waitConsole(vm1, time.Minute, "STRATUS-VOL-GONE vdb serial="+serial(v1))
	c.attach(vm2, v1)
	c.waitConsole(vm2, 2*time.Minute, "STRATUS-VOL vdb serial="+serial(v1)+" sectors=2097152 mark=STRATUS-MARK-"+serial(v1))

	// A snapshot of the in-use volume (force), and a volume from it that
	// has the marker.
	if st, _ := c.tenant.do("POST", "/volume-snapshots", map[string]any{"volume_id": v1, "name": "s1"}, nil); st != http.StatusConflict {
		t.Fatalf("snapshot of an in-use volume without force: %d, want 409", st)
	}
	var snap struct{ ID string }
	c.tenant.mustStatus(http.StatusAccepted, "POST", "/volume-snapshots", map[string]any{"volume_id": v1, "name": "s1", "force": true}, &snap)
	waitSnapshot(c, snap.ID, "available")
	v2 := c.createVolume(map[string]any{"name": "restored", "snapshot_id": snap.ID})
	c.waitVolume(v2, "available", time.Minute)
	c.attach(vm1, v2)
	c.waitConsole(vm1, 2*time.Minute, "STRATUS-VOL vdb serial="+serial(v2)+" sectors=2097152 mark=STRATUS-MARK-"+serial(v1))

	// Extend in use: the guest sees the new size.
	c.tenant.mustStatus(http.StatusAccepted, "POST", "/volumes/"+v1+"/actions", map[string]any{"action": "extend", "new_size_gb": 2}, nil)
	c.waitVolume(v1, "in-use", time.Minute)
	c.waitConsole(vm2, time.Minute, "STRATUS-VOL vdb serial="+serial(v1)+" sectors=4194304")
	if v, _ := c.volume(v1); v.SizeGB != 2 {
		t.Fatalf("extended volume is %d GB", v.SizeGB)
	}

	// Deleting an attached volume, or one with snapshots, says why.
	if st, body := c.tenant.do("DELETE", "/volumes/"+v1, nil, nil); st != http.StatusConflict || !strings.Contains(body, "attached") {
		t.Fatalf("deleting an attached volume: %d %s", st, body)
	}

	// Boot from a volume made from the image: its root disk is the volume.
	c.detach(vm1, v2)
	c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/instances/"+vm1, nil, nil)
	var launched struct {
		Instances []instance `json:"instances"`
	}
	c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances", map[string]any{"name": "vol-boot", "flavor": c.flavor,
		"boot_volume": map[string]any{"source": "image", "id": c.imageID, "size_gb": 1, "delete_on_termination": true}}, &launched)
	vm3 := launched.Instances[0].ID
	c.waitStatus(vm3, "ACTIVE", 4*time.Minute)
	var bootVols struct {
		Volumes []volume `json:"volumes"`
	}
	c.tenant.must("GET", "/instances/"+vm3+"/volume-attachments", nil, &bootVols)
	if len(bootVols.Volumes) != 1 || bootVols.Volumes[0].Attachments[0].Device != "vda" {
		t.Fatalf("boot volumes %+v", bootVols.Volumes)
	}
	bootVol := bootVols.Volumes[0].ID
	c.waitConsole(vm3, 3*time.Minute, "STRATUS-GUEST-BOOTED", "STRATUS-VOL vda serial="+serial(bootVol), "STRATUS-VOL-WROTE vda serial="+serial(bootVol))

	// A snapshot of the volume-backed instance snapshots its boot volume
	// (live, crash-consistent): an image without data that maps it.
	// Launched, the image boots from a new volume made from the snapshot,
	// which has the marker the guest wrote on the first one.
	var snapped struct {
		SnapshotImageID string `json:"snapshot_image_id"`
	}
	c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances/"+vm3+"/actions", map[string]any{"action": "snapshot", "name": "vol-boot-snap"}, &snapped)
	var bootSnap struct {
		Status     string            `json:"status"`
		Size       int64             `json:"size"`
		Properties map[string]string `json:"properties"`
	}
	for deadline := time.Now().Add(2 * time.Minute); bootSnap.Status != "active"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) || bootSnap.Status == "killed" {
			t.Fatalf("the volume-backed instance's snapshot image is %q\n%s", bootSnap.Status, tail(c.logs["compute"], 20))
		}
		c.tenant.must("GET", "/images/"+snapped.SnapshotImageID, nil, &bootSnap)
	}
	if bootSnap.Size != 0 || bootSnap.Properties["bdm_v2"] != "True" || !strings.Contains(bootSnap.Properties["block_device_mapping"], `"source_type":"snapshot"`) {
		t.Fatalf("the volume-backed instance's snapshot image %+v", bootSnap)
	}
	c.waitStatus(vm3, "ACTIVE", time.Minute)
	c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances", map[string]any{"name": "vol-boot-2", "flavor": c.flavor,
		"image": snapped.SnapshotImageID}, &launched)
	vm4 := launched.Instances[0].ID
	c.waitStatus(vm4, "ACTIVE", 4*time.Minute)
	c.tenant.must("GET", "/instances/"+vm4+"/volume-attachments", nil, &bootVols)
	if len(bootVols.Volumes) != 1 || bootVols.Volumes[0].ID == bootVol {
		t.Fatalf("the snapshot's instance's volumes %+v", bootVols.Volumes)
	}
	bootVol2 := bootVols.Volumes[0].ID
	c.waitConsole(vm4, 3*time.Minute, "STRATUS-GUEST-BOOTED", "STRATUS-VOL vda serial="+serial(bootVol2)+" sectors=2097152 mark=STRATUS-MARK-"+serial(bootVol))

	// Delete everything: the backend directory and libvirt hold nothing.
	c.detach(vm2, v1)
	for _, id := range []string{vm2, vm3, vm4} {
		c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/instances/"+id, nil, nil)
	}
	c.waitVolume(bootVol2, "gone", 2*time.Minute) // delete_on_termination
	// The first boot volume has a snapshot: it is kept, available.
	c.waitVolume(bootVol, "available", 2*time.Minute)
	// Deleting the image leaves the volume snapshot (Nova's behaviour).
	c.tenant.mustStatus(http.StatusNoContent, "DELETE", "/images/"+snapped.SnapshotImageID, nil, nil)
	bdmSnap := regexp.MustCompile(`"snapshot_id":"([0-9a-f-]{36})"`).FindStringSubmatch(bootSnap.Properties["block_device_mapping"])
	if bdmSnap == nil {
		t.Fatalf("no snapshot_id in %s", bootSnap.Properties["block_device_mapping"])
	}
	waitSnapshot(c, bdmSnap[1], "available")
	c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/volume-snapshots/"+bdmSnap[1], nil, nil)
	waitSnapshot(c, bdmSnap[1], "gone")
	c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/volumes/"+bootVol, nil, nil)
	c.waitVolume(bootVol, "gone", 2*time.Minute)
	c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/volumes/"+v2, nil, nil)
	c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/volume-snapshots/"+snap.ID, nil, nil)
	waitSnapshot(c, snap.ID, "gone")
	c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/volumes/"+v1, nil, nil)
	for _, id := range []string{v1, v2} {
		c.waitVolume(id, "gone", 2*time.Minute)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		entries, _ := os.ReadDir(volDir)
		doms := c.lab.Domains()
		if len(entries) == 0 && len(doms) == 0 {
			break
		}
		if time.Now().After(deadline) {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Fatalf("left behind: files %v, domains %v\n%s", names, doms, tail(c.logs["volume"], 20))
		}
		time.Sleep(time.Second)
	}
}

var snapshotStatus = regexp.MustCompile(`"status":"([a-z]+)"`)

func waitSnapshot(c *cloud, id, status string) {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		st, body := c.tenant.do("GET", "/volume-snapshots/"+id, nil, nil)
		if status == "gone" && st == http.StatusNotFound {
			return
		}
		if m := snapshotStatus.FindStringSubmatch(body); m != nil {
			last = m[1]
			if last == status {
				return
			}
			if last == "error" {
				c.t.Fatalf("snapshot %s went to error: %s\n%s", id, body, tail(c.logs["compute"], 20))
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("snapshot %s is %s, not %s\n%s", id, last, status, fmt.Sprint(tail(c.logs["volume"], 20)))
}
