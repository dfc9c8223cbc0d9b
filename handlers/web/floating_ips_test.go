package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"stratus/models"
	"stratus/models/storetest"
)

func demoFloatingIPs(t *testing.T, x *l3) []models.FloatingIP {
	t.Helper()
	page, err := x.store.ListFloatingIPs(context.Background(), x.demoC, models.FloatingIPFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

// optionValue is the value of the option of a select whose label holds text.
func optionValue(p *page, testID, text string) string {
	v := ""
	p.testID(testID).Find("option").Each(func(_ int, o *goquery.Selection) {
		if strings.Contains(o.Text(), text) {
			v = o.AttrOr("value", "")
		}
	})
	return v
}

func TestFloatingIPPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		x := l3Setup(t, s)
		ctx := context.Background()
		web := x.launchOn(t, "web", "10.0.0.7")
		other := x.launchOn(t, "db", "10.0.0.8")
		br := x.browser(t)
		br.login("demo", demoPassword)
		p := br.get("/floating-ips")
		wantStatus(t, p, http.StatusOK)
		if p.testID("fip-form").Length() != 1 || p.testID("nav-floating-ips").Length() != 1 {
			t.Fatalf("a member sees no allocate form or sidebar entry: %v", testIDs(p.doc.Selection))
		}

		// Bad input names the field; nothing is allocated.
		for _, tc := range []struct {
			name, network, want string
		}{
			{"none chosen", "", "external network"},
			{"not external", x.appNet.ID, "not external"},
			{"no such network", "nope", "no such network"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := br.submit("/floating-ips", url.Values{"floating_network_id": {tc.network}})
				wantStatus(t, p, http.StatusUnprocessableEntity)
				if msg := p.testID("error-floating_network_id").Text(); !strings.Contains(msg, tc.want) {
					t.Errorf("error beside the network: %q, want %q", msg, tc.want)
				}
			})
		}
		if fips := demoFloatingIPs(t, x); len(fips) != 0 {
			t.Fatalf("refused forms allocated %d floating IPs", len(fips))
		}
		wantStatus(t, br.submit("/floating-ips", url.Values{"floating_network_id": {x.public.ID}}), http.StatusSeeOther)
		fips := demoFloatingIPs(t, x)
		if len(fips) != 1 || !strings.HasPrefix(fips[0].FloatingIPAddress, "203.0.113.") {
			t.Fatalf("allocated %+v", fips)
		}
		fip := fips[0]
		addr := fip.FloatingIPAddress
		p = br.get("/floating-ips")
		if !strings.Contains(p.testID("flash").Text(), addr) || p.testID("fip-row-"+addr).AttrOr("data-status", "") != models.FloatingIPDown {
			t.Errorf("after allocating: flash %q, row %q", p.testID("flash").Text(), p.testID("fip-row-"+addr).Text())
		}

		// Associate from the list: the field is named; without a router
		// the 409 says which one is missing.
		p = br.get("/floating-ips/" + fip.ID + "/associate")
		wantStatus(t, p, http.StatusOK)
		target := optionValue(p, "associate-target", "web · 10.0.0.7")
		if target == "" {
			t.Fatalf("no choice for web's address: %q", p.testID("associate-target").Text())
		}
		p = br.submit("/floating-ips/"+fip.ID+"/associate", url.Values{"target": {""}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("error-target").Text() == "" {
			t.Errorf("empty target: %v", testIDs(p.testID("associate-form")))
		}
		p = br.submit("/floating-ips/"+fip.ID+"/associate", url.Values{"target": {target[:strings.Index(target, "/")] + "/10.0.0.99"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.testID("error-target").Text(), "10.0.0.99") {
			t.Errorf("a fixed IP the port lacks: %q", p.testID("error-target").Text())
		}
		p = br.submit("/floating-ips/"+fip.ID+"/associate", url.Values{"target": {target}})
		wantStatus(t, p, http.StatusConflict)
		if msg := p.testID("form-error").Text(); !strings.Contains(msg, "no router joins network app-net") || !strings.Contains(msg, "external network public") {
			t.Errorf("the missing router is not named: %q", msg)
		}
		rt, err := s.CreateRouter(ctx, x.demoC, models.RouterInput{Name: "edge", ExternalGatewayInfo: &models.GatewayInput{NetworkID: x.public.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddRouterInterface(ctx, x.demoC, rt.ID, models.RouterInterfaceInput{SubnetID: x.appSubnet.ID}); err != nil {
			t.Fatal(err)
		}
		p = br.submit("/floating-ips/"+fip.ID+"/associate", url.Values{"target": {target}})
		wantStatus(t, p, http.StatusSeeOther)
		p = br.get("/floating-ips")
		row := p.testID("fip-row-" + addr)
		if row.AttrOr("data-status", "") != models.FloatingIPActive || row.Find(`[data-testid="fip-instance"]`).Text() != "web" ||
			row.Find(`[data-testid="fip-fixed"]`).Text() != "10.0.0.7" {
			t.Errorf("associated row %q", row.Text())
		}
		if opts := br.get("/floating-ips/" + fip.ID + "/associate").testID("associate-target").Text(); strings.Contains(opts, "10.0.0.7") {
			t.Errorf("an address with a floating IP is offered again: %q", opts)
		}

		// The instance list and page show it next to the fixed IP.
		p = br.get("/instances")
		cell := p.testID("instance-row-web").Find(`[data-testid="instance-addresses"]`)
		if cell.Find(`[data-testid="address-fixed"]`).Text() != "10.0.0.7" || !strings.Contains(cell.Find(`[data-testid="address-floating"]`).Text(), addr) {
			t.Errorf("list addresses %q", cell.Text())
		}
		if p.testID("instance-row-web").Find(`[data-testid="action-floating-ip"]`).Length() != 1 {
			t.Error("the row offers no floating IP action")
		}
		p = br.get("/instances/" + web.ID)
		if !strings.Contains(p.testID("detail-floating").Text(), addr) || !strings.Contains(p.testID("instance-port-floating").Text(), addr) {
			t.Errorf("detail: %q / %q", p.testID("detail-floating").Text(), p.testID("instance-port-floating").Text())
		}
		// The gateway carries a floating IP: clearing it is a 409 shown on the router's page.
		p = br.submit("/routers/"+rt.ID+"/gateway/clear", nil)
		wantStatus(t, p, http.StatusSeeOther)
		if msg := br.get(p.location()).testID("flash-error").Text(); !strings.Contains(msg, "floating IP") {
			t.Errorf("clearing a gateway in use: %q", msg)
		}

		// Disassociate from the instance's page: back to it.
		p = br.submit("/floating-ips/"+fip.ID+"/disassociate", url.Values{"next": {"/instances/" + web.ID}})
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/instances/"+web.ID {
			t.Errorf("after disassociating: %q", p.location())
		}
		if got, _ := s.GetFloatingIP(ctx, x.demoC, fip.ID); got.PortID != "" || got.Status != models.FloatingIPDown {
			t.Errorf("after disassociating: %+v", got)
		}

		// Associate from the instance: its own addresses only; an existing
		// floating IP or a new one.
		p = br.get("/instances/" + web.ID + "/floating-ip")
		wantStatus(t, p, http.StatusOK)
		webTarget := optionValue(p, "associate-target", "10.0.0.7")
		newOne := optionValue(p, "associate-floating", "public")
		if webTarget == "" || newOne == "" || optionValue(p, "associate-floating", addr) != fip.ID || strings.Contains(p.testID("associate-target").Text(), "db") {
			t.Fatalf("choices: %q / %q", p.testID("associate-floating").Text(), p.testID("associate-target").Text())
		}
		p = br.submit("/instances/"+web.ID+"/floating-ip", url.Values{"floating_ip": {""}, "target": {""}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("error-floating_ip").Text() == "" || p.testID("error-target").Text() == "" {
			t.Errorf("empty form: %v", testIDs(p.testID("associate-form")))
		}
		dbPort, _ := s.ListPorts(ctx, x.demoC, models.PortFilter{DeviceID: []string{other.ID}})
		p = br.submit("/instances/"+web.ID+"/floating-ip", url.Values{"floating_ip": {fip.ID}, "target": {dbPort.Items[0].ID + "/10.0.0.8"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.testID("error-target").Text(), "not an address of this instance") {
			t.Errorf("another instance's address: %q", p.testID("error-target").Text())
		}
		p = br.submit("/instances/"+web.ID+"/floating-ip", url.Values{"floating_ip": {fip.ID}, "target": {webTarget}})
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/instances/"+web.ID {
			t.Errorf("after associating from the instance: %q", p.location())
		}
		if got, _ := s.GetFloatingIP(ctx, x.demoC, fip.ID); got.FixedIPAddress != "10.0.0.7" {
			t.Errorf("after associating from the instance: %+v", got)
		}

		// A reader (demo in research) sees no forms and is refused.
		br.submit("/project", url.Values{"project": {x.research.ID}})
		p = br.get("/floating-ips")
		wantStatus(t, p, http.StatusOK)
		if p.testID("fip-form").Length() != 0 {
			t.Error("a reader is offered the allocate form")
		}
		wantStatus(t, br.submit("/floating-ips", url.Values{"floating_network_id": {x.public.ID}}), http.StatusForbidden)
		wantStatus(t, br.submit("/floating-ips/"+fip.ID+"/disassociate", nil), http.StatusForbidden)
		wantStatus(t, br.submit("/floating-ips/"+fip.ID+"/delete", nil), http.StatusForbidden)
		br.submit("/project", url.Values{"project": {x.demoProject.ID}})

		// Another project: every page and action is a 404.
		eve := x.browser(t)
		eve.login("eve", evePassword)
		wantStatus(t, eve.get("/floating-ips/"+fip.ID+"/associate"), http.StatusNotFound)
		wantStatus(t, eve.submit("/floating-ips/"+fip.ID+"/associate", url.Values{"target": {webTarget}}), http.StatusNotFound)
		wantStatus(t, eve.submit("/floating-ips/"+fip.ID+"/disassociate", nil), http.StatusNotFound)
		wantStatus(t, eve.submit("/floating-ips/"+fip.ID+"/delete", nil), http.StatusNotFound)
		wantStatus(t, eve.get("/instances/"+web.ID+"/floating-ip"), http.StatusNotFound)
		wantStatus(t, eve.submit("/instances/"+web.ID+"/floating-ip", url.Values{"floating_ip": {newOne}, "target": {webTarget}}), http.StatusNotFound)
		if eve.get("/floating-ips").testID("fip-row-"+addr).Length() != 0 {
			t.Error("eve's list shows demo's floating IP")
		}

		// A new one for db, allocated and associated at once; then the
		// quota refuses a third, saying so.
		p = br.get("/instances/" + other.ID + "/floating-ip")
		dbTarget := optionValue(p, "associate-target", "10.0.0.8")
		wantStatus(t, br.submit("/instances/"+other.ID+"/floating-ip", url.Values{"floating_ip": {newOne}, "target": {dbTarget}}), http.StatusSeeOther)
		if fips := demoFloatingIPs(t, x); len(fips) != 2 {
			t.Fatalf("after allocating for db: %+v", fips)
		}
		if _, err := s.SetQuotas(ctx, x.adminC, x.demoProject.ID, map[string]int64{models.QuotaFloatingIPs: 2}); err != nil {
			t.Fatal(err)
		}
		p = br.submit("/floating-ips", url.Values{"floating_network_id": {x.public.ID}})
		wantStatus(t, p, http.StatusForbidden)
		if !strings.Contains(p.testID("form-error").Text(), "quota") {
			t.Errorf("over quota: %q", p.testID("form-error").Text())
		}

		// Release.
		p = br.submit("/floating-ips/"+fip.ID+"/delete", nil)
		wantStatus(t, p, http.StatusSeeOther)
		if fips := demoFloatingIPs(t, x); len(fips) != 1 || fips[0].ID == fip.ID {
			t.Fatalf("after release: %+v", fips)
		}
	})
}

// launchOn creates an instance of demo's on app-net with a fixed IP.
func (x *l3) launchOn(t *testing.T, name, ip string) models.Instance {
	t.Helper()
	insts, err := x.store.CreateInstances(context.Background(), x.demoC, models.InstanceCreate{Name: name, Flavor: "m1.tiny", Image: x.image.ID,
		Networks: []models.NetworkRequest{{Network: x.appNet.ID, FixedIP: ip}}})
	if err != nil {
		t.Fatal(err)
	}
	return insts[0]
}
