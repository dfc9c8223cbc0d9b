package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"stratus/models"
	"stratus/models/storetest"
)

// Page weight targets (issue 7): what a tenant on a slow link pays for the
// Instances page with 50 rows and for one row the poller refreshes. Sizes
// are deterministic (only IDs and the CSRF token are random), so unlike
// times they can be asserted.
const (
	maxInstancesPageWire  = 30 << 10  // compressed, as a browser gets it
	maxInstancesPageBytes = 120 << 10 // uncompressed HTML
	maxRowRefreshWire     = 2 << 10
)

// weigh fetches path as browser br would, asking for encoding, and returns
// the bytes that crossed the wire and the decoded page.
func weigh(t *testing.T, br *browser, path, encoding string) (wire int, page []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, br.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", encoding)
	c := &http.Client{Jar: br.c.Jar, Transport: &http.Transport{DisableCompression: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != 286 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	var r io.Reader = bytes.NewReader(raw)
	switch ce := resp.Header.Get("Content-Encoding"); ce {
	case "":
	case "gzip":
		if r, err = gzip.NewReader(r); err != nil {
			t.Fatal(err)
		}
	case "zstd":
		zr, err := zstd.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("GET %s: Content-Encoding %q", path, ce)
	}
	page, err = io.ReadAll(r)
	if err != nil {
		t.Fatalf("GET %s: decode: %v", path, err)
	}
	return len(raw), page
}

// TestInstancesPageWeight holds the Instances page with 50 rows and the
// poller's row refresh to the targets, for both encodings a
// browser may get. The rows are the heaviest kind, as a tenant would have
// them: launched in fives of ten with a key pair ("web-frontend-3-7"),
// running (every action button), five still building (the page polls),
// every one with an address on the project's network.
func TestInstancesPageWeight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		ctx := context.Background()
		if _, err := s.SetQuotas(ctx, c.adminC, "demo", map[string]int64{models.QuotaInstances: 100, models.QuotaVCPUs: 100}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateKeyPair(ctx, c.demoC, models.KeyPairInput{Name: "laptop"}); err != nil {
			t.Fatal(err)
		}
		// On a network, as every instance launched from `stratus dev` is:
		// each row shows its address and offers a floating IP.
		if _, _, err := s.CreateNetworkWithSubnet(ctx, c.demoC, models.NetworkInput{Name: "app-net"},
			models.SubnetInput{Name: "app-subnet", CIDR: "10.20.0.0/24"}); err != nil {
			t.Fatal(err)
		}
		var building []string
		for i := 1; i <= 5; i++ {
			insts, err := s.CreateInstances(ctx, c.demoC, models.InstanceCreate{Name: fmt.Sprintf("web-frontend-%d", i),
				Flavor: "m1.nano", Image: c.image.ID, KeyPair: "laptop", Count: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, inst := range insts[1:] {
				c.activate(t, inst)
			}
			building = append(building, insts[0].ID)
		}
		br := c.browser(t)
		br.login("demo", demoPassword)

		for _, enc := range []string{"gzip", "zstd"} {
			wire, page := weigh(t, br, "/instances", enc)
			if n := strings.Count(string(page), `data-testid="instance-row-`); n != 50 {
				t.Fatalf("the page shows %d rows, want 50", n)
			}
			if n := strings.Count(string(page), `data-testid="address-fixed"`); n != 50 {
				t.Fatalf("the page shows %d addresses, want 50", n)
			}
			if wire > maxInstancesPageWire || len(page) > maxInstancesPageBytes {
				t.Errorf("%s: the 50-row Instances page is %d bytes on the wire and %d uncompressed; targets %d and %d",
					enc, wire, len(page), maxInstancesPageWire, maxInstancesPageBytes)
			}
			rowWire, row := weigh(t, br, "/instances/rows?ids="+building[0], enc)
			if n := strings.Count(string(row), `data-testid="instance-row-`); n != 1 {
				t.Fatalf("the row refresh holds %d rows, want 1", n)
			}
			if rowWire > maxRowRefreshWire {
				t.Errorf("%s: a row refresh is %d bytes on the wire (%d uncompressed); target %d", enc, rowWire, len(row), maxRowRefreshWire)
			}
			allWire, all := weigh(t, br, "/instances/rows?ids="+strings.Join(building, ","), enc)
			t.Logf("%s, %s: Instances page (50 rows) %d B on the wire, %d B uncompressed; row refresh 1 row %d B wire (%d B), %d rows %d B wire (%d B)",
				s.Dialect(), enc, wire, len(page), rowWire, len(row), len(building), allWire, len(all))
		}
	})
}
