package compute

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"stratus/models"
	"stratus/workers"
	"stratus/workers/virt"
)

// shelve stops the instance (ACPI, forced after the power-off timeout),
// copies its root disk into the shelve image and uploads it, and only then
// destroys the domain and its files: the image holds the disk before the
// host lets go of it. A failure before the destroy leaves the instance on
// this host as it was (started again if it was running).
func (a *Agent) shelve(ctx context.Context, job *models.Job, args models.ShelveInstance) error {
	store := a.cfg.Store
	inst, err := store.InstanceByID(ctx, args.InstanceID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if inst.Host != a.cfg.Host || inst.TaskState != models.TaskShelving {
		return nil
	}
	d := a.cfg.Driver
	was, err := d.State(ctx, inst.ID)
	if errors.Is(err, virt.ErrNotFound) {
		// A run after the domain was destroyed: done if the image (if
		// any) was stored first, which is the order below.
		if args.ImageID == "" || a.imageActive(ctx, args.ImageID) {
			return a.finishShelve(ctx, inst.ID)
		}
		return store.FinishShelve(ctx, inst.ID, a.cfg.Host, models.PowerNoState, "the domain is gone and its disk was not saved")
	}
	if err != nil {
		return fmt.Errorf("read state before shelving: %w", err)
	}
	fail := func(err error) error {
		a.log.Warn("shelve failed", "instance", inst.ID, "err", err)
		wctx := context.WithoutCancel(ctx)
		if was == virt.Running {
			if perr := d.PowerOn(wctx, inst.ID); perr != nil {
				a.log.Warn("start again after a failed shelve", "instance", inst.ID, "err", perr)
			}
		}
		st, _ := d.State(wctx, inst.ID)
		return store.FinishShelve(wctx, inst.ID, a.cfg.Host, models.PowerState(st), err.Error())
	}
	if was == virt.Running {
		if err := d.PowerOff(ctx, inst.ID, a.cfg.PowerOffTimeout); err != nil {
			return a.retryOr(ctx, job, err, fail)
		}
	}
	if args.ImageID != "" && !a.imageActive(ctx, args.ImageID) {
		if err := a.shelveDisk(ctx, inst, args); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fail(err) // the image is killed: a retry could not upload into it
		}
	}
	if err := d.Destroy(ctx, inst.ID); err != nil {
		return fmt.Errorf("destroy the shelved domain: %w", err)
	}
	return a.finishShelve(ctx, inst.ID)
}

// shelveDisk copies the stopped domain's root disk and uploads it into the
// shelve image.
func (a *Agent) shelveDisk(ctx context.Context, inst models.Instance, args models.ShelveInstance) error {
	lc, ok := a.cfg.Driver.(virt.Lifecycle)
	if !ok || a.cfg.Snapshots == nil {
		return fmt.Errorf("the %s driver of host %s takes no snapshots", a.cfg.Driver.Name(), a.cfg.Host)
	}
	dir, err := os.MkdirTemp(a.cfg.SnapshotDir, "shelve-")
	if err != nil {
		return fmt.Errorf("shelve directory: %w", err)
	}
	defer os.RemoveAll(dir)
	file := dir + "/disk.qcow2"
	if err := lc.SnapshotDisk(ctx, inst.ID, file); err != nil {
		return fmt.Errorf("copy the root disk: %w", err)
	}
	snap := models.SnapshotInstance{InstanceID: inst.ID, ImageID: args.ImageID, UploadSecret: args.UploadSecret}
	if err := a.uploadSnapshot(ctx, snap, file); err != nil {
		return fmt.Errorf("upload the shelve image: %w", err)
	}
	return nil
}

func (a *Agent) imageActive(ctx context.Context, id string) bool {
	im, err := a.cfg.Store.ImageByID(ctx, id)
	return err == nil && im.Status == models.ImageActive
}

// finishShelve records the offload and unplugs the instance's ports here.
func (a *Agent) finishShelve(ctx context.Context, id string) error {
	a.noteLocal(id, false)
	if err := a.cfg.Store.FinishShelve(ctx, id, a.cfg.Host, models.PowerNoState, ""); err != nil {
		return err
	}
	if err := a.cfg.Store.DeleteConsole(ctx, id); err != nil {
		a.log.Warn("forget console of a shelved instance", "instance", id, "err", err)
	}
	if err := a.SyncNetwork(ctx); err != nil {
		a.log.Warn("unplug the ports of a shelved instance; the network sync retries", "instance", id, "err", err)
	}
	return nil
}

// unshelve boots a shelved instance placed here from its shelve image (or
// its boot volume), with its ports bound and plugged here first. A failure
// leaves it shelved, on no host, with the reason in its log.
func (a *Agent) unshelve(ctx context.Context, job *models.Job, args models.UnshelveInstance) error {
	store := a.cfg.Store
	inst, err := store.InstanceByID(ctx, args.InstanceID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if inst.VMState != models.VMShelvedOffloaded || inst.TaskState != models.TaskUnshelving || inst.Host != a.cfg.Host {
		return nil
	}
	boot := inst
	if inst.ShelvedImageID != "" {
		boot.ImageID = inst.ShelvedImageID
	}
	spec, err := a.instanceSpec(ctx, boot)
	if errors.Is(err, errVolumeNotReady) {
		return workers.Snooze(2 * time.Second)
	}
	if err == nil {
		spec.NICs, err = a.instanceNICs(ctx, inst.ID)
	}
	if err == nil {
		a.noteLocal(inst.ID, true)
		err = a.cfg.Driver.Spawn(ctx, spec)
	}
	if err != nil {
		return a.retryOr(ctx, job, err, func(err error) error {
			a.log.Warn("unshelve failed", "instance", inst.ID, "err", err)
			wctx := context.WithoutCancel(ctx)
			_ = a.cfg.Driver.Destroy(wctx, inst.ID)
			a.noteLocal(inst.ID, false)
			if err := store.FailUnshelve(wctx, inst.ID, fmt.Sprintf("booting on %s failed: %v", a.cfg.Host, err)); err != nil {
				return err
			}
			if err := a.SyncNetwork(wctx); err != nil {
				a.log.Warn("unplug the ports of a failed unshelve", "instance", inst.ID, "err", err)
			}
			return nil
		})
	}
	st, err := a.cfg.Driver.State(ctx, inst.ID)
	if err != nil {
		return fmt.Errorf("read state after unshelve: %w", err)
	}
	if _, err := store.FinishUnshelve(ctx, inst.ID, a.cfg.Host, models.PowerState(st)); err != nil {
		if errors.Is(err, models.ErrConflict) {
			a.log.Warn("unshelve finished after the instance gave up on this host; destroying the domain", "instance", inst.ID)
			a.noteLocal(inst.ID, false)
			return a.cfg.Driver.Destroy(context.WithoutCancel(ctx), inst.ID)
		}
		return err
	}
	a.recordConsole(ctx, inst.ID)
	return nil
}
