package web_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"stratus/models"
)

// compute is what the compute page tests work with besides the bundle:
// demo's and eve's callers, an active image in demo's project, and one
// registered host (up) to place instances on.
type compute struct {
	*bundle
	demoC, eveC, adminC models.Caller
	image               models.Image
	host                models.Host
}

func computeSetup(t testing.TB, s *models.Store) *compute {
	t.Helper()
	b := setup(t, s)
	ctx := context.Background()
	c := &compute{bundle: b}
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	c.demoC, err = s.ResolveCaller(ctx, b.demo.ID, b.demoProject.ID)
	must(err)
	c.eveC, err = s.ResolveCaller(ctx, b.eve.ID, b.other.ID)
	must(err)
	c.adminC, err = s.ResolveCaller(ctx, b.admin.ID, "")
	must(err)
	im, err := s.CreateImage(ctx, c.demoC, models.ImageInput{Name: "cirros"})
	must(err)
	c.image, err = s.UploadImage(ctx, c.demoC, im.ID, bytes.NewReader(bytes.Repeat([]byte{0}, 4096)))
	must(err)
	c.host, err = s.RegisterHost(ctx, models.HostInventory{Name: "host-1", Driver: "fake", HypervisorType: "fake",
		VCPUs: 16, RAMMB: 65536, DiskGB: 1000, CPURatio: 4, RAMRatio: 1, DiskRatio: 1})
	must(err)
	return c
}

// launch creates instances through the model as caller.
func (c *compute) launch(t *testing.T, caller models.Caller, name string, count int) []models.Instance {
	t.Helper()
	image := c.image.ID
	if caller.ProjectID != c.demoC.ProjectID {
		im, err := c.store.CreateImage(context.Background(), caller, models.ImageInput{Name: "img-" + name})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.store.UploadImage(context.Background(), caller, im.ID, bytes.NewReader(make([]byte, 1024))); err != nil {
			t.Fatal(err)
		}
		image = im.ID
	}
	insts, err := c.store.CreateInstances(context.Background(), caller, models.InstanceCreate{Name: name, Flavor: "m1.tiny", Image: image, Count: count})
	if err != nil {
		t.Fatal(err)
	}
	return insts
}

// activate does what the scheduler and the host's agent do for a build.
func (c *compute) activate(t *testing.T, inst models.Instance) {
	t.Helper()
	ctx := context.Background()
	if err := c.store.PlaceInstance(ctx, inst, c.host, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.store.FinishSpawn(ctx, inst.ID, c.host.Name, models.PowerRunning); err != nil {
		t.Fatal(err)
	}
}

// stop does what a stop request and the agent do.
func (c *compute) stop(t *testing.T, inst models.Instance) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.store.PowerAction(ctx, c.demoC, inst.ID, models.PowerStop); err != nil {
		t.Fatal(err)
	}
	if err := c.store.FinishPower(ctx, inst.ID, models.PowerStop, models.PowerShutdown, ""); err != nil {
		t.Fatal(err)
	}
}

func (c *compute) instance(t *testing.T, id string) models.Instance {
	t.Helper()
	inst, err := c.store.InstanceByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// fragment parses a response of table rows (a lone <tr> only parses inside
// a table).
func fragment(t *testing.T, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader("<table>" + body + "</table>"))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// testIDs lists the data-testid values under a selection.
func testIDs(s *goquery.Selection) []string {
	var out []string
	s.Find("[data-testid]").Each(func(_ int, e *goquery.Selection) {
		v, _ := e.Attr("data-testid")
		out = append(out, v)
	})
	return out
}
