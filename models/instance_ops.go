package models

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// User-facing instance actions: each checks the instance's state, sets the
// task, records the action and enqueues the job for the instance's host —
// in one transaction. A conflicting task in progress is a 409.

// PowerTask is the task a power action sets while it runs ("" for an
// unknown action).
func PowerTask(action string) TaskState {
	_, task, _ := powerRule(action)
	return task
}

// powerRule says from which states an action may start and which task it
// sets.
func powerRule(action string) (from []VMState, task TaskState, ok bool) {
	switch action {
	case PowerStart:
		return []VMState{VMStopped}, TaskPoweringOn, true
	case PowerStop:
		return []VMState{VMActive, VMError}, TaskPoweringOff, true
	case PowerReboot:
		return []VMState{VMActive}, TaskRebooting, true
	case PowerRebootHard:
		return []VMState{VMActive, VMStopped, VMError}, TaskRebootingHard, true
	case PowerPause:
		return []VMState{VMActive}, TaskPausing, true
	case PowerUnpause:
		return []VMState{VMPaused}, TaskUnpausing, true
	case PowerSuspend:
		return []VMState{VMActive, VMPaused}, TaskSuspending, true
	case PowerResume:
		return []VMState{VMSuspended}, TaskResuming, true
	}
	return nil, "", false
}

// PowerActionAllowed says whether an instance's state lets a power action
// start now (the intent decides for real; pages hide buttons by it).
func PowerActionAllowed(i Instance, action string) bool {
	from, _, ok := powerRule(action)
	idle := i.TaskState == TaskNone || action == PowerRebootHard && i.TaskState == TaskRebooting
	return ok && idle && i.Host != "" && slices.Contains(from, i.VMState)
}

// PowerAction starts, stops, reboots, pauses, unpauses, suspends or
// resumes an instance. Pause and suspend keep its resources charged: its
// host still holds its memory (paused) or its saved memory on disk.
func (s *Store) PowerAction(ctx context.Context, c Caller, id, action string) (Instance, error) {
	from, task, ok := powerRule(action)
	if !ok {
		return Instance{}, Invalidf("action", "must be one of %s", strings.Join(PowerActions(), ", "))
	}
	var inst Instance
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if inst, err = s.getInstance(s.forUpdate(tx), c, id); err != nil {
			return err
		}
		hardOverSoft := action == PowerRebootHard && inst.TaskState == TaskRebooting
		if inst.TaskState != TaskNone && !hardOverSoft {
			return conflict("instance %s is busy (%s): wait until it finishes", inst.Name, inst.TaskState)
		}
		if !slices.Contains(from, inst.VMState) {
			return conflict("cannot %s instance %s while it is %s", action, inst.Name, inst.Status())
		}
		if inst.Host == "" {
			return conflict("instance %s was never placed on a host: delete it and launch again", inst.Name)
		}
		if err := s.setTask(tx, &inst, task); err != nil {
			return err
		}
		if err := s.startAction(tx, c, inst, action); err != nil {
			return err
		}
		_, err = s.enqueue(tx, PowerInstance{InstanceID: inst.ID, Action: action},
			JobOptions{TargetHost: inst.Host, ResourceType: "instance", ResourceID: inst.ID})
		return err
	})
	return inst, err
}

// DeleteInstance deletes an instance. One that never reached a host, or
// whose host is down, is deleted at once (its resources released; the
// host's agent cleans up leftovers when it returns); otherwise the host's
// agent destroys it and the instance shows "deleting" meanwhile.
func (s *Store) DeleteInstance(ctx context.Context, c Caller, id string) (Instance, error) {
	var inst Instance
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if inst, err = s.getInstance(s.forUpdate(tx), c, id); err != nil {
			return err
		}
		switch {
		case inst.VMState == VMDeleted:
			return notFound("instance %q not found", id)
		case inst.TaskState == TaskDeleting:
			return nil // already on its way: deleting twice is not an error
		case inst.TaskState == TaskUnshelving && inst.Host == "":
			// Waiting for the scheduler: nothing runs anywhere yet.
		case inst.TaskState != TaskNone && inst.TaskState != TaskScheduling && inst.VMState != VMError:
			return conflict("instance %s is busy (%s): wait until it finishes", inst.Name, inst.TaskState)
		}
		hostUp := false
		if inst.Host != "" {
			var up []bool
			if err := tx.Model(&Host{}).Where("name = ?", inst.Host).Pluck("up", &up).Error; err != nil {
				return fmt.Errorf("host state: %w", err)
			}
			hostUp = len(up) == 1 && up[0]
		}
		if !hostUp {
			if err := s.recordAction(tx, c, inst, "delete", ActionSuccess, ""); err != nil {
				return err
			}
			return s.markDeleted(tx, &inst)
		}
		if err := s.setTask(tx, &inst, TaskDeleting); err != nil {
			return err
		}
		if err := s.finishAction(tx, inst.ID, ActionError, "superseded by delete"); err != nil {
			return err
		}
		if err := s.startAction(tx, c, inst, "delete"); err != nil {
			return err
		}
		_, err = s.enqueue(tx, DeleteInstance{InstanceID: inst.ID},
			JobOptions{TargetHost: inst.Host, ResourceType: "instance", ResourceID: inst.ID})
		return err
	})
	if err == nil {
		s.removeShelveImageFile(inst)
	}
	return inst, err
}

// markDeleted finishes a delete in tx: state deleted, resources released.
func (s *Store) markDeleted(tx *gorm.DB, inst *Instance) error {
	now := s.now()
	if err := s.releaseAllocations(tx, inst.ID); err != nil {
		return err
	}
	if err := s.releaseInstanceVolumes(tx, inst.ID); err != nil {
		return err
	}
	if err := s.finishAction(tx, inst.ID, ActionError, "instance deleted"); err != nil {
		return err
	}
	if err := s.releaseInstancePorts(tx, inst.ID); err != nil {
		return err
	}
	// A shelved instance's root disk goes with it (Nova deletes the
	// shelve image too); DeleteInstance removes the file.
	if inst.ShelvedImageID != "" && inst.TaskState != TaskShelving {
		if err := s.dropShelveImage(tx, inst.ShelvedImageID); err != nil {
			return err
		}
	}
	// A move under way ends with the instance; an agent that held a copy
	// for it destroys that copy as the leftover of a deleted instance.
	if err := tx.Model(&InstanceMigration{}).Where("instance_id = ? AND status IN ?", inst.ID, migrationOpen).
		Updates(map[string]any{"status": MigrationError, "error_message": "instance deleted", "updated_at": now}).Error; err != nil {
		return fmt.Errorf("end migrations: %w", err)
	}
	inst.VMState, inst.TaskState, inst.PowerState, inst.DeletedAt, inst.UpdatedAt = VMDeleted, TaskNone, PowerNoState, &now, now
	return tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(map[string]any{
		"vm_state": VMDeleted, "task_state": TaskNone, "power_state": PowerNoState, "deleted_at": now, "updated_at": now,
	}).Error
}

// removeShelveImageFile removes the file of a deleted instance's shelve
// image, after the transaction that deleted both.
func (s *Store) removeShelveImageFile(inst Instance) {
	if inst.VMState != VMDeleted || inst.ShelvedImageID == "" {
		return
	}
	if err := s.removeImageFile(inst.ShelvedImageID); err != nil {
		s.log.Warn("remove the shelve image of a deleted instance", "image", inst.ShelvedImageID, "err", err)
	}
}

// RenameInstance changes an instance's name (Nova's server update). A name
// is only a label: it may change whatever task is in progress.
func (s *Store) RenameInstance(ctx context.Context, c Caller, id, name string) (Instance, error) {
	name = strings.TrimSpace(name)
	p := Problems{}
	checkInstanceName(p, name)
	if err := p.Err(); err != nil {
		return Instance{}, err
	}
	var inst Instance
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if inst, err = s.getInstance(s.forUpdate(tx), c, id); err != nil {
			return err
		}
		if inst.VMState == VMDeleted {
			return notFound("instance %q not found", id)
		}
		if inst.Name == name {
			return nil
		}
		inst.Name, inst.UpdatedAt = name, s.now()
		if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).
			Updates(map[string]any{"name": name, "updated_at": inst.UpdatedAt}).Error; err != nil {
			return fmt.Errorf("rename instance: %w", err)
		}
		return s.recordAction(tx, c, inst, "update", ActionSuccess, "renamed to "+name)
	})
	return inst, err
}
