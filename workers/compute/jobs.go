package compute

import (
	"context"
	"errors"
	"fmt"
	"time"

	"stratus/models"
	"stratus/workers"
	"stratus/workers/virt"
)

// The agent's job workers. Each reads the instance first and does nothing
// when it is no longer in the state the job was enqueued for, so a job that
// runs twice (its first worker died) is harmless.

// spawn builds an instance. A hypervisor failure sends the instance back to
// the scheduler for another host (or to ERROR after the last attempt); the
// job itself succeeds, since the reschedule is a job of its own.
func (a *Agent) spawn(ctx context.Context, _ *models.Job, args models.SpawnInstance) error {
	store := a.cfg.Store
	inst, err := store.InstanceByID(ctx, args.InstanceID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if inst.VMState != models.VMBuilding || inst.TaskState != models.TaskSpawning || inst.Host != a.cfg.Host {
		return nil
	}
	a.noteLocal(inst.ID, true)
	spec, err := a.instanceSpec(ctx, inst)
	if errors.Is(err, errVolumeNotReady) {
		return workers.Snooze(2 * time.Second) // its boot volume is being written
	}
	if err == nil {
		// Its ports bound here and plugged (bridges, DHCP entries, chains)
		// before the domain and its taps exist: never a moment unfiltered.
		spec.NICs, err = a.instanceNICs(ctx, inst.ID)
	}
	if err == nil {
		err = a.cfg.Driver.Spawn(ctx, spec)
	}
	if err != nil {
		if ctx.Err() != nil {
			if errors.Is(context.Cause(ctx), models.ErrLeaseLost) {
				a.abandonBuild(ctx, inst.ID)
			}
			return ctx.Err() // we are stopping, or the job is no longer ours
		}
		a.log.Warn("build failed", "instance", inst.ID, "err", err)
		_ = a.cfg.Driver.Destroy(context.WithoutCancel(ctx), inst.ID) // leave nothing half-built
		a.noteLocal(inst.ID, false)
		_, rerr := store.RescheduleOrFail(ctx, inst.ID, a.cfg.Host, err.Error(), args.ExcludeHosts)
		return rerr
	}
	// The domain runs: from here on, record it even if the job's lease is
	// lost meanwhile, so a domain nothing accounts for is never left behind.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	st, err := a.cfg.Driver.State(fctx, inst.ID)
	if err != nil {
		return fmt.Errorf("read state after spawn: %w", err)
	}
	err = store.FinishSpawn(fctx, inst.ID, a.cfg.Host, models.PowerState(st))
	if errors.Is(err, models.ErrConflict) {
		// The build outlived its instance's patience here: the conductor
		// timed it out, or rescheduled it while this host was down or cut
		// off. A domain nothing accounts for must not keep running.
		if now, rerr := store.InstanceByID(fctx, inst.ID); rerr == nil && now.Host == a.cfg.Host && now.VMState == models.VMActive {
			return nil
		}
		a.log.Warn("build finished after the instance gave up on this host; destroying the domain", "instance", inst.ID)
		a.noteLocal(inst.ID, false)
		return a.cfg.Driver.Destroy(fctx, inst.ID)
	}
	if err != nil {
		return err
	}
	a.recordConsole(fctx, inst.ID)
	return nil
}

// abandonBuild runs when a build's job was taken from this agent while it
// built (cancelled, or the instance rescheduled because this host looked
// down): if the instance no longer waits for this host, what the build
// made is destroyed; if it still does, the job runs again and Spawn picks
// up where this one stopped.
func (a *Agent) abandonBuild(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	inst, err := a.cfg.Store.InstanceByID(ctx, id)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		a.log.Warn("build lost its job; the power sync will decide about its domain", "instance", id, "err", err)
		return
	}
	if err == nil && inst.Host == a.cfg.Host && inst.VMState == models.VMBuilding && inst.TaskState == models.TaskSpawning {
		return
	}
	a.log.Warn("build taken away from this host while it ran; destroying what it built", "instance", id, "now_on", inst.Host)
	a.noteLocal(id, false)
	if err := a.cfg.Driver.Destroy(ctx, id); err != nil {
		a.log.Warn("destroy abandoned build", "instance", id, "err", err)
	}
}

// instanceSpec gathers what the driver needs, fetching images when the
// driver needs files.
func (a *Agent) instanceSpec(ctx context.Context, inst models.Instance) (virt.InstanceSpec, error) {
	spec := virt.InstanceSpec{ID: inst.ID, Name: inst.Name, ProjectID: inst.ProjectID, FlavorName: inst.FlavorName,
		VCPUs: inst.VCPUs, RAMMB: inst.RAMMB, DiskGB: inst.DiskGB, EphemeralGB: inst.EphemeralGB,
		KeyName: inst.KeyPairName, KeyData: inst.KeyData, UserData: inst.UserData, AZ: inst.AvailabilityZone}
	if err := a.instanceVolumes(ctx, &spec); err != nil {
		return spec, err
	}
	_, fromVolume := bootVolume(spec)
	if fromVolume && inst.ImageID == "" {
		return spec, nil // a volume made from no image: nothing to fetch
	}
	im, err := a.cfg.Store.ImageByID(ctx, inst.ImageID)
	if err != nil {
		return spec, fmt.Errorf("image %s: %w", inst.ImageID, err)
	}
	if fromVolume {
		// The root disk is the volume; the image lends only its kernel
		// and ramdisk, if it names them.
		spec.Image = virt.ImageRef{ID: im.ID, Format: im.DiskFormat}
	} else if spec.Image, err = a.imageRef(ctx, im); err != nil {
		return spec, err
	}
	for _, part := range []struct {
		id  string
		dst **virt.ImageRef
	}{{im.KernelID(), &spec.Kernel}, {im.RamdiskID(), &spec.Ramdisk}} {
		if part.id == "" {
			continue
		}
		pim, err := a.cfg.Store.ImageByID(ctx, part.id)
		if err != nil {
			return spec, fmt.Errorf("image %s names %s, which is gone: %w", im.ID, part.id, err)
		}
		ref, err := a.imageRef(ctx, pim)
		if err != nil {
			return spec, err
		}
		*part.dst = &ref
	}
	return spec, nil
}

func (a *Agent) imageRef(ctx context.Context, im models.Image) (virt.ImageRef, error) {
	ref := virt.ImageRef{ID: im.ID, Format: im.DiskFormat, Checksum: im.Checksum, Size: im.SizeBytes}
	if im.Status != models.ImageActive {
		return ref, fmt.Errorf("image %s is %s", im.ID, im.Status)
	}
	if a.cfg.Images != nil {
		path, err := a.cfg.Images.Fetch(ctx, im)
		if err != nil {
			return ref, fmt.Errorf("fetch image %s: %w", im.ID, err)
		}
		ref.Path = path
	}
	return ref, nil
}

// power starts, stops, reboots, pauses, unpauses, suspends or resumes an
// instance and records the outcome with the state the hypervisor reports
// afterwards (a refused pause leaves it running, and so ACTIVE).
func (a *Agent) power(ctx context.Context, job *models.Job, args models.PowerInstance) error {
	store := a.cfg.Store
	inst, err := store.InstanceByID(ctx, args.InstanceID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	task := models.PowerTask(args.Action)
	if task == "" {
		return workers.Terminalf("unknown power action %q", args.Action)
	}
	if inst.Host != a.cfg.Host || inst.TaskState != task {
		return nil // not ours, or a job run twice after its task ended
	}
	d := a.cfg.Driver
	switch args.Action {
	case models.PowerStart:
		err = d.PowerOn(ctx, inst.ID)
	case models.PowerStop:
		err = d.PowerOff(ctx, inst.ID, a.cfg.PowerOffTimeout)
	case models.PowerReboot:
		err = d.Reboot(ctx, inst.ID, false)
	case models.PowerRebootHard:
		err = d.Reboot(ctx, inst.ID, true)
		if errors.Is(err, virt.ErrNotFound) {
			// A hard reboot rebuilds a lost domain (Nova does the same).
			var spec virt.InstanceSpec
			if spec, err = a.instanceSpec(ctx, inst); err == nil {
				spec.NICs, err = a.instanceNICs(ctx, inst.ID)
			}
			if err == nil {
				err = d.Spawn(ctx, spec)
			}
		}
	case models.PowerPause, models.PowerUnpause, models.PowerSuspend, models.PowerResume:
		lc, ok := d.(virt.Lifecycle)
		if !ok {
			err = fmt.Errorf("the %s driver cannot %s", d.Name(), args.Action)
			break
		}
		err = map[string]func(context.Context, string) error{
			models.PowerPause: lc.Pause, models.PowerUnpause: lc.Unpause,
			models.PowerSuspend: lc.Suspend, models.PowerResume: lc.Resume,
		}[args.Action](ctx, inst.ID)
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	msg := ""
	if err != nil {
		msg = err.Error()
		a.log.Warn("power action failed", "instance", inst.ID, "action", args.Action, "err", err)
	}
	st, serr := d.State(ctx, inst.ID)
	if serr != nil && !errors.Is(serr, virt.ErrNotFound) {
		return fmt.Errorf("read state after %s: %w", args.Action, serr)
	}
	if err := store.FinishPower(ctx, inst.ID, args.Action, models.PowerState(st), msg); err != nil {
		return err
	}
	a.recordConsole(ctx, inst.ID)
	return nil
}

// delete destroys an instance and its disks. When the hypervisor keeps
// refusing, the last attempt puts the instance in ERROR with the reason
// (the user may delete again) instead of leaving it "deleting" for ever.
func (a *Agent) delete(ctx context.Context, job *models.Job, args models.DeleteInstance) error {
	store := a.cfg.Store
	inst, err := store.InstanceByID(ctx, args.InstanceID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if inst.VMState == models.VMDeleted {
		return nil
	}
	if err := a.cfg.Driver.Destroy(ctx, inst.ID); err != nil {
		if ctx.Err() == nil && job.Attempt >= job.MaxAttempts {
			a.log.Warn("delete failed", "instance", inst.ID, "err", err)
			return store.FailDelete(ctx, inst.ID, err.Error())
		}
		return fmt.Errorf("destroy: %w", err)
	}
	if err := store.FinishDelete(ctx, inst.ID); err != nil {
		return err
	}
	a.noteLocal(inst.ID, false)
	if err := store.DeleteConsole(ctx, inst.ID); err != nil {
		a.log.Warn("forget console of deleted instance", "instance", inst.ID, "err", err)
	}
	// Its ports went with it: their chains, and the network's bridge,
	// tunnel and DHCP server when no port of it is left here.
	if err := a.SyncNetwork(ctx); err != nil {
		a.log.Warn("unplug the ports of a deleted instance; the network sync retries", "instance", inst.ID, "err", err)
	}
	return nil
}
