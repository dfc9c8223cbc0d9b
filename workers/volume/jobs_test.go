package volume_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers"
	"stratus/workers/volume"
	"stratus/workers/volume/fake"
	"stratus/workers/volume/file"
)

// The volume service's job handlers, one job at a time: the model's
// intents enqueue the jobs, the test claims them and runs them through
// the service (RunJob), on the fake backend and on the file backend's
// real qemu-img files.

type bundle struct {
	store  *models.Store
	svc    *volume.Service
	member models.Caller
	name   string
}

// images is an ImageCache that hands out one file, or fails.
type images struct {
	path string
	err  error
}

func (i *images) Fetch(context.Context, models.Image) (string, error) { return i.path, i.err }

func setup(t *testing.T, s *models.Store, b volume.Backend, im volume.ImageCache) *bundle {
	t.Helper()
	return setupLogged(t, s, b, im, nil)
}

// setupLogged is setup with the service logging to log.
func setupLogged(t *testing.T, s *models.Store, b volume.Backend, im volume.ImageCache, log *slog.Logger) *bundle {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Bootstrap(ctx, models.BootstrapInput{AdminName: "admin", AdminProject: "admin", AdminPassword: "admin-password",
		DemoProject: "demo", DemoUser: "demo", DemoPassword: "demo-password"}); err != nil {
		t.Fatal(err)
	}
	demo, _ := s.GetUser(ctx, "demo")
	project, _ := s.GetProject(ctx, "demo")
	member, err := s.ResolveCaller(ctx, demo.ID, project.ID)
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := s.GetUser(ctx, "admin")
	operator, _ := s.ResolveCaller(ctx, admin.ID, "")
	if _, err := s.SetQuotas(ctx, operator, "demo", map[string]int64{models.QuotaVolumes: -1, models.QuotaGigabytes: -1,
		models.QuotaSnapshots: -1}); err != nil {
		t.Fatal(err)
	}
	cfg := volume.Config{Store: s, Backend: b, Name: b.Driver(), Log: log}
	if im != nil {
		cfg.Images = im
	}
	svc, err := volume.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Register(ctx); err != nil {
		t.Fatal(err)
	}
	return &bundle{store: s, svc: svc, member: member, name: b.Driver()}
}

func fileBackend(t *testing.T, qemuImg string) *file.Backend {
	t.Helper()
	needQemuImg(t)
	b, err := file.New(file.Config{Dir: filepath.Join(t.TempDir(), "volumes"), QemuImg: qemuImg})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func needQemuImg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("qemu-img is missing (.ci/deps installs qemu-utils)")
		}
		t.Skip("qemu-img is not installed")
	}
}

// claim leases the backend's queued jobs.
func (b *bundle) claim(t *testing.T) []models.Job {
	t.Helper()
	jobs, err := b.store.ClaimJobs(context.Background(), "test", models.VolumeTarget(b.name), 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// run claims the backend's queued jobs (there must be one) and runs it;
// it returns the job, to run again.
func (b *bundle) run(t *testing.T) (models.Job, error) {
	t.Helper()
	jobs := b.claim(t)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs queued for the %s backend, want 1", len(jobs), b.name)
	}
	return jobs[0], b.svc.RunJob(context.Background(), &jobs[0])
}

// mustRun is run that must succeed.
func (b *bundle) mustRun(t *testing.T) models.Job {
	t.Helper()
	job, err := b.run(t)
	if err != nil {
		t.Fatalf("%s: %v", job.Kind, err)
	}
	return job
}

func (b *bundle) create(t *testing.T, in models.VolumeCreate) models.Volume {
	t.Helper()
	v, err := b.store.CreateVolume(context.Background(), b.member, in)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != models.VolumeCreating || v.Backend != b.name {
		t.Fatalf("new volume is %s on %q (%s)", v.Status, v.Backend, v.FaultMessage)
	}
	return v
}

// available creates a volume and runs its job.
func (b *bundle) available(t *testing.T, in models.VolumeCreate) models.Volume {
	t.Helper()
	v := b.create(t, in)
	b.mustRun(t)
	return b.status(t, v.ID, models.VolumeAvailable)
}

func (b *bundle) volume(t *testing.T, id string) models.Volume {
	t.Helper()
	v, err := b.store.VolumeByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (b *bundle) status(t *testing.T, id string, want models.VolumeStatus) models.Volume {
	t.Helper()
	v := b.volume(t, id)
	if v.Status != want {
		t.Fatalf("volume %s is %s (%q), want %s", v.Name, v.Status, v.FaultMessage, want)
	}
	return v
}

func (b *bundle) allocatedGB(t *testing.T) int64 {
	t.Helper()
	p, err := b.store.ListVolumeBackends(context.Background(), models.ListOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, vb := range p.Items {
		if vb.Name == b.name {
			return vb.AllocatedGB
		}
	}
	t.Fatalf("backend %s is not registered", b.name)
	return 0
}

// activeImage uploads data as an image of the demo project.
func (b *bundle) activeImage(t *testing.T, data []byte) models.Image {
	t.Helper()
	ctx := context.Background()
	im, err := b.store.CreateImage(ctx, b.member, models.ImageInput{Name: "disk"})
	if err != nil {
		t.Fatal(err)
	}
	im, err = b.store.UploadImage(ctx, b.member, im.ID, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// qcow2Image makes a small qcow2 file with some data in it.
func qcow2Image(t *testing.T, virtualMB int) string {
	t.Helper()
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	data := bytes.Repeat([]byte("stratus!"), 64<<10) // 512 KiB of data
	if err := os.WriteFile(raw, data, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "disk.qcow2")
	if out, err := exec.Command("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, path).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v %s", err, out)
	}
	if out, err := exec.Command("qemu-img", "resize", "-q", "-f", "qcow2", path,
		strconv.Itoa(virtualMB<<20)).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img resize: %v %s", err, out)
	}
	return path
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

type qemuInfo struct {
	Format      string `json:"format"`
	VirtualSize int64  `json:"virtual-size"`
	Backing     string `json:"full-backing-filename"`
}

func info(t *testing.T, path string) qemuInfo {
	t.Helper()
	out, err := exec.Command("qemu-img", "info", "-U", "--output=json", path).Output()
	if err != nil {
		t.Fatalf("qemu-img info %s: %v", path, err)
	}
	var i qemuInfo
	if err := json.Unmarshal(out, &i); err != nil {
		t.Fatal(err)
	}
	return i
}

func files(t *testing.T, b *file.Backend) []string {
	t.Helper()
	names, err := b.Files()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// TestCreateOnTheFakeBackend: a blank volume's job records its
// connection and progress, and the backend holds it.
func TestCreateOnTheFakeBackend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		fb := fake.New(100)
		b := setup(t, s, fb, nil)
		v := b.available(t, models.VolumeCreate{Name: "data", SizeGB: 3})
		if v.Connection == nil || v.Connection.Path != "/fake-volumes/volume-"+v.ID || v.Progress != 100 || v.FaultMessage != "" {
			t.Errorf("created volume: connection %+v, progress %d, fault %q", v.Connection, v.Progress, v.FaultMessage)
		}
		if n, _ := fb.Counts(); n != 1 {
			t.Errorf("the backend holds %d volumes, want 1", n)
		}
		if got := b.allocatedGB(t); got != 3 {
			t.Errorf("backend allocation %d GB, want 3", got)
		}
	})
}

// TestCreateFromEachSourceOnTheFileBackend: blank, image, snapshot and
// clone volumes are files of the volume's size holding what they were
// made from, and the model records where.
func TestCreateFromEachSourceOnTheFileBackend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		fb := fileBackend(t, "")
		img := qcow2Image(t, 64)
		b := setup(t, s, fb, &images{path: img})
		ctx := context.Background()

		blank := b.available(t, models.VolumeCreate{Name: "blank", SizeGB: 1})
		if blank.Connection == nil || blank.Connection.Path != filepath.Join(fb.Dir(), "volume-"+blank.ID) ||
			blank.Connection.Format != "qcow2" {
			t.Fatalf("blank volume's connection %+v", blank.Connection)
		}
		if i := info(t, blank.Connection.Path); i.VirtualSize != 1<<30 || i.Format != "qcow2" {
			t.Errorf("blank volume's file: %+v", i)
		}

		im := b.activeImage(t, must(os.ReadFile(img)))
		fromImage := b.available(t, models.VolumeCreate{Name: "from-image", ImageID: im.ID, SizeGB: 2})
		if i := info(t, fromImage.Connection.Path); i.VirtualSize != 2<<30 || i.Backing != "" {
			t.Errorf("image volume's file: %+v", i)
		}
		if !fromImage.Bootable || fromImage.Progress != 100 {
			t.Errorf("image volume: bootable %v, progress %d", fromImage.Bootable, fromImage.Progress)
		}
		if out, err := exec.Command("qemu-img", "compare", "-q", img, fromImage.Connection.Path).CombinedOutput(); err != nil {
			t.Errorf("the volume does not hold the image's data: %v %s", err, out)
		}

		snap, err := s.CreateSnapshot(ctx, b.member, models.SnapshotCreate{VolumeID: fromImage.ID, Name: "s1"})
		if err != nil {
			t.Fatal(err)
		}
		b.mustRun(t)
		snap, err = s.SnapshotByID(ctx, snap.ID)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Status != models.SnapshotAvailable || snap.ProviderLocation != "volume-"+fromImage.ID {
			t.Fatalf("snapshot is %s at %q (%s)", snap.Status, snap.ProviderLocation, snap.FaultMessage)
		}
		moved := b.status(t, fromImage.ID, models.VolumeAvailable)
		if want := fromImage.Connection.Path + "." + snap.ID; moved.Connection.Path != want ||
			info(t, want).Backing != fromImage.Connection.Path {
			t.Errorf("after the snapshot the volume is at %s, want an overlay %s on its frozen file", moved.Connection.Path, want)
		}

		fromSnap := b.available(t, models.VolumeCreate{Name: "from-snap", SnapshotID: snap.ID})
		if i := info(t, fromSnap.Connection.Path); i.Backing != fromImage.Connection.Path || i.VirtualSize != 2<<30 {
			t.Errorf("snapshot volume's file: %+v", i)
		}
		clone := b.available(t, models.VolumeCreate{Name: "clone", SourceVolID: fromImage.ID, SizeGB: 3})
		if i := info(t, clone.Connection.Path); i.Backing != "" || i.VirtualSize != 3<<30 {
			t.Errorf("clone's file: %+v", i)
		}
		for _, v := range []models.Volume{fromSnap, clone} {
			if out, err := exec.Command("qemu-img", "compare", "-q", img, v.Connection.Path).CombinedOutput(); err != nil {
				t.Errorf("volume %s does not hold the image's data: %v %s", v.Name, err, out)
			}
		}
		if got := b.allocatedGB(t); got != 1+2+2+3 {
			t.Errorf("backend allocation %d GB, want 8", got)
		}
	})
}

// TestFailedCreateLeavesTheVolumeInError: a create the backend cannot do
// puts the volume in error with a reason its owner can read and leaves no
// data behind.
func TestFailedCreateLeavesTheVolumeInError(t *testing.T) {
	// noSpace is qemu-img on a full file system: it writes part of its
	// output, then fails.
	noSpace := func(t *testing.T) string {
		needQemuImg(t)
		real, _ := exec.LookPath("qemu-img")
		path := filepath.Join(t.TempDir(), "qemu-img")
		script := "#!/bin/sh\ncase \"$1\" in create|convert)\n" +
			"  for a in \"$@\"; do case \"$a\" in *.part) printf 'half a disk' > \"$a\";; esac; done\n" +
			"  echo \"qemu-img: error while writing at byte 1048576: No space left on device\" >&2; exit 1;;\nesac\n" +
			"exec " + real + " \"$@\"\n"
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	garbage := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "garbage.qcow2")
		if err := os.WriteFile(path, []byte("QFI\xfb this is no disk image"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		name string
		// backend makes the backend and the image cache
		backend func(t *testing.T) (volume.Backend, *images)
		// prepare runs before the volume's creation
		prepare func(t *testing.T, vb volume.Backend)
		image   bool
		want    string // in the fault message
	}{
		{name: "fake driver error", backend: func(t *testing.T) (volume.Backend, *images) {
			fb := fake.New(100)
			fb.FailNext("the disk array is offline")
			return fb, nil
		}, want: "the disk array is offline"},
		{name: "fake out of space", backend: func(t *testing.T) (volume.Backend, *images) {
			return fake.New(100), nil
		}, prepare: func(t *testing.T, vb volume.Backend) {
			// The backend's data fills up behind the scheduler's back.
			ctx := context.Background()
			filler := models.Volume{ID: "00000000-0000-4000-8000-000000000000", SizeGB: 100}
			if _, err := vb.CreateVolume(ctx, filler, volume.Source{}); err != nil {
				t.Fatal(err)
			}
		}, want: "out of space"},
		{name: "file out of space", backend: func(t *testing.T) (volume.Backend, *images) {
			return fileBackend(t, noSpace(t)), nil
		}, want: "No space left on device"},
		{name: "file image out of space", backend: func(t *testing.T) (volume.Backend, *images) {
			return fileBackend(t, noSpace(t)), &images{path: qcow2Image(t, 64)}
		}, image: true, want: "No space left on device"},
		{name: "unreadable image", backend: func(t *testing.T) (volume.Backend, *images) {
			return fileBackend(t, ""), &images{path: garbage(t)}
		}, image: true, want: "image"},
		{name: "image whose bytes cannot be used", backend: func(t *testing.T) (volume.Backend, *images) {
			return fileBackend(t, ""), &images{err: workers.Terminalf("the image's data is not a qcow2 or raw disk")}
		}, image: true, want: "not a qcow2 or raw disk"},
		{name: "no image cache", backend: func(t *testing.T) (volume.Backend, *images) {
			return fileBackend(t, ""), nil
		}, image: true, want: "cannot read images"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, s *models.Store) {
				vb, im := tc.backend(t)
				var cache volume.ImageCache
				if im != nil {
					cache = im
				}
				b := setup(t, s, vb, cache)
				if tc.prepare != nil {
					tc.prepare(t, vb)
				}
				in := models.VolumeCreate{Name: "data", SizeGB: 1}
				if tc.image {
					in.ImageID = b.activeImage(t, []byte("raw disk bytes")).ID
				}
				v := b.create(t, in)
				if _, err := b.run(t); err != nil {
					t.Fatalf("a terminal failure ends the job, got %v", err)
				}
				v = b.status(t, v.ID, models.VolumeError)
				if !strings.Contains(v.FaultMessage, tc.want) {
					t.Errorf("fault message %q does not say %q", v.FaultMessage, tc.want)
				}
				if v.Connection != nil {
					t.Errorf("a failed volume has a connection %+v", v.Connection)
				}
				switch vb := vb.(type) {
				case *file.Backend:
					if got := files(t, vb); len(got) != 0 {
						t.Errorf("a failed create left %v in the backend's directory", got)
					}
				case *fake.Backend:
					if n, _ := vb.Counts(); n != 0 && tc.prepare == nil {
						t.Errorf("a failed create left %d volumes on the backend", n)
					}
				}
				// The owner deletes it: its data (none) and its allocation go.
				if _, err := s.DeleteVolume(context.Background(), b.member, v.ID); err != nil {
					t.Fatal(err)
				}
				b.mustRun(t)
				if _, err := s.VolumeByID(context.Background(), v.ID); !errors.Is(err, models.ErrNotFound) {
					t.Errorf("the failed volume outlives its delete: %v", err)
				}
				if got := b.allocatedGB(t); got != 0 {
					t.Errorf("backend allocation %d GB after deleting the failed volume, want 0", got)
				}
			})
		})
	}
}

// TestImageFetchRetries: an image store that does not answer is retried
// (the volume stays creating) until the job's last attempt, which puts
// the volume in error.
func TestImageFetchRetries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		im := &images{err: errors.New("connection refused")}
		b := setup(t, s, fileBackend(t, ""), im)
		v := b.create(t, models.VolumeCreate{Name: "data", ImageID: b.activeImage(t, []byte("raw disk bytes")).ID})
		job, err := b.run(t)
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("a failed fetch on attempt %d/%d: %v, want the error (a retry)", job.Attempt, job.MaxAttempts, err)
		}
		b.status(t, v.ID, models.VolumeCreating)
		job.Attempt = job.MaxAttempts
		if err := b.svc.RunJob(context.Background(), &job); err != nil {
			t.Fatalf("the last attempt: %v", err)
		}
		if v = b.status(t, v.ID, models.VolumeError); !strings.Contains(v.FaultMessage, "connection refused") {
			t.Errorf("fault message %q", v.FaultMessage)
		}
	})
}

// TestCreateRunTwiceIsIdempotent: a create job that runs again — after
// it finished, or after an attempt that made the data (or part of it) and
// died before recording it — leaves one whole file and an available
// volume.
func TestCreateRunTwiceIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		fb := fileBackend(t, "")
		b := setup(t, s, fb, nil)
		ctx := context.Background()

		v := b.create(t, models.VolumeCreate{Name: "again", SizeGB: 1})
		job := b.mustRun(t)
		if err := b.svc.RunJob(ctx, &job); err != nil {
			t.Fatalf("the same create again: %v", err)
		}
		v = b.status(t, v.ID, models.VolumeAvailable)
		if got := files(t, fb); !slices.Equal(got, []string{"volume-" + v.ID}) {
			t.Errorf("files after running a create twice: %v", got)
		}

		// An attempt made the file and died; another left half a file.
		died := b.create(t, models.VolumeCreate{Name: "died", SizeGB: 1})
		if _, err := fb.CreateVolume(ctx, died, volume.Source{}); err != nil {
			t.Fatal(err)
		}
		half := b.create(t, models.VolumeCreate{Name: "half", SizeGB: 1})
		if err := os.WriteFile(filepath.Join(fb.Dir(), "volume-"+half.ID+".part"), []byte("half a disk"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, job := range b.claim(t) {
			if err := b.svc.RunJob(ctx, &job); err != nil {
				t.Fatal(err)
			}
		}
		b.status(t, died.ID, models.VolumeAvailable)
		b.status(t, half.ID, models.VolumeAvailable)
		want := []string{"volume-" + v.ID, "volume-" + died.ID, "volume-" + half.ID}
		slices.Sort(want)
		if got := files(t, fb); !slices.Equal(got, want) {
			t.Errorf("files: %v, want %v", got, want)
		}
		if i := info(t, filepath.Join(fb.Dir(), "volume-"+half.ID)); i.VirtualSize != 1<<30 {
			t.Errorf("the volume created over a partial file: %+v", i)
		}
	})
}

// TestDeleteRemovesTheDataOnce: a delete job removes the file, the row
// and the allocation; run again it does nothing. A backend that cannot
// delete leaves the volume deleting while the job retries, and in error
// on its last attempt.
func TestDeleteRemovesTheDataOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		fb := fileBackend(t, "")
		b := setup(t, s, fb, nil)
		ctx := context.Background()
		v := b.available(t, models.VolumeCreate{Name: "data", SizeGB: 2})
		if _, err := s.DeleteVolume(ctx, b.member, v.ID); err != nil {
			t.Fatal(err)
		}
		job := b.mustRun(t)
		if err := b.svc.RunJob(ctx, &job); err != nil {
			t.Fatalf("the same delete again: %v", err)
		}
		if _, err := s.VolumeByID(ctx, v.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("deleted volume: %v", err)
		}
		if got := files(t, fb); len(got) != 0 {
			t.Errorf("files after the delete: %v", got)
		}
		if got := b.allocatedGB(t); got != 0 {
			t.Errorf("backend allocation %d GB, want 0", got)
		}
	})
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		fb := fake.New(100)
		b := setup(t, s, fb, nil)
		ctx := context.Background()
		v := b.available(t, models.VolumeCreate{Name: "stuck", SizeGB: 1})
		if _, err := s.DeleteVolume(ctx, b.member, v.ID); err != nil {
			t.Fatal(err)
		}
		fb.FailNext("the disk array is offline")
		job, err := b.run(t)
		if err == nil {
			t.Fatal("a failed delete on its first attempt ends the job")
		}
		b.status(t, v.ID, models.VolumeDeleting)
		fb.FailNext("the disk array is offline")
		job.Attempt = job.MaxAttempts
		if err := b.svc.RunJob(ctx, &job); err != nil {
			t.Fatal(err)
		}
		if v = b.status(t, v.ID, models.VolumeError); !strings.Contains(v.FaultMessage, "the disk array is offline") {
			t.Errorf("fault message %q", v.FaultMessage)
		}
		if n, _ := fb.Counts(); n != 1 {
			t.Errorf("the backend holds %d volumes, want the undeleted one", n)
		}
	})
}

// TestExtendGrowsTheFileOrGivesTheSizeBack: an extend grows an available
// volume's file; a failed one returns the volume to its old size and
// allocation, with the reason.
func TestExtendGrowsTheFileOrGivesTheSizeBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		fb := fileBackend(t, "")
		b := setup(t, s, fb, nil)
		ctx := context.Background()
		v := b.available(t, models.VolumeCreate{Name: "data", SizeGB: 1})
		if _, err := s.ExtendVolume(ctx, b.member, v.ID, 3); err != nil {
			t.Fatal(err)
		}
		job := b.mustRun(t)
		if err := b.svc.RunJob(ctx, &job); err != nil {
			t.Fatalf("the same extend again: %v", err)
		}
		v = b.status(t, v.ID, models.VolumeAvailable)
		if i := info(t, v.Connection.Path); v.SizeGB != 3 || i.VirtualSize != 3<<30 {
			t.Errorf("extended volume: %d GB, file %d bytes", v.SizeGB, i.VirtualSize)
		}

		// The file vanished behind the service's back: the extend fails.
		if err := os.Rename(v.Connection.Path, v.Connection.Path+".moved"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ExtendVolume(ctx, b.member, v.ID, 5); err != nil {
			t.Fatal(err)
		}
		b.mustRun(t)
		v = b.status(t, v.ID, models.VolumeAvailable)
		if v.SizeGB != 3 || !strings.Contains(v.FaultMessage, "extend failed") {
			t.Errorf("after a failed extend: %d GB, fault %q", v.SizeGB, v.FaultMessage)
		}
		if got := b.allocatedGB(t); got != 3 {
			t.Errorf("backend allocation %d GB after a failed extend, want 3", got)
		}
	})
}

// TestSnapshotFailureAndDelete: a snapshot the backend cannot take is in
// error with the reason; a taken one's delete forgets it and removes its
// data once nothing needs it.
func TestSnapshotFailureAndDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		fb := fake.New(100)
		b := setup(t, s, fb, nil)
		ctx := context.Background()
		v := b.available(t, models.VolumeCreate{Name: "data", SizeGB: 1})
		bad, err := s.CreateSnapshot(ctx, b.member, models.SnapshotCreate{VolumeID: v.ID, Name: "bad"})
		if err != nil {
			t.Fatal(err)
		}
		fb.FailNext("the disk array is offline")
		b.mustRun(t)
		if bad, _ = s.SnapshotByID(ctx, bad.ID); bad.Status != models.SnapshotError ||
			!strings.Contains(bad.FaultMessage, "the disk array is offline") {
			t.Errorf("failed snapshot is %s (%q)", bad.Status, bad.FaultMessage)
		}
		b.status(t, v.ID, models.VolumeAvailable)

		good, err := s.CreateSnapshot(ctx, b.member, models.SnapshotCreate{VolumeID: v.ID, Name: "good"})
		if err != nil {
			t.Fatal(err)
		}
		b.mustRun(t)
		if _, n := fb.Counts(); n != 1 {
			t.Fatalf("the backend holds %d snapshots, want 1", n)
		}
		if _, err := s.DeleteSnapshot(ctx, b.member, good.ID); err != nil {
			t.Fatal(err)
		}
		job := b.mustRun(t)
		if err := b.svc.RunJob(ctx, &job); err != nil {
			t.Fatalf("the same snapshot delete again: %v", err)
		}
		if _, err := s.SnapshotByID(ctx, good.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("deleted snapshot: %v", err)
		}
		if _, n := fb.Counts(); n != 0 {
			t.Errorf("the backend holds %d snapshots after the delete, want 0", n)
		}
	})
}

// TestDeleteReadsOnlyItsVolume: a volume's delete job reads the rows of
// that volume, as many in a backend of two volumes as in one of twenty
// with snapshots (it used to read every volume and snapshot of the
// backend after each delete, to collect data nothing references — which
// only a backend with data left to collect needs).
func TestDeleteReadsOnlyItsVolume(t *testing.T) {
	for _, driver := range []string{"fake", "file"} {
		t.Run(driver, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, s *models.Store) {
				var vb volume.Backend = fake.New(1000)
				if driver == "file" {
					vb = fileBackend(t, "")
				}
				b := setup(t, s, vb, nil)
				ctx := context.Background()
				rows := s.CountRowsRead()
				deleteOne := func(others int) int64 {
					t.Helper()
					for i := range others {
						v := b.available(t, models.VolumeCreate{Name: "other", SizeGB: 1})
						if i%2 == 0 {
							if _, err := s.CreateSnapshot(ctx, b.member, models.SnapshotCreate{VolumeID: v.ID, Name: "s"}); err != nil {
								t.Fatal(err)
							}
							b.mustRun(t)
						}
					}
					v := b.available(t, models.VolumeCreate{Name: "doomed", SizeGB: 1})
					if _, err := s.DeleteVolume(ctx, b.member, v.ID); err != nil {
						t.Fatal(err)
					}
					jobs := b.claim(t)
					before := rows()
					if err := b.svc.RunJob(ctx, &jobs[0]); err != nil {
						t.Fatal(err)
					}
					read := rows() - before
					if _, err := s.VolumeByID(ctx, v.ID); !errors.Is(err, models.ErrNotFound) {
						t.Fatalf("deleted volume: %v", err)
					}
					return read
				}
				few := deleteOne(1)
				if many := deleteOne(20); many != few {
					t.Errorf("a volume's delete reads %d rows beside 1 other volume, %d beside 21", few, many)
				}
			})
		})
	}
}

// TestDeleteCollectsDataLeftForIt: a deleted snapshot's file kept for a
// volume that needed it (marked, as when a guest held the volume open)
// goes with that volume's delete; a marked file the database still
// references stays.
func TestDeleteCollectsDataLeftForIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		fb := fileBackend(t, "")
		b := setup(t, s, fb, nil)
		ctx := context.Background()
		kept := b.available(t, models.VolumeCreate{Name: "kept", SizeGB: 1})
		v := b.available(t, models.VolumeCreate{Name: "needs-old-data", SizeGB: 1})
		old := filepath.Join(fb.Dir(), "volume-00000000-0000-4000-8000-000000000001")
		if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", old, "1G").CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		if out, err := exec.Command("qemu-img", "rebase", "-q", "-u", "-f", "qcow2", "-F", "qcow2", "-b", old,
			v.Connection.Path).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		for _, marked := range []string{old, kept.Connection.Path} {
			if err := os.WriteFile(marked+".deleted", []byte("a snapshot\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.DeleteVolume(ctx, b.member, v.ID); err != nil {
			t.Fatal(err)
		}
		b.mustRun(t)
		want := []string{filepath.Base(kept.Connection.Path), filepath.Base(kept.Connection.Path) + ".deleted"}
		if got := files(t, fb); !slices.Equal(got, want) {
			t.Errorf("after the delete the backend holds %v, want %v", got, want)
		}
	})
}

// TestFailedSnapshotLeavesNoOverlay: a snapshot whose overlay cannot be
// written (the file system is full) is in error with the reason, the
// volume stays on its file, and no partial overlay is left behind.
func TestFailedSnapshotLeavesNoOverlay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		needQemuImg(t)
		real, _ := exec.LookPath("qemu-img")
		wrapper := filepath.Join(t.TempDir(), "qemu-img")
		// Full only when an overlay (volume-<id>.<snapshot-id>.part) is made.
		script := "#!/bin/sh\nif [ \"$1\" = create ]; then for a in \"$@\"; do case \"$a\" in */volume-*.*.part)\n" +
			"  printf 'half an overlay' > \"$a\"\n" +
			"  echo \"qemu-img: $a: Could not write qcow2 header: No space left on device\" >&2; exit 1;;\nesac; done; fi\n" +
			"exec " + real + " \"$@\"\n"
		if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		fb := fileBackend(t, wrapper)
		b := setup(t, s, fb, nil)
		ctx := context.Background()
		v := b.available(t, models.VolumeCreate{Name: "data", SizeGB: 1})
		snap, err := s.CreateSnapshot(ctx, b.member, models.SnapshotCreate{VolumeID: v.ID, Name: "s1"})
		if err != nil {
			t.Fatal(err)
		}
		b.mustRun(t)
		if snap, _ = s.SnapshotByID(ctx, snap.ID); snap.Status != models.SnapshotError ||
			!strings.Contains(snap.FaultMessage, "No space left on device") {
			t.Errorf("snapshot is %s (%q), want error saying why", snap.Status, snap.FaultMessage)
		}
		if got := b.status(t, v.ID, models.VolumeAvailable); got.Connection.Path != v.Connection.Path {
			t.Errorf("the volume moved to %s", got.Connection.Path)
		}
		if got := files(t, fb); !slices.Equal(got, []string{"volume-" + v.ID}) {
			t.Errorf("after a failed snapshot the backend holds %v", got)
		}
	})
}
