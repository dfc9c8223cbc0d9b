package models_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// qcow2 is the header of an empty qcow2 disk of size bytes: what a host
// uploads for a snapshot, as far as the image store checks.
func qcow2(size int64) []byte {
	b := make([]byte, 512)
	copy(b, "QFI\xfb")
	be := binary.BigEndian
	be.PutUint32(b[4:], 3)
	be.PutUint32(b[20:], 16)
	be.PutUint64(b[24:], uint64(size))
	be.PutUint32(b[96:], 4)
	be.PutUint32(b[100:], 104)
	return b
}

// TestRebuildFollowsNovasStates: a rebuild keeps the instance's ID and
// host, takes a new image (one the project can see, that fits), refuses
// states Nova refuses with a 409 naming them, and ends ACTIVE — or SHUTOFF
// for a stopped instance, or ERROR with the reason when the host failed.
func TestRebuildFollowsNovasStates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		inst := runningInstance(t, b)
		other, err := s.CreateImage(ctx, b.member, models.ImageInput{Name: "busybox-2"})
		if err != nil {
			t.Fatal(err)
		}
		if other, err = s.UploadImage(ctx, b.member, other.ID, bytes.NewReader(bytes.Repeat([]byte{1}, 4096))); err != nil {
			t.Fatal(err)
		}
		big, _ := s.CreateImage(ctx, b.member, models.ImageInput{Name: "big", MinRAMMB: 4096})
		_, _ = s.UploadImage(ctx, b.member, big.ID, bytes.NewReader(make([]byte, 4096)))
		foreign := otherProjectMember(t, s)
		secret, _ := s.CreateImage(ctx, foreign, models.ImageInput{Name: "theirs"})
		_, _ = s.UploadImage(ctx, foreign, secret.ID, bytes.NewReader(make([]byte, 4096)))

		bad := []struct {
			name string
			in   models.RebuildRequest
			want string
		}{
			{"no image", models.RebuildRequest{}, "image"},
			{"unknown image", models.RebuildRequest{Image: "nope"}, "image"},
			{"another project's image", models.RebuildRequest{Image: secret.ID}, "image"},
			{"image larger than the flavor", models.RebuildRequest{Image: "big"}, "image"},
			{"blank name", models.RebuildRequest{Image: "busybox-2", Name: ptr(" ")}, "name"},
		}
		for _, c := range bad {
			_, err := s.RebuildInstance(ctx, b.member, inst.ID, c.in)
			var ve *models.ValidationError
			if !errors.As(err, &ve) || ve.Fields[c.want] == "" {
				t.Errorf("%s: %v, want a problem with %q", c.name, err, c.want)
			}
		}
		if _, err := s.RebuildInstance(ctx, foreign, inst.ID, models.RebuildRequest{Image: "theirs"}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project's rebuild: %v, want not found", err)
		}

		got, err := s.RebuildInstance(ctx, b.member, inst.ID, models.RebuildRequest{Image: "busybox-2", Name: ptr("vm2"), UserData: ptr("#!/bin/sh\n")})
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != inst.ID || got.TaskState != models.TaskRebuilding || got.Status() != "REBUILD" || got.ImageID != other.ID || got.Name != "vm2" {
			t.Fatalf("rebuilding: %+v", got)
		}
		if _, err := s.PowerAction(ctx, b.member, inst.ID, models.PowerStop); !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), "rebuilding") {
			t.Fatalf("stop while rebuilding: %v, want a conflict naming the task", err)
		}
		if err := s.FinishRebuild(ctx, inst.ID, "h1", models.PowerRunning, ""); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetInstance(ctx, b.member, inst.ID)
		if got.Status() != "ACTIVE" || got.Host != "h1" || got.UserData != "#!/bin/sh\n" {
			t.Fatalf("after the rebuild: %s on %q, user data %q", got.Status(), got.Host, got.UserData)
		}

		// A stopped instance is rebuilt stopped (the job says so).
		if _, err := s.PowerAction(ctx, b.member, inst.ID, models.PowerStop); err != nil {
			t.Fatal(err)
		}
		_ = s.FinishPower(ctx, inst.ID, models.PowerStop, models.PowerShutdown, "")
		if _, err := s.RebuildInstance(ctx, b.member, inst.ID, models.RebuildRequest{Image: "cirros"}); err != nil {
			t.Fatal(err)
		}
		if job := lastJob(t, s, "instance.rebuild"); !strings.Contains(string(job.Args), `"power_on":false`) || job.TargetHost != "h1" {
			t.Fatalf("rebuild job of a stopped instance: %s for %q", job.Args, job.TargetHost)
		}
		if err := s.FinishRebuild(ctx, inst.ID, "h1", models.PowerShutdown, ""); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.GetInstance(ctx, b.member, inst.ID); got.Status() != "SHUTOFF" || got.ImageName != "cirros" {
			t.Fatalf("stopped instance rebuilt: %s from %s", got.Status(), got.ImageName)
		}

		// A failed rebuild is ERROR with the reason; ERROR may be rebuilt.
		if _, err := s.RebuildInstance(ctx, b.member, inst.ID, models.RebuildRequest{Image: "cirros"}); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRebuild(ctx, inst.ID, "h1", models.PowerNoState, "no space left"); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.GetInstance(ctx, b.member, inst.ID); got.Status() != "ERROR" || !strings.Contains(got.FaultMessage, "no space left") {
			t.Fatalf("failed rebuild: %s %q", got.Status(), got.FaultMessage)
		}
		if !models.RebuildAllowed(got) {
			t.Fatal("an instance in ERROR may be rebuilt")
		}

		// States Nova refuses: 409 naming the state.
		if _, err := s.RebuildInstance(ctx, b.member, inst.ID, models.RebuildRequest{Image: "cirros"}); err != nil {
			t.Fatal(err)
		}
		_ = s.FinishRebuild(ctx, inst.ID, "h1", models.PowerRunning, "")
		if _, err := s.PowerAction(ctx, b.member, inst.ID, models.PowerPause); err != nil {
			t.Fatal(err)
		}
		_ = s.FinishPower(ctx, inst.ID, models.PowerPause, models.PowerPaused, "")
		if _, err := s.RebuildInstance(ctx, b.member, inst.ID, models.RebuildRequest{Image: "cirros"}); !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), "PAUSED") {
			t.Fatalf("rebuild while paused: %v, want a conflict naming PAUSED", err)
		}
		acts, _ := s.ListInstanceActions(ctx, b.member, inst.ID)
		var names []string
		for _, a := range acts {
			names = append(names, a.Action+":"+a.Result)
		}
		if got := strings.Join(names, " "); !strings.HasPrefix(got, "pause:success rebuild:success rebuild:error rebuild:success stop:success rebuild:success") {
			t.Fatalf("action log %q", got)
		}
	})
}

// TestShelveAndUnshelveFollowNovasStates: shelve snapshots into
// "<name>-shelved", frees the host (allocation, port bindings) and keeps the
// quota charged; unshelve goes through the scheduler, boots from the shelve
// image on the chosen host and removes the image; states Nova refuses are
// 409s naming them.
func TestShelveAndUnshelveFollowNovasStates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		inst := runningInstance(t, b)
		if _, err := s.UnshelveInstance(ctx, b.member, inst.ID); !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), "ACTIVE") {
			t.Fatalf("unshelve while active: %v, want a conflict naming ACTIVE", err)
		}
		if _, _, err := s.ShelveInstance(ctx, otherProjectMember(t, s), inst.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another project's shelve: %v, want not found", err)
		}
		got, im, err := s.ShelveInstance(ctx, b.member, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.TaskState != models.TaskShelving || im.Name != "vm-shelved" || im.Status != models.ImageSaving || im.ProjectID != inst.ProjectID {
			t.Fatalf("shelving: task %q, image %+v", got.TaskState, im)
		}
		if _, _, err := s.ShelveInstance(ctx, b.member, inst.ID); !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), "shelving") {
			t.Fatalf("shelve twice: %v", err)
		}
		// The host uploads the disk with the job's secret, then offloads.
		var args models.ShelveInstance
		_ = json.Unmarshal(lastJob(t, s, "instance.shelve").Args, &args)
		if args.ImageID != im.ID {
			t.Fatalf("shelve job %+v for image %s", args, im.ID)
		}
		if _, err := s.UploadSnapshot(ctx, im.ID, args.UploadSecret, bytes.NewReader(qcow2(1<<30))); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishShelve(ctx, inst.ID, "h1", models.PowerNoState, ""); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetInstance(ctx, b.member, inst.ID)
		if got.Status() != "SHELVED_OFFLOADED" || got.Host != "" || got.TaskState != models.TaskNone || got.PowerState != models.PowerNoState {
			t.Fatalf("shelved: %s on %q task %q power %s", got.Status(), got.Host, got.TaskState, got.PowerState)
		}
		if h, _ := s.GetHost(ctx, "h1"); h.UsedRAMMB != 0 || h.InstanceCount != 0 {
			t.Fatalf("the host still holds %d MB, %d instances", h.UsedRAMMB, h.InstanceCount)
		}
		// Nova's quota: a shelved instance is still charged.
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaInstances: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm-b", Flavor: "m1.nano", Image: "cirros"}); !errors.Is(err, models.ErrQuotaExceeded) {
			t.Fatalf("launch beside a shelved instance at quota 1: %v, want quota exceeded", err)
		}
		for _, a := range []string{models.PowerStart, models.PowerReboot} {
			if _, err := s.PowerAction(ctx, b.member, inst.ID, a); !errors.Is(err, models.ErrConflict) {
				t.Fatalf("%s while shelved: %v", a, err)
			}
		}
		if _, err := s.RebuildInstance(ctx, b.member, inst.ID, models.RebuildRequest{Image: "cirros"}); !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), "SHELVED_OFFLOADED") {
			t.Fatalf("rebuild while shelved: %v", err)
		}
		if _, err := s.ShelveOffloadInstance(ctx, b.member, inst.ID); !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), "SHELVED_OFFLOADED") {
			t.Fatalf("shelve-offload of an offloaded instance: %v, want a conflict naming the state", err)
		}

		// Unshelve: scheduled (no host yet), then placed on h2.
		h2, err := s.RegisterHost(ctx, models.HostInventory{Name: "h2", Driver: "fake", VCPUs: 8, RAMMB: 8192, DiskGB: 100, CPURatio: 4, RAMRatio: 1, DiskRatio: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got, err = s.UnshelveInstance(ctx, b.member, inst.ID); err != nil || got.TaskState != models.TaskUnshelving {
			t.Fatalf("unshelve: %v task %q", err, got.TaskState)
		}
		if job := lastJob(t, s, "instance.unshelve.schedule"); job.TargetHost != "" {
			t.Fatalf("the unshelve is for the scheduler, not %q", job.TargetHost)
		}
		waiting, err := s.UnshelvingInstance(ctx, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PlaceUnshelve(ctx, waiting, h2); err != nil {
			t.Fatal(err)
		}
		if err := s.PlaceUnshelve(ctx, waiting, h2); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("placing twice: %v", err)
		}
		if h, _ := s.GetHost(ctx, "h2"); h.UsedRAMMB != 128 || h.InstanceCount != 1 {
			t.Fatalf("h2 holds %d MB, %d instances after the claim", h.UsedRAMMB, h.InstanceCount)
		}
		if job := lastJob(t, s, "instance.unshelve"); job.TargetHost != "h2" {
			t.Fatalf("unshelve job for %q", job.TargetHost)
		}
		removed, err := s.FinishUnshelve(ctx, inst.ID, "h2", models.PowerRunning)
		if err != nil || removed != im.ID {
			t.Fatalf("finish unshelve: %q, %v", removed, err)
		}
		got, _ = s.GetInstance(ctx, b.member, inst.ID)
		if got.Status() != "ACTIVE" || got.Host != "h2" || got.ID != inst.ID {
			t.Fatalf("unshelved: %s on %q", got.Status(), got.Host)
		}
		if gone, _ := s.ImageByID(ctx, im.ID); gone.Status != models.ImageDeleted {
			t.Fatalf("the shelve image is %s after unshelve, want deleted", gone.Status)
		}

		// No host for an unshelve: it stays shelved, with the reason.
		if _, im, err = s.ShelveInstance(ctx, b.member, inst.ID); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(lastJob(t, s, "instance.shelve").Args, &args)
		if _, err := s.UploadSnapshot(ctx, im.ID, args.UploadSecret, bytes.NewReader(qcow2(1<<30))); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishShelve(ctx, inst.ID, "h2", models.PowerNoState, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UnshelveInstance(ctx, b.member, inst.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.FailUnshelve(ctx, inst.ID, "No valid host: 2 hosts removed by the RAM filter"); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetInstance(ctx, b.member, inst.ID)
		if got.Status() != "SHELVED_OFFLOADED" || got.TaskState != models.TaskNone || !strings.Contains(got.FaultMessage, "No valid host") {
			t.Fatalf("unshelve without a host: %s task %q fault %q", got.Status(), got.TaskState, got.FaultMessage)
		}
		// Deleting a shelved instance deletes its shelve image too.
		if _, err := s.DeleteInstance(ctx, b.member, inst.ID); err != nil {
			t.Fatal(err)
		}
		if gone, _ := s.ImageByID(ctx, im.ID); gone.Status != models.ImageDeleted {
			t.Fatalf("the shelve image of a deleted instance is %s", gone.Status)
		}

		// A shelve the host could not finish leaves the instance where it
		// was, and kills the image.
		inst2 := launchOn(t, b, "h2", "vm3")
		_, im, err = s.ShelveInstance(ctx, b.member, inst2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FinishShelve(ctx, inst2.ID, "h2", models.PowerRunning, "qemu-img: no space left"); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetInstance(ctx, b.member, inst2.ID)
		if k, _ := s.ImageByID(ctx, im.ID); got.Status() != "ACTIVE" || got.Host != "h2" || k.Status != models.ImageKilled {
			t.Fatalf("failed shelve: %s on %q, image %s", got.Status(), got.Host, k.Status)
		}
		acts, _ := s.ListInstanceActions(ctx, b.member, inst2.ID)
		if acts[0].Action != "shelve" || acts[0].Result != models.ActionError || !strings.Contains(acts[0].Message, "no space left") {
			t.Fatalf("failed shelve's log: %+v", acts[0])
		}
	})
}

// lastJob is the newest job of a kind.
func lastJob(t *testing.T, s *models.Store, kind string) models.Job {
	t.Helper()
	jobs, _, err := s.ListJobs(context.Background(), models.JobFilter{Kind: kind, Limit: 1})
	if err != nil || len(jobs) == 0 {
		t.Fatalf("no %s job: %v", kind, err)
	}
	return jobs[0]
}

// launchOn builds an instance on a registered host.
func launchOn(t *testing.T, b computeBundle, host, name string) models.Instance {
	t.Helper()
	ctx := context.Background()
	s := b.store
	h, err := s.GetHost(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: name, Flavor: "m1.nano", Image: "cirros"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PlaceInstance(ctx, insts[0], h, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishSpawn(ctx, insts[0].ID, host, models.PowerRunning); err != nil {
		t.Fatal(err)
	}
	return insts[0]
}

// TestUnshelveOnADownHostGoesElsewhere: an unshelve placed on a host that
// goes down before booting it is sent back to the scheduler (the claim
// released); an instance waiting for the scheduler may be deleted.
func TestUnshelveOnADownHostGoesElsewhere(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		var offset atomic.Int64
		s.SetClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
		inst := runningInstance(t, b)
		_, im, err := s.ShelveInstance(ctx, b.member, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		var args models.ShelveInstance
		_ = json.Unmarshal(lastJob(t, s, "instance.shelve").Args, &args)
		if _, err := s.UploadSnapshot(ctx, im.ID, args.UploadSecret, bytes.NewReader(qcow2(1<<30))); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishShelve(ctx, inst.ID, "h1", models.PowerNoState, ""); err != nil {
			t.Fatal(err)
		}
		h2, err := s.RegisterHost(ctx, models.HostInventory{Name: "h2", Driver: "fake", VCPUs: 8, RAMMB: 8192, DiskGB: 100, CPURatio: 4, RAMRatio: 1, DiskRatio: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UnshelveInstance(ctx, b.member, inst.ID); err != nil {
			t.Fatal(err)
		}
		waiting, _ := s.UnshelvingInstance(ctx, inst.ID)
		if err := s.PlaceUnshelve(ctx, waiting, h2); err != nil {
			t.Fatal(err)
		}
		offset.Store(int64(2 * time.Minute))
		if err := s.HostHeartbeat(ctx, "h1", ""); err != nil {
			t.Fatal(err)
		}
		if down, err := s.MarkHostsDown(ctx, time.Minute); err != nil || !slices.Equal(down, []string{"h2"}) {
			t.Fatalf("marked down: %v %v", down, err)
		}
		if r, err := s.RecoverDownHosts(ctx); err != nil || r.Rescheduled != 1 {
			t.Fatalf("recovery: %+v %v", r, err)
		}
		got, _ := s.GetInstance(ctx, b.member, inst.ID)
		if got.Host != "" || got.TaskState != models.TaskUnshelving || got.Status() != "SHELVED_OFFLOADED" {
			t.Fatalf("after its host went down: on %q, task %q, %s", got.Host, got.TaskState, got.Status())
		}
		if h, _ := s.GetHost(ctx, "h2"); h.UsedRAMMB != 0 || h.InstanceCount != 0 {
			t.Fatalf("the down host still holds %d MB", h.UsedRAMMB)
		}
		if job := lastJob(t, s, "instance.unshelve.schedule"); job.State != models.JobAvailable {
			t.Fatalf("no new scheduling job: %+v", job)
		}
		if _, err := s.DeleteInstance(ctx, b.member, inst.ID); err != nil {
			t.Fatalf("delete while waiting for the scheduler: %v", err)
		}
		if got, _ = s.GetInstance(ctx, b.member, inst.ID); got.Status() != "DELETED" {
			t.Fatalf("deleted: %s", got.Status())
		}
		if gone, _ := s.ImageByID(ctx, im.ID); gone.Status != models.ImageDeleted {
			t.Fatalf("the shelve image of a deleted instance is %s", gone.Status)
		}
	})
}

// TestRebuildChangesTheKeyPairAndUserData: a rebuild may give the instance
// another of the project's key pairs, or none ("" — Nova's key_name null),
// and new user data, which its host reads for the rebuilt guest's config
// drive; nil keeps them; a key pair the caller's project has not is a 400
// naming "keypair", and nothing changes.
func TestRebuildChangesTheKeyPairAndUserData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		first, err := s.CreateKeyPair(ctx, b.member, models.KeyPairInput{Name: "first"})
		if err != nil {
			t.Fatal(err)
		}
		second, err := s.CreateKeyPair(ctx, b.member, models.KeyPairInput{Name: "second"})
		if err != nil {
			t.Fatal(err)
		}
		foreign := otherProjectMember(t, s)
		if _, err := s.CreateKeyPair(ctx, foreign, models.KeyPairInput{Name: "theirs"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RegisterHost(ctx, models.HostInventory{Name: "h1", Driver: "fake", VCPUs: 8, RAMMB: 8192, DiskGB: 100, CPURatio: 4, RAMRatio: 1, DiskRatio: 1}); err != nil {
			t.Fatal(err)
		}
		inst := launchOn(t, b, "h1", "vm")
		if _, err := s.RebuildInstance(ctx, b.member, inst.ID, models.RebuildRequest{Image: "cirros", KeyPair: ptr("first"), UserData: ptr("one")}); err != nil {
			t.Fatal(err)
		}
		_ = s.FinishRebuild(ctx, inst.ID, "h1", models.PowerRunning, "")
		got, _ := s.InstanceByID(ctx, inst.ID)
		if got.KeyPairName != "first" || got.KeyData != first.PublicKey || got.UserData != "one" {
			t.Fatalf("rebuilt with key pair first and user data: %q %q %q", got.KeyPairName, got.KeyData, got.UserData)
		}

		for _, key := range []string{"theirs", "nope", " "} {
			_, err := s.RebuildInstance(ctx, b.member, inst.ID, models.RebuildRequest{Image: "cirros", KeyPair: ptr(key), UserData: ptr("two")})
			var ve *models.ValidationError
			if !errors.As(err, &ve) || ve.Fields["keypair"] == "" {
				t.Fatalf("rebuild with key pair %q: %v, want a problem with keypair", key, err)
			}
		}
		if got, _ = s.InstanceByID(ctx, inst.ID); got.TaskState != models.TaskNone || got.KeyPairName != "first" || got.UserData != "one" {
			t.Fatalf("a refused rebuild changed the instance: task %q, key %q, user data %q", got.TaskState, got.KeyPairName, got.UserData)
		}

		// nil keeps both; then another key pair by ID; then none.
		if _, err := s.RebuildInstance(ctx, b.member, inst.ID, models.RebuildRequest{Image: "cirros"}); err != nil {
			t.Fatal(err)
		}
		_ = s.FinishRebuild(ctx, inst.ID, "h1", models.PowerRunning, "")
		if got, _ = s.InstanceByID(ctx, inst.ID); got.KeyPairName != "first" || got.UserData != "one" {
			t.Fatalf("a rebuild without them kept key %q, user data %q", got.KeyPairName, got.UserData)
		}
		if _, err := s.RebuildInstance(ctx, b.member, inst.ID, models.RebuildRequest{Image: "cirros", KeyPair: ptr(second.ID)}); err != nil {
			t.Fatal(err)
		}
		_ = s.FinishRebuild(ctx, inst.ID, "h1", models.PowerRunning, "")
		if got, _ = s.InstanceByID(ctx, inst.ID); got.KeyPairName != "second" || got.KeyData != second.PublicKey {
			t.Fatalf("rebuilt with key pair second: %q %q", got.KeyPairName, got.KeyData)
		}
		if _, err := s.RebuildInstance(ctx, b.member, inst.ID, models.RebuildRequest{Image: "cirros", KeyPair: ptr(""), UserData: ptr("")}); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.InstanceByID(ctx, inst.ID); got.KeyPairName != "" || got.KeyData != "" || got.UserData != "" {
			t.Fatalf("rebuilt without a key pair or user data: %q %q %q", got.KeyPairName, got.KeyData, got.UserData)
		}
	})
}
