package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"stratus/models"
	"stratus/models/storetest"
)

// volumeSetup is computeSetup with a volume backend up, so that demo's
// volumes can be created.
func volumeSetup(t *testing.T, s *models.Store) *compute {
	t.Helper()
	c := computeSetup(t, s)
	if _, err := s.RegisterVolumeBackend(context.Background(), models.VolumeBackendReport{Name: "file", Driver: "file",
		CapacityGB: 100, FreeGB: 100}); err != nil {
		t.Fatal(err)
	}
	return c
}

// volume creates one of caller's volumes and plays the volume service's
// part: it is available.
func (c *compute) volume(t *testing.T, caller models.Caller, name string) models.Volume {
	t.Helper()
	ctx := context.Background()
	v, err := c.store.CreateVolume(ctx, caller, models.VolumeCreate{Name: name, SizeGB: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.store.FinishVolumeCreate(ctx, v.ID, models.VolumeConnection{Driver: "file", Path: "/v/volume-" + v.ID, Format: "qcow2"}); err != nil {
		t.Fatal(err)
	}
	return v
}

// attached attaches v to inst and plays the host's part: v is in use.
func (c *compute) attached(t *testing.T, inst models.Instance, v models.Volume) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.store.AttachVolume(ctx, c.demoC, inst.ID, v.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.store.FinishAttach(ctx, v.ID, inst.ID); err != nil {
		t.Fatal(err)
	}
}

// TestVolumeFormsFollowTheModelsRule: the volume page's attach list, the
// instance page's attach form and both Detach buttons are offered for the
// instance states the model attaches and detaches in (a paused instance
// among them), and not for those it refuses (an instance in ERROR, one
// rebooting) — the pages ask the model's rule rather than keep a copy.
func TestVolumeFormsFollowTheModelsRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := volumeSetup(t, s)
		ctx := context.Background()
		insts := c.launch(t, c.demoC, "vm", 3)
		act, paused, broken := insts[0], insts[1], insts[2]
		for _, inst := range insts {
			c.activate(t, inst)
		}
		if _, err := s.PowerAction(ctx, c.demoC, paused.ID, models.PowerPause); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishPower(ctx, paused.ID, models.PowerPause, models.PowerPaused, ""); err != nil {
			t.Fatal(err)
		}
		// A failed rebuild leaves the instance in ERROR on its host.
		if _, err := s.RebuildInstance(ctx, c.demoC, broken.ID, models.RebuildRequest{Image: c.image.ID}); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRebuild(ctx, broken.ID, c.host.Name, models.PowerShutdown, "disk copy failed"); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]models.VMState{act.ID: models.VMActive, paused.ID: models.VMPaused, broken.ID: models.VMError} {
			if got := c.instance(t, id); got.VMState != want || got.TaskState != models.TaskNone || got.Host == "" {
				t.Fatalf("instance %s: %s/%q on %q, want %s, idle, placed", got.Name, got.VMState, got.TaskState, got.Host, want)
			}
		}
		free := c.volume(t, c.demoC, "free")
		br := c.browser(t)
		br.login("demo", demoPassword)

		offered := map[string]bool{}
		br.get("/volumes/" + free.ID).testID("volume-attach-instance").Find("option").Each(func(_ int, o *goquery.Selection) {
			offered[o.AttrOr("value", "")] = true
		})
		if !offered[act.ID] || !offered[paused.ID] || offered[broken.ID] || len(offered) != 2 {
			t.Errorf("the volume page offers %v; want the active (%s) and the paused (%s) instance, not the one in ERROR (%s)",
				offered, act.ID, paused.ID, broken.ID)
		}
		if p := br.get("/instances/" + paused.ID); p.testID("instance-attach-volume").Find(`option[value="`+free.ID+`"]`).Length() != 1 {
			t.Errorf("a paused instance's page offers no attach of %s: %v", free.ID, testIDs(p.testID("instance-volumes")))
		}
		if p := br.get("/instances/" + broken.ID); p.testID("instance-attach-form").Length() != 0 {
			t.Error("an instance in ERROR offers to attach a volume")
		}
		if _, err := s.AttachVolume(ctx, c.demoC, broken.ID, free.ID); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("the model attaches to an instance in ERROR: %v", err)
		}

		// Attached to the paused instance: both pages offer Detach.
		c.attached(t, paused, free)
		if p := br.get("/volumes/" + free.ID); p.testID("volume-detach").Length() != 1 {
			t.Errorf("a paused instance's volume page offers no Detach: %v", testIDs(p.testID("volume-attachment")))
		}
		if p := br.get("/instances/" + paused.ID); p.testID("instance-volume-detach").Length() != 1 {
			t.Errorf("a paused instance's page offers no Detach: %v", testIDs(p.testID("instance-volumes")))
		}

		// Attached to an instance that is rebooting: neither page offers
		// Detach, nor the instance's page an attach, as the model refuses.
		busy := c.volume(t, c.demoC, "busy")
		c.attached(t, act, busy)
		spare := c.volume(t, c.demoC, "spare")
		if _, err := s.PowerAction(ctx, c.demoC, act.ID, models.PowerReboot); err != nil {
			t.Fatal(err)
		}
		opts := br.get("/volumes/" + spare.ID).testID("volume-attach-instance").Find("option")
		if opts.Length() != 1 || opts.AttrOr("value", "") != paused.ID {
			t.Errorf("with one instance rebooting, the volume page offers %d instances (%s), want the paused one only", opts.Length(), opts.Text())
		}
		if _, err := s.DetachVolume(ctx, c.demoC, act.ID, busy.ID, false); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("the model detaches from a rebooting instance: %v", err)
		}
		if p := br.get("/volumes/" + busy.ID); p.testID("volume-detach").Length() != 0 {
			t.Error("the volume page of a rebooting instance's volume offers Detach")
		}
		p := br.get("/instances/" + act.ID)
		if p.testID("instance-volume-"+busy.Name).Length() != 1 {
			t.Fatalf("the rebooting instance's page does not list %s: %v", busy.Name, testIDs(p.testID("instance-volumes")))
		}
		if p.testID("instance-volume-detach").Length() != 0 || p.testID("instance-attach-form").Length() != 0 {
			t.Errorf("a rebooting instance's page offers %v", testIDs(p.testID("instance-volumes")))
		}
	})
}

// TestSnapshotsPageReadsOnlyItsVolumes: the snapshots page names each
// snapshot's volume, and to do so reads those volumes only — as many rows
// whatever the number of the project's other volumes (it read every one,
// up to a thousand, and lost the names past them).
func TestSnapshotsPageReadsOnlyItsVolumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := volumeSetup(t, s)
		ctx := context.Background()
		v := c.volume(t, c.demoC, "data")
		sn, err := s.CreateSnapshot(ctx, c.demoC, models.SnapshotCreate{VolumeID: v.ID, Name: "nightly"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FinishSnapshot(ctx, sn.ID, "/v/snapshot-"+sn.ID, nil); err != nil {
			t.Fatal(err)
		}
		br := c.browser(t)
		br.login("demo", demoPassword)
		rows := s.CountRowsRead()
		read := func() int64 {
			t.Helper()
			br.get("/snapshots") // warm: the session's first write
			before := rows()
			p := br.get("/snapshots")
			wantStatus(t, p, http.StatusOK)
			if got := strings.TrimSpace(p.testID("snapshot-row-nightly").Find(`a[href="/volumes/` + v.ID + `"]`).Text()); got != "data" {
				t.Fatalf("the snapshot's volume is shown as %q, want data", got)
			}
			return rows() - before
		}
		few := read()
		for i := range 6 {
			c.volume(t, c.demoC, fmt.Sprintf("other-%d", i))
		}
		if many := read(); many != few {
			t.Errorf("the snapshots page reads %d rows with 1 volume in the project, %d with 7", few, many)
		}
	})
}

// TestVolumePageReadsOnlyAttachableInstances: a volume's attach list is
// the instances the model would attach it to, read as such — the
// project's other instances (here: still building) are not read and
// dropped.
func TestVolumePageReadsOnlyAttachableInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := volumeSetup(t, s)
		act := c.launch(t, c.demoC, "act", 1)[0]
		c.activate(t, act)
		v := c.volume(t, c.demoC, "data")
		br := c.browser(t)
		br.login("demo", demoPassword)
		rows := s.CountRowsRead()
		read := func() int64 {
			t.Helper()
			br.get("/volumes/" + v.ID) // warm: the session's first write
			before := rows()
			p := br.get("/volumes/" + v.ID)
			wantStatus(t, p, http.StatusOK)
			if opts := p.testID("volume-attach-instance").Find("option"); opts.Length() != 1 || opts.AttrOr("value", "") != act.ID {
				t.Fatalf("the volume page offers %d instances (%s), want act only", opts.Length(), opts.Text())
			}
			return rows() - before
		}
		few := read()
		c.launch(t, c.demoC, "building", 5)
		if many := read(); many != few {
			t.Errorf("the volume page reads %d rows with 1 instance in the project, %d with 5 more building", few, many)
		}
	})
}

// TestNewVolumeFormReadsOnlyUsableSources: the new-volume form's image
// and snapshot lists are what a volume can be made from, read as such —
// the model filters active raw/qcow2 images and available snapshots,
// and the project's other images (queued, ISO) and snapshots (in error,
// being taken) are not read and dropped.
func TestNewVolumeFormReadsOnlyUsableSources(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := volumeSetup(t, s)
		ctx := context.Background()
		if _, err := s.SetQuotas(ctx, c.adminC, "demo", map[string]int64{models.QuotaVolumes: -1, models.QuotaGigabytes: -1,
			models.QuotaSnapshots: -1, models.QuotaImages: -1}); err != nil {
			t.Fatal(err)
		}
		v := c.volume(t, c.demoC, "data")
		sn, err := s.CreateSnapshot(ctx, c.demoC, models.SnapshotCreate{VolumeID: v.ID, Name: "nightly"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FinishSnapshot(ctx, sn.ID, "/v/snapshot-"+sn.ID, nil); err != nil {
			t.Fatal(err)
		}
		br := c.browser(t)
		br.login("demo", demoPassword)
		rows := s.CountRowsRead()
		read := func() int64 {
			t.Helper()
			br.get("/volumes/new") // warm: the session's first write
			before := rows()
			p := br.get("/volumes/new")
			wantStatus(t, p, http.StatusOK)
			offered := func(testID string) []string {
				var vals []string
				p.testID(testID).Find("option").Each(func(_ int, o *goquery.Selection) {
					if v := o.AttrOr("value", ""); v != "" {
						vals = append(vals, v)
					}
				})
				return vals
			}
			if got := offered("volume-image"); len(got) != 1 || got[0] != c.image.ID {
				t.Fatalf("the form offers images %v, want cirros (%s) only", got, c.image.ID)
			}
			if got := offered("volume-snapshot"); len(got) != 1 || got[0] != sn.ID {
				t.Fatalf("the form offers snapshots %v, want nightly (%s) only", got, sn.ID)
			}
			return rows() - before
		}
		few := read()
		iso := make([]byte, 0x8800)
		copy(iso[0x8001:], "CD001")
		for i := range 3 {
			if _, err := s.CreateImage(ctx, c.demoC, models.ImageInput{Name: fmt.Sprint("queued-", i)}); err != nil {
				t.Fatal(err)
			}
			im, err := s.CreateImage(ctx, c.demoC, models.ImageInput{Name: fmt.Sprint("iso-", i)})
			if err != nil {
				t.Fatal(err)
			}
			if im, err = s.UploadImage(ctx, c.demoC, im.ID, bytes.NewReader(iso)); err != nil || im.DiskFormat != models.FormatISO {
				t.Fatalf("ISO image: %s, %v", im.DiskFormat, err)
			}
			other := c.volume(t, c.demoC, fmt.Sprint("other-", i))
			failed, err := s.CreateSnapshot(ctx, c.demoC, models.SnapshotCreate{VolumeID: other.ID, Name: "failed"})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.FailSnapshot(ctx, failed.ID, "the disk array is offline"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateSnapshot(ctx, c.demoC, models.SnapshotCreate{VolumeID: other.ID, Name: "creating"}); err != nil {
				t.Fatal(err)
			}
		}
		if many := read(); many != few {
			t.Errorf("the new-volume form reads %d rows with only usable sources, %d with 6 more images and 6 snapshots it cannot use", few, many)
		}
	})
}
