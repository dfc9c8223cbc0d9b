package openstack_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"stratus/models"
	"stratus/models/storetest"
)

// TestGophercloudRebuildShelveUnshelve: Nova's rebuild (202 with the
// server, REBUILD then ACTIVE on the new image, same ID), shelve (to
// SHELVED_OFFLOADED on no host), shelveOffload (409: already offloaded)
// and unshelve (ACTIVE again) through gophercloud against the fake agent.
func TestGophercloudRebuildShelveUnshelve(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloud(t, s, "h1")
		p := c.provider("demo", demoPassword, "demo")
		cc := c.compute(p, "2.79")
		first := uploadImage(t, c.image(p), "busybox", bytes.Repeat([]byte("disk "), 1024))
		second := uploadImage(t, c.image(p), "busybox-2", bytes.Repeat([]byte("other"), 1024))
		fl, err := flavors.ListDetail(cc, nil).AllPages(ctx)
		must(t, err, "flavors")
		fls, _ := flavors.ExtractFlavors(fl)
		srv, err := servers.Create(ctx, cc, servers.CreateOpts{Name: "vm", ImageRef: first, FlavorRef: fls[0].ID, Networks: "none"}, nil).Extract()
		must(t, err, "create server")
		waitServer(t, cc, srv.ID, status("ACTIVE"))

		_, err = servers.Rebuild(ctx, cc, srv.ID, servers.RebuildOpts{ImageRef: "no-such-image"}).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "image") {
			t.Fatalf("rebuild from an unknown image: %v, want 400 naming the image", err)
		}
		got, err := servers.Rebuild(ctx, cc, srv.ID, servers.RebuildOpts{ImageRef: second, Name: "vm2"}).Extract()
		must(t, err, "rebuild")
		if got.ID != srv.ID || got.Status != "REBUILD" || got.Name != "vm2" {
			t.Fatalf("rebuild answered %s %s %q", got.ID, got.Status, got.Name)
		}
		vm := waitServer(t, cc, srv.ID, status("ACTIVE"))
		if vm.Image["id"] != second {
			t.Fatalf("rebuilt server's image %v, want %s", vm.Image, second)
		}

		must(t, servers.Shelve(ctx, cc, srv.ID).ExtractErr(), "shelve")
		vm = waitServer(t, cc, srv.ID, status("SHELVED_OFFLOADED"))
		if vm.VmState != "shelved_offloaded" || vm.HypervisorHostname != "" {
			t.Fatalf("shelved server: vm_state %q on %q", vm.VmState, vm.HypervisorHostname)
		}
		err = servers.ShelveOffload(ctx, cc, srv.ID).ExtractErr()
		if !gophercloud.ResponseCodeIs(err, http.StatusConflict) || !strings.Contains(err.Error(), "SHELVED_OFFLOADED") {
			t.Fatalf("shelveOffload of an offloaded server: %v, want 409 naming the state", err)
		}
		err = servers.Unshelve(ctx, cc, srv.ID, servers.UnshelveOpts{AvailabilityZone: "elsewhere"}).ExtractErr()
		if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "availability_zone") {
			t.Fatalf("unshelve into a zone no host is in: %v, want 400 naming availability_zone", err)
		}
		must(t, servers.Unshelve(ctx, cc, srv.ID, servers.UnshelveOpts{}).ExtractErr(), "unshelve")
		waitServer(t, cc, srv.ID, status("ACTIVE"))
		err = servers.Unshelve(ctx, cc, srv.ID, servers.UnshelveOpts{}).ExtractErr()
		if !gophercloud.ResponseCodeIs(err, http.StatusConflict) || !strings.Contains(err.Error(), "ACTIVE") {
			t.Fatalf("unshelve an active server: %v, want 409 naming ACTIVE", err)
		}
	})
}
