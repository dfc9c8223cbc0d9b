package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// When a compute host goes down (its agent stopped heartbeating), the work
// waiting on it must not wait for ever. RecoverDownHosts, run by the
// conductor right after it marks hosts down:
//
//   - reschedules the host's unfinished builds to other hosts (the dead one
//     excluded, the attempt counted, "rescheduled: host h1 down" in the
//     action log), cancelling their spawn jobs there; if the host was only
//     cut off and finishes such a build later, its agent finds the instance
//     gone from it and destroys the domain;
//   - deletes at once the instances whose delete waits for the host (as a
//     delete does when the host is already down): their resources are
//     released, and the agent destroys the domain if the host comes back;
//   - ends the power actions waiting for the host with an error the user
//     reads ("host h1 is down"), and so the shelves and snapshots (their
//     images killed, the instance idle for an evacuation) and the rebuilds
//     (the instance in ERROR, which an evacuation rebuilds elsewhere);
//   - fails the moves whose next step waits for the host (moveSteps);
//   - goes on with a resize's revert without its down destination (the
//     source starts the copy it kept; the destination's agent destroys its
//     own if the host comes back), and ends one whose down source was to
//     start that copy with the instance in ERROR, for an evacuation, be
//     the step queued or lost with the host (revertSteps);
//   - cancels any other queued job of the host that its instance no longer
//     needs;
//   - moves the host's routers to live hosts with an external interface
//     (RehomeRouters).
//
// Jobs of kinds it does not know are left for the host's return.

// HostRecovery counts what RecoverDownHosts did.
type HostRecovery struct {
	Hosts       []string // hosts that had something to recover
	Rescheduled int      // builds sent to other hosts (or to ERROR after their last attempt)
	Deleted     int      // instances whose delete was finished without the host
	PowerFailed int      // power actions ended with "host … is down"
	TasksFailed int      // shelves, snapshots, rebuilds and reverts ended the same way
	Reverted    int      // resize reverts gone on without their down destination
	Cancelled   int      // jobs cancelled in all
	Routers     int      // routers moved to another host
}

// settled counts what was done for hosts' work (the routers aside).
func (r HostRecovery) settled() int {
	return r.Rescheduled + r.Deleted + r.PowerFailed + r.TasksFailed + r.Reverted + r.Cancelled
}

// recoveryBatch bounds the rows one run looks at per host; the next run
// (seconds later) takes the rest.
const recoveryBatch = 500

// RecoverDownHosts recovers the work of every host that is down.
func (s *Store) RecoverDownHosts(ctx context.Context) (HostRecovery, error) {
	var r HostRecovery
	var down []string
	if err := s.db.WithContext(ctx).Model(&Host{}).Where("up = ?", false).Pluck("name", &down).Error; err != nil {
		return r, fmt.Errorf("list down hosts: %w", err)
	}
	// One host's failure (a job whose arguments cannot be read, say) is
	// returned but holds up neither the other hosts nor the routers.
	var errs []error
	for _, host := range down {
		before := r.settled()
		if err := s.recoverHost(ctx, host, &r); err != nil {
			errs = append(errs, fmt.Errorf("recover host %s: %w", host, err))
			if ctx.Err() != nil {
				return r, errors.Join(errs...)
			}
		}
		if r.settled() != before {
			r.Hosts = append(r.Hosts, host)
		}
	}
	if len(down) == 0 {
		return r, nil
	}
	moved, err := s.RehomeRouters(ctx)
	r.Routers = moved
	return r, errors.Join(append(errs, err)...)
}

func (s *Store) recoverHost(ctx context.Context, host string, r *HostRecovery) error {
	var builds []string
	if err := s.db.WithContext(ctx).Model(&Instance{}).Where("host = ? AND vm_state = ?", host, VMBuilding).
		Limit(recoveryBatch).Pluck("id", &builds).Error; err != nil {
		return fmt.Errorf("find builds: %w", err)
	}
	// A build or a job that cannot be recovered is returned at the end,
	// not in the way of the host's others.
	var errs []error
	keep := func(err error) bool {
		if err != nil {
			errs = append(errs, err)
		}
		return ctx.Err() == nil
	}
	for _, id := range builds {
		if !keep(s.rescheduleFromDownHost(ctx, id, host, r)) {
			return errors.Join(errs...)
		}
	}
	var jobs []Job
	rows, err := s.db.WithContext(ctx).Raw("SELECT "+jobColumns+" FROM jobs WHERE state = ? AND target_host = ? ORDER BY id LIMIT ?",
		string(JobAvailable), host, recoveryBatch).Rows()
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("find queued jobs: %w", err))...)
	}
	if jobs, err = scanJobs(rows, jobs); err != nil {
		return errors.Join(append(errs, fmt.Errorf("find queued jobs: %w", err))...)
	}
	for _, j := range jobs {
		if !keep(s.recoverJob(ctx, j, host, r)) {
			return errors.Join(errs...)
		}
	}
	// A move's or a revert's step that was running when the host died used
	// its attempts up (a migration has one, a revert's steps five): its
	// lease expired and it failed, with the move or the revert still open.
	kinds := make([]string, 0, len(moveSteps)+len(revertSteps))
	for k := range moveSteps {
		kinds = append(kinds, k)
	}
	for k := range revertSteps {
		kinds = append(kinds, k)
	}
	rows, err = s.db.WithContext(ctx).Raw("SELECT "+jobColumns+" FROM jobs WHERE state = ? AND target_host = ? AND last_error = ? "+
		"AND kind IN ? ORDER BY id DESC LIMIT ?", string(JobFailed), host, LeaseExpiredError, kinds, recoveryBatch).Rows()
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("find lost move steps: %w", err))...)
	}
	lost, err := scanJobs(rows, nil)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("find lost move steps: %w", err))...)
	}
	for _, j := range lost {
		if revertSteps[j.Kind] {
			err = s.recoverRevertStep(ctx, j, host, r)
		} else {
			err = s.recoverMoveStep(ctx, j, host, moveSteps[j.Kind], r)
		}
		if !keep(err) {
			break
		}
	}
	return errors.Join(errs...)
}

// rescheduleFromDownHost sends one build of a down host elsewhere and
// cancels its spawn jobs there.
func (s *Store) rescheduleFromDownHost(ctx context.Context, id, host string, r *HostRecovery) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.lockInstance(tx, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if inst.VMState != VMBuilding || inst.Host != host || !s.hostIsDown(tx, host) {
			return nil // finished, moved or back up meanwhile
		}
		why := fmt.Sprintf("host %s down", host)
		spawns, err := s.liveJobs(tx, host, SpawnInstance{}.Kind(), id)
		if err != nil {
			return err
		}
		var tried []string
		for _, j := range spawns {
			var args SpawnInstance
			if json.Unmarshal(j.Args, &args) == nil && len(args.ExcludeHosts) > len(tried) {
				tried = args.ExcludeHosts
			}
		}
		n, err := s.cancelJobs(tx, spawns, "rescheduled: "+why)
		if err != nil {
			return err
		}
		if _, err := s.reschedule(tx, inst, tried, why); err != nil {
			return err
		}
		r.Rescheduled++
		r.Cancelled += n
		return nil
	})
}

// moveSteps are the steps of a move that a host's agent runs, each with
// whether the instance is still whole where it was when the step never
// runs: before the destination is prepared or the source has sent it, the
// move is undone (the instance as before, on its source, which an
// evacuation can leave if that is the host that is down); after, it goes
// to ERROR, from which a hard reboot starts the copy the source kept or an
// evacuation rebuilds it.
var moveSteps = map[string]bool{
	PrepareMove{}.Kind():      true,
	MigrateInstance{}.Kind():  true,
	FinishMove{}.Kind():       false,
	EvacuateInstance{}.Kind(): false,
}

// recoverMoveStep fails the move whose step j waits for (or was lost
// with) a host that is down, instead of leaving the instance in its move's
// task until the host is back; a queued step is cancelled.
func (s *Store) recoverMoveStep(ctx context.Context, j Job, host string, sourceIntact bool, r *HostRecovery) error {
	var args struct {
		MigrationID string `json:"migration_id"`
	}
	if err := json.Unmarshal(j.Args, &args); err != nil || args.MigrationID == "" {
		return nil // not one of ours to read: left for the host's return
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if !s.hostIsDown(tx, host) {
			return nil
		}
		reason := fmt.Sprintf("host %s is down: the move was not finished", host)
		switch err := s.failMove(tx, args.MigrationID, reason, sourceIntact); {
		case errors.Is(err, ErrNotFound):
			reason = "not needed: its move is over"
		case err != nil:
			return err
		default:
			r.TasksFailed++
		}
		return s.settleStep(tx, j, reason, r)
	})
}

// settleStep ends a step of a down host that recovery has dealt with: a
// queued one is cancelled with the reason; one lost with the host (failed
// when its lease expired) is marked as seen, so that later runs do not
// take it up again.
func (s *Store) settleStep(tx *gorm.DB, j Job, reason string, r *HostRecovery) error {
	if j.State.Finished() {
		if err := tx.Exec("UPDATE jobs SET last_error = ? WHERE id = ?", truncateError(LeaseExpiredError+"; "+reason), j.ID).Error; err != nil {
			return fmt.Errorf("mark lost step: %w", err)
		}
		return nil
	}
	n, err := s.cancelJobs(tx, []Job{j}, reason)
	r.Cancelled += n
	return err
}

// revertSteps are the steps of a resize's revert that a host's agent
// runs: the destination destroys its copy (RevertMove), then the source
// starts the copy it kept (FinishRevert).
var revertSteps = map[string]bool{
	RevertMove{}.Kind():   true,
	FinishRevert{}.Kind(): true,
}

// recoverRevertStep goes on with a resize's revert whose step j waits for
// (or was lost with) a host that is down, queued or running when the host
// died. The source keeps the instance's old disk, so a destination's step
// is not needed: its claim is given back and the source starts the kept
// copy (the destination's agent destroys its own if the host comes back).
// A source's step cannot be done without the source: the instance goes to
// ERROR with the reason, from which an evacuation rebuilds it elsewhere
// (or a hard reboot starts the kept copy when the host is back).
func (s *Store) recoverRevertStep(ctx context.Context, j Job, host string, r *HostRecovery) error {
	var args RevertMove // FinishRevert's arguments are the same
	if err := json.Unmarshal(j.Args, &args); err != nil {
		if j.State.Finished() {
			// Lost with the host: nothing to do for it but mark it seen,
			// or every run would take it up (and report it) again.
			return s.tx(ctx, func(tx *gorm.DB) error { return s.settleStep(tx, j, "its arguments cannot be read", r) })
		}
		return fmt.Errorf("job %d's arguments: %w", j.ID, err)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if !s.hostIsDown(tx, host) {
			return nil
		}
		m, inst, err := s.lockMove(tx, args.MigrationID, MigrationReverting)
		var reason string
		switch {
		case errors.Is(err, ErrNotFound):
			reason = "not needed: its revert is over"
		case err != nil:
			return err
		case inst.Host != host:
			// The destination gave the instance back before it died (the
			// source's step is queued), or the source's step is over.
			reason = fmt.Sprintf("not needed: its instance is no longer on host %s", host)
		case inst.TaskState != TaskResizeReverting:
			if j.State.Finished() {
				return s.settleStep(tx, j, "not needed: its instance is no longer reverting", r)
			}
			return nil // not the revert this step was for: left for the host's return
		case j.Kind == (RevertMove{}).Kind():
			reason = fmt.Sprintf("host %s is down: the resized copy is destroyed if it comes back; reverting on %s", host, m.SourceCompute)
			if err := s.revertedOnDest(tx, m, inst); err != nil {
				return err
			}
			r.Reverted++
		default:
			reason = fmt.Sprintf("host %s is down: the revert was not finished; evacuate the instance, or hard reboot it when the host is back", host)
			if err := s.finishRevert(tx, m, inst, PowerNoState, reason); err != nil {
				return err
			}
			r.TasksFailed++
		}
		return s.settleStep(tx, j, reason, r)
	})
}

// recoverJob settles one queued job of a down host.
func (s *Store) recoverJob(ctx context.Context, j Job, host string, r *HostRecovery) error {
	if j.ResourceType != "instance" {
		return nil
	}
	if intact, ok := moveSteps[j.Kind]; ok {
		return s.recoverMoveStep(ctx, j, host, intact, r)
	}
	if revertSteps[j.Kind] {
		return s.recoverRevertStep(ctx, j, host, r)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if !s.hostIsDown(tx, host) {
			return nil
		}
		inst, err := s.lockInstance(tx, j.ResourceID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		gone := err != nil || inst.Host != host || inst.VMState == VMDeleted
		reason := ""
		switch {
		case gone:
			reason = fmt.Sprintf("not needed: its instance is no longer on host %s", host)
		case j.Kind == (DeleteInstance{}).Kind() && inst.TaskState == TaskDeleting:
			msg := fmt.Sprintf("deleted while host %s was down; its domain is destroyed if the host comes back", host)
			if err := s.finishAction(tx, inst.ID, ActionSuccess, msg); err != nil {
				return err
			}
			if err := s.markDeleted(tx, &inst); err != nil {
				return err
			}
			r.Deleted++
			reason = msg
		case j.Kind == (PowerInstance{}).Kind():
			var args PowerInstance
			_ = json.Unmarshal(j.Args, &args)
			if task := PowerTask(args.Action); task == "" || inst.TaskState != task {
				reason = "not needed: its power task is over"
				break
			}
			msg := fmt.Sprintf("host %s is down: %s was not done; try again when the host is back", host, args.Action)
			if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).
				Updates(map[string]any{"task_state": TaskNone, "updated_at": s.now()}).Error; err != nil {
				return fmt.Errorf("end power task: %w", err)
			}
			if err := s.finishAction(tx, inst.ID, ActionError, msg); err != nil {
				return err
			}
			r.PowerFailed++
			reason = msg
		case j.Kind == (UnshelveInstance{}).Kind() && inst.VMState == VMShelvedOffloaded && inst.TaskState == TaskUnshelving:
			// Not booted there yet: the scheduler picks another host.
			reason = fmt.Sprintf("host %s down: unshelving on another host", host)
			if err := s.rescheduleUnshelve(tx, inst, reason); err != nil {
				return err
			}
			r.Rescheduled++
		case j.Kind == (SpawnInstance{}).Kind() && inst.VMState != VMBuilding:
			reason = "not needed: its instance is no longer being built"
		case j.Kind == (ShelveInstance{}).Kind() && inst.TaskState == TaskShelving,
			j.Kind == (SnapshotInstance{}).Kind() && inst.TaskState == TaskImageSnapshot:
			// Nothing of it can go on without the host's disk: the image
			// is killed and the instance idle again, for the operator to
			// evacuate or the owner to try again when the host is back.
			var args struct {
				ImageID string `json:"image_id"`
			}
			_ = json.Unmarshal(j.Args, &args)
			action := ActionShelve
			if j.Kind == (SnapshotInstance{}).Kind() {
				action = "snapshot"
			}
			reason = fmt.Sprintf("host %s is down: %s was not done; evacuate the instance, or try again when the host is back", host, action)
			if args.ImageID != "" {
				if err := s.killImage(tx, args.ImageID); err != nil {
					return err
				}
			}
			if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).
				Updates(map[string]any{"task_state": TaskNone, "shelved_image_id": "", "updated_at": s.now()}).Error; err != nil {
				return fmt.Errorf("end %s: %w", action, err)
			}
			if err := s.finishAction(tx, inst.ID, ActionError, reason); err != nil {
				return err
			}
			r.TasksFailed++
		case j.Kind == (RebuildInstance{}).Kind() && inst.TaskState == TaskRebuilding:
			// The host may have replaced the root disk halfway: ERROR, from
			// which an evacuation rebuilds it elsewhere from its new image.
			reason = fmt.Sprintf("host %s is down: the rebuild was not done; evacuate the instance to rebuild it on another host", host)
			now := s.now()
			if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(map[string]any{
				"vm_state": VMError, "task_state": TaskNone, "fault_message": faultText(reason, 1024), "fault_at": now, "updated_at": now,
			}).Error; err != nil {
				return fmt.Errorf("end rebuild: %w", err)
			}
			if err := s.finishAction(tx, inst.ID, ActionError, reason); err != nil {
				return err
			}
			r.TasksFailed++
		default:
			return nil // wanted when the host comes back
		}
		n, err := s.cancelJobs(tx, []Job{j}, reason)
		r.Cancelled += n
		return err
	})
}

// hostIsDown re-reads a host's state inside the transaction: a host that
// came back since the conductor looked keeps its work.
func (s *Store) hostIsDown(tx *gorm.DB, host string) bool {
	var up []bool
	if err := tx.Model(&Host{}).Where("name = ?", host).Pluck("up", &up).Error; err != nil || len(up) == 0 {
		return false
	}
	return !up[0]
}

// liveJobs are the jobs of one kind for an instance on a host that may
// still run (queued, or leased by an agent that may be gone).
func (s *Store) liveJobs(tx *gorm.DB, host, kind, instanceID string) ([]Job, error) {
	rows, err := tx.Raw("SELECT "+jobColumns+" FROM jobs WHERE resource_type = ? AND resource_id = ? AND kind = ? "+
		"AND target_host = ? AND state IN (?, ?)", "instance", instanceID, kind, host, string(JobAvailable), string(JobRunning)).Rows()
	if err != nil {
		return nil, fmt.Errorf("find jobs: %w", err)
	}
	jobs, err := scanJobs(rows, nil)
	if err != nil {
		return nil, fmt.Errorf("find jobs: %w", err)
	}
	return jobs, nil
}

// cancelJobs ends queued or running jobs as cancelled with a reason; a
// worker still holding one loses its lease.
func (s *Store) cancelJobs(tx *gorm.DB, jobs []Job, reason string) (int, error) {
	if len(jobs) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	res := tx.Exec("UPDATE jobs SET state = ?, finished_at = ?, last_error = ?, lease_expires_at = NULL "+
		"WHERE id IN ("+idList(ids)+") AND state IN (?, ?)",
		string(JobCancelled), s.now(), truncateError(reason), string(JobAvailable), string(JobRunning))
	if res.Error != nil {
		return 0, fmt.Errorf("cancel jobs: %w", res.Error)
	}
	return int(res.RowsAffected), nil
}
