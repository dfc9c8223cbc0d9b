package openstack_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"stratus/models"
	"stratus/models/storetest"
)

// TestNovaUnshelveIntoAZone: from microversion 2.77 an unshelve may name
// an availability zone, as Nova's does; the server is placed again in that
// zone (here on h2, the only host there). Before 2.77 the field is refused
// with 400 naming it, and so is a zone no host is in.
func TestNovaUnshelveIntoAZone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloud(t, s, "h1")
		h1, err := s.GetHost(ctx, "h1")
		must(t, err, "host h1")
		_, err = s.RegisterHost(ctx, models.HostInventory{Name: "h2", AvailabilityZone: "az2", Driver: h1.Driver,
			HypervisorType: h1.HypervisorType, Arch: h1.Arch, VCPUs: 64, RAMMB: 262144, DiskGB: 4000,
			CPURatio: 1, RAMRatio: 1, DiskRatio: 1, AgentID: "test-h2"})
		must(t, err, "register h2 in zone az2")

		p := c.provider("demo", demoPassword, "demo")
		cc := c.compute(p, "2.79")
		imageID := uploadImage(t, c.image(p), "busybox", bytes.Repeat([]byte("disk "), 1024))
		fl, err := flavors.ListDetail(cc, nil).AllPages(ctx)
		must(t, err, "flavors")
		fls, _ := flavors.ExtractFlavors(fl)
		srv, err := servers.Create(ctx, cc, servers.CreateOpts{Name: "vm", ImageRef: imageID, FlavorRef: fls[0].ID, Networks: "none",
			AvailabilityZone: "nova"}, nil).Extract()
		must(t, err, "create server")
		waitServer(t, cc, srv.ID, status("ACTIVE"))
		must(t, servers.Shelve(ctx, cc, srv.ID).ExtractErr(), "shelve")
		waitServer(t, cc, srv.ID, status("SHELVED_OFFLOADED"))

		old := c.compute(p, "2.76")
		err = servers.Unshelve(ctx, old, srv.ID, servers.UnshelveOpts{AvailabilityZone: "az2"}).ExtractErr()
		if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "availability_zone") {
			t.Fatalf("unshelve into a zone at 2.76: %v, want 400 naming availability_zone", err)
		}
		err = servers.Unshelve(ctx, cc, srv.ID, servers.UnshelveOpts{AvailabilityZone: "nowhere"}).ExtractErr()
		if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "availability_zone") {
			t.Fatalf("unshelve into a zone no host is in: %v, want 400 naming availability_zone", err)
		}
		must(t, s.HostHeartbeat(ctx, "h2", "test-h2"), "h2 heartbeat")
		must(t, servers.Unshelve(ctx, cc, srv.ID, servers.UnshelveOpts{AvailabilityZone: "az2"}).ExtractErr(), "unshelve into az2")
		admin := c.compute(c.provider("admin", adminPassword, "admin"), "2.79")
		var got *servers.Server
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if got, err = servers.Get(ctx, admin, srv.ID).Extract(); err == nil && got.Host != "" {
				break
			}
		}
		if got == nil || got.Host != "h2" || got.AvailabilityZone != "az2" {
			t.Fatalf("unshelved into az2: %+v %v, want on h2 in az2", got, err)
		}
	})
}
