package allinone_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/allinone"
	"stratus/workers/virt"
)

// TestRebuildOnTheAgent: a rebuild destroys the domain and spawns it again
// from the new image, with the same ID and port (MAC, address) and the new
// key pair and user data; a stopped instance comes back stopped; a hypervisor that
// cannot spawn leaves the instance in ERROR with the reason.
func TestRebuildOnTheAgent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s, []string{"h1"}, 8192, func(c *allinone.Config) { c.Agent.NetworkSyncInterval = 50 * time.Millisecond })
		ctx := context.Background()
		n, err := s.CreateNetwork(ctx, b.member, models.NetworkInput{Name: "net1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSubnet(ctx, b.member, models.SubnetInput{NetworkID: n.ID, CIDR: "10.20.0.0/24"}); err != nil {
			t.Fatal(err)
		}
		im2, _ := s.CreateImage(ctx, b.member, models.ImageInput{Name: "busybox-2"})
		if _, err := s.UploadImage(ctx, b.member, im2.ID, bytes.NewReader([]byte("another raw disk"))); err != nil {
			t.Fatal(err)
		}
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros",
			Networks: []models.NetworkRequest{{Network: "net1"}}})
		if err != nil {
			t.Fatal(err)
		}
		id := insts[0].ID
		b.waitStatus(t, id, "ACTIVE")
		d := b.drivers["h1"]
		nics := d.NICs(id)
		if len(nics) != 1 {
			t.Fatalf("NICs %+v", nics)
		}
		key, err := s.CreateKeyPair(ctx, b.member, models.KeyPairInput{Name: "laptop"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RebuildInstance(ctx, b.member, id, models.RebuildRequest{Image: "busybox-2", KeyPair: ptr("laptop"),
			UserData: ptr("#!/bin/sh\necho rebuilt\n")}); err != nil {
			t.Fatal(err)
		}
		inst := b.waitStatus(t, id, "ACTIVE")
		if img, ud := d.BootImage(id); img != im2.ID || ud != "#!/bin/sh\necho rebuilt\n" {
			t.Fatalf("the rebuilt domain booted %q with user data %q", img, ud)
		}
		if name, pub := d.KeyPair(id); name != "laptop" || pub != key.PublicKey {
			t.Fatalf("the rebuilt domain has key pair %q %q, want laptop", name, pub)
		}
		if after := d.NICs(id); len(after) != 1 || after[0].MAC != nics[0].MAC || after[0].Subnets[0].IP != nics[0].Subnets[0].IP {
			t.Fatalf("NICs before %+v, after %+v", nics, after)
		}
		if inst.Host != "h1" || inst.ImageID != im2.ID || d.Domains()[id] != virt.Running {
			t.Fatalf("rebuilt: %+v, hypervisor %s", inst, d.Domains()[id])
		}

		// Stopped stays stopped.
		if _, err := s.PowerAction(ctx, b.member, id, models.PowerStop); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, id, "SHUTOFF")
		if _, err := s.RebuildInstance(ctx, b.member, id, models.RebuildRequest{Image: "cirros"}); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, id, "SHUTOFF")
		if img, _ := d.BootImage(id); img == im2.ID || d.Domains()[id] != virt.Shutdown {
			t.Fatalf("stopped rebuild: image %s, hypervisor %s", img, d.Domains()[id])
		}

		// The hypervisor refuses: ERROR, with the reason.
		d.FailNextSpawns(10, "no space left on device")
		if _, err := s.RebuildInstance(ctx, b.member, id, models.RebuildRequest{Image: "busybox-2"}); err != nil {
			t.Fatal(err)
		}
		inst = b.waitStatus(t, id, "ERROR")
		if !strings.Contains(inst.FaultMessage, "no space left on device") {
			t.Fatalf("fault %q", inst.FaultMessage)
		}
	})
}

// TestShelveOnTheAgent: shelve stops the guest, stores its root disk in
// "<name>-shelved", destroys the domain and frees the host and the port's
// binding (the port stays the instance's); unshelve places it through the
// scheduler — on the other host when its old one is full — boots it from
// that image with the same port, and removes the image.
func TestShelveOnTheAgent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		// One m1.nano per host.
		b := setup(t, s, []string{"h1", "h2"}, 128, func(c *allinone.Config) { c.Agent.NetworkSyncInterval = 50 * time.Millisecond })
		ctx := context.Background()
		n, err := s.CreateNetwork(ctx, b.member, models.NetworkInput{Name: "net1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSubnet(ctx, b.member, models.SubnetInput{NetworkID: n.ID, CIDR: "10.20.0.0/24"}); err != nil {
			t.Fatal(err)
		}
		insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros",
			Networks: []models.NetworkRequest{{Network: "net1"}}})
		if err != nil {
			t.Fatal(err)
		}
		id := insts[0].ID
		inst := b.waitStatus(t, id, "ACTIVE")
		first := inst.Host
		mac := b.drivers[first].NICs(id)[0].MAC
		_, im, err := s.ShelveInstance(ctx, b.member, id)
		if err != nil {
			t.Fatal(err)
		}
		inst = b.waitStatus(t, id, "SHELVED_OFFLOADED")
		if inst.Host != "" || inst.PowerState != models.PowerNoState {
			t.Fatalf("shelved on %q, power %s", inst.Host, inst.PowerState)
		}
		if _, ok := b.drivers[first].Domains()[id]; ok {
			t.Fatal("the shelved domain is still on its host")
		}
		if used := b.used(t, first); !strings.HasPrefix(used, "0 ") {
			t.Fatalf("%s still charged: %s", first, used)
		}
		saved, _ := s.GetImage(ctx, b.member, im.ID)
		if saved.Status != models.ImageActive || saved.Name != "vm-shelved" || saved.SizeBytes == 0 || saved.Properties["instance_uuid"] != id {
			t.Fatalf("shelve image %+v", saved)
		}
		ports, _ := s.ListPorts(ctx, b.member, models.PortFilter{DeviceID: []string{id}})
		if len(ports.Items) != 1 || ports.Items[0].MACAddress != mac || ports.Items[0].BindingHostID != "" || ports.Items[0].Status != models.PortDown {
			t.Fatalf("the shelved instance's ports: %+v", ports.Items)
		}
		acts, _ := s.ListInstanceActions(ctx, b.member, id)
		if acts[0].Action != "shelve" || acts[0].Result != models.ActionSuccess {
			t.Fatalf("shelve's log %+v", acts[0])
		}

		// Its old host fills up meanwhile: unshelve lands on the other.
		other, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "squatter", Flavor: "m1.nano", Image: "cirros"})
		if err != nil {
			t.Fatal(err)
		}
		squat := b.waitStatus(t, other[0].ID, "ACTIVE")
		if _, err := s.UnshelveInstance(ctx, b.member, id); err != nil {
			t.Fatal(err)
		}
		inst = b.waitStatus(t, id, "ACTIVE")
		if inst.Host == squat.Host || inst.Host == "" {
			t.Fatalf("unshelved on %q beside the squatter on %q", inst.Host, squat.Host)
		}
		d := b.drivers[inst.Host]
		if img, _ := d.BootImage(id); img != im.ID {
			t.Fatalf("unshelved from %q, want the shelve image %s", img, im.ID)
		}
		if nics := d.NICs(id); len(nics) != 1 || nics[0].MAC != mac {
			t.Fatalf("unshelved NICs %+v, want MAC %s", nics, mac)
		}
		if gone, _ := s.ImageByID(ctx, im.ID); gone.Status != models.ImageDeleted {
			t.Fatalf("the shelve image is %s after unshelve", gone.Status)
		}
		if inst.ImageID != insts[0].ImageID {
			t.Fatalf("the instance's image became %s", inst.ImageID)
		}

		// No room anywhere: it stays shelved, with the scheduler's reason.
		if _, _, err := s.ShelveInstance(ctx, b.member, id); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, id, "SHELVED_OFFLOADED")
		if _, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "squatter-2", Flavor: "m1.nano", Image: "cirros"}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "both hosts full", func() (bool, string) {
			u1, u2 := b.used(t, "h1"), b.used(t, "h2")
			return strings.HasPrefix(u1, "1 ") && strings.HasPrefix(u2, "1 "), u1 + " / " + u2
		})
		if _, err := s.UnshelveInstance(ctx, b.member, id); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "the unshelve to give up", func() (bool, string) {
			i := b.instance(t, id)
			return i.TaskState == models.TaskNone && i.FaultMessage != "", i.Status() + " " + string(i.TaskState)
		})
		if i := b.instance(t, id); i.Status() != "SHELVED_OFFLOADED" || !strings.Contains(i.FaultMessage, "unshelve failed") {
			t.Fatalf("unshelve without room: %s %q", i.Status(), i.FaultMessage)
		}
	})
}
func ptr[T any](v T) *T { return &v }

// TestShelveKeepsVolumes: a data volume attached to an instance stays
// attached (in use) while the instance is shelved, and the unshelved and
// the rebuilt domains have it again, by its serial and path.
func TestShelveKeepsVolumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b, _ := volumeCloud(t, s)
		ctx := context.Background()
		inst := b.launch(t, "vm", "m1.nano")
		v, err := s.CreateVolume(ctx, b.member, models.VolumeCreate{Name: "data", SizeGB: 1})
		if err != nil {
			t.Fatal(err)
		}
		b.waitVolume(t, v.ID, models.VolumeAvailable)
		if _, err := s.AttachVolume(ctx, b.member, inst.ID, v.ID); err != nil {
			t.Fatal(err)
		}
		v = b.waitVolume(t, v.ID, models.VolumeInUse)
		has := func(what string) {
			t.Helper()
			d := b.drivers["h1"].VolumeDisks(inst.ID)
			if len(d) != 1 || d[0].Serial != v.ID || d[0].Path != v.Connection.Path {
				t.Fatalf("%s: the domain's volumes %+v, want %s at %s", what, d, v.ID, v.Connection.Path)
			}
		}
		has("attached")
		if _, _, err := s.ShelveInstance(ctx, b.member, inst.ID); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, inst.ID, "SHELVED_OFFLOADED")
		if got := b.volume(t, v.ID); got.Status != models.VolumeInUse {
			t.Fatalf("the shelved instance's volume is %s", got.Status)
		}
		if _, err := s.UnshelveInstance(ctx, b.member, inst.ID); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, inst.ID, "ACTIVE")
		has("unshelved")
		if _, err := s.RebuildInstance(ctx, b.member, inst.ID, models.RebuildRequest{Image: "cirros"}); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, inst.ID, "ACTIVE")
		has("rebuilt")
	})
}
