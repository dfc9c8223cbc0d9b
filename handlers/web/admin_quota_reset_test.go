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

// The project page's "Reset to defaults" asks first (its dialog holds a
// form of its own, with the CSRF token, outside the quota form), puts every
// limit back to the default and says so; a member is refused, and so is a
// post without the token. The button speaks Korean too.
func TestProjectQuotaResetButton(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		ctx := context.Background()
		project := "/admin/projects/" + b.demoProject.ID
		instances := func() int64 {
			t.Helper()
			lines, err := s.ProjectQuotas(ctx, b.demoProject.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range lines {
				if l.Resource == models.QuotaInstances {
					return l.Limit
				}
			}
			t.Fatal("no instances quota")
			return 0
		}
		br := b.browser(t)
		br.login("admin", adminPassword)
		br.get(project)
		wantStatus(t, br.submit(project+"/quotas", url.Values{"instances": {"3"}, "vcpus": {"-1"}}), http.StatusSeeOther)
		if instances() != 3 {
			t.Fatal("the quota was not set")
		}

		p := br.get(project)
		if p.testID("quota-reset").Length() != 1 {
			t.Fatal("no reset button on the project page")
		}
		dialog := p.testID("dialog-quota-reset")
		form := dialog.Find("form")
		if form.AttrOr("action", "") != project+"/quotas/reset" || form.Find(`input[name="csrf_token"]`).AttrOr("value", "") == "" ||
			dialog.Find(`[data-testid="quota-reset-confirm"]`).Length() != 1 {
			t.Errorf("the reset dialog does not post %s/quotas/reset with a CSRF token and a confirm button", project)
		}
		if p.testID("quota-form").Find(`[data-testid="quota-reset"]`).Length() != 0 {
			t.Error("the reset's form is nested in the quota form")
		}
		if p.testID("quota-save").AttrOr("form", "") != p.testID("quota-form").AttrOr("id", "-") {
			t.Error("Save does not submit the quota form")
		}

		member := b.browser(t)
		member.login("demo", demoPassword)
		wantStatus(t, member.submit(project+"/quotas/reset", nil), http.StatusForbidden)
		wantStatus(t, br.post(project+"/quotas/reset", url.Values{}), http.StatusForbidden)
		if instances() != 3 {
			t.Fatal("a refused reset changed the quota")
		}

		p = br.submit(project+"/quotas/reset", nil)
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != project+"#quotas" {
			t.Errorf("after the reset: sent to %q", p.location())
		}
		if instances() != models.DefaultQuotas()[models.QuotaInstances] {
			t.Errorf("after the reset: instances limit %d, want the default", instances())
		}
		p = br.get(project)
		if !strings.Contains(p.testID("flash").Text(), "Quotas reset to the defaults.") {
			t.Errorf("flash %q", p.testID("flash").Text())
		}
		if got := p.testID("quota-input-instances").AttrOr("value", ""); got != "10" {
			t.Errorf("instances limit shown %q after the reset, want 10", got)
		}
		wantStatus(t, br.submit("/admin/projects/"+b.other.ID+"x/quotas/reset", nil), http.StatusNotFound)

		ko := br.get(project, "Accept-Language", "ko-KR,ko;q=0.9")
		if got := strings.TrimSpace(ko.testID("quota-reset").Text()); got != "기본값으로 재설정" {
			t.Errorf("Korean reset button %q", got)
		}
	})
}
