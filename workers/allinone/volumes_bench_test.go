package allinone_test

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/allinone"
	"stratus/workers/hostdrivers"
	"stratus/workers/volume"
)

// BenchmarkVolumeCreate measures create → available on the file backend
// (qemu-img files in a temp directory on this machine's disk): blank
// volumes of 1 and 10 GB, and a volume from a 1 GB image the first time
// (the volume service fetches the image into its cache and converts it)
// and once cached. The volume service runs in process, woken by the
// enqueue as in `stratus dev`. Figures, not assertions.
//
//	go test ./workers/allinone -run '^$' -bench VolumeCreate -benchtime 1x
func BenchmarkVolumeCreate(b *testing.B) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		b.Skip("qemu-img is not installed")
	}
	for _, engine := range storetest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			s := storetest.New(b, engine)
			bd := setup(b, s, nil, 8192, func(c *allinone.Config) {
				vb, err := hostdrivers.OpenVolumeBackend(hostdrivers.VolumeConfig{Driver: hostdrivers.VolumeFile,
					Dir: filepath.Join(b.TempDir(), "volumes"), ImageCacheDir: filepath.Join(b.TempDir(), "cache"),
					Images: hostdrivers.ImagesConfig{Store: s}}, nil)
				if err != nil {
					b.Fatal(err)
				}
				c.Volumes = []volume.Config{{Name: "file", Backend: vb.Backend, Images: vb.Images}}
			})
			ctx := context.Background()
			if _, err := s.SetQuotas(ctx, bd.admin, "demo", map[string]int64{models.QuotaGigabytes: -1, models.QuotaVolumes: -1}); err != nil {
				b.Fatal(err)
			}
			im := oneGBImage(b, s, bd)
			timed := func(label string, in models.VolumeCreate) {
				start := time.Now()
				v, err := s.CreateVolume(ctx, bd.member, in)
				if err != nil {
					b.Fatal(err)
				}
				for {
					got, err := s.GetVolume(ctx, bd.member, v.ID)
					if err != nil {
						b.Fatal(err)
					}
					if got.Status == models.VolumeAvailable {
						break
					}
					if got.Status == models.VolumeError {
						b.Fatalf("%s: %s", label, got.FaultMessage)
					}
					time.Sleep(5 * time.Millisecond)
				}
				d := time.Since(start)
				b.Logf("%-28s create → available %7.1f ms", label, float64(d.Microseconds())/1000)
				b.ReportMetric(float64(d.Microseconds())/1000, label+"-ms")
			}
			b.ResetTimer()
			for range b.N {
				timed("blank-1GB", models.VolumeCreate{SizeGB: 1})
				timed("blank-10GB", models.VolumeCreate{SizeGB: 10})
				timed("image-1GB-first", models.VolumeCreate{ImageID: im, SizeGB: 1})
				timed("image-1GB-cached", models.VolumeCreate{ImageID: im, SizeGB: 1})
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// oneGBImage uploads a 1 GiB raw image whose every MiB holds some data (so
// that neither the upload nor qemu-img can skip it as a hole).
func oneGBImage(b *testing.B, s *models.Store, bd *bundle) string {
	b.Helper()
	ctx := context.Background()
	im, err := s.CreateImage(ctx, bd.member, models.ImageInput{Name: "one-gig", DiskFormat: "raw"})
	if err != nil {
		b.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 1<<20)
		for i := range 1024 {
			copy(chunk, fmt.Sprintf("stratus benchmark MiB %d", i))
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	if _, err := s.UploadImage(ctx, bd.member, im.ID, pr); err != nil {
		b.Fatal(err)
	}
	return im.ID
}

// BenchmarkVolumeCreatesAgainstQuota: 100 concurrent creates of 1 GB
// volumes against a 50 GB quota — how long until every request is
// answered, and that exactly 50 were accepted (the quota holds under the
// project's lock on both engines).
//
//	STRATUS_TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/test' go test ./workers/allinone -run '^$' -bench VolumeCreatesAgainstQuota -benchtime 1x
func BenchmarkVolumeCreatesAgainstQuota(b *testing.B) {
	for _, engine := range storetest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			s := storetest.New(b, engine)
			bd := setup(b, s, nil, 8192, nil) // no volume service: the intents alone
			ctx := context.Background()
			if _, err := s.RegisterVolumeBackend(ctx, models.VolumeBackendReport{Name: "file", Driver: "file", CapacityGB: 100000}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.SetQuotas(ctx, bd.admin, "demo", map[string]int64{models.QuotaGigabytes: 50, models.QuotaVolumes: -1}); err != nil {
				b.Fatal(err)
			}
			var wall time.Duration
			accepted := 0
			b.ResetTimer()
			for range b.N {
				var wg sync.WaitGroup
				var mu sync.Mutex
				accepted = 0
				start := time.Now()
				for i := range 100 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := s.CreateVolume(ctx, bd.member, models.VolumeCreate{Name: fmt.Sprintf("q%d", i), SizeGB: 1})
						mu.Lock()
						defer mu.Unlock()
						if err == nil {
							accepted++
						}
					}()
				}
				wg.Wait()
				wall = time.Since(start)
			}
			if accepted != 50 {
				b.Fatalf("accepted %d creates under a 50 GB quota", accepted)
			}
			b.Logf("100 concurrent creates, 50 GB quota: %d accepted, all answered in %.0f ms", accepted, float64(wall.Microseconds())/1000)
			b.ReportMetric(float64(wall.Microseconds())/1000, "all-answered-ms")
			b.ReportMetric(float64(accepted), "accepted")
			b.ReportMetric(0, "ns/op")
		})
	}
}
