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
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/instanceactions"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"stratus/models"
	"stratus/models/storetest"
)

// TestGophercloudServerLifecycle: Nova's pause, unpause, suspend and resume
// actions through gophercloud, with Nova's statuses and a 409 (Nova's
// conflictingRequest) for an action the state does not allow.
func TestGophercloudServerLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloud(t, s, "h1")
		p := c.provider("demo", demoPassword, "demo")
		cc := c.compute(p, "2.79")
		imageID := uploadImage(t, c.image(p), "busybox", bytes.Repeat([]byte("disk "), 1024))
		fl, err := flavors.ListDetail(cc, nil).AllPages(ctx)
		must(t, err, "flavors")
		fls, _ := flavors.ExtractFlavors(fl)
		srv, err := servers.Create(ctx, cc, servers.CreateOpts{Name: "vm", ImageRef: imageID, FlavorRef: fls[0].ID, Networks: "none"}, nil).Extract()
		must(t, err, "create server")
		waitServer(t, cc, srv.ID, status("ACTIVE"))

		err = servers.Unpause(ctx, cc, srv.ID).ExtractErr()
		if !gophercloud.ResponseCodeIs(err, http.StatusConflict) || !strings.Contains(err.Error(), "ACTIVE") {
			t.Fatalf("unpause an ACTIVE server: %v, want 409 naming ACTIVE", err)
		}
		for _, step := range []struct {
			name string
			do   func(context.Context, *gophercloud.ServiceClient, string) error
			want string
		}{
			{"pause", func(ctx context.Context, c *gophercloud.ServiceClient, id string) error {
				return servers.Pause(ctx, c, id).ExtractErr()
			}, "PAUSED"},
			{"unpause", func(ctx context.Context, c *gophercloud.ServiceClient, id string) error {
				return servers.Unpause(ctx, c, id).ExtractErr()
			}, "ACTIVE"},
			{"suspend", func(ctx context.Context, c *gophercloud.ServiceClient, id string) error {
				return servers.Suspend(ctx, c, id).ExtractErr()
			}, "SUSPENDED"},
			{"resume", func(ctx context.Context, c *gophercloud.ServiceClient, id string) error {
				return servers.Resume(ctx, c, id).ExtractErr()
			}, "ACTIVE"},
		} {
			must(t, step.do(ctx, cc, srv.ID), step.name)
			vm := waitServer(t, cc, srv.ID, func(s *servers.Server, err error) bool {
				return err == nil && s.Status == step.want && s.TaskState == ""
			})
			if vm.VmState != strings.ToLower(step.want) && !(step.want == "ACTIVE" && vm.VmState == "active") {
				t.Errorf("after %s: vm_state %q", step.name, vm.VmState)
			}
		}

		// createImage: 202 with the image's ID (2.45+); the image ends
		// active, private, a snapshot of the server; the log says
		// createImage.
		imageID, err = servers.CreateImage(ctx, cc, srv.ID, servers.CreateImageOpts{Name: "vm-snap"}).ExtractImageID()
		must(t, err, "createImage")
		ic := c.image(p)
		deadline := time.Now().Add(20 * time.Second)
		var im *images.Image
		for {
			im, err = images.Get(ctx, ic, imageID).Extract()
			must(t, err, "get snapshot image")
			if im.Status == images.ImageStatusActive || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if im.Status != images.ImageStatusActive || im.Visibility != images.ImageVisibilityPrivate || im.Properties["image_type"] != "snapshot" ||
			im.Properties["instance_uuid"] != srv.ID || im.Properties["owner_user_name"] != "demo" || im.Properties["user_id"] == "" {
			t.Fatalf("snapshot image %+v", im)
		}
		pages, err := instanceactions.List(cc, srv.ID, nil).AllPages(ctx)
		must(t, err, "instance actions")
		acts, _ := instanceactions.ExtractInstanceActions(pages)
		if len(acts) == 0 || acts[0].Action != "createImage" {
			t.Errorf("latest action %+v", acts)
		}
		_, err = cc.Post(ctx, cc.ServiceURL("servers", srv.ID, "action"), map[string]any{"createImage": map[string]any{}}, nil, nil)
		if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "createImage.name") {
			t.Errorf("createImage without a name: %v, want 400 naming the field", err)
		}
	})
}
