package openstack_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/instanceactions"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/utils"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"stratus/models"
	"stratus/models/storetest"
)

// uploadImage creates an image through Glance's API and uploads data; it
// checks the checksums Glance clients verify.
func uploadImage(t *testing.T, ic *gophercloud.ServiceClient, name string, data []byte) string {
	t.Helper()
	ctx := context.Background()
	im, err := images.Create(ctx, ic, images.CreateOpts{Name: name, DiskFormat: "raw", ContainerFormat: "bare",
		Tags: []string{"test"}, Properties: map[string]string{"os_distro": "busybox"}}).Extract()
	must(t, err, "create image")
	if im.Status != images.ImageStatusQueued || im.Visibility != images.ImageVisibilityShared {
		t.Fatalf("new image: status %s visibility %s, want queued and shared (Glance's default)", im.Status, im.Visibility)
	}
	must(t, imagedata.Upload(ctx, ic, im.ID, bytes.NewReader(data)).ExtractErr(), "upload")
	im, err = images.Get(ctx, ic, im.ID).Extract()
	must(t, err, "get image")
	md := md5.Sum(data)
	sha := sha256.Sum256(data)
	if im.Status != images.ImageStatusActive || im.SizeBytes != int64(len(data)) || im.Checksum != hex.EncodeToString(md[:]) {
		t.Fatalf("uploaded image: %s, %d bytes, checksum %s", im.Status, im.SizeBytes, im.Checksum)
	}
	if im.Properties["os_hash_algo"] != "sha256" || im.Properties["os_hash_value"] != hex.EncodeToString(sha[:]) ||
		im.Properties["os_distro"] != "busybox" || len(im.Tags) != 1 || im.Tags[0] != "test" {
		t.Fatalf("uploaded image: properties %v tags %v", im.Properties, im.Tags)
	}
	return im.ID
}

func waitServer(t *testing.T, cc *gophercloud.ServiceClient, id string, done func(s *servers.Server, err error) bool) *servers.Server {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := servers.Get(context.Background(), cc, id).Extract()
		if done(s, err) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s: still %+v (%v)", id, s, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func status(want string) func(*servers.Server, error) bool {
	return func(s *servers.Server, err error) bool { return err == nil && s.Status == want }
}

// The flows of a Terraform user, through gophercloud: token and catalog,
// microversion negotiation, images with their data, key pairs, a server
// through its life (create, show, rename, stop, start, reboot, console
// output, action log, delete), paging through a list, and another
// project's server and image answering 404.
func TestGophercloudFlows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloud(t, s, "h1", "h2")
		p := c.provider("demo", demoPassword, "demo")

		// The token is a Stratus API token and names the project.
		ic := c.identity(p)
		tok := p.Token()
		if !strings.HasPrefix(tok, "stk_") {
			t.Fatalf("token %q is not a Stratus token", tok)
		}
		got, err := tokens.Get(ctx, ic, tok).ExtractProject()
		must(t, err, "validate token")
		if got.Name != "demo" {
			t.Errorf("token project %+v", got)
		}
		cat, err := tokens.Get(ctx, ic, tok).ExtractServiceCatalog()
		must(t, err, "token catalog")
		types := map[string]bool{}
		for _, e := range cat.Entries {
			types[e.Type] = len(e.Endpoints) == 3
		}
		if !types["identity"] || !types["compute"] || !types["image"] {
			t.Errorf("catalog %+v", types)
		}

		// Microversions: the version document says 2.1–2.79; the client
		// picks one; one out of range is refused with 406.
		cc := c.compute(p, "")
		mv, err := utils.GetSupportedMicroversions(ctx, cc)
		must(t, err, "microversions")
		if mv.MinMajor != 2 || mv.MinMinor != 1 || mv.MaxMajor != 2 || mv.MaxMinor < 79 {
			t.Fatalf("microversions %+v", mv)
		}
		if ok, _ := mv.IsSupported("2.79"); !ok {
			t.Fatal("2.79 not supported")
		}
		cc.Microversion = "2.200"
		_, err = flavors.ListDetail(cc, nil).AllPages(ctx)
		if !gophercloud.ResponseCodeIs(err, http.StatusNotAcceptable) {
			t.Fatalf("microversion 2.200: %v, want 406", err)
		}
		cc.Microversion = "2.79"

		imc := c.image(p)
		data := bytes.Repeat([]byte("stratus image data "), 4096)
		imageID := uploadImage(t, imc, "busybox", data)
		rc, err := imagedata.Download(ctx, imc, imageID).Extract()
		must(t, err, "download")
		back, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(back, data) {
			t.Fatalf("downloaded %d bytes, uploaded %d", len(back), len(data))
		}

		fl, err := flavors.ListDetail(cc, nil).AllPages(ctx)
		must(t, err, "flavors")
		fls, _ := flavors.ExtractFlavors(fl)
		if len(fls) == 0 || fls[0].Name != "m1.nano" || fls[0].RAM != 128 {
			t.Fatalf("flavors %+v", fls)
		}
		kp, err := keypairs.Create(ctx, cc, keypairs.CreateOpts{Name: "k1"}).Extract()
		must(t, err, "create key pair")
		if kp.PrivateKey == "" || !strings.Contains(kp.Fingerprint, ":") {
			t.Errorf("generated key pair %+v", kp)
		}

		// Before 2.37 networks may be left out; since, they are required.
		_, err = servers.Create(ctx, cc, servers.CreateOpts{Name: "vm", ImageRef: imageID, FlavorRef: fls[0].ID}, nil).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Fatalf("2.79 create without networks: %v, want 400", err)
		}
		srv, err := servers.Create(ctx, cc, keypairs.CreateOptsExt{KeyName: "k1", CreateOptsBuilder: servers.CreateOpts{
			Name: "vm", ImageRef: imageID, FlavorRef: fls[0].ID, Networks: "none", UserData: []byte("#!/bin/sh\necho hi\n")}}, nil).Extract()
		must(t, err, "create server")
		vm := waitServer(t, cc, srv.ID, status("ACTIVE"))
		if vm.Flavor["original_name"] != "m1.nano" || vm.KeyName != "k1" || vm.HostID == "" || vm.Image["id"] != imageID {
			t.Errorf("server %+v", vm)
		}
		_, err = servers.Update(ctx, cc, srv.ID, servers.UpdateOpts{Name: "vm-renamed"}).Extract()
		must(t, err, "rename")
		must(t, servers.Stop(ctx, cc, srv.ID).ExtractErr(), "stop")
		waitServer(t, cc, srv.ID, status("SHUTOFF"))
		must(t, servers.Start(ctx, cc, srv.ID).ExtractErr(), "start")
		waitServer(t, cc, srv.ID, status("ACTIVE"))
		must(t, servers.Reboot(ctx, cc, srv.ID, servers.RebootOpts{Type: servers.HardReboot}).ExtractErr(), "reboot")
		vm = waitServer(t, cc, srv.ID, status("ACTIVE"))
		if vm.Name != "vm-renamed" {
			t.Errorf("name %q after rename", vm.Name)
		}
		_, err = servers.ShowConsoleOutput(ctx, cc, srv.ID, servers.ShowConsoleOutputOpts{Length: 10}).Extract()
		must(t, err, "console output")
		pages, err := instanceactions.List(cc, srv.ID, nil).AllPages(ctx)
		must(t, err, "instance actions")
		acts, _ := instanceactions.ExtractInstanceActions(pages)
		var names []string
		for _, a := range acts {
			names = append(names, a.Action)
			if !strings.HasPrefix(a.RequestID, "req-") {
				t.Errorf("action %s request id %q", a.Action, a.RequestID)
			}
		}
		if strings.Join(names, ",") != "reboot,start,stop,update,create" {
			t.Errorf("actions %v", names)
		}

		// Paging: five more servers in one request, listed two by two.
		_, err = servers.Create(ctx, cc, servers.CreateOpts{Name: "many", ImageRef: imageID, FlavorRef: fls[0].ID,
			Networks: "none", Min: 5, Max: 5}, nil).Extract()
		must(t, err, "create five servers")
		firstPage := 0
		seen := map[string]bool{}
		err = servers.List(cc, servers.ListOpts{Limit: 2}).EachPage(ctx, func(_ context.Context, pg pagination.Page) (bool, error) {
			list, err := servers.ExtractServers(pg)
			if firstPage == 0 {
				firstPage = len(list)
			}
			for _, s := range list {
				seen[s.ID] = true
			}
			return true, err
		})
		must(t, err, "page through servers")
		if firstPage != 2 || len(seen) != 6 {
			t.Errorf("paging: first page %d, %d distinct servers, want 2 and 6", firstPage, len(seen))
		}

		// Another project: the server and the (shared, not shared with it)
		// image are not found.
		admin := c.provider("admin", adminPassword, "admin")
		idc := c.identity(admin)
		pr, err := projects.Create(ctx, idc, projects.CreateOpts{Name: "other"}).Extract()
		must(t, err, "create project")
		u, err := users.Create(ctx, idc, users.CreateOpts{Name: "eve", Password: "eve-password-1"}).Extract()
		must(t, err, "create user")
		must(t, roles.Assign(ctx, idc, "member", roles.AssignOpts{UserID: u.ID, ProjectID: pr.ID}).ExtractErr(), "assign")
		eve := c.provider("eve", "eve-password-1", "other")
		_, err = servers.Get(ctx, c.compute(eve, "2.79"), srv.ID).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("another project's server: %v, want 404", err)
		}
		_, err = images.Get(ctx, c.image(eve), imageID).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("another project's image: %v, want 404", err)
		}
		// The operator sees every project's servers, with the host (of the
		// active one: the five just asked for may not be placed yet).
		all, err := servers.List(c.compute(admin, "2.79"), servers.ListOpts{AllTenants: true}).AllPages(ctx)
		must(t, err, "all servers")
		allList, _ := servers.ExtractServers(all)
		host := "(not listed)"
		for _, s := range allList {
			if s.ID == srv.ID {
				host = s.Host
			}
		}
		if len(allList) != 6 || host == "" || host == "(not listed)" {
			t.Errorf("operator's list: %d servers, the active one's host %q", len(allList), host)
		}

		// Delete, and the server is gone (404) once its host destroyed it.
		must(t, servers.Delete(ctx, cc, srv.ID).ExtractErr(), "delete")
		waitServer(t, cc, srv.ID, func(_ *servers.Server, err error) bool { return gophercloud.ResponseCodeIs(err, http.StatusNotFound) })

		// A revoked token is refused.
		must(t, tokens.Revoke(ctx, ic, tok).Err, "revoke")
		_, err = flavors.ListDetail(cc, nil).AllPages(ctx)
		if !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
			t.Errorf("revoked token: %v, want 401", err)
		}
	})
}
