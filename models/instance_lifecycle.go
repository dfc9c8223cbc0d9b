package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// The worker side of the instance life cycle: the scheduler and the compute
// agents report what they did through these, each one transaction. They
// act for the system, not a project, and check the instance is still in the
// state the job expects, so a job that runs twice or late changes nothing.

// PlaceInstance claims the instance's resources on a host and hands the
// build to that host's agent. inst is the instance as the scheduler read it
// (its size is immutable). ErrConflict means the host filled up since the
// scheduler looked (try the next candidate); ErrNotFound means the instance
// no longer waits to be scheduled (nothing to do). Four statements, one
// transaction: the scheduler's throughput is mostly this.
func (s *Store) PlaceInstance(ctx context.Context, inst Instance, host Host, exclude []string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		set := map[string]any{"host": host.Name, "task_state": TaskSpawning,
			"build_attempts": gorm.Expr("build_attempts + 1"), "updated_at": s.now()}
		if inst.AvailabilityZone == "" {
			set["availability_zone"] = host.AvailabilityZone // Nova records where it landed
		}
		res := tx.Model(&Instance{}).Where("id = ? AND vm_state = ? AND task_state = ?", inst.ID, VMBuilding, TaskScheduling).
			Updates(set)
		if res.Error != nil {
			return fmt.Errorf("set host: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return notFound("instance %s is no longer waiting to be scheduled", inst.ID)
		}
		if err := s.claimHost(tx, host.ID, inst); err != nil {
			return err
		}
		_, err := s.enqueue(tx, SpawnInstance{InstanceID: inst.ID, ExcludeHosts: exclude},
			JobOptions{TargetHost: host.Name, MaxAttempts: 3, ResourceType: "instance", ResourceID: inst.ID})
		return err
	})
}

// FailBuild puts an instance that could not be built into ERROR with a
// fault the tenant can read, and releases what it held.
func (s *Store) FailBuild(ctx context.Context, instanceID, fault string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.lockInstance(tx, instanceID)
		if err != nil {
			return err
		}
		// Only an instance still waiting for a host: a scheduling job that
		// runs twice must not fail an instance its first run placed.
		if inst.VMState != VMBuilding || inst.TaskState != TaskScheduling {
			return nil
		}
		return s.setError(tx, inst, fault)
	})
}

func (s *Store) setError(tx *gorm.DB, inst Instance, fault string) error {
	now := s.now()
	if err := s.releaseAllocations(tx, inst.ID); err != nil {
		return err
	}
	if err := s.finishAction(tx, inst.ID, ActionError, fault); err != nil {
		return err
	}
	return tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(map[string]any{
		"vm_state": VMError, "task_state": TaskNone, "fault_message": faultText(fault, 1024), "fault_at": now, "updated_at": now,
	}).Error
}

// FinishSpawn records a successful build on host.
func (s *Store) FinishSpawn(ctx context.Context, instanceID, host string, power PowerState) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		res := tx.Model(&Instance{}).Where("id = ? AND host = ? AND vm_state = ? AND task_state = ?",
			instanceID, host, VMBuilding, TaskSpawning).Updates(map[string]any{
			"vm_state": VMActive, "task_state": TaskNone, "power_state": power, "launched_at": now, "updated_at": now,
			"fault_message": "",
		})
		if res.Error != nil {
			return fmt.Errorf("finish spawn: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return conflict("instance %s is no longer being built on %s", instanceID, host)
		}
		if err := s.markBootVolumesAttached(tx, instanceID, host); err != nil {
			return err
		}
		return s.finishAction(tx, instanceID, ActionSuccess, "")
	})
}

// RescheduleOrFail handles a build that failed on host: it releases the
// claim, counts the failure against the host (the build-failure weigher
// avoids it), and either sends the instance back to the scheduler — without
// the hosts already tried — or, after MaxBuildAttempts, to ERROR.
func (s *Store) RescheduleOrFail(ctx context.Context, instanceID, host, reason string, tried []string) (rescheduled bool, err error) {
	err = s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.lockInstance(tx, instanceID)
		if err != nil {
			return err
		}
		if inst.VMState != VMBuilding || inst.Host != host {
			return nil
		}
		if err := tx.Exec("UPDATE hosts SET failed_builds = failed_builds + 1 WHERE name = ?", host).Error; err != nil {
			return fmt.Errorf("count failed build: %w", err)
		}
		rescheduled, err = s.reschedule(tx, inst, tried, fmt.Sprintf("build failed on %s: %s", host, reason))
		return err
	})
	return rescheduled, err
}

// reschedule sends a build that will not finish on its host back to the
// scheduler, without the hosts tried (its host included), or to ERROR after
// MaxBuildAttempts; why ("build failed on h1: …", "host h1 down") goes to
// the fault and the action log.
func (s *Store) reschedule(tx *gorm.DB, inst Instance, tried []string, why string) (bool, error) {
	if inst.BuildAttempts >= MaxBuildAttempts {
		return false, s.setError(tx, inst, fmt.Sprintf("build failed on %d hosts; last attempt: %s", inst.BuildAttempts, why))
	}
	if err := s.releaseAllocations(tx, inst.ID); err != nil {
		return false, err
	}
	if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(map[string]any{
		"host": "", "task_state": TaskScheduling, "updated_at": s.now(),
		"fault_message": faultText(why+"; rescheduling", 1024),
	}).Error; err != nil {
		return false, fmt.Errorf("reschedule: %w", err)
	}
	if err := s.recordAction(tx, systemActor(), inst, "reschedule", ActionSuccess, "rescheduled: "+why); err != nil {
		return false, err
	}
	exclude := tried
	if !slices.Contains(exclude, inst.Host) {
		exclude = append(slices.Clone(tried), inst.Host)
	}
	_, err := s.enqueue(tx, ScheduleInstance{InstanceID: inst.ID, ExcludeHosts: exclude, Spec: SpecOf(inst)},
		JobOptions{ResourceType: "instance", ResourceID: inst.ID})
	return err == nil, err
}

// FinishPower records the end of a start/stop/reboot with the power state
// the hypervisor reports; errMsg is empty on success.
func (s *Store) FinishPower(ctx context.Context, instanceID, action string, power PowerState, errMsg string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.lockInstance(tx, instanceID)
		if err != nil {
			return err
		}
		_, task, _ := powerRule(action)
		if inst.TaskState != task {
			return nil // superseded (e.g. deleted meanwhile)
		}
		updates := map[string]any{"task_state": TaskNone, "power_state": power, "updated_at": s.now()}
		switch {
		case power == PowerRunning:
			updates["vm_state"] = VMActive
		case power == PowerShutdown || power == PowerCrashed:
			updates["vm_state"] = VMStopped
		case power == PowerPaused:
			updates["vm_state"] = VMPaused
		case power == PowerSuspended:
			updates["vm_state"] = VMSuspended
		}
		if errMsg == "" && inst.VMState == VMError {
			updates["fault_message"] = ""
		}
		if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(updates).Error; err != nil {
			return fmt.Errorf("finish %s: %w", action, err)
		}
		result := ActionSuccess
		if errMsg != "" {
			result = ActionError
		}
		return s.finishAction(tx, inst.ID, result, errMsg)
	})
}

// FinishDelete records that the host destroyed the instance.
func (s *Store) FinishDelete(ctx context.Context, instanceID string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.lockInstance(tx, instanceID)
		if err != nil {
			return err
		}
		if inst.VMState == VMDeleted {
			return nil
		}
		if err := s.finishAction(tx, inst.ID, ActionSuccess, ""); err != nil {
			return err
		}
		return s.markDeleted(tx, &inst)
	})
}

// FailDelete records that the host could not destroy the instance: it goes
// to ERROR with the reason, and the user may try again.
func (s *Store) FailDelete(ctx context.Context, instanceID, reason string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.lockInstance(tx, instanceID)
		if err != nil {
			return err
		}
		if inst.TaskState != TaskDeleting {
			return nil
		}
		now := s.now()
		if err := s.finishAction(tx, inst.ID, ActionError, reason); err != nil {
			return err
		}
		return tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(map[string]any{
			"vm_state": VMError, "task_state": TaskNone, "fault_message": faultText("delete failed: "+reason, 1024),
			"fault_at": now, "updated_at": now,
		}).Error
	})
}

// SyncPowerState applies what the hypervisor reports for an idle instance:
// the hypervisor is the authority. An ACTIVE instance found shut down
// becomes stopped (and the other way round), with an action log entry
// saying it was Stratus that noticed. Instances with a task in progress are
// left to that task.
//
// seen is the instance's UpdatedAt as the caller read it before it asked
// the hypervisor (zero: no check). An instance changed since — a pause
// finished between the look and this call — keeps its state: the look may
// predate the change, and the next sync looks again.
func (s *Store) SyncPowerState(ctx context.Context, instanceID, host string, power PowerState, why string, seen time.Time) (changed bool, err error) {
	err = s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.lockInstance(tx, instanceID)
		if err != nil {
			return err
		}
		if inst.Host != host {
			return notFound("instance %q is not on host %s", instanceID, host)
		}
		if !seen.IsZero() && !inst.UpdatedAt.Equal(seen) {
			return nil
		}
		if !(InstanceStates{VMState: inst.VMState, TaskState: inst.TaskState, PowerState: inst.PowerState}).PowerSyncWanted(power) {
			return nil
		}
		updates := map[string]any{"power_state": power, "updated_at": s.now()}
		action, msg := "", ""
		switch {
		case inst.VMState == VMActive && (power == PowerShutdown || power == PowerCrashed || power == PowerNoState):
			updates["vm_state"] = VMStopped
			action, msg = "stop", fmt.Sprintf("found %s by the hypervisor (%s)", power, why)
		case inst.VMState == VMStopped && power == PowerRunning:
			updates["vm_state"] = VMActive
			action, msg = "start", fmt.Sprintf("found running by the hypervisor (%s)", why)
		case (inst.VMState == VMPaused || inst.VMState == VMSuspended) && power == PowerRunning:
			updates["vm_state"] = VMActive
			action, msg = "resume", fmt.Sprintf("found running by the hypervisor (%s)", why)
		case (inst.VMState == VMPaused || inst.VMState == VMSuspended) && (power == PowerShutdown || power == PowerCrashed || power == PowerNoState):
			updates["vm_state"] = VMStopped
			action, msg = "stop", fmt.Sprintf("found %s by the hypervisor (%s)", power, why)
		}
		res := tx.Model(&Instance{}).Where("id = ? AND task_state = ? AND power_state = ?", inst.ID, TaskNone, inst.PowerState).Updates(updates)
		if res.Error != nil {
			return fmt.Errorf("sync power state: %w", res.Error)
		}
		changed = res.RowsAffected > 0
		if changed && action != "" {
			return s.recordAction(tx, systemActor(), inst, action, ActionSuccess, msg)
		}
		return nil
	})
	return changed, err
}

// TimeoutStuckBuilds sends to ERROR every instance that has been building
// for longer than timeout (its agent died, or its job was lost), releasing
// its claim. It returns how many it failed.
func (s *Store) TimeoutStuckBuilds(ctx context.Context, timeout time.Duration) (int, error) {
	cutoff := s.now().Add(-timeout)
	var ids []string
	if err := s.db.WithContext(ctx).Model(&Instance{}).Where("vm_state = ? AND created_at < ?", VMBuilding, cutoff).
		Limit(500).Pluck("id", &ids).Error; err != nil {
		return 0, fmt.Errorf("find stuck builds: %w", err)
	}
	n := 0
	for _, id := range ids {
		err := s.tx(ctx, func(tx *gorm.DB) error {
			inst, err := s.lockInstance(tx, id)
			if errors.Is(err, ErrNotFound) || (err == nil && inst.VMState != VMBuilding) {
				return nil // finished meanwhile
			} else if err != nil {
				return err
			}
			n++
			return s.setError(tx, inst, fmt.Sprintf("build timed out after %s (task %s on host %q)", timeout, inst.TaskState, inst.Host))
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
