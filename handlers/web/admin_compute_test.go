package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

func TestAdminComputePagesAreForOperatorsOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		member := c.browser(t)
		member.login("demo", demoPassword)
		nav := member.get("/")
		for _, key := range []string{"instances", "images", "keypairs", "flavors"} {
			if href, _ := nav.testID("nav-" + key).Attr("href"); href != "/"+key {
				t.Errorf("nav %s links to %q", key, href)
			}
		}
		for _, path := range []string{"/admin/hypervisors", "/admin/instances", "/admin/flavors", "/admin/images"} {
			p := member.get(path)
			if p.StatusCode != http.StatusForbidden || p.testID("error-page").Length() != 1 {
				t.Errorf("member GET %s: %d", path, p.StatusCode)
			}
		}
		member.get("/")
		wantStatus(t, member.submit("/admin/hypervisors/"+c.host.ID+"/enabled", url.Values{"enabled": {"false"}, "reason": {"x"}}), http.StatusForbidden)
		wantStatus(t, member.submit("/admin/projects/"+c.demoProject.ID+"/quotas", url.Values{"instances": {"1000"}}), http.StatusForbidden)
		if h, _ := s.GetHost(context.Background(), "host-1"); !h.Enabled {
			t.Error("a member disabled a host")
		}
		// A member may not publish either (the model refuses, the page says why).
		member.get("/images/" + c.image.ID)
		member.submit("/images/"+c.image.ID+"/publish", nil)
		if im, _ := s.GetImage(context.Background(), c.demoC, c.image.ID); im.Visibility == models.VisibilityPublic {
			t.Error("a member published an image")
		}
	})
}

func TestHypervisorDisableNeedsAReason(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		inst := c.launch(t, c.demoC, "web", 1)[0]
		c.activate(t, inst)
		br := c.browser(t)
		br.login("admin", adminPassword)
		p := br.get("/admin/hypervisors")
		card := p.testID("host-host-1")
		if card.AttrOr("data-up", "") != "true" || card.AttrOr("data-enabled", "") != "true" {
			t.Fatalf("host card: up=%q enabled=%q", card.AttrOr("data-up", ""), card.AttrOr("data-enabled", ""))
		}
		if got := card.Find(`[data-testid="host-vcpu-text"]`).Text(); got != "1 / 64 vCPU" {
			t.Errorf("vCPU bar says %q (16 vCPUs × 4.0, one m1.tiny)", got)
		}
		if got := card.Find(`[data-testid="host-instances"]`).Text(); got != "1" {
			t.Errorf("instance count %q", got)
		}
		live := p.testID("hypervisors-live")
		if live.AttrOr("hx-trigger", "") != "every 5s" || live.AttrOr("hx-disinherit", "") != "*" {
			t.Error("the hypervisors panel does not refresh itself, or its forms inherit its target")
		}

		path := "/admin/hypervisors/" + c.host.ID + "/enabled"
		p = br.submit(path, url.Values{"enabled": {"false"}, "reason": {"  "}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("host-host-1").Find(`[data-testid="error-reason"]`).Text() == "" {
			t.Error("no error beside the reason")
		}
		if h, _ := s.GetHost(context.Background(), "host-1"); !h.Enabled {
			t.Fatal("disabled without a reason")
		}
		p = br.submit(path, url.Values{"enabled": {"false"}, "reason": {"kernel upgrade"}})
		wantStatus(t, p, http.StatusSeeOther)
		p = br.get("/admin/hypervisors")
		if !strings.Contains(p.testID("flash").Text(), "kernel upgrade") ||
			p.testID("host-host-1").Find(`[data-testid="host-disabled-reason"]`).Text() != "Disabled: kernel upgrade" {
			t.Errorf("after disabling: flash %q", p.testID("flash").Text())
		}
		wantStatus(t, br.submit(path, url.Values{"enabled": {"true"}}), http.StatusSeeOther)
		if h, _ := s.GetHost(context.Background(), "host-1"); !h.Enabled || h.DisabledReason != "" {
			t.Errorf("after enabling: %+v", h)
		}
	})
}

func TestAdminInstancesSpanProjectsWithFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		mine := c.launch(t, c.demoC, "mine", 1)[0]
		c.activate(t, mine)
		c.launch(t, c.eveC, "theirs", 1)
		br := c.browser(t)
		br.login("admin", adminPassword)
		p := br.get("/admin/instances")
		if p.testID("instance-row-mine").Length() != 1 || p.testID("instance-row-theirs").Length() != 1 {
			t.Fatal("the admin list does not span projects")
		}
		if got := p.testID("instance-row-theirs").Find(`[data-testid="instance-project"]`).Text(); got != "other" {
			t.Errorf("project column %q", got)
		}
		p = br.get("/admin/instances?project=" + c.other.ID)
		if p.testID("instance-row-mine").Length() != 0 || p.testID("instance-row-theirs").Length() != 1 {
			t.Error("the project filter does not filter")
		}
		p = br.get("/admin/instances?host=host-1")
		if p.testID("instance-row-mine").Length() != 1 || p.testID("instance-row-theirs").Length() != 0 {
			t.Error("the host filter does not filter")
		}
		if p.testID("instance-actions").Length() != 0 || p.testID("instances-poll").Length() != 0 {
			t.Error("the admin list has row actions or polls")
		}
	})
}

func TestAdminFlavorsImagesAndQuotas(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		ctx := context.Background()
		br := c.browser(t)
		br.login("admin", adminPassword)

		// Flavors: create a private one for demo; field errors keep input.
		br.get("/admin/flavors")
		p := br.submit("/admin/flavors", url.Values{"name": {"gpu.large"}, "vcpus": {"0"}, "ram_mb": {"8192"}, "disk_gb": {"40"}, "ephemeral_gb": {"0"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("error-vcpus").Text() == "" || p.testID("flavor-name").AttrOr("value", "") != "gpu.large" {
			t.Error("flavor form: no vCPU error or name lost")
		}
		p = br.submit("/admin/flavors", url.Values{"name": {"gpu.large"}, "vcpus": {"8"}, "ram_mb": {"8192"}, "disk_gb": {"40"}, "ephemeral_gb": {"0"}, "projects": {"demo"}})
		wantStatus(t, p, http.StatusSeeOther)
		list := br.get("/admin/flavors")
		row := list.testID("admin-flavor-gpu.large")
		if !strings.Contains(row.Text(), "private") || !strings.Contains(row.Text(), "demo") {
			t.Errorf("new flavor row %q", row.Text())
		}
		f, err := s.GetFlavor(ctx, c.demoC, "gpu.large")
		if err != nil {
			t.Fatalf("demo cannot use its private flavor: %v", err)
		}
		if _, err := s.GetFlavor(ctx, c.eveC, "gpu.large"); err == nil {
			t.Error("another project can use demo's private flavor")
		}
		wantStatus(t, br.submit("/admin/flavors/"+f.ID+"/disabled", url.Values{"disabled": {"true"}}), http.StatusSeeOther)
		demo := c.browser(t)
		demo.login("demo", demoPassword)
		if demo.get("/flavors").testID("flavor-row-gpu.large").Length() != 0 || demo.get("/instances/new").testID("flavor-gpu.large").Length() != 0 {
			t.Error("a disabled flavor is offered")
		}
		wantStatus(t, br.submit("/admin/flavors/"+f.ID+"/delete", nil), http.StatusSeeOther)
		if br.get("/admin/flavors").testID("admin-flavor-gpu.large").Length() != 0 {
			t.Error("the deleted flavor is listed")
		}

		// Images: every project's, publish and protect.
		imgs := br.get("/admin/images")
		if got := imgs.testID("image-row-cirros").Find(`[data-testid="image-owner"]`).Text(); got != "demo" {
			t.Errorf("owner column %q", got)
		}
		wantStatus(t, br.submit("/images/"+c.image.ID+"/publish", url.Values{"next": {"/admin/images"}}), http.StatusSeeOther)
		wantStatus(t, br.submit("/images/"+c.image.ID+"/protected", url.Values{"protected": {"true"}, "next": {"/admin/images"}}), http.StatusSeeOther)
		im, _ := s.ImageByID(ctx, c.image.ID)
		if im.Visibility != models.VisibilityPublic || !im.Protected {
			t.Errorf("after publish and protect: %s, protected %v", im.Visibility, im.Protected)
		}
		if got := br.get("/admin/images").testID("image-row-cirros").Find(`[data-testid="image-visibility"]`).Text(); !strings.Contains(got, "public") {
			t.Errorf("visibility column %q", got)
		}

		// Quotas on the project page.
		pp := br.get("/admin/projects/" + c.demoProject.ID)
		if pp.testID("quota-input-instances").AttrOr("value", "") != "10" {
			t.Errorf("instances limit shown %q", pp.testID("quota-input-instances").AttrOr("value", ""))
		}
		p = br.submit("/admin/projects/"+c.demoProject.ID+"/quotas", url.Values{"instances": {"-5"}, "vcpus": {"many"}, "ram_mb": {"1024"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("error-vcpus").Text() == "" || p.testID("quota-input-vcpus").AttrOr("value", "") != "many" {
			t.Error("quota form: no error or input lost")
		}
		p = br.submit("/admin/projects/"+c.demoProject.ID+"/quotas", url.Values{"instances": {"3"}, "vcpus": {"-1"}, "ram_mb": {"1024"}})
		wantStatus(t, p, http.StatusSeeOther)
		lines, _ := s.ProjectQuotas(ctx, c.demoProject.ID)
		got := map[string]int64{}
		for _, l := range lines {
			got[l.Resource] = l.Limit
		}
		if got["instances"] != 3 || got["vcpus"] != -1 || got["ram_mb"] != 1024 || got["images"] != 100 {
			t.Errorf("saved quotas %v", got)
		}
	})
}
