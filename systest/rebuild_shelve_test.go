package systest

import (
	"net/http"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"stratus/systest/lab"
)

// TestRebuildShelveOnLibvirt, on a real libvirt host:
//   - shelve: the guest wrote a marker on its root disk; the instance goes
//     SHELVED_OFFLOADED, its domain gone from libvirt and its host's
//     allocation freed, the disk kept in the image "<name>-shelved";
//     unshelve boots it from that image, ACTIVE with the same ID and
//     address, and the guest finds its marker; the image is removed.
//   - rebuild from another image: the same ID and address, and the guest
//     on the serial console reports the new image's marker and the new
//     user data (and no longer the old disk's marker).
func TestRebuildShelveOnLibvirt(t *testing.T) {
	c := startCloud(t, 200*time.Millisecond)
	var net struct {
		ID string `json:"id"`
	}
	c.tenant.must("POST", "/networks", map[string]any{"name": "shelfnet"}, &net)
	c.tenant.must("POST", "/subnets", map[string]any{"network_id": net.ID, "cidr": "10.40.0.0/24"}, nil)
	var base struct {
		Properties map[string]string `json:"properties"`
	}
	c.tenant.must("GET", "/images/"+c.imageID, nil, &base)
	disk := filepath.Join(c.dir, "rebuilt.img")
	lab.ImageDisk(t, disk, "rebuilt")
	other := c.tenant.uploadImage("lab-guest-rebuilt", "raw", disk,
		map[string]string{"kernel_id": base.Properties["kernel_id"], "ramdisk_id": base.Properties["ramdisk_id"]})

	var out struct {
		Instances []instance `json:"instances"`
	}
	c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances", map[string]any{"name": "shelfy", "flavor": c.flavor, "image": c.imageID,
		"keypair": "labkey", "user_data": "STRATUS-WRITEROOT-shelf1 STRATUS-USERDATA-one", "networks": []map[string]string{{"network": "shelfnet"}}}, &out)
	vm := out.Instances[0].ID
	c.waitStatus(vm, "ACTIVE", 3*time.Minute)
	c.waitConsole(vm, 3*time.Minute, "STRATUS-ROOT image=none mark=none", "STRATUS-ROOT-WROTE shelf1", lab.MarkerReady)
	addrs := c.addresses(vm)
	if len(addrs) == 0 {
		t.Fatal("the instance has no address")
	}

	// Shelve.
	var res struct {
		ShelveImageID string `json:"shelve_image_id"`
	}
	start := time.Now()
	c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances/"+vm+"/actions", map[string]any{"action": "shelve"}, &res)
	if res.ShelveImageID == "" {
		t.Fatal("shelve named no image")
	}
	in := c.waitStatus(vm, "SHELVED_OFFLOADED", 3*time.Minute)
	t.Logf("shelve (stop the guest, copy and upload its 1 GB root disk holding about 1 MB, destroy): %s", time.Since(start).Round(10*time.Millisecond))
	if in.PowerState != "nostate" {
		t.Fatalf("shelved: power_state %s", in.PowerState)
	}
	if o, err := c.lab.Virsh("domstate", "stratus-"+vm); err == nil {
		t.Fatalf("the shelved domain is still defined: %s", o)
	}
	var host struct {
		UsedRAMMB     int `json:"used_ram_mb"`
		UsedVCPUs     int `json:"used_vcpus"`
		InstanceCount int `json:"instance_count"`
	}
	c.admin.must("GET", "/hosts/hv1", nil, &host)
	if host.UsedRAMMB != 0 || host.UsedVCPUs != 0 || host.InstanceCount != 0 {
		t.Fatalf("hv1 still holds %+v for the shelved instance", host)
	}
	var im struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	}
	c.tenant.must("GET", "/images/"+res.ShelveImageID, nil, &im)
	if im.Name != "shelfy-shelved" || im.Status != "active" {
		t.Fatalf("shelve image %+v", im)
	}
	if got := c.addresses(vm); !reflect.DeepEqual(got, addrs) {
		t.Fatalf("the shelved instance's addresses %v, were %v", got, addrs)
	}

	// Unshelve: the same guest disk, marker and all.
	start = time.Now()
	c.act(vm, map[string]any{"action": "unshelve"})
	c.waitStatus(vm, "ACTIVE", 3*time.Minute)
	c.waitConsole(vm, 3*time.Minute, "STRATUS-ROOT image=none mark=STRATUS-ROOTMARK-shelf1")
	t.Logf("unshelve to the guest's marker: %s", time.Since(start).Round(10*time.Millisecond))
	if c.domState(vm) != "running" {
		t.Fatalf("unshelved: libvirt %q", c.domState(vm))
	}
	if got := c.addresses(vm); !reflect.DeepEqual(got, addrs) {
		t.Fatalf("unshelved with addresses %v, were %v", got, addrs)
	}
	if st, _ := c.tenant.do("GET", "/images/"+res.ShelveImageID, nil, &im); st != http.StatusNotFound && im.Status != "deleted" {
		t.Fatalf("the shelve image is still there after unshelve: %d %+v", st, im)
	}

	// Rebuild from the other image.
	start = time.Now()
	c.act(vm, map[string]any{"action": "rebuild", "image": other, "user_data": "STRATUS-USERDATA-two"})
	c.waitStatus(vm, "ACTIVE", 3*time.Minute)
	// Only a guest on a new disk from the other image prints this line:
	// the old disk had no image marker and carried the shelf1 mark.
	c.waitConsole(vm, 3*time.Minute, "STRATUS-ROOT image=STRATUS-IMAGE-rebuilt mark=none", "STRATUS-USERDATA-FOUND STRATUS-USERDATA-two", lab.MarkerReady)
	t.Logf("rebuild to the new guest's marker: %s", time.Since(start).Round(10*time.Millisecond))
	var got struct {
		ID    string `json:"id"`
		Image struct {
			ID string `json:"id"`
		} `json:"image"`
	}
	c.tenant.must("GET", "/instances/"+vm, nil, &got)
	if got.ID != vm || got.Image.ID != other {
		t.Fatalf("rebuilt instance %+v", got)
	}
	if a := c.addresses(vm); !reflect.DeepEqual(a, addrs) {
		t.Fatalf("rebuilt with addresses %v, were %v", a, addrs)
	}
	if c.domState(vm) != "running" {
		t.Fatalf("rebuilt: libvirt %q", c.domState(vm))
	}
}

// addresses are an instance's addresses as the API shows them.
func (c *cloud) addresses(id string) map[string][]map[string]any {
	c.t.Helper()
	var in struct {
		Addresses map[string][]map[string]any `json:"addresses"`
	}
	c.tenant.must("GET", "/instances/"+id, nil, &in)
	return in.Addresses
}
