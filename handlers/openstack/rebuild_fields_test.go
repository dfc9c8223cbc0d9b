package openstack_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"stratus/models"
	"stratus/models/storetest"
)

// rebuildBody is a rebuild's body as it goes on the wire: gophercloud's
// RebuildOpts has no key_name, user_data or preserve_ephemeral.
type rebuildBody map[string]any

func (b rebuildBody) ToServerRebuildMap() (map[string]any, error) {
	return map[string]any{"rebuild": map[string]any(b)}, nil
}

// TestGophercloudRebuildKeyNameAndUserData: Nova's rebuild takes key_name
// from microversion 2.54 (a key pair, or null for none) and user_data from
// 2.57 (base64, or null for none), a 400 naming the field below them; an
// unknown key pair is Nova's 400 "Invalid key_name provided."; the rebuilt
// server has the new key pair and user data. preserve_ephemeral is a 400
// naming it for a server with an ephemeral disk (the rebuild makes it
// anew), and accepted for one without.
func TestGophercloudRebuildKeyNameAndUserData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloud(t, s, "h1")
		p := c.provider("demo", demoPassword, "demo")
		cc := c.compute(p, "2.79")
		image := uploadImage(t, c.image(p), "busybox", bytes.Repeat([]byte("disk "), 1024))
		for _, name := range []string{"old", "new"} {
			if _, err := keypairs.Create(ctx, cc, keypairs.CreateOpts{Name: name}).Extract(); err != nil {
				t.Fatalf("key pair %s: %v", name, err)
			}
		}
		fl, err := flavors.ListDetail(cc, nil).AllPages(ctx)
		must(t, err, "flavors")
		fls, _ := flavors.ExtractFlavors(fl)
		srv, err := servers.Create(ctx, cc, keypairs.CreateOptsExt{
			CreateOptsBuilder: servers.CreateOpts{Name: "vm", ImageRef: image, FlavorRef: fls[0].ID, Networks: "none"},
			KeyName:           "old",
		}, nil).Extract()
		must(t, err, "create server")
		waitServer(t, cc, srv.ID, status("ACTIVE"))
		userData := func() string {
			t.Helper()
			inst, err := s.InstanceByID(ctx, srv.ID)
			must(t, err, "instance")
			return inst.UserData
		}

		refused := []struct {
			version string
			body    rebuildBody
			want    string
		}{
			{"2.53", rebuildBody{"imageRef": image, "key_name": "new"}, "key_name"},
			{"2.56", rebuildBody{"imageRef": image, "user_data": base64.StdEncoding.EncodeToString([]byte("hi"))}, "user_data"},
			{"2.79", rebuildBody{"imageRef": image, "key_name": "nope"}, "Invalid key_name provided"},
			{"2.79", rebuildBody{"imageRef": image, "key_name": ""}, "key_name"},
			{"2.79", rebuildBody{"imageRef": image, "key_name": 7}, "key_name"},
			{"2.79", rebuildBody{"imageRef": image, "user_data": "not base64!"}, "user_data"},
			{"2.79", rebuildBody{"imageRef": image, "preserve_ephemeral": "yes"}, "preserve_ephemeral"},
		}
		for _, r := range refused {
			_, err := servers.Rebuild(ctx, c.compute(p, r.version), srv.ID, r.body).Extract()
			if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) || !strings.Contains(err.Error(), r.want) {
				t.Errorf("rebuild at %s with %v: %v, want 400 naming %s", r.version, r.body, err, r.want)
			}
		}
		if got := waitServer(t, cc, srv.ID, status("ACTIVE")); got.KeyName != "old" {
			t.Fatalf("refused rebuilds changed the key pair to %q", got.KeyName)
		}

		got, err := servers.Rebuild(ctx, cc, srv.ID, rebuildBody{"imageRef": image, "key_name": "new",
			"user_data": base64.StdEncoding.EncodeToString([]byte("#cloud-config\n")), "preserve_ephemeral": true}).Extract()
		must(t, err, "rebuild with key_name and user_data")
		if got.Status != "REBUILD" || got.KeyName != "new" {
			t.Fatalf("rebuild answered %s with key %q", got.Status, got.KeyName)
		}
		if got = waitServer(t, cc, srv.ID, status("ACTIVE")); got.KeyName != "new" || userData() != "#cloud-config\n" {
			t.Fatalf("rebuilt: key %q, user data %q", got.KeyName, userData())
		}
		// Absent keeps them (and any microversion may rebuild without them).
		must(t, servers.Rebuild(ctx, c.compute(p, "2.1"), srv.ID, rebuildBody{"imageRef": image}).Err, "plain rebuild")
		if got = waitServer(t, cc, srv.ID, status("ACTIVE")); got.KeyName != "new" || userData() != "#cloud-config\n" {
			t.Fatalf("rebuilt without them: key %q, user data %q", got.KeyName, userData())
		}
		// null unsets them.
		must(t, servers.Rebuild(ctx, cc, srv.ID, rebuildBody{"imageRef": image, "key_name": nil, "user_data": nil}).Err, "rebuild with nulls")
		if got = waitServer(t, cc, srv.ID, status("ACTIVE")); got.KeyName != "" || userData() != "" {
			t.Fatalf("rebuilt with nulls: key %q, user data %q", got.KeyName, userData())
		}

		// A server with an ephemeral disk: preserve_ephemeral is refused.
		op := c.compute(c.provider("admin", adminPassword, "admin"), "2.79")
		disk, eph := 1, 1
		fv, err := flavors.Create(ctx, op, flavors.CreateOpts{Name: "m1.eph", RAM: 64, VCPUs: 1, Disk: &disk, Ephemeral: &eph}).Extract()
		must(t, err, "flavor with an ephemeral disk")
		srv2, err := servers.Create(ctx, cc, servers.CreateOpts{Name: "vm-eph", ImageRef: image, FlavorRef: fv.ID, Networks: "none"}, nil).Extract()
		must(t, err, "create server with an ephemeral disk")
		waitServer(t, cc, srv2.ID, status("ACTIVE"))
		_, err = servers.Rebuild(ctx, cc, srv2.ID, rebuildBody{"imageRef": image, "preserve_ephemeral": true}).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "preserve_ephemeral") {
			t.Fatalf("rebuild keeping an ephemeral disk: %v, want 400 naming preserve_ephemeral", err)
		}
		must(t, servers.Rebuild(ctx, cc, srv2.ID, rebuildBody{"imageRef": image, "preserve_ephemeral": false}).Err, "rebuild making the ephemeral disk anew")
		waitServer(t, cc, srv2.ID, status("ACTIVE"))
	})
}
