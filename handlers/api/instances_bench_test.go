package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"stratus/handlers"
	"stratus/handlers/policy"
	"stratus/models"
	"stratus/models/storetest"
)

// GET /instances costs the same number of queries whatever the number of
// rows: authentication, then one SELECT for the page (plus one for the
// marker of a later page). Flavor and image come from the instance's own
// row; nothing is looked up per row.
func TestListInstancesQueriesDoNotGrowWithRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo := e.demo()
		c, err := s.AuthenticateToken(t.Context(), demo)
		if err != nil {
			t.Fatal(err)
		}
		seed(t, s, c, 3)
		count := s.CountQueries()
		queries := func(path string, rows int) int64 {
			t.Helper()
			before := count()
			r := e.do(http.MethodGet, path, demo, nil)
			n := count() - before
			want(t, r, http.StatusOK, "")
			if got := len(r.list("instances")); got != rows {
				t.Fatalf("%s: %d rows, want %d", path, got, rows)
			}
			return n
		}
		queries("/instances", 3) // the first use of a token records it
		first := queries("/instances", 3)
		marker := e.do(http.MethodGet, "/instances?limit=1", demo, nil).list("instances")[0]["id"].(string)
		later := queries("/instances?limit=1000&marker="+marker, 2)

		seed(t, s, c, 997)
		if n := queries("/instances", 100); n != first {
			t.Errorf("first page: %d queries for 3 instances, %d for 1000", first, n)
		}
		if n := queries("/instances?limit=1000", 1000); n != first {
			t.Errorf("a page of 1000: %d queries, %d for a page of 3", n, first)
		}
		marker = e.do(http.MethodGet, "/instances?limit=500", demo, nil).list("instances")[499]["id"].(string)
		if n := queries("/instances?limit=1000&marker="+marker, 500); n != later {
			t.Errorf("a later page: %d queries for 2 rows, %d for 500", later, n)
		}
		if first > 5 {
			t.Errorf("%d queries for a page: authentication (3), the page (1) and its addresses (1) should do", first)
		}
		t.Logf("GET /instances: %d queries per page, %d for a page after a marker", first, later)
	})
}

func seed(t testing.TB, s *models.Store, c models.Caller, n int) {
	t.Helper()
	ctx := context.Background()
	f, err := s.GetFlavor(ctx, c, "m1.small")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SeedInstancesForBench(ctx, c, n, f, models.Image{ID: uuid.NewString(), Name: "cirros"}); err != nil {
		t.Fatal(err)
	}
}

// benchRequests is how many lists one iteration serves: enough for a stable
// figure under `make bench` (-benchtime 1x).
const benchRequests = 300

// BenchmarkListInstances measures GET /api/v1/instances (the first page,
// 100 rows) through the whole HTTP stack — authentication, policy, the
// query, JSON — in a project of 100 and of 10,000 instances, on SQLite and
// (with STRATUS_TEST_MYSQL_DSN) MariaDB. It reports the server time per
// request (mean, p50, p95) and the queries per request.
//
//	STRATUS_TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/test' go test ./handlers/api -run '^$' -bench ListInstances -benchtime 1x
func BenchmarkListInstances(b *testing.B) {
	for _, engine := range storetest.Engines() {
		for _, n := range []int{100, 10000} {
			b.Run(fmt.Sprintf("%s/%d", engine, n), func(b *testing.B) {
				s := storetest.New(b, engine)
				ctx := context.Background()
				if _, err := s.Bootstrap(ctx, models.BootstrapInput{AdminName: "admin", AdminPassword: adminPassword, AdminProject: "admin",
					DemoProject: "demo", DemoUser: "demo", DemoPassword: demoPassword}); err != nil {
					b.Fatal(err)
				}
				tok, err := s.IssueLoginToken(ctx, models.LoginInput{Username: "demo", Password: demoPassword}, "demo")
				if err != nil {
					b.Fatal(err)
				}
				seed(b, s, tok.Caller, n)
				enf, _ := policy.New("")
				h := handlers.New(handlers.Deps{Store: s, Policy: enf, Log: slog.New(slog.DiscardHandler),
					Registry: prometheus.NewRegistry(), Config: handlers.DefaultConfig()})
				list := func() {
					req := httptest.NewRequest(http.MethodGet, "/api/v1/instances", nil)
					req.Header.Set("Authorization", "Bearer "+tok.Secret)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%d %s", rec.Code, rec.Body)
					}
				}
				// Check the answer once, and warm the connection pool and
				// the token's last-use stamp.
				req := httptest.NewRequest(http.MethodGet, "/api/v1/instances", nil)
				req.Header.Set("Authorization", "Bearer "+tok.Secret)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				var page struct {
					Instances []json.RawMessage `json:"instances"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || len(page.Instances) != min(n, 100) ||
					!strings.Contains(string(page.Instances[0]), fmt.Sprintf(`"name":"bench-%05d"`, n-1)) {
					b.Fatalf("first page: %v, %d rows: %.200s", err, len(page.Instances), rec.Body)
				}
				count := s.CountQueries()
				before := count()
				var took []time.Duration
				for b.Loop() {
					for range benchRequests {
						start := time.Now()
						list()
						took = append(took, time.Since(start))
					}
				}
				slices.Sort(took)
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
				b.ReportMetric(ms(b.Elapsed())/float64(len(took)), "ms/req")
				b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
				b.ReportMetric(ms(took[len(took)*95/100]), "p95-ms")
				b.ReportMetric(float64(count()-before)/float64(len(took)), "queries/req")
			})
		}
	}
}
