package models

import (
	"context"
	"fmt"
	"slices"

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
	}
	return nil, "", false
}

// PowerAction starts, stops or reboots an instance.
func (s *Store) PowerAction(ctx context.Context, c Caller, id, action string) (Instance, error) {
	from, task, ok := powerRule(action)
	if !ok {
		return Instance{}, Invalid("action", "must be start, stop, reboot or reboot_hard")
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
		res := tx.Model(&Instance{}).Where("id = ? AND task_state = ?", inst.ID, inst.TaskState).
			Updates(map[string]any{"task_state": task, "updated_at": s.now()})
		if res.Error != nil {
			return fmt.Errorf("set task: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return conflict("instance %s changed meanwhile: try again", inst.Name)
		}
		inst.TaskState = task
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
		res := tx.Model(&Instance{}).Where("id = ? AND task_state = ?", inst.ID, inst.TaskState).
			Updates(map[string]any{"task_state": TaskDeleting, "updated_at": s.now()})
		if res.Error != nil {
			return fmt.Errorf("set task: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return conflict("instance %s changed meanwhile: try again", inst.Name)
		}
		inst.TaskState = TaskDeleting
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
	return inst, err
}

// markDeleted finishes a delete in tx: state deleted, resources released.
func (s *Store) markDeleted(tx *gorm.DB, inst *Instance) error {
	now := s.now()
	if err := s.releaseAllocations(tx, inst.ID); err != nil {
		return err
	}
	if err := s.finishAction(tx, inst.ID, ActionError, "instance deleted"); err != nil {
		return err
	}
	inst.VMState, inst.TaskState, inst.PowerState, inst.DeletedAt, inst.UpdatedAt = VMDeleted, TaskNone, PowerNoState, &now, now
	return tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(map[string]any{
		"vm_state": VMDeleted, "task_state": TaskNone, "power_state": PowerNoState, "deleted_at": now, "updated_at": now,
	}).Error
}
