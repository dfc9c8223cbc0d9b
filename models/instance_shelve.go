package models

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"gorm.io/gorm"
)

// Shelving (Nova's shelve, with shelved_offload_time 0: offloaded at
// once). Shelve snapshots the root disk into an image named
// "<name>-shelved", destroys the domain and frees the host's allocation,
// keeping the instance's ports and volumes: SHELVED_OFFLOADED, on no host.
// Unshelve sends it through the scheduler again (any host that fits), boots
// it from that image, and removes the image once it runs, as Nova does.
//
// Quota: as in Nova, a shelved instance still counts against the project's
// instances, cores and RAM (the rows stay; only the host is freed), so
// unshelve needs no quota check and cannot fail on quota. The shelve image
// counts in the images quota while it exists, but shelving does not check
// that quota (Nova does not either: the image is Stratus' own and goes at
// unshelve or delete).

// Shelve actions.
const (
	ActionShelve        = "shelve"
	ActionShelveOffload = "shelve_offload"
	ActionUnshelve      = "unshelve"
)

// ShelveInstance is the job that asks the instance's host to copy the root
// disk into ImageID (with UploadSecret, as a snapshot), then destroy the
// domain. ImageID is empty for an instance that boots from a volume.
type ShelveInstance struct {
	InstanceID   string `json:"instance_id"`
	ImageID      string `json:"image_id,omitempty"`
	UploadSecret string `json:"upload_secret,omitempty"`
}

func (ShelveInstance) Kind() string { return "instance.shelve" }

// ScheduleUnshelve asks a scheduler for a host for a shelved instance.
type ScheduleUnshelve struct {
	InstanceID string `json:"instance_id"`
}

func (ScheduleUnshelve) Kind() string { return "instance.unshelve.schedule" }

// UnshelveInstance asks the chosen host's agent to spawn the shelved
// instance from its shelve image (or its boot volume).
type UnshelveInstance struct {
	InstanceID string `json:"instance_id"`
}

func (UnshelveInstance) Kind() string { return "instance.unshelve" }

// shelveFrom are the states Nova shelves from.
var shelveFrom = []VMState{VMActive, VMStopped, VMPaused, VMSuspended}

// ShelveAllowed says whether an instance's state lets a shelve start.
func ShelveAllowed(i Instance) bool {
	return i.TaskState == TaskNone && i.Host != "" && slices.Contains(shelveFrom, i.VMState)
}

// UnshelveAllowed says whether an instance's state lets an unshelve start.
func UnshelveAllowed(i Instance) bool {
	return i.TaskState == TaskNone && (i.VMState == VMShelvedOffloaded || i.VMState == VMShelved)
}

// ShelveInstance starts shelving an instance.
func (s *Store) ShelveInstance(ctx context.Context, c Caller, id string) (Instance, Image, error) {
	var inst Instance
	var im Image
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if inst, err = s.getInstance(s.forUpdate(tx), c, id); err != nil {
			return err
		}
		if err := s.checkActionState(inst, ActionShelve, shelveFrom); err != nil {
			return err
		}
		fromVolume, err := volumeBacked(tx, inst.ID)
		if err != nil {
			return err
		}
		job := ShelveInstance{InstanceID: inst.ID}
		if !fromVolume { // a volume keeps its own data: nothing to snapshot
			job.UploadSecret = randomSecret(32)
			if im, err = s.newSnapshotImage(tx, inst, truncate(inst.Name+"-shelved", 255), job.UploadSecret); err != nil {
				return err
			}
			job.ImageID = im.ID
		}
		if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Update("shelved_image_id", job.ImageID).Error; err != nil {
			return fmt.Errorf("shelve: %w", err)
		}
		inst.ShelvedImageID = job.ImageID
		if err := s.setTask(tx, &inst, TaskShelving); err != nil {
			return err
		}
		if err := s.startAction(tx, c, inst, ActionShelve); err != nil {
			return err
		}
		_, err = s.enqueue(tx, job, JobOptions{TargetHost: inst.Host, ResourceType: "instance", ResourceID: inst.ID})
		return err
	})
	return inst, im, err
}

// ShelveOffloadInstance is Nova's shelveOffload: it frees the host of an
// instance that is SHELVED but still there. Stratus offloads as it
// shelves, so an instance is never left SHELVED and this is a 409 naming
// the state for every instance (as Nova answers for one not SHELVED).
func (s *Store) ShelveOffloadInstance(ctx context.Context, c Caller, id string) (Instance, error) {
	inst, err := s.GetInstance(ctx, c, id)
	if err != nil {
		return inst, err
	}
	if err := s.checkActionState(inst, "shelve-offload", []VMState{VMShelved}); err != nil {
		return inst, err
	}
	return inst, conflict("instance %s is SHELVED and will be offloaded by its shelve", inst.Name)
}

// FinishShelve records what the host did. On success (errMsg "") the
// domain is gone: the instance is SHELVED_OFFLOADED on no host, its
// allocation released and its ports unbound (they stay the instance's). On
// failure the shelve image is killed, the instance stays on its host in the
// state its hypervisor reports, and the log says why.
func (s *Store) FinishShelve(ctx context.Context, instanceID, host string, power PowerState, errMsg string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.lockInstance(tx, instanceID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if inst.TaskState != TaskShelving || inst.Host != host {
			return nil
		}
		now := s.now()
		if errMsg != "" {
			if inst.ShelvedImageID != "" {
				if err := s.killImage(tx, inst.ShelvedImageID); err != nil {
					return err
				}
			}
			set := map[string]any{"task_state": TaskNone, "power_state": power, "shelved_image_id": "", "updated_at": now}
			switch power {
			case PowerRunning:
				set["vm_state"] = VMActive
			case PowerShutdown, PowerCrashed:
				set["vm_state"] = VMStopped
			case PowerPaused:
				set["vm_state"] = VMPaused
			case PowerSuspended:
				set["vm_state"] = VMSuspended
			}
			if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(set).Error; err != nil {
				return fmt.Errorf("fail shelve: %w", err)
			}
			return s.finishAction(tx, inst.ID, ActionError, "shelve failed: "+errMsg)
		}
		if err := s.releaseAllocations(tx, inst.ID); err != nil {
			return err
		}
		if err := s.unbindInstancePorts(tx, inst.ID); err != nil {
			return err
		}
		if err := tx.Model(&VolumeAttachment{}).Where("instance_id = ?", inst.ID).Update("host", "").Error; err != nil {
			return fmt.Errorf("detach volumes from the host: %w", err)
		}
		if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(map[string]any{
			"vm_state": VMShelvedOffloaded, "task_state": TaskNone, "power_state": PowerNoState, "host": "", "updated_at": now,
		}).Error; err != nil {
			return fmt.Errorf("finish shelve: %w", err)
		}
		msg := "offloaded from " + host
		if inst.ShelvedImageID != "" {
			msg += "; root disk kept in image " + inst.ShelvedImageID
		}
		return s.finishAction(tx, inst.ID, ActionSuccess, msg)
	})
}

// unbindInstancePorts clears the host binding of an instance's ports (they
// stay its own, with their addresses), so the host's network agent unplugs
// them.
func (s *Store) unbindInstancePorts(tx *gorm.DB, instanceID string) error {
	res := tx.Model(&Port{}).Where("device_id = ? AND binding_host_id <> ''", instanceID).
		Updates(map[string]any{"binding_host_id": "", "status": PortDown, "updated_at": s.now()})
	if res.Error != nil {
		return fmt.Errorf("unbind ports: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		return bumpNetworkRevision(tx)
	}
	return nil
}

// UnshelveInstance sends a shelved instance to the scheduler. Its quota
// stayed charged while shelved, so there is none to check.
func (s *Store) UnshelveInstance(ctx context.Context, c Caller, id string) (Instance, error) {
	return s.UnshelveInstanceToZone(ctx, c, id, "")
}

// UnshelveInstanceToZone unshelves an instance into availability zone zone
// (Nova's unshelve with availability_zone, from 2.77): the instance's zone
// becomes it, and the scheduler keeps to it as it does for a launch in a
// zone. "" keeps the zone the instance has.
func (s *Store) UnshelveInstanceToZone(ctx context.Context, c Caller, id, zone string) (Instance, error) {
	var inst Instance
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if inst, err = s.getInstance(s.forUpdate(tx), c, id); err != nil {
			return err
		}
		if err := s.checkActionState(inst, ActionUnshelve, []VMState{VMShelvedOffloaded}); err != nil {
			return err
		}
		if inst.ShelvedImageID != "" {
			var st []string
			if err := tx.Model(&Image{}).Where("id = ?", inst.ShelvedImageID).Pluck("status", &st).Error; err != nil {
				return fmt.Errorf("shelve image: %w", err)
			}
			if len(st) == 0 || st[0] != ImageActive {
				return conflict("the shelve image %s of instance %s is not active (it was deleted?): the instance cannot boot again", inst.ShelvedImageID, inst.Name)
			}
		}
		if zone != "" && zone != inst.AvailabilityZone {
			if ok, err := zoneExists(tx, zone); err != nil {
				return err
			} else if !ok {
				return Invalid("availability_zone", "no such availability zone")
			}
			if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Update("availability_zone", zone).Error; err != nil {
				return fmt.Errorf("unshelve: %w", err)
			}
			inst.AvailabilityZone = zone
		}
		if err := s.setTask(tx, &inst, TaskUnshelving); err != nil {
			return err
		}
		if err := s.startAction(tx, c, inst, ActionUnshelve); err != nil {
			return err
		}
		_, err = s.enqueue(tx, ScheduleUnshelve{InstanceID: inst.ID}, JobOptions{ResourceType: "instance", ResourceID: inst.ID})
		return err
	})
	return inst, err
}

// UnshelvingInstance reads an instance a scheduler is to place for an
// unshelve; ErrNotFound when it no longer waits for one.
func (s *Store) UnshelvingInstance(ctx context.Context, id string) (Instance, error) {
	inst, err := s.InstanceByID(ctx, id)
	if err != nil {
		return inst, err
	}
	if inst.VMState != VMShelvedOffloaded || inst.TaskState != TaskUnshelving || inst.Host != "" {
		return inst, notFound("instance %s no longer waits to be unshelved", id)
	}
	return inst, nil
}

// PlaceUnshelve claims the instance's resources on host and hands the
// unshelve to that host's agent (the scheduler's PlaceInstance for an
// unshelve). ErrConflict: the host filled up; ErrNotFound: the instance no
// longer waits.
func (s *Store) PlaceUnshelve(ctx context.Context, inst Instance, host Host) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		set := map[string]any{"host": host.Name, "availability_zone": host.AvailabilityZone, "updated_at": s.now()}
		res := tx.Model(&Instance{}).Where("id = ? AND vm_state = ? AND task_state = ? AND host = ''",
			inst.ID, VMShelvedOffloaded, TaskUnshelving).Updates(set)
		if res.Error != nil {
			return fmt.Errorf("set host: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return notFound("instance %s no longer waits to be unshelved", inst.ID)
		}
		if err := s.claimHost(tx, host.ID, inst); err != nil {
			return err
		}
		_, err := s.enqueue(tx, UnshelveInstance{InstanceID: inst.ID},
			JobOptions{TargetHost: host.Name, MaxAttempts: 3, ResourceType: "instance", ResourceID: inst.ID})
		return err
	})
}

// rescheduleUnshelve sends an unshelve placed on a host that went down
// back to the scheduler: its claim there released, its ports unbound.
func (s *Store) rescheduleUnshelve(tx *gorm.DB, inst Instance, why string) error {
	if err := s.releaseAllocations(tx, inst.ID); err != nil {
		return err
	}
	if err := s.unbindInstancePorts(tx, inst.ID); err != nil {
		return err
	}
	if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(map[string]any{"host": "", "updated_at": s.now()}).Error; err != nil {
		return fmt.Errorf("reschedule unshelve: %w", err)
	}
	if err := s.recordAction(tx, systemActor(), inst, "reschedule", ActionSuccess, why); err != nil {
		return err
	}
	_, err := s.enqueue(tx, ScheduleUnshelve{InstanceID: inst.ID}, JobOptions{ResourceType: "instance", ResourceID: inst.ID})
	return err
}

// FailUnshelve ends an unshelve that found no host or could not boot:
// the instance stays SHELVED_OFFLOADED (its image kept), on no host, and
// the log says why — Nova's answer to NoValidHost at unshelve.
func (s *Store) FailUnshelve(ctx context.Context, instanceID, reason string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.lockInstance(tx, instanceID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if inst.VMState != VMShelvedOffloaded || inst.TaskState != TaskUnshelving {
			return nil
		}
		if err := s.releaseAllocations(tx, inst.ID); err != nil {
			return err
		}
		if err := s.unbindInstancePorts(tx, inst.ID); err != nil {
			return err
		}
		now := s.now()
		if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(map[string]any{
			"task_state": TaskNone, "host": "", "power_state": PowerNoState,
			"fault_message": faultText("unshelve failed: "+reason, 1024), "fault_at": now, "updated_at": now,
		}).Error; err != nil {
			return fmt.Errorf("fail unshelve: %w", err)
		}
		return s.finishAction(tx, inst.ID, ActionError, reason)
	})
}

// FinishUnshelve records that host runs the unshelved instance: ACTIVE
// there, its volumes attached on that host, and its shelve image removed
// (as Nova deletes it). It returns the removed image's ID ("" for none),
// whose file the caller removes.
func (s *Store) FinishUnshelve(ctx context.Context, instanceID, host string, power PowerState) (string, error) {
	var image string
	err := s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.lockInstance(tx, instanceID)
		if err != nil {
			return err
		}
		if inst.VMState != VMShelvedOffloaded || inst.TaskState != TaskUnshelving || inst.Host != host {
			return conflict("instance %s is no longer being unshelved on %s", instanceID, host)
		}
		now := s.now()
		vm := VMActive
		if power == PowerShutdown || power == PowerCrashed {
			vm = VMStopped
		}
		if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(map[string]any{
			"vm_state": vm, "task_state": TaskNone, "power_state": power, "shelved_image_id": "", "fault_message": "",
			"launched_at": now, "updated_at": now,
		}).Error; err != nil {
			return fmt.Errorf("finish unshelve: %w", err)
		}
		if err := tx.Model(&VolumeAttachment{}).Where("instance_id = ?", inst.ID).Update("host", host).Error; err != nil {
			return fmt.Errorf("attach volumes on the host: %w", err)
		}
		msg := "unshelved on " + host
		if image = inst.ShelvedImageID; image != "" {
			if err := s.dropShelveImage(tx, image); err != nil {
				return err
			}
			msg += "; shelve image " + image + " removed"
		}
		return s.finishAction(tx, inst.ID, ActionSuccess, msg)
	})
	if err == nil && image != "" {
		if rerr := s.removeImageFile(image); rerr != nil {
			s.log.Warn("remove the file of an unshelved instance's image", "image", image, "err", rerr)
		}
	}
	return image, err
}

// dropShelveImage marks a shelve image deleted (its file is removed after
// the transaction).
func (s *Store) dropShelveImage(tx *gorm.DB, id string) error {
	if err := tx.Model(&Image{}).Where("id = ? AND status <> ?", id, ImageDeleted).
		Updates(map[string]any{"status": ImageDeleted, "upload_secret_hash": "", "updated_at": s.now()}).Error; err != nil {
		return fmt.Errorf("remove shelve image: %w", err)
	}
	if err := tx.Exec("DELETE FROM image_members WHERE image_id = ?", id).Error; err != nil {
		return fmt.Errorf("remove shelve image members: %w", err)
	}
	return nil
}
