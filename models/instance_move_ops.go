package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The move intents: resize (tenants), cold migrate, live migrate and
// evacuate (operators), confirm and revert a resize. Each checks the
// instance's state, writes the migration row and the instance's task,
// opens the action log entry and enqueues the move's first job — in one
// transaction.

// Move actions, as the API names them.
const (
	ActionResize        = "resize"
	ActionConfirmResize = "confirm_resize"
	ActionRevertResize  = "revert_resize"
	ActionMigrate       = "migrate"
	ActionLiveMigrate   = "live_migrate"
	ActionEvacuate      = "evacuate"
)

// MoveActions lists the move actions the instance actions endpoint takes.
func MoveActions() []string {
	return []string{ActionResize, ActionConfirmResize, ActionRevertResize, ActionMigrate, ActionLiveMigrate, ActionEvacuate}
}

// OperatorMoveActions are the move actions only operators may ask for.
func OperatorMoveActions() []string {
	return []string{ActionMigrate, ActionLiveMigrate, ActionEvacuate}
}

// MoveRequest is a move's optional arguments.
type MoveRequest struct {
	Flavor string // resize: the new flavor (ID or name)
	Host   string // migrate, live migrate, evacuate: the destination (empty: the scheduler's pick)
	// BlockMigration is live migration's "auto", "true" or "false": copy
	// the disks when the hosts do not share the instances directory.
	BlockMigration string
}

// MoveActionAllowed says whether an instance's state lets a move action
// start now (the intent decides for real; pages hide buttons by it).
// hostDown is whether the instance's host is down (evacuate needs it).
func MoveActionAllowed(i Instance, action string, hostDown bool) bool {
	if i.TaskState != TaskNone || i.Host == "" {
		return false
	}
	switch action {
	case ActionResize, ActionMigrate:
		return (i.VMState == VMActive || i.VMState == VMStopped) && !hostDown
	case ActionLiveMigrate:
		return i.VMState == VMActive && !hostDown
	case ActionConfirmResize, ActionRevertResize:
		return i.VMState == VMResized
	case ActionEvacuate:
		return hostDown && slices.Contains([]VMState{VMActive, VMStopped, VMError}, i.VMState)
	}
	return false
}

// MoveInstance starts a move action on an instance.
func (s *Store) MoveInstance(ctx context.Context, c Caller, id, action string, in MoveRequest) (Instance, error) {
	switch action {
	case ActionResize:
		return s.resizeInstance(ctx, c, id, in.Flavor)
	case ActionConfirmResize:
		return s.confirmResize(ctx, c, id)
	case ActionRevertResize:
		return s.revertResize(ctx, c, id)
	case ActionMigrate, ActionLiveMigrate, ActionEvacuate:
		if !c.IsSystemAdmin() {
			return Instance{}, forbidden("only operators may %s instances", strings.ReplaceAll(action, "_", "-"))
		}
		return s.operatorMove(ctx, c, id, action, in)
	}
	return Instance{}, Invalidf("action", "must be one of %s", strings.Join(MoveActions(), ", "))
}

// lockMovable reads the instance for a move and checks it may start one.
func (s *Store) lockMovable(tx *gorm.DB, c Caller, id, action string, from ...VMState) (Instance, error) {
	inst, err := s.getInstance(s.forUpdate(tx), c, id)
	if err != nil {
		return inst, err
	}
	switch {
	case inst.VMState == VMDeleted:
		return inst, notFound("instance %q not found", id)
	case inst.TaskState != TaskNone:
		return inst, conflict("instance %s is busy (%s): wait until it finishes", inst.Name, inst.TaskState)
	case !slices.Contains(from, inst.VMState):
		return inst, conflict("cannot %s instance %s while it is %s", strings.ReplaceAll(action, "_", " "), inst.Name, inst.Status())
	case inst.Host == "":
		return inst, conflict("instance %s was never placed on a host", inst.Name)
	}
	return inst, nil
}

// hostState reads whether a host exists and is up.
func hostState(tx *gorm.DB, name string) (exists, up bool, err error) {
	var ups []bool
	if err := tx.Model(&Host{}).Where("name = ?", name).Pluck("up", &ups).Error; err != nil {
		return false, false, fmt.Errorf("host state: %w", err)
	}
	return len(ups) == 1, len(ups) == 1 && ups[0], nil
}

// resizeInstance asks for a new flavor: checked against quota (the growth
// only) now, against hosts by the scheduler.
func (s *Store) resizeInstance(ctx context.Context, c Caller, id, flavorRef string) (Instance, error) {
	flavorRef = strings.TrimSpace(flavorRef)
	if flavorRef == "" {
		return Instance{}, Invalid("flavor", "give the flavor to resize to")
	}
	var inst Instance
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if inst, err = s.lockMovable(tx, c, id, ActionResize, VMActive, VMStopped); err != nil {
			return err
		}
		if _, up, err := hostState(tx, inst.Host); err != nil {
			return err
		} else if !up {
			return conflict("instance %s's host %s is down: it cannot be resized now", inst.Name, inst.Host)
		}
		flavor, err := s.getFlavor(tx, c, flavorRef)
		if err != nil {
			return Invalidf("flavor", "no flavor %s you may use", flavorRef)
		}
		if err := resizeProblem(inst, flavor); err != nil {
			return err
		}
		if err := s.lockProject(tx, inst.ProjectID); err != nil {
			return err
		}
		add := Usage{VCPUs: int64(max(0, flavor.VCPUs-inst.VCPUs)), RAMMB: int64(max(0, flavor.RAMMB-inst.RAMMB))}
		if err := s.checkQuota(tx, inst.ProjectID, add); err != nil {
			return err
		}
		return s.startMove(tx, c, &inst, MigrationResize, &flavor, "", false)
	})
	return inst, err
}

// resizeProblem refuses a flavor the instance cannot be resized to: the
// same one, a disabled one, or one with a smaller disk (disks only grow).
func resizeProblem(inst Instance, f Flavor) error {
	switch {
	case f.ID == inst.FlavorID:
		return Invalidf("flavor", "the instance already has flavor %s: choose another", f.Name)
	case f.Disabled:
		return Invalidf("flavor", "flavor %s is disabled", f.Name)
	case inst.DiskGB > 0 && f.DiskGB < inst.DiskGB:
		return Invalidf("flavor", "flavor %s's root disk (%d GB) is smaller than the instance's (%d GB): disks can only grow",
			f.Name, f.DiskGB, inst.DiskGB)
	case f.EphemeralGB < inst.EphemeralGB:
		return Invalidf("flavor", "flavor %s's ephemeral disk (%d GB) is smaller than the instance's (%d GB): disks can only grow",
			f.Name, f.EphemeralGB, inst.EphemeralGB)
	}
	return nil
}

// operatorMove starts a cold migration, live migration or evacuation.
func (s *Store) operatorMove(ctx context.Context, c Caller, id, action string, in MoveRequest) (Instance, error) {
	host := strings.TrimSpace(in.Host)
	block := false
	if action == ActionLiveMigrate {
		switch in.BlockMigration {
		case "", "auto", "false":
		case "true":
			block = true
		default:
			return Instance{}, Invalid("block_migration", "must be auto, true or false")
		}
	} else if in.BlockMigration != "" {
		return Instance{}, Invalid("block_migration", "only live migration takes it")
	}
	var inst Instance
	err := s.tx(ctx, func(tx *gorm.DB) error {
		from := []VMState{VMActive, VMStopped}
		switch action {
		case ActionLiveMigrate:
			from = []VMState{VMActive}
		case ActionEvacuate:
			from = []VMState{VMActive, VMStopped, VMError}
		}
		var err error
		if inst, err = s.lockMovable(tx, c, id, action, from...); err != nil {
			return err
		}
		if host != "" {
			exists, up, err := hostState(tx, host)
			switch {
			case err != nil:
				return err
			case !exists:
				return Invalidf("host", "no host named %s", host)
			case host == inst.Host:
				return Invalidf("host", "the instance is already on %s: choose another host", host)
			case !up:
				return Invalidf("host", "host %s is down", host)
			}
		}
		_, srcUp, err := hostState(tx, inst.Host)
		if err != nil {
			return err
		}
		typ := MigrationCold
		switch action {
		case ActionEvacuate:
			if srcUp {
				return conflict("instance %s's host %s is up: evacuate only the instances of a host that is down (migrate this one)", inst.Name, inst.Host)
			}
			typ = MigrationEvacuation
		case ActionLiveMigrate:
			typ = MigrationLive
			fallthrough
		default:
			if !srcUp {
				return conflict("instance %s's host %s is down: evacuate it instead", inst.Name, inst.Host)
			}
		}
		return s.startMove(tx, c, &inst, typ, nil, host, block)
	})
	return inst, err
}

// moveStart is where each kind of move begins.
var moveStart = map[MigrationType]struct {
	status string
	task   TaskState
	action string
}{
	MigrationResize:     {MigrationPreMigrating, TaskResizePrep, "resize"},
	MigrationCold:       {MigrationPreMigrating, TaskResizePrep, "migrate"},
	MigrationLive:       {MigrationQueued, TaskMigrating, "live-migration"},
	MigrationEvacuation: {MigrationAccepted, TaskRebuilding, "evacuate"},
}

// startMove writes the migration, sets the instance's task (and, for a
// resize, its new flavor: quota counts it from now on, and the scheduler
// claims it), opens the action and asks a scheduler for a destination.
func (s *Store) startMove(tx *gorm.DB, c Caller, inst *Instance, typ MigrationType, flavor *Flavor, host string, block bool) error {
	start := moveStart[typ]
	now := s.now()
	m := InstanceMigration{ID: newID(), InstanceID: inst.ID, ProjectID: inst.ProjectID, Type: typ, Status: start.status,
		SourceCompute: inst.Host, RequestedHost: host, OldFlavorID: inst.FlavorID, OldFlavorName: inst.FlavorName,
		OldVCPUs: inst.VCPUs, OldRAMMB: inst.RAMMB, OldDiskGB: inst.DiskGB, OldEphemeralGB: inst.EphemeralGB,
		NewFlavorID: inst.FlavorID, NewFlavorName: inst.FlavorName, PowerOn: inst.VMState == VMActive,
		BlockMigration: block, CreatedAt: now, UpdatedAt: now}
	set := map[string]any{"task_state": start.task, "updated_at": now}
	if flavor != nil {
		m.NewFlavorID, m.NewFlavorName = flavor.ID, flavor.Name
		inst.FlavorID, inst.FlavorName, inst.VCPUs, inst.RAMMB, inst.EphemeralGB = flavor.ID, flavor.Name, flavor.VCPUs, flavor.RAMMB, flavor.EphemeralGB
		if inst.DiskGB > 0 {
			inst.DiskGB = flavor.DiskGB
		}
		set["flavor_id"], set["flavor_name"], set["vcpus"], set["ram_mb"], set["disk_gb"], set["ephemeral_gb"] =
			inst.FlavorID, inst.FlavorName, inst.VCPUs, inst.RAMMB, inst.DiskGB, inst.EphemeralGB
	}
	if err := tx.Create(&m).Error; err != nil {
		return fmt.Errorf("record migration: %w", err)
	}
	res := tx.Model(&Instance{}).Where("id = ? AND task_state = ?", inst.ID, TaskNone).Updates(set)
	if res.Error != nil {
		return fmt.Errorf("set task: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return conflict("instance %s changed meanwhile: try again", inst.Name)
	}
	inst.TaskState, inst.UpdatedAt = start.task, now
	if err := s.startAction(tx, c, *inst, start.action); err != nil {
		return err
	}
	_, err := s.enqueue(tx, ScheduleMove{MigrationID: m.ID}, JobOptions{ResourceType: "instance", ResourceID: inst.ID})
	return err
}

// confirmResize keeps the new host and flavor: the source's copy is
// destroyed and its allocation given back.
func (s *Store) confirmResize(ctx context.Context, c Caller, id string) (Instance, error) {
	var inst Instance
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if inst, err = s.lockMovable(tx, c, id, ActionConfirmResize, VMResized); err != nil {
			return err
		}
		return s.confirmLocked(tx, c, &inst, "")
	})
	return inst, err
}

// confirmLocked confirms the finished move of a locked instance.
func (s *Store) confirmLocked(tx *gorm.DB, c Caller, inst *Instance, why string) error {
	m, ok, err := s.openMigration(tx, inst.ID)
	if err != nil {
		return err
	}
	if !ok || m.Status != MigrationFinished {
		return conflict("instance %s has no finished resize or migration to confirm", inst.Name)
	}
	if err := s.releaseHostAllocation(tx, inst.ID, m.SourceCompute); err != nil {
		return err
	}
	if err := s.setMigration(tx, m.ID, map[string]any{"status": MigrationConfirmed}); err != nil {
		return err
	}
	inst.VMState, inst.UpdatedAt = restingState(m.PowerOn), s.now()
	if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).
		Updates(map[string]any{"vm_state": inst.VMState, "updated_at": inst.UpdatedAt}).Error; err != nil {
		return fmt.Errorf("confirm resize: %w", err)
	}
	if err := s.recordAction(tx, c, *inst, "confirmResize", ActionSuccess, why); err != nil {
		return err
	}
	_, err = s.enqueue(tx, ConfirmMove{MigrationID: m.ID},
		JobOptions{TargetHost: m.SourceCompute, MaxAttempts: 10, ResourceType: "instance", ResourceID: inst.ID})
	return err
}

// revertResize goes back to the old flavor, host and disk: the destination
// destroys its copy, then the source starts the one it kept.
func (s *Store) revertResize(ctx context.Context, c Caller, id string) (Instance, error) {
	var inst Instance
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if inst, err = s.lockMovable(tx, c, id, ActionRevertResize, VMResized); err != nil {
			return err
		}
		m, ok, err := s.openMigration(tx, inst.ID)
		if err != nil {
			return err
		}
		if !ok || m.Status != MigrationFinished {
			return conflict("instance %s has no finished resize or migration to revert", inst.Name)
		}
		if _, up, err := hostState(tx, m.SourceCompute); err != nil {
			return err
		} else if !up {
			return conflict("the source host %s is down: the resize cannot be reverted now (confirm it, or wait)", m.SourceCompute)
		}
		if err := s.setMigration(tx, m.ID, map[string]any{"status": MigrationReverting}); err != nil {
			return err
		}
		inst.TaskState, inst.UpdatedAt = TaskResizeReverting, s.now()
		if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).
			Updates(map[string]any{"task_state": inst.TaskState, "updated_at": inst.UpdatedAt}).Error; err != nil {
			return fmt.Errorf("revert resize: %w", err)
		}
		if err := s.startAction(tx, c, inst, "revertResize"); err != nil {
			return err
		}
		if _, up, err := hostState(tx, m.DestCompute); err != nil {
			return err
		} else if !up {
			// Nothing waits for the destination: the source starts the
			// copy it kept, and the destination's agent destroys its own
			// when it comes back (the instance is no longer its own).
			if err := s.revertedOnDest(tx, m, inst); err != nil {
				return err
			}
			inst = m.OldSize(inst)
			inst.Host = m.SourceCompute
			return nil
		}
		_, err = s.enqueue(tx, RevertMove{MigrationID: m.ID},
			JobOptions{TargetHost: m.DestCompute, ResourceType: "instance", ResourceID: inst.ID})
		return err
	})
	return inst, err
}

// AutoConfirmResizes confirms, as the system, every resize or cold
// migration that has waited in VERIFY_RESIZE longer than window (Nova's
// resize_confirm_window). It returns how many it confirmed.
func (s *Store) AutoConfirmResizes(ctx context.Context, window time.Duration) (int, error) {
	var ids []string
	if err := s.db.WithContext(ctx).Model(&InstanceMigration{}).
		Where("status = ? AND updated_at < ?", MigrationFinished, s.now().Add(-window)).
		Limit(500).Pluck("instance_id", &ids).Error; err != nil {
		return 0, fmt.Errorf("find resizes to confirm: %w", err)
	}
	n := 0
	for _, id := range ids {
		err := s.tx(ctx, func(tx *gorm.DB) error {
			inst, err := s.lockInstance(tx, id)
			switch {
			case errors.Is(err, ErrNotFound):
				return nil // deleted meanwhile
			case err != nil:
				return err
			case inst.VMState != VMResized || inst.TaskState != TaskNone:
				return nil // changed meanwhile
			}
			err = s.confirmLocked(tx, systemActor(), &inst, fmt.Sprintf("confirmed automatically after %s", window))
			if errors.Is(err, ErrConflict) {
				return nil // confirmed or reverted meanwhile
			} else if err != nil {
				return err
			}
			n++
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("confirm the resize of instance %s: %w", id, err)
		}
	}
	return n, nil
}
