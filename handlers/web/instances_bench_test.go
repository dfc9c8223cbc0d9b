package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// seedBench adds n instances to demo's project (one in ten building) and
// returns the IDs of the building ones.
func seedBench(t testing.TB, c *compute, n int) []string {
	t.Helper()
	ctx := context.Background()
	f, err := c.store.GetFlavor(ctx, c.demoC, "m1.tiny")
	if err != nil {
		t.Fatal(err)
	}
	insts, err := c.store.SeedInstancesForBench(ctx, c.demoC, n, f, c.image)
	if err != nil {
		t.Fatal(err)
	}
	var building []string
	for _, inst := range insts {
		if inst.InTransition() {
			building = append(building, inst.ID)
		}
	}
	return building
}

// TestInstancePagesCostConstantQueries shows that the instance list and the
// poller's row refresh run the same number of SQL statements whether they
// show 10 rows or 100: nothing is looked up per row.
func TestInstancePagesCostConstantQueries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		br := c.browser(t)
		br.login("demo", demoPassword)
		queries := s.CountQueries()
		cost := func(path string) int64 {
			t.Helper()
			br.get(path) // warm: the session's first write, caches
			before := queries()
			p := br.get(path)
			if p.StatusCode != http.StatusOK && p.StatusCode != 286 {
				t.Fatalf("GET %s: %d", path, p.StatusCode)
			}
			return queries() - before
		}
		rowsPath := func(ids []string) string { return "/instances/rows?ids=" + strings.Join(ids, ",") }

		building := seedBench(t, c, 10)
		pageSmall, rowsSmall := cost("/instances?limit=100"), cost(rowsPath(building))
		building = append(building, seedBench(t, c, 90)...)
		if len(building) != 10 {
			t.Fatalf("%d building instances, want 10", len(building))
		}
		pageBig, rowsBig := cost("/instances?limit=100"), cost(rowsPath(building))
		if n := len(br.get("/instances?limit=100").doc.Find(`[data-testid^="instance-row-"]`).Nodes); n != 100 {
			t.Fatalf("the big page shows %d rows", n)
		}
		if pageSmall != pageBig {
			t.Errorf("the instances page runs %d queries with 10 rows but %d with 100", pageSmall, pageBig)
		}
		if rowsSmall != rowsBig {
			t.Errorf("the row refresh runs %d queries for 1 row but %d for 10", rowsSmall, rowsBig)
		}
		if pageBig > 12 || rowsBig > 8 {
			t.Errorf("page %d queries, row refresh %d: more than expected", pageBig, rowsBig)
		}
		t.Logf("%s: instances page %d queries, row refresh %d queries, for any number of rows", s.Dialect(), pageBig, rowsBig)
	})
}

// BenchmarkInstancesPage measures the server time of the Instances page
// (100 rows of a 10,000-instance project) and of the poller's row refresh
// (20 rows in transition), through the whole HTTP stack (session, policy,
// render, compression), and their weight on the wire and as HTML, on
// SQLite and — with STRATUS_TEST_MYSQL_DSN — MariaDB. Figures, not
// assertions: `make bench` prints them.
func BenchmarkInstancesPage(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(string(e), func(b *testing.B) {
			s := storetest.New(b, e)
			c := computeSetup(b, s)
			building := seedBench(b, c, 10_000)
			br := c.browser(b)
			br.login("demo", demoPassword)
			queries := s.CountQueries()
			// As a browser asks: gzip (zstd weighs less still; see
			// TestInstancesPageWeight), nothing undone by the transport, so
			// wire-B is what crossed the wire and html-B the page.
			wire := &http.Client{Jar: br.c.Jar, Transport: &http.Transport{DisableCompression: true}}
			run := func(b *testing.B, path string) {
				br.get(path)
				before := queries()
				var wireBytes, htmlBytes int64
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					req, _ := http.NewRequest(http.MethodGet, br.base+path, nil)
					req.Header.Set("Accept-Encoding", "gzip")
					resp, err := wire.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					raw, _ := io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("GET %s: %d", path, resp.StatusCode)
					}
					wireBytes = int64(len(raw))
					if i == 0 {
						htmlBytes = int64(len(raw))
						if resp.Header.Get("Content-Encoding") == "gzip" {
							zr, err := gzip.NewReader(bytes.NewReader(raw))
							if err != nil {
								b.Fatal(err)
							}
							htmlBytes, _ = io.Copy(io.Discard, zr)
						}
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(queries()-before)/float64(b.N), "queries/op")
				b.ReportMetric(float64(wireBytes), "wire-B")
				b.ReportMetric(float64(htmlBytes), "html-B")
			}
			b.Run("page-100-rows", func(b *testing.B) { run(b, "/instances?limit=100") })
			b.Run("page-first-50", func(b *testing.B) { run(b, "/instances") })
			b.Run("row-refresh-20", func(b *testing.B) { run(b, "/instances/rows?ids="+strings.Join(building[:20], ",")) })
		})
	}
}
