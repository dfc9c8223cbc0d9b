package compute

import (
	"context"
	"errors"
	"fmt"
	"time"

	"stratus/models"
	"stratus/workers"
)

// rebuild gives an instance a new root disk from its (new) image, as Nova's
// default rebuild does: the domain and its disks are destroyed, then
// spawned again with the same ID, ports (same MACs and addresses) and
// volumes, and a config drive with the new name and user data. A stopped
// instance stays stopped. A failure after the old disk is gone leaves the
// instance in ERROR, from where it may be rebuilt again.
func (a *Agent) rebuild(ctx context.Context, job *models.Job, args models.RebuildInstance) error {
	store := a.cfg.Store
	inst, err := store.InstanceByID(ctx, args.InstanceID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if inst.Host != a.cfg.Host || inst.TaskState != models.TaskRebuilding {
		return nil // not ours, or a job run twice after it finished
	}
	d := a.cfg.Driver
	spec, err := a.instanceSpec(ctx, inst)
	if errors.Is(err, errVolumeNotReady) {
		return workers.Snooze(2 * time.Second)
	}
	if err == nil {
		spec.NICs, err = a.instanceNICs(ctx, inst.ID)
	}
	if err == nil {
		err = d.Destroy(ctx, inst.ID)
	}
	if err == nil {
		a.noteLocal(inst.ID, true)
		err = d.Spawn(ctx, spec)
	}
	if err == nil && !args.PowerOn {
		err = d.PowerOff(ctx, inst.ID, a.cfg.PowerOffTimeout)
	}
	if err != nil {
		return a.retryOr(ctx, job, err, func(err error) error {
			a.log.Warn("rebuild failed", "instance", inst.ID, "err", err)
			wctx := context.WithoutCancel(ctx)
			st, _ := d.State(wctx, inst.ID)
			return store.FinishRebuild(wctx, inst.ID, a.cfg.Host, models.PowerState(st), err.Error())
		})
	}
	st, err := d.State(ctx, inst.ID)
	if err != nil {
		return fmt.Errorf("read state after the rebuild: %w", err)
	}
	if err := store.FinishRebuild(ctx, inst.ID, a.cfg.Host, models.PowerState(st), ""); err != nil {
		return err
	}
	a.recordConsole(ctx, inst.ID)
	return nil
}
