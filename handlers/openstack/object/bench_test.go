package object_test

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// Object storage figures (make bench). They are measurements, printed and
// reported as metrics, never asserted:
//
//   - BenchmarkObjectThroughput: PUT and GET of a 1 MiB and a 100 MiB
//     object over HTTP (loopback) against the directory backend, as a
//     ratio to cp of the same file on the same disk (and to cp followed by
//     an fsync, since a PUT is durable when it answers and cp is not).
//   - BenchmarkSmallObjectPUTs: 10,000 small objects PUT by 64 concurrent
//     clients, on each engine.
//   - BenchmarkListing100k: a container of 100,000 objects listed by prefix,
//     1,000 names a page, on each engine.

// benchEnv is a running Stratus for a benchmark, on engine e.
func benchEnv(b *testing.B, e storetest.Engine, tune func(*models.Options)) *env {
	b.Helper()
	s := storetest.NewWithOptions(b, e, tune)
	env := setup(b, s)
	http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = 128
	env.put("bench", "").expect(b, http.StatusCreated)
	return env
}

type timings []time.Duration

func (ts timings) median() time.Duration {
	s := slices.Clone(ts)
	slices.Sort(s)
	return s[len(s)/2]
}

func (ts timings) spread() string {
	s := slices.Clone(ts)
	slices.Sort(s)
	return fmt.Sprintf("median %v, min %v, max %v (n=%d)", s[len(s)/2].Round(time.Microsecond), s[0].Round(time.Microsecond), s[len(s)-1].Round(time.Microsecond), len(s))
}

func mbps(size int64, d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }

func BenchmarkObjectThroughput(b *testing.B) {
	for _, size := range []int64{1 << 20, 100 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			for range b.N {
				objectThroughput(b, size)
			}
		})
	}
}

func objectThroughput(b *testing.B, size int64) {
	e := benchEnv(b, storetest.SQLite, func(o *models.Options) { o.MaxObjectBytes = 1 << 30 })
	dir := b.TempDir() // the same disk as the object directory (both in the test's temp dir)
	src := filepath.Join(dir, "src")
	buf := make([]byte, size)
	_, _ = rand.Read(buf)
	if err := os.WriteFile(src, buf, 0o600); err != nil {
		b.Fatal(err)
	}
	reps := 30
	if size >= 50<<20 {
		reps = 7
	}
	var cp, cpSync, put, get timings
	for i := range reps {
		dst := filepath.Join(dir, fmt.Sprintf("cp-%d", i))
		start := time.Now()
		if out, err := exec.Command("cp", src, dst).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v %s", err, out)
		}
		cp = append(cp, time.Since(start))
		_ = os.Remove(dst)

		start = time.Now()
		if out, err := exec.Command("cp", src, dst).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v %s", err, out)
		}
		f, err := os.Open(dst)
		if err != nil {
			b.Fatal(err)
		}
		_ = f.Sync()
		f.Close()
		cpSync = append(cpSync, time.Since(start))
		_ = os.Remove(dst)

		name := fmt.Sprintf("bench/obj-%d", i%2)
		body, _ := os.Open(src)
		req, _ := http.NewRequest(http.MethodPut, e.url(name), body)
		req.ContentLength = size
		req.Header.Set("X-Auth-Token", e.member)
		start = time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		put = append(put, time.Since(start))
		body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("PUT: %d", resp.StatusCode)
		}

		req, _ = http.NewRequest(http.MethodGet, e.url(name), nil)
		req.Header.Set("X-Auth-Token", e.member)
		start = time.Now()
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := os.Create(dst)
		n, err := io.Copy(out, resp.Body)
		resp.Body.Close()
		out.Close()
		get = append(get, time.Since(start))
		if err != nil || n != size {
			b.Fatalf("GET: %d bytes, %v", n, err)
		}
		_ = os.Remove(dst)
	}
	// What bounds a PUT: its MD5 (Swift's ETag) over every byte, on one core.
	h := md5.New()
	start := time.Now()
	h.Write(buf)
	md5Rate := mbps(size, time.Since(start))
	b.Logf("%d MiB: MD5 alone runs at %.0f MB/s on this CPU", size>>20, md5Rate)
	b.ReportMetric(md5Rate, "MD5-MB/s")
	b.Logf("%d MiB: cp %s", size>>20, cp.spread())
	b.Logf("%d MiB: cp+fsync %s", size>>20, cpSync.spread())
	b.Logf("%d MiB: PUT %s (%.0f MB/s)", size>>20, put.spread(), mbps(size, put.median()))
	b.Logf("%d MiB: GET to a file %s (%.0f MB/s)", size>>20, get.spread(), mbps(size, get.median()))
	b.ReportMetric(mbps(size, put.median()), "PUT-MB/s")
	b.ReportMetric(mbps(size, get.median()), "GET-MB/s")
	b.ReportMetric(float64(cp.median())/float64(put.median()), "PUT/cp")
	b.ReportMetric(float64(cp.median())/float64(get.median()), "GET/cp")
	b.ReportMetric(float64(cpSync.median())/float64(put.median()), "PUT/cp+fsync")
}

func BenchmarkSmallObjectPUTs(b *testing.B) {
	for _, engine := range storetest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			for range b.N {
				smallPUTs(b, engine)
			}
		})
	}
}

func smallPUTs(b *testing.B, engine storetest.Engine) {
	e := benchEnv(b, engine, nil)
	if _, err := e.s.SetQuotas(context.Background(), models.Caller{UserName: "bench", SystemRole: models.RoleAdmin}, e.p,
		map[string]int64{models.QuotaObjects: models.Unlimited, models.QuotaObjectBytes: models.Unlimited}); err != nil {
		b.Fatal(err)
	}
	const total, clients = 10000, 64
	body := strings.Repeat("x", 512)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				req, _ := http.NewRequest(http.MethodPut, e.url(fmt.Sprintf("bench/small-%05d", i)), strings.NewReader(body))
				req.Header.Set("X-Auth-Token", e.member)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	if failed.Load() > 0 {
		b.Fatalf("%d PUTs failed", failed.Load())
	}
	b.Logf("%s: %d PUTs of %d bytes by %d clients in %v: %.0f PUTs/s", engine, total, len(body), clients, d.Round(time.Millisecond), total/d.Seconds())
	b.ReportMetric(total/d.Seconds(), "PUTs/s")
	// What bounds it: the disk's durable file creates (write, fsync,
	// rename, fsync the directory) by as many writers, without Stratus.
	fs := durableCreates(b, clients, len(body))
	b.Logf("%s: the same disk makes %.0f durable %d-byte files/s with %d writers", engine, fs, len(body), clients)
	b.ReportMetric(fs, "fs-creates/s")
}

// durableCreates measures how many small files per second the disk under
// the test's temp dir makes durable, as the object backend writes them.
func durableCreates(b *testing.B, writers, size int) float64 {
	dir := b.TempDir()
	const total = 3000
	data := make([]byte, size)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				f, err := os.CreateTemp(dir, "tmp-*")
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = f.Write(data)
				_ = f.Sync()
				_ = f.Close()
				_ = os.Rename(f.Name(), filepath.Join(dir, fmt.Sprintf("f%d", i)))
				if d, err := os.Open(dir); err == nil {
					_ = d.Sync()
					_ = d.Close()
				}
			}
		}()
	}
	wg.Wait()
	return total / time.Since(start).Seconds()
}

func BenchmarkListing100k(b *testing.B) {
	for _, engine := range storetest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			for range b.N {
				listing100k(b, engine)
			}
		})
	}
}

func listing100k(b *testing.B, engine storetest.Engine) {
	e := benchEnv(b, engine, nil)
	const total = 100000
	names := make([]string, total)
	for i := range names {
		// 100 "days" of 1,000 logs; the prefix below lists 30 of them.
		names[i] = fmt.Sprintf("logs/day-%03d/%07d.log", i%100, i)
	}
	seed := time.Now()
	if err := e.s.SeedObjectsForBench(context.Background(), e.p, "bench", names, 1024); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: seeded %d objects in %v", engine, total, time.Since(seed).Round(time.Millisecond))
	var pages timings
	listed := 0
	for _, prefix := range []string{"logs/", "logs/day-04"} {
		marker := ""
		for {
			u := "bench?format=json&limit=1000&prefix=" + prefix + "&marker=" + marker
			start := time.Now()
			r := e.do(http.MethodGet, u, e.member, nil)
			pages = append(pages, time.Since(start))
			if r.StatusCode == http.StatusNoContent {
				break
			}
			r.expect(b, http.StatusOK)
			n := strings.Count(r.body, `"name":`)
			listed += n
			if n < 1000 {
				break
			}
			i := strings.LastIndex(r.body, `"name":"`)
			marker = r.body[i+8 : i+8+strings.IndexByte(r.body[i+8:], '"')]
		}
	}
	if listed != total+10000 {
		b.Fatalf("listed %d names, want %d", listed, total+10000)
	}
	slices.Sort(pages)
	p95 := pages[len(pages)*95/100]
	b.Logf("%s: %d pages of up to 1,000 names (prefix logs/ and logs/day-04): %s, p95 %v", engine, len(pages), pages.spread(), p95.Round(time.Microsecond))
	b.ReportMetric(float64(pages.median().Microseconds())/1000, "ms/page")
	b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms/page")
}
