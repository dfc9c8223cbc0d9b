package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"stratus/models"
	"stratus/workers"
	"stratus/workers/virt"
)

// The agent's side of moves (resize, cold and live migration, evacuation).
// The destination prepares and finishes, the source sends and, once the
// move is confirmed, destroys what it kept; each job reads the migration
// first and does nothing when it is no longer at the step the job was
// enqueued for. Every step is reported through the model (see
// models/instance_move_results.go).

// migrations is the driver's move support, or an error naming the driver.
func (a *Agent) migrations() (virt.Migrations, error) {
	m, ok := a.cfg.Driver.(virt.Migrations)
	if !ok {
		return nil, fmt.Errorf("the %s driver cannot move instances", a.cfg.Driver.Name())
	}
	return m, nil
}

// moveJob reads a move for a job of this host: at the source (or the
// destination), in one of the statuses given. done: nothing to do.
func (a *Agent) moveJob(ctx context.Context, id string, atSource bool, statuses ...string) (models.MoveJob, bool, error) {
	mj, done, err := a.cfg.Store.MoveForJob(ctx, id, statuses...)
	if err != nil || done {
		return mj, true, err
	}
	host := mj.Migration.DestCompute
	if atSource {
		host = mj.Migration.SourceCompute
	}
	return mj, host != a.cfg.Host, nil
}

// prepareMove makes the instance's files on this destination and tells the
// source where to send it. The domain is prepared at the size the instance
// runs at on the source (a resize's new size comes when it finishes).
func (a *Agent) prepareMove(ctx context.Context, job *models.Job, args models.PrepareMove) error {
	mj, done, err := a.moveJob(ctx, args.MigrationID, false, models.MigrationMigrating, models.MigrationPreparing)
	if err != nil || done {
		return err
	}
	m := mj.Migration
	fail := func(err error) error {
		a.log.Warn("preparing an incoming move failed", "instance", m.InstanceID, "err", err)
		return a.cfg.Store.FailMove(context.WithoutCancel(ctx), m.ID, fmt.Sprintf("preparing %s failed: %v", a.cfg.Host, err), true)
	}
	drv, err := a.migrations()
	if err != nil {
		return fail(err)
	}
	spec, err := a.instanceSpec(ctx, m.OldSize(mj.Instance))
	if errors.Is(err, errVolumeNotReady) {
		return workers.Snooze(2 * time.Second)
	}
	if err == nil {
		// Its ports plugged here first: a live migration's domain names
		// their bridges, and its taps are filtered from the first frame.
		spec.NICs, err = a.incomingNICs(ctx, m.InstanceID)
	}
	if err != nil {
		return a.retryOr(ctx, job, err, fail)
	}
	t, err := drv.PrepareIncoming(ctx, spec)
	if err == nil && t.Shared && m.Type != models.MigrationLive {
		err = virt.ErrSharedStorage
	}
	if err != nil {
		return a.retryOr(ctx, job, err, fail)
	}
	t.Host = a.cfg.Host
	doc, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return a.cfg.Store.SetMoveTarget(ctx, m.ID, string(doc))
}

// retryOr returns err for another attempt of the job, or, at its last
// attempt (or when we are not stopping but the context ended), gives up
// through fail.
func (a *Agent) retryOr(ctx context.Context, job *models.Job, err error, fail func(error) error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if job.Attempt < job.MaxAttempts {
		return err
	}
	return fail(err)
}

// migrateInstance sends the instance from this source to the prepared
// destination. A cold move stops it first (ACPI, forced after the power-off
// timeout) and keeps the stopped copy for a revert; a live move copies the
// running guest, recording its progress, and removes the source's files
// once the guest runs on the destination.
func (a *Agent) migrateInstance(ctx context.Context, _ *models.Job, args models.MigrateInstance) error {
	mj, done, err := a.moveJob(ctx, args.MigrationID, true, models.MigrationMigrating, models.MigrationRunning)
	if err != nil || done {
		return err
	}
	m, inst := mj.Migration, mj.Instance
	store := a.cfg.Store
	drv, err := a.migrations()
	if err != nil {
		a.log.Warn("migration refused", "instance", inst.ID, "migration", m.ID, "err", err)
		return store.FailMove(ctx, m.ID, err.Error(), true)
	}
	var t virt.MigrationTarget
	if err := json.Unmarshal([]byte(m.Target), &t); err != nil {
		a.log.Warn("migration target unreadable", "instance", inst.ID, "migration", m.ID, "err", err)
		return store.FailMove(ctx, m.ID, "the destination's answer is unreadable: "+err.Error(), true)
	}
	live := m.Type == models.MigrationLive
	opts := virt.MigrateOptions{Live: live, CopyDisks: !t.Shared, Progress: a.progressRecorder(ctx, m.ID)}
	if live && m.BlockMigration && t.Shared {
		return store.FailMove(ctx, m.ID, "block_migration was asked for, but the hosts share the instances directory", true)
	}
	if !live && m.PowerOn {
		if err := a.cfg.Driver.PowerOff(ctx, inst.ID, a.cfg.PowerOffTimeout); err != nil && !errors.Is(err, virt.ErrNotFound) {
			a.log.Warn("stopping for a move failed", "instance", inst.ID, "migration", m.ID, "err", err)
			return store.FailMove(ctx, m.ID, "stopping the instance for the move failed: "+err.Error(), true)
		}
	}
	start := time.Now()
	stats, err := drv.Migrate(ctx, inst.ID, t, opts)
	if err != nil {
		a.log.Warn("migration failed", "instance", inst.ID, "type", m.Type, "to", m.DestCompute, "err", err)
		wctx := context.WithoutCancel(ctx)
		intact := true
		if !live && m.PowerOn {
			// Start the source's copy again: the move is off.
			intact = a.cfg.Driver.PowerOn(wctx, inst.ID) == nil
		}
		return store.FailMove(wctx, m.ID, fmt.Sprintf("migration to %s failed: %v", m.DestCompute, err), intact)
	}
	a.log.Info("migrated", "instance", inst.ID, "type", m.Type, "to", m.DestCompute, "seconds", time.Since(start).Seconds(),
		"downtime_ms", stats.DowntimeMS, "memory_bytes", stats.MemoryProcessed, "disk_bytes", stats.DiskProcessed)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := store.SourceMigrated(wctx, m.ID, models.MigrationStats(stats)); err != nil {
		return err
	}
	if live {
		a.noteLocal(inst.ID, false)
		if err := drv.CleanupSource(wctx, inst.ID, t.Shared); err != nil {
			a.log.Warn("removing the files a live migration left", "instance", inst.ID, "err", err)
		}
		// The ports are bound to the destination now: their chains, DHCP
		// entries and (if no other port needs them) bridges go from here.
		a.unplugLeft(wctx, inst.ID)
	}
	return nil
}

// progressRecorder stores a migration's progress at most every second.
func (a *Agent) progressRecorder(ctx context.Context, migrationID string) func(virt.MigrationStats) {
	var mu sync.Mutex
	var last time.Time
	return func(st virt.MigrationStats) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		if err := a.cfg.Store.RecordMoveProgress(ctx, migrationID, models.MigrationStats(st)); err != nil {
			a.log.Warn("record migration progress", "migration", migrationID, "err", err)
		}
	}
}

// finishMove makes the arrived instance what it should be on this
// destination: a resize's new size and grown disks, running if it ran.
func (a *Agent) finishMove(ctx context.Context, job *models.Job, args models.FinishMove) error {
	mj, done, err := a.moveJob(ctx, args.MigrationID, false, models.MigrationPostMigrating)
	if err != nil || done {
		return err
	}
	m, inst := mj.Migration, mj.Instance
	fail := func(err error) error {
		a.log.Warn("finishing a move failed", "instance", inst.ID, "migration", m.ID, "err", err)
		return a.cfg.Store.FailMove(context.WithoutCancel(ctx), m.ID, fmt.Sprintf("finishing on %s failed: %v", a.cfg.Host, err), false)
	}
	drv, err := a.migrations()
	if err != nil {
		return fail(err)
	}
	spec, err := a.instanceSpec(ctx, inst)
	if err == nil {
		// The ports bound here (a live move's binding moved when its guest
		// did) and plugged; a cold move's domain is defined with them.
		spec.NICs, err = a.instanceNICs(ctx, inst.ID)
	}
	if err != nil {
		return a.retryOr(ctx, job, err, fail)
	}
	live := m.Type == models.MigrationLive
	a.noteLocal(inst.ID, true)
	if err := drv.FinishIncoming(ctx, spec, live, live || m.PowerOn); err != nil {
		return a.retryOr(ctx, job, err, fail)
	}
	st, err := a.cfg.Driver.State(ctx, inst.ID)
	if err != nil {
		return fmt.Errorf("read state after the move: %w", err)
	}
	if err := a.cfg.Store.FinishMove(ctx, m.ID, models.PowerState(st)); err != nil {
		return err
	}
	a.recordConsole(ctx, inst.ID)
	return nil
}

// confirmMove destroys the copy this source kept for a revert, once the
// move is confirmed (and the instance lives elsewhere).
func (a *Agent) confirmMove(ctx context.Context, _ *models.Job, args models.ConfirmMove) error {
	mj, done, err := a.moveJob(ctx, args.MigrationID, true, models.MigrationConfirmed)
	if err != nil || done || mj.Instance.Host == a.cfg.Host {
		return err
	}
	a.noteLocal(mj.Instance.ID, false)
	return a.cfg.Driver.Destroy(ctx, mj.Instance.ID)
}

// revertMove destroys this destination's copy of a resize being reverted.
// When the hypervisor keeps refusing, the last attempt ends the revert
// with the instance in ERROR on its source (models.FailRevertOnDest)
// instead of leaving it reverting for ever.
func (a *Agent) revertMove(ctx context.Context, job *models.Job, args models.RevertMove) error {
	mj, done, err := a.moveJob(ctx, args.MigrationID, false, models.MigrationReverting)
	if err != nil || done {
		return err
	}
	fail := func(err error) error {
		a.log.Warn("reverting a resize failed", "instance", mj.Instance.ID, "migration", mj.Migration.ID, "err", err)
		return a.cfg.Store.FailRevertOnDest(context.WithoutCancel(ctx), mj.Migration.ID,
			fmt.Sprintf("reverting on %s failed: %v", a.cfg.Host, err))
	}
	a.noteLocal(mj.Instance.ID, false)
	if err := a.cfg.Driver.Destroy(ctx, mj.Instance.ID); err != nil {
		return a.retryOr(ctx, job, fmt.Errorf("destroy the resized copy: %w", err), fail)
	}
	if err := a.cfg.Store.RevertedOnDest(ctx, mj.Migration.ID); err != nil {
		return err
	}
	a.unplugLeft(ctx, mj.Instance.ID) // the ports are bound to the source again
	return nil
}

// finishRevert starts the copy this source kept, as it was before the
// move (its old flavor and disk).
func (a *Agent) finishRevert(ctx context.Context, job *models.Job, args models.FinishRevert) error {
	mj, done, err := a.moveJob(ctx, args.MigrationID, true, models.MigrationReverting)
	if err != nil || done {
		return err
	}
	id := mj.Instance.ID
	a.noteLocal(id, true)
	msg := ""
	// The ports bound here again and plugged before the kept copy starts.
	if _, err := a.instanceNICs(ctx, id); err != nil {
		if ctx.Err() != nil || job.Attempt < job.MaxAttempts {
			return err
		}
		msg = "plugging its ports failed: " + err.Error()
	}
	if mj.Migration.PowerOn && msg == "" {
		if err := a.cfg.Driver.PowerOn(ctx, id); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			msg = "starting the kept copy failed: " + err.Error()
		}
	}
	st, err := a.cfg.Driver.State(ctx, id)
	if err != nil && !errors.Is(err, virt.ErrNotFound) {
		return err
	}
	if errors.Is(err, virt.ErrNotFound) && msg == "" {
		msg = "the copy kept on " + a.cfg.Host + " is gone"
	}
	if err := a.cfg.Store.FinishRevert(ctx, mj.Migration.ID, models.PowerState(st), msg); err != nil {
		return err
	}
	a.recordConsole(ctx, id)
	return nil
}

// abortMove destroys what a failed move left on this destination (unless
// the instance lives here after all).
func (a *Agent) abortMove(ctx context.Context, _ *models.Job, args models.AbortMove) error {
	m, err := a.cfg.Store.MigrationByID(ctx, args.MigrationID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	inst, err := a.cfg.Store.InstanceByID(ctx, m.InstanceID)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if err == nil && inst.Host == a.cfg.Host && inst.VMState != models.VMDeleted {
		return nil
	}
	var t virt.MigrationTarget
	_ = json.Unmarshal([]byte(m.Target), &t) // none when preparing failed
	a.noteLocal(m.InstanceID, false)
	defer a.unplugLeft(ctx, m.InstanceID) // the ports plugged for the move
	if drv, err := a.migrations(); err == nil {
		return drv.CleanupSource(ctx, m.InstanceID, t.Shared)
	}
	return a.cfg.Driver.Destroy(ctx, m.InstanceID)
}

// evacuate rebuilds an instance of a dead host here: its root disk anew
// from its image (or its boot volume), the same ID, ports and volumes,
// stopped again if it was stopped.
func (a *Agent) evacuate(ctx context.Context, job *models.Job, args models.EvacuateInstance) error {
	mj, done, err := a.moveJob(ctx, args.MigrationID, false, models.MigrationRebuilding)
	if err != nil || done {
		return err
	}
	m, inst := mj.Migration, mj.Instance
	fail := func(err error) error {
		a.log.Warn("evacuation rebuild failed", "instance", inst.ID, "migration", m.ID, "err", err)
		wctx := context.WithoutCancel(ctx)
		_ = a.cfg.Driver.Destroy(wctx, inst.ID)
		return a.cfg.Store.FailMove(wctx, m.ID, fmt.Sprintf("rebuilding on %s failed: %v", a.cfg.Host, err), false)
	}
	spec, err := a.instanceSpec(ctx, inst)
	if errors.Is(err, errVolumeNotReady) {
		return workers.Snooze(2 * time.Second)
	}
	if err == nil {
		// Its ports bound here and plugged, as for a build.
		spec.NICs, err = a.instanceNICs(ctx, inst.ID)
	}
	if err == nil {
		a.noteLocal(inst.ID, true)
		err = a.cfg.Driver.Spawn(ctx, spec)
	}
	if err == nil && !m.PowerOn {
		err = a.cfg.Driver.PowerOff(ctx, inst.ID, a.cfg.PowerOffTimeout)
	}
	if err != nil {
		return a.retryOr(ctx, job, err, fail)
	}
	st, err := a.cfg.Driver.State(ctx, inst.ID)
	if err != nil {
		return fmt.Errorf("read state after the rebuild: %w", err)
	}
	if err := a.cfg.Store.FinishEvacuate(ctx, m.ID, models.PowerState(st)); err != nil {
		return err
	}
	a.recordConsole(ctx, inst.ID)
	return nil
}
