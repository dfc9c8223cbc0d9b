package volume_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers"
)

// A volume that cannot be made from an unreadable image tells its owner
// why without the server's paths (the image cache's file is named by its
// last element only); the volume service logs the full error, with the
// volume's ID, for the operator.
func TestFailedCreateFaultHidesServerPaths(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		cacheDir := filepath.Join(t.TempDir(), "image-cache")
		if err := os.Mkdir(cacheDir, 0o755); err != nil {
			t.Fatal(err)
		}
		cached := filepath.Join(cacheDir, "img-garbage")
		if err := os.WriteFile(cached, []byte("QFI\xfb this is no disk image"), 0o644); err != nil {
			t.Fatal(err)
		}
		var logged bytes.Buffer
		b := setupLogged(t, s, fileBackend(t, ""), &images{path: cached}, slog.New(slog.NewTextHandler(&logged, nil)))
		v := b.create(t, models.VolumeCreate{Name: "data", SizeGB: 1, ImageID: b.activeImage(t, []byte("raw disk bytes")).ID})
		if _, err := b.run(t); err != nil {
			t.Fatalf("a terminal failure ends the job, got %v", err)
		}
		v = b.status(t, v.ID, models.VolumeError)
		if strings.Contains(v.FaultMessage, cacheDir) || !strings.Contains(v.FaultMessage, "img-garbage") {
			t.Errorf("fault message %q: want the cached file named without %s", v.FaultMessage, cacheDir)
		}
		var line string
		for l := range strings.Lines(logged.String()) {
			if strings.Contains(l, v.ID) && strings.Contains(l, cached) {
				line = l
			}
		}
		if line == "" {
			t.Errorf("no log line names the volume and %s:\n%s", cached, logged.String())
		}
	})
}

// A volume whose source cannot be had (the image's bytes are unusable)
// fails with the error logged too: the fault alone no longer holds it all.
func TestUnusableSourceIsLogged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		var logged bytes.Buffer
		b := setupLogged(t, s, fileBackend(t, ""), &images{err: workers.Terminalf("the image's data is not a qcow2 or raw disk")},
			slog.New(slog.NewTextHandler(&logged, nil)))
		v := b.create(t, models.VolumeCreate{Name: "data", SizeGB: 1, ImageID: b.activeImage(t, []byte("raw disk bytes")).ID})
		if _, err := b.run(t); err != nil {
			t.Fatalf("a terminal failure ends the job, got %v", err)
		}
		b.status(t, v.ID, models.VolumeError)
		found := false
		for l := range strings.Lines(logged.String()) {
			found = found || strings.Contains(l, v.ID) && strings.Contains(l, "not a qcow2 or raw disk")
		}
		if !found {
			t.Errorf("no log line names the volume and its error:\n%s", logged.String())
		}
	})
}
