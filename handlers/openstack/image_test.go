package openstack_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/members"

	"stratus/models"
	"stratus/models/storetest"
)

// Glance's metadata through gophercloud: a JSON patch (name, property
// added and removed, tags, protection), listing by tag and by exact name,
// paging, sharing with a member project (who then sees the image; others
// do not), a protected image refusing deletion.
func TestGophercloudImages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newCloud(t, s)
		ic := c.image(c.provider("demo", demoPassword, "demo"))
		id := uploadImage(t, ic, "base", []byte("some image bytes"))

		im, err := images.Update(ctx, ic, id, images.UpdateOpts{
			images.ReplaceImageName{NewName: "renamed"},
			images.UpdateImageProperty{Op: images.AddOp, Name: "hw_disk_bus", Value: "virtio"},
			images.UpdateImageProperty{Op: images.RemoveOp, Name: "os_distro"},
			images.ReplaceImageTags{NewTags: []string{"gold", "linux"}},
			images.ReplaceImageProtected{NewProtected: true},
		}).Extract()
		must(t, err, "patch")
		if im.Name != "renamed" || im.Properties["hw_disk_bus"] != "virtio" || im.Properties["os_distro"] != nil ||
			len(im.Tags) != 2 || !im.Protected {
			t.Fatalf("patched image %+v", im)
		}
		_, err = images.Update(ctx, ic, id, images.UpdateOpts{images.UpdateImageProperty{Op: images.ReplaceOp, Name: "status", Value: "active"}}).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
			t.Errorf("patch a read-only attribute: %v, want 403", err)
		}
		if err := images.Delete(ctx, ic, id).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
			t.Errorf("delete a protected image: %v, want 403", err)
		}

		for _, n := range []string{"b-two", "c-three"} {
			_, err := images.Create(ctx, ic, images.CreateOpts{Name: n}).Extract()
			must(t, err, "create "+n)
		}
		list := func(opts images.ListOpts) []images.Image {
			t.Helper()
			pages, err := images.List(ic, opts).AllPages(ctx)
			must(t, err, "list")
			out, _ := images.ExtractImages(pages)
			return out
		}
		if got := list(images.ListOpts{Tags: []string{"gold"}}); len(got) != 1 || got[0].ID != id {
			t.Errorf("by tag: %+v", got)
		}
		if got := list(images.ListOpts{Name: "b-two"}); len(got) != 1 {
			t.Errorf("by name: %+v", got)
		}
		if got := list(images.ListOpts{Limit: 1}); len(got) != 3 {
			t.Errorf("paged one by one: %d images, want 3", len(got))
		}

		// Sharing: the member project sees the image, another does not.
		other := c.otherProject(t, "viewers", "vera")
		stranger := c.otherProject(t, "strangers", "stan")
		vera := c.image(c.provider("vera", "vera-password-1", "viewers"))
		stan := c.image(c.provider("stan", "stan-password-1", "strangers"))
		if _, err := images.Get(ctx, vera, id).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("before sharing: %v, want 404", err)
		}
		m, err := members.Create(ctx, ic, id, other).Extract()
		must(t, err, "share")
		if m.MemberID != other || m.Status != "accepted" {
			t.Errorf("member %+v", m)
		}
		if got, err := images.Get(ctx, vera, id).Extract(); err != nil || got.Name != "renamed" {
			t.Errorf("the member sees %+v (%v)", got, err)
		}
		if _, err := images.Get(ctx, stan, id).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("a stranger: %v, want 404", err)
		}
		pages, err := members.List(vera, id).AllPages(ctx)
		must(t, err, "member's list")
		if ms, _ := members.ExtractMembers(pages); len(ms) != 1 || ms[0].MemberID != other {
			t.Errorf("the member lists %+v", ms)
		}
		if _, err := members.Create(ctx, vera, id, stranger).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
			t.Errorf("a member shares further: %v, want 403", err)
		}
		must(t, members.Delete(ctx, ic, id, other).ExtractErr(), "unshare")
		if _, err := images.Get(ctx, vera, id).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("after unsharing: %v, want 404", err)
		}
	})
}

// otherProject creates a project with a member user (password
// "<user>-password-1") and returns the project's ID.
func (c *cloud) otherProject(t *testing.T, project, user string) string {
	t.Helper()
	ctx := context.Background()
	boot := models.Caller{UserName: "test"}
	p, err := c.store.CreateProject(ctx, boot, models.ProjectInput{Name: project})
	must(t, err, "project")
	_, _, err = c.store.CreateUserWithRole(ctx, boot, models.UserInput{Name: user, Password: user + "-password-1"},
		&models.AssignmentInput{Project: project, Role: "member"})
	must(t, err, "user")
	return p.ID
}
