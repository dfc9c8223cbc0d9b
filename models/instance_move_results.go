package models

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"gorm.io/gorm"
)

// The worker side of moves: the scheduler and the agents of the source and
// destination report each step through these, one transaction each. Every
// step checks the migration is in the status the job expects, so a job
// that runs twice or late changes nothing.

// MoveJob is what a move's job needs: the migration and its instance.
type MoveJob struct {
	Migration InstanceMigration
	Instance  Instance
}

// MoveForJob reads a migration and its instance for a worker. done means
// the migration no longer exists or is no longer in one of the statuses
// the job expects (nothing to do).
func (s *Store) MoveForJob(ctx context.Context, migrationID string, statuses ...string) (mj MoveJob, done bool, err error) {
	m, err := s.MigrationByID(ctx, migrationID)
	if errors.Is(err, ErrNotFound) {
		return mj, true, nil
	}
	if err != nil {
		return mj, false, err
	}
	inst, err := s.InstanceByID(ctx, m.InstanceID)
	if errors.Is(err, ErrNotFound) {
		return mj, true, nil
	}
	if err != nil {
		return mj, false, err
	}
	ok := len(statuses) == 0
	for _, st := range statuses {
		ok = ok || m.Status == st
	}
	if !ok || inst.VMState == VMDeleted {
		return mj, true, nil
	}
	return MoveJob{Migration: m, Instance: inst}, false, nil
}

// lockMove locks a migration and its instance, checking the status.
func (s *Store) lockMove(tx *gorm.DB, migrationID string, statuses ...string) (InstanceMigration, Instance, error) {
	m, err := s.lockMigration(tx, migrationID)
	if err != nil {
		return m, Instance{}, err
	}
	inst, err := s.lockInstance(tx, m.InstanceID)
	if err != nil {
		return m, inst, err
	}
	for _, st := range statuses {
		if m.Status == st && inst.VMState != VMDeleted {
			return m, inst, nil
		}
	}
	return m, inst, notFound("migration %s is %s, no longer waiting for this step", m.ID, m.Status)
}

// PlaceMove claims a move's destination on host (ErrConflict: it filled up
// meanwhile, try the next; ErrNotFound: the move no longer waits) and hands
// the next step to the destination's agent.
func (s *Store) PlaceMove(ctx context.Context, migrationID string, host Host) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		m, inst, err := s.lockMove(tx, migrationID, MigrationPreMigrating, MigrationQueued, MigrationAccepted)
		if err != nil {
			return err
		}
		if err := s.claimHost(tx, host.ID, inst); err != nil {
			return err
		}
		set := map[string]any{"dest_compute": host.Name}
		task := TaskResizeMigrating
		var next JobArgs = PrepareMove{MigrationID: m.ID}
		switch m.Type {
		case MigrationLive:
			set["status"], task = MigrationPreparing, TaskMigrating
		case MigrationEvacuation:
			set["status"], task, next = MigrationRebuilding, TaskRebuilding, EvacuateInstance{MigrationID: m.ID}
		default:
			set["status"] = MigrationMigrating
		}
		if err := s.setMigration(tx, m.ID, set); err != nil {
			return err
		}
		if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).
			Updates(map[string]any{"task_state": task, "updated_at": s.now()}).Error; err != nil {
			return fmt.Errorf("set task: %w", err)
		}
		if m.Type != MigrationEvacuation {
			// The destination plugs the ports before the domain arrives.
			if err := movedNetworking(tx, inst.ID); err != nil {
				return err
			}
		}
		_, err = s.enqueue(tx, next, JobOptions{TargetHost: host.Name, MaxAttempts: 3, ResourceType: "instance", ResourceID: inst.ID})
		return err
	})
}

// SetMoveTarget records what the destination prepared and hands the
// migration to the source's agent.
func (s *Store) SetMoveTarget(ctx context.Context, migrationID, target string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		m, inst, err := s.lockMove(tx, migrationID, MigrationMigrating, MigrationPreparing)
		if err != nil {
			return err
		}
		set := map[string]any{"target": target}
		if m.Type == MigrationLive {
			set["status"] = MigrationRunning
		}
		if err := s.setMigration(tx, m.ID, set); err != nil {
			return err
		}
		_, err = s.enqueue(tx, MigrateInstance{MigrationID: m.ID},
			JobOptions{TargetHost: m.SourceCompute, MaxAttempts: 1, ResourceType: "instance", ResourceID: inst.ID})
		return err
	})
}

// MigrationStats is a migration's progress as the source's hypervisor
// reports it.
type MigrationStats struct {
	MemoryTotal, MemoryProcessed, MemoryRemaining int64
	DiskTotal, DiskProcessed, DiskRemaining       int64
	DowntimeMS                                    int64
}

// RecordMoveProgress stores a running migration's progress (the detail
// page and the action log show it).
func (s *Store) RecordMoveProgress(ctx context.Context, migrationID string, st MigrationStats) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		return s.setMigration(tx.Where("status IN ?", []string{MigrationMigrating, MigrationRunning}), migrationID, progressColumns(st))
	})
}

func progressColumns(st MigrationStats) map[string]any {
	return map[string]any{"memory_total_bytes": st.MemoryTotal, "memory_processed_bytes": st.MemoryProcessed,
		"memory_remaining_bytes": st.MemoryRemaining, "disk_total_bytes": st.DiskTotal,
		"disk_processed_bytes": st.DiskProcessed, "disk_remaining_bytes": st.DiskRemaining, "downtime_ms": st.DowntimeMS}
}

// SourceMigrated records that the source sent the instance: a cold move's
// disks are on the destination (the source keeps its stopped copy for a
// revert); a live move's guest runs on the destination, which becomes the
// instance's host at once, and the source's allocation is given back.
// Either way the destination finishes next.
func (s *Store) SourceMigrated(ctx context.Context, migrationID string, st MigrationStats) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		m, inst, err := s.lockMove(tx, migrationID, MigrationMigrating, MigrationRunning)
		if err != nil {
			return err
		}
		set := progressColumns(st)
		set["status"] = MigrationPostMigrating
		if err := s.setMigration(tx, m.ID, set); err != nil {
			return err
		}
		if m.Type == MigrationLive {
			if err := s.releaseHostAllocation(tx, inst.ID, m.SourceCompute); err != nil {
				return err
			}
			if err := s.moveToHost(tx, inst, m.DestCompute, map[string]any{}); err != nil {
				return err
			}
		} else if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).
			Updates(map[string]any{"task_state": TaskResizeFinish, "updated_at": s.now()}).Error; err != nil {
			return fmt.Errorf("set task: %w", err)
		}
		_, err = s.enqueue(tx, FinishMove{MigrationID: m.ID},
			JobOptions{TargetHost: m.DestCompute, MaxAttempts: 5, ResourceType: "instance", ResourceID: inst.ID})
		return err
	})
}

// FinishMove records that the destination finished the instance: a resize
// or cold migration waits in VERIFY_RESIZE on its new host; a live
// migration is complete.
func (s *Store) FinishMove(ctx context.Context, migrationID string, power PowerState) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		m, inst, err := s.lockMove(tx, migrationID, MigrationPostMigrating)
		if err != nil {
			return err
		}
		set := map[string]any{"task_state": TaskNone, "power_state": power, "fault_message": ""}
		status := MigrationFinished
		if m.Type == MigrationLive {
			status = MigrationCompleted
		} else {
			set["vm_state"] = VMResized
		}
		if err := s.setMigration(tx, m.ID, map[string]any{"status": status}); err != nil {
			return err
		}
		if err := s.moveToHost(tx, inst, m.DestCompute, set); err != nil {
			return err
		}
		msg := ""
		if m.Type == MigrationLive {
			msg = fmt.Sprintf("live-migrated from %s to %s", m.SourceCompute, m.DestCompute)
		} else {
			msg = fmt.Sprintf("moved from %s to %s: confirm or revert", m.SourceCompute, m.DestCompute)
		}
		return s.finishAction(tx, inst.ID, ActionSuccess, msg)
	})
}

// RevertedOnDest records that the destination destroyed its copy of a
// resize being reverted; the source starts its own next.
func (s *Store) RevertedOnDest(ctx context.Context, migrationID string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		m, inst, err := s.lockMove(tx, migrationID, MigrationReverting)
		if err != nil {
			return err
		}
		return s.revertedOnDest(tx, m, inst)
	})
}

// revertedOnDest is RevertedOnDest in tx, on a locked reverting move: the
// destination's claim is given back and the instance, with its old size,
// is the source's again, whose agent starts the copy it kept.
func (s *Store) revertedOnDest(tx *gorm.DB, m InstanceMigration, inst Instance) error {
	if err := s.releaseHostAllocation(tx, inst.ID, m.DestCompute); err != nil {
		return err
	}
	restore := m.OldSize(inst)
	if err := s.moveToHost(tx, inst, m.SourceCompute, map[string]any{"flavor_id": restore.FlavorID,
		"flavor_name": restore.FlavorName, "vcpus": restore.VCPUs, "ram_mb": restore.RAMMB,
		"disk_gb": restore.DiskGB, "ephemeral_gb": restore.EphemeralGB}); err != nil {
		return err
	}
	_, err := s.enqueue(tx, FinishRevert{MigrationID: m.ID},
		JobOptions{TargetHost: m.SourceCompute, MaxAttempts: 5, ResourceType: "instance", ResourceID: inst.ID})
	return err
}

// FinishRevert records that the source runs the instance again as it was
// before the resize (errMsg: starting it failed).
func (s *Store) FinishRevert(ctx context.Context, migrationID string, power PowerState, errMsg string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		m, inst, err := s.lockMove(tx, migrationID, MigrationReverting)
		if err != nil {
			return err
		}
		return s.finishRevert(tx, m, inst, power, errMsg)
	})
}

// finishRevert is FinishRevert in tx, on a locked reverting move.
func (s *Store) finishRevert(tx *gorm.DB, m InstanceMigration, inst Instance, power PowerState, errMsg string) error {
	if err := s.setMigration(tx, m.ID, map[string]any{"status": MigrationReverted}); err != nil {
		return err
	}
	set := map[string]any{"vm_state": restingState(m.PowerOn), "task_state": TaskNone, "power_state": power, "updated_at": s.now()}
	result, msg := ActionSuccess, fmt.Sprintf("back on %s with flavor %s", m.SourceCompute, m.OldFlavorName)
	if errMsg != "" {
		set["vm_state"], set["fault_message"], set["fault_at"] = VMError, faultText("revert: "+errMsg, 1024), s.now()
		result, msg = ActionError, errMsg
	}
	if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(set).Error; err != nil {
		return fmt.Errorf("finish revert: %w", err)
	}
	return s.finishAction(tx, inst.ID, result, msg)
}

// FailRevertOnDest ends a resize's revert whose destination could not
// destroy its copy, its last attempt used (Nova errors out the instance and
// the migration). The instance goes back to its source with its old size,
// not started, in ERROR with the reason: the copy the source kept is the
// one the owner asked for and is intact, while the destination's may be
// half destroyed — and staying there would not keep the source's copy,
// which its agent destroys once no move holds it. Nothing starts that
// copy, since the destination's may still run with the same ports and
// volumes; a hard reboot starts it. The destination's claim is given back
// and its agent told again to destroy what it has (its power sync keeps
// destroying the leftover too); the source keeps its claim, which the
// instance holds as before the resize. The migration ends in error.
func (s *Store) FailRevertOnDest(ctx context.Context, migrationID, reason string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		m, inst, err := s.lockMove(tx, migrationID, MigrationReverting)
		if errors.Is(err, ErrNotFound) {
			return nil // the revert is over
		}
		if err != nil {
			return err
		}
		if inst.Host != m.DestCompute {
			return nil // given back already (host recovery went on without the destination)
		}
		if err := s.moveToHost(tx, inst, m.SourceCompute, map[string]any{"power_state": PowerShutdown}); err != nil {
			return err
		}
		return s.failMove(tx, m.ID, reason, false)
	})
}

// FinishEvacuate records that the destination rebuilt an evacuated
// instance: it lives there now, and the dead source's allocation is given
// back (its agent destroys the old domain if the host ever returns).
func (s *Store) FinishEvacuate(ctx context.Context, migrationID string, power PowerState) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		m, inst, err := s.lockMove(tx, migrationID, MigrationRebuilding)
		if err != nil {
			return err
		}
		if err := s.releaseHostAllocation(tx, inst.ID, m.SourceCompute); err != nil {
			return err
		}
		if err := s.setMigration(tx, m.ID, map[string]any{"status": MigrationDone}); err != nil {
			return err
		}
		vm := VMStopped
		if power == PowerRunning {
			vm = VMActive
		}
		if err := s.moveToHost(tx, inst, m.DestCompute, map[string]any{"vm_state": vm, "task_state": TaskNone,
			"power_state": power, "fault_message": "", "launched_at": s.now()}); err != nil {
			return err
		}
		return s.finishAction(tx, inst.ID, ActionSuccess, fmt.Sprintf("rebuilt on %s (host %s is down)", m.DestCompute, m.SourceCompute))
	})
}

// FailMove ends a move that could not finish. The destination's claim is
// given back and its agent told to destroy whatever it made. When the
// source's copy is intact and as it was (sourceIntact: no host was found,
// the destination could not prepare, a live migration failed and the guest
// runs on where it was, a cold one was started again), the instance is as
// before the move, with its old flavor and the reason in the action log;
// otherwise (a cold move that failed after the source stopped it, an
// evacuation) it goes to ERROR with the reason — a hard reboot starts the
// copy the source kept. A live migration whose guest already runs on the
// destination stays there.
func (s *Store) FailMove(ctx context.Context, migrationID, reason string, sourceIntact bool) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.failMove(tx, migrationID, reason, sourceIntact); !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	})
}

// failMove is FailMove in tx: ErrNotFound when the move is no longer open.
func (s *Store) failMove(tx *gorm.DB, migrationID, reason string, sourceIntact bool) error {
	m, inst, err := s.lockMove(tx, migrationID, migrationOpen...)
	if err != nil {
		return err
	}
	if err := s.setMigration(tx, m.ID, map[string]any{"status": MigrationError, "error_message": truncate(reason, 1024)}); err != nil {
		return err
	}
	if m.DestCompute != "" && slices.Contains(migrationPlugging, m.Status) {
		// The destination unplugs the ports it plugged for the move.
		if err := movedNetworking(tx, inst.ID); err != nil {
			return err
		}
	}
	set := map[string]any{"task_state": TaskNone, "updated_at": s.now()}
	if m.Type == MigrationLive && m.Status == MigrationPostMigrating {
		if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(set).Error; err != nil {
			return fmt.Errorf("fail move: %w", err)
		}
		return s.finishAction(tx, inst.ID, ActionError, reason)
	}
	if m.DestCompute != "" {
		if err := s.releaseHostAllocation(tx, inst.ID, m.DestCompute); err != nil {
			return err
		}
		if _, err := s.enqueue(tx, AbortMove{MigrationID: m.ID},
			JobOptions{TargetHost: m.DestCompute, MaxAttempts: 10, ResourceType: "instance", ResourceID: inst.ID}); err != nil {
			return err
		}
	}
	restore := m.OldSize(inst)
	set["flavor_id"], set["flavor_name"], set["vcpus"], set["ram_mb"], set["disk_gb"], set["ephemeral_gb"] =
		restore.FlavorID, restore.FlavorName, restore.VCPUs, restore.RAMMB, restore.DiskGB, restore.EphemeralGB
	if !sourceIntact {
		set["vm_state"], set["fault_message"], set["fault_at"] = VMError, faultText(reason, 1024), s.now()
	}
	if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(set).Error; err != nil {
		return fmt.Errorf("fail move: %w", err)
	}
	return s.finishAction(tx, inst.ID, ActionError, reason)
}
