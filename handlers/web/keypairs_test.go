package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"stratus/models"
	"stratus/models/storetest"
)

func TestKeypairGenerateShowsThePrivateKeyOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		br := c.browser(t)
		br.login("demo", demoPassword)
		br.get("/keypairs")

		// A pasted key that is not one: beside the field, input kept.
		p := br.submit("/keypairs", url.Values{"name": {"laptop"}, "public_key": {"ssh-rsa AAAA-not-base64"}, "mode": {"import"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("error-public_key").Text() == "" || p.testID("keypair-name").AttrOr("value", "") != "laptop" {
			t.Errorf("bad key: error %q, name %q", p.testID("error-public_key").Text(), p.testID("keypair-name").AttrOr("value", ""))
		}

		// Generate (a pasted key is ignored when the button says generate).
		p = br.submit("/keypairs", url.Values{"name": {"laptop"}, "public_key": {"ssh-rsa AAAA-not-base64"}, "mode": {"generate"}})
		wantStatus(t, p, http.StatusCreated)
		priv := p.testID("keypair-private-key").Text()
		signer, err := ssh.ParsePrivateKey([]byte(priv))
		if err != nil {
			t.Fatalf("the shown private key does not parse: %v", err)
		}
		kp, err := s.GetKeyPair(context.Background(), c.demoC, "laptop")
		if err != nil {
			t.Fatal(err)
		}
		if ssh.FingerprintSHA256(signer.PublicKey()) != kp.Fingerprint {
			t.Error("the private key is not the stored public key's")
		}
		dl := p.testID("keypair-download")
		data, ok := strings.CutPrefix(dl.AttrOr("href", ""), "data:application/x-pem-file;base64,")
		raw, _ := base64.StdEncoding.DecodeString(data)
		if !ok || string(raw) != priv || dl.AttrOr("download", "") != "laptop.pem" {
			t.Errorf("download link %q (download=%q)", dl.AttrOr("href", "")[:40], dl.AttrOr("download", ""))
		}
		if p.testID("keypair-copy").AttrOr("data-copy", "") != "private-key" {
			t.Error("no copy button for the private key")
		}

		// Once: not on the list page, not after a reload.
		list := br.get("/keypairs")
		if list.testID("keypair-created").Length() != 0 || strings.Contains(list.body, strings.Split(priv, "\n")[1]) {
			t.Error("the private key is shown again")
		}
		if got := list.testID("keypair-row-laptop").Find(`[data-testid="keypair-fingerprint"]`).Text(); got != kp.Fingerprint {
			t.Errorf("listed fingerprint %q", got)
		}

		// Import a real public key, then delete it.
		p = br.submit("/keypairs", url.Values{"name": {"desk"}, "public_key": {string(ssh.MarshalAuthorizedKey(signer.PublicKey()))}, "mode": {"import"}})
		wantStatus(t, p, http.StatusSeeOther)
		desk, err := s.GetKeyPair(context.Background(), c.demoC, "desk")
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, br.submit("/keypairs/"+desk.ID+"/delete", nil), http.StatusSeeOther)
		if _, err := s.GetKeyPair(context.Background(), c.demoC, "desk"); err == nil {
			t.Error("the key pair was not deleted")
		}
		// Another project's key pair: not found.
		eve := c.browser(t)
		eve.login("eve", evePassword)
		wantStatus(t, eve.submit("/keypairs/"+kp.ID+"/delete", nil), http.StatusNotFound)
	})
}

func TestOverviewQuotaChartData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		ctx := context.Background()
		if _, err := s.CreateInstances(ctx, c.demoC, models.InstanceCreate{Name: "app", Flavor: "m1.medium", Image: c.image.ID, Count: 2}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateKeyPair(ctx, c.demoC, models.KeyPairInput{Name: "k"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetQuotas(ctx, c.adminC, "demo", map[string]int64{models.QuotaImages: models.Unlimited}); err != nil {
			t.Fatal(err)
		}
		br := c.browser(t)
		br.login("demo", demoPassword)
		p := br.get("/")
		chart := p.testID("quota-chart")
		var d struct {
			Labels  []string
			Percent []int
			Used    []int64
			Limit   []int64
			Text    []string
			Short   []string
		}
		if err := json.Unmarshal([]byte(chart.AttrOr("data-chart", "")), &d); err != nil {
			t.Fatalf("chart data: %v", err)
		}
		// m1.medium: 2 vCPUs, 4096 MB; defaults 10 instances, 20 vCPUs, 51200 MB, 100 key pairs.
		// Then networking (Neutron's defaults), object storage and block
		// storage (Cinder's), nothing used yet.
		if !slices.Equal(d.Labels, []string{"Instances", "vCPUs", "RAM", "Key pairs", "Images", "Networks", "Subnets", "Ports", "Security groups", "SG rules", "Routers", "Floating IPs", "Object storage", "Objects", "Volumes", "Volume storage", "Snapshots"}) ||
			!slices.Equal(d.Used, []int64{2, 4, 8192, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) || !slices.Equal(d.Limit, []int64{10, 20, 51200, 100, -1, 100, 100, 500, 10, 100, 10, 50, 100 << 30, 1000000, 10, 1000, 10}) ||
			!slices.Equal(d.Percent, []int{20, 20, 16, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) {
			t.Errorf("chart data %+v", d)
		}
		if d.Text[4] != "1 (no limit)" || d.Text[2] != "8192 MB of 51200 MB" || d.Text[12] != "0 B of 100 GiB" {
			t.Errorf("chart texts %q", d.Text)
		}
		if !slices.Equal(d.Short[:5], []string{"2/10", "4/20", "8/50 GB", "1/100", "1/∞"}) || !slices.Equal(d.Short[12:14], []string{"0 B/100 GiB", "0/1000000"}) {
			t.Errorf("bar labels %q", d.Short)
		}
		if lib := chart.AttrOr("data-chart-lib", ""); !strings.HasPrefix(lib, "/static/uplot.min.js?v=") {
			t.Errorf("chart library %q", lib)
		}
		if got := p.testID("quota-instances-text").Text(); got != "2 of 10" {
			t.Errorf("instances meter %q", got)
		}
		// The page holds no script of its own (the CSP allows none inline).
		if p.doc.Find("script:not([src])").Length() != 0 {
			t.Error("inline script on the overview")
		}
		// The library is served.
		if r := br.get(chart.AttrOr("data-chart-lib", "")); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "uPlot") {
			t.Errorf("GET the chart library: %d", r.StatusCode)
		}
	})
}
