package models

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"gorm.io/gorm"
)

// Attach and detach go through the instance (Nova's os-volume_attachments):
// the intent writes the attachment and the volume's transitional status,
// and the instance's compute host does the rest — live on a running
// instance, in its definition for the next start on a stopped one.

// attachableStates are the instance states a volume may be attached or
// detached in.
var attachableStates = []VMState{VMActive, VMStopped, VMPaused, VMSuspended}

// VolumeAttachAllowed says whether an instance's state lets a volume be
// attached to it now: idle, placed on a host, in an attachable state. The
// intent checks by it, and pages offer the attach form by it.
func VolumeAttachAllowed(i Instance) bool {
	return VolumeDetachAllowed(i) && i.Host != ""
}

// volumeAttachableCondition is VolumeAttachAllowed in SQL (arguments:
// TaskNone, attachableStates), for listing the instances a volume may be
// attached to.
const volumeAttachableCondition = "task_state = ? AND host <> '' AND vm_state IN ?"

// VolumeDetachAllowed says whether an instance's state lets one of its
// volumes be detached now (the intent checks by it; pages offer Detach by
// it). A forced detach by an operator does not ask.
func VolumeDetachAllowed(i Instance) bool {
	return i.TaskState == TaskNone && slices.Contains(attachableStates, i.VMState)
}

// AttachVolume attaches one of the project's available volumes to one of
// its instances. Another project's instance or volume is a 404.
func (s *Store) AttachVolume(ctx context.Context, c Caller, instanceID, volumeRef string) (VolumeAttachment, error) {
	if volumeRef == "" {
		return VolumeAttachment{}, Invalid("volume_id", "choose a volume")
	}
	var att VolumeAttachment
	err := s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.getInstance(s.forUpdate(tx), c, instanceID)
		if err != nil {
			return err
		}
		if inst.VMState == VMDeleted {
			return notFound("instance %q not found", instanceID)
		}
		if !VolumeAttachAllowed(inst) {
			return conflict("cannot attach a volume to instance %s while it is %s", inst.Name, busyWord(inst))
		}
		v, err := s.lockVolume(tx, c, volumeRef)
		if errors.Is(err, ErrNotFound) {
			return notFound("volume %q not found", volumeRef)
		}
		if err != nil {
			return err
		}
		if v.ProjectID != inst.ProjectID {
			return notFound("volume %q not found", volumeRef)
		}
		if v.Status != VolumeAvailable {
			return conflict("volume %s is %s: only an available volume can be attached", v.DisplayName(), v.Status)
		}
		if err := s.checkNoSnapshotInProgress(tx, v); err != nil {
			return err
		}
		device, err := s.nextDevice(tx, inst)
		if err != nil {
			return err
		}
		att = VolumeAttachment{ID: newID(), VolumeID: v.ID, InstanceID: inst.ID, ProjectID: inst.ProjectID,
			Device: device, Host: inst.Host, Status: AttachmentAttaching, BootIndex: -1, CreatedAt: s.now()}
		if err := tx.Create(&att).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return conflict("volume %s is already attached", v.DisplayName())
			}
			return fmt.Errorf("insert attachment: %w", err)
		}
		if err := s.setVolumeStatus(tx, v.ID, []VolumeStatus{VolumeAvailable}, VolumeAttaching, "", nil); err != nil {
			return err
		}
		if err := s.recordAction(tx, c, inst, "attach_volume", ActionRunning, "volume "+v.ID+" as "+device); err != nil {
			return err
		}
		_, err = s.enqueue(tx, AttachVolume{VolumeID: v.ID, InstanceID: inst.ID},
			JobOptions{TargetHost: inst.Host, ResourceType: "volume", ResourceID: v.ID})
		return err
	})
	return att, err
}

func busyWord(inst Instance) string {
	if inst.TaskState != TaskNone {
		return string(inst.TaskState)
	}
	if inst.Host == "" {
		return "not placed on a host"
	}
	return inst.Status()
}

// nextDevice picks the first virtio name the instance does not use: vda
// is the root disk and vdb the flavor's ephemeral disk (when it has one).
func (s *Store) nextDevice(tx *gorm.DB, inst Instance) (string, error) {
	var used []string
	if err := tx.Model(&VolumeAttachment{}).Where("instance_id = ?", inst.ID).Pluck("device", &used).Error; err != nil {
		return "", fmt.Errorf("read the instance's devices: %w", err)
	}
	used = append(used, "vda")
	if inst.EphemeralGB > 0 {
		used = append(used, "vdb")
	}
	for c := 'b'; c <= 'z'; c++ {
		if d := "vd" + string(c); !slices.Contains(used, d) {
			return d, nil
		}
	}
	return "", conflict("instance %s has no free disk slot", inst.Name)
}

// DetachVolume detaches a volume from an instance. The guest must release
// the disk; when it does not in time, the volume goes back to in-use with
// a message. Force (operators only) does not wait for the guest, and also
// frees a volume whose instance's host is down: the database forgets the
// attachment at once and the host removes the disk when it can.
func (s *Store) DetachVolume(ctx context.Context, c Caller, instanceID, volumeID string, force bool) (Volume, error) {
	if force && !c.IsSystemAdmin() {
		return Volume{}, forbidden("only operators may force a detach")
	}
	var v Volume
	err := s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.getInstance(s.forUpdate(tx), c, instanceID)
		if err != nil {
			return err
		}
		if v, err = s.lockVolume(tx, c, volumeID); errors.Is(err, ErrNotFound) {
			return notFound("volume %q is not attached to instance %s", volumeID, inst.Name)
		} else if err != nil {
			return err
		}
		var att VolumeAttachment
		if err := tx.Where("volume_id = ? AND instance_id = ?", v.ID, inst.ID).Take(&att).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return notFound("volume %q is not attached to instance %s", volumeID, inst.Name)
		} else if err != nil {
			return fmt.Errorf("read attachment: %w", err)
		}
		if force {
			return s.forceDetach(tx, c, inst, &v, att)
		}
		if att.BootIndex == 0 {
			return conflict("volume %s is the root disk of instance %s: it stays until the instance is deleted", v.DisplayName(), inst.Name)
		}
		if v.Status != VolumeInUse || att.Status != AttachmentAttached {
			return conflict("volume %s is %s: only an in-use volume can be detached", v.DisplayName(), v.Status)
		}
		if !VolumeDetachAllowed(inst) {
			return conflict("cannot detach a volume from instance %s while it is %s", inst.Name, busyWord(inst))
		}
		if err := s.checkNoSnapshotInProgress(tx, v); err != nil {
			return err
		}
		if err := tx.Model(&VolumeAttachment{}).Where("id = ?", att.ID).Update("status", AttachmentDetaching).Error; err != nil {
			return fmt.Errorf("set attachment status: %w", err)
		}
		if err := s.setVolumeStatus(tx, v.ID, []VolumeStatus{VolumeInUse}, VolumeDetaching, "", nil); err != nil {
			return err
		}
		v.Status = VolumeDetaching
		if err := s.recordAction(tx, c, inst, "detach_volume", ActionRunning, "volume "+v.ID); err != nil {
			return err
		}
		_, err = s.enqueue(tx, DetachVolume{VolumeID: v.ID, InstanceID: inst.ID},
			JobOptions{TargetHost: att.Host, ResourceType: "volume", ResourceID: v.ID})
		return err
	})
	if err != nil {
		return v, err
	}
	return s.GetVolume(ctx, c, v.ID)
}

// forceDetach frees a volume now (operators): the attachment goes, the
// volume is available, and the host — when it is up, or when it returns —
// removes the disk from the domain without waiting for the guest.
func (s *Store) forceDetach(tx *gorm.DB, c Caller, inst Instance, v *Volume, att VolumeAttachment) error {
	if err := tx.Where("id = ?", att.ID).Delete(&VolumeAttachment{}).Error; err != nil {
		return fmt.Errorf("delete attachment: %w", err)
	}
	if err := s.setVolumeStatus(tx, v.ID, []VolumeStatus{v.Status}, VolumeAvailable, "", nil); err != nil {
		return err
	}
	v.Status = VolumeAvailable
	if err := s.recordAction(tx, c, inst, "detach_volume", ActionSuccess, "volume "+v.ID+" force-detached by an operator"); err != nil {
		return err
	}
	if att.Host == "" {
		return nil
	}
	_, err := s.enqueue(tx, DetachVolume{VolumeID: v.ID, InstanceID: inst.ID, Force: true, Cleanup: true},
		JobOptions{TargetHost: att.Host, ResourceType: "volume", ResourceID: v.ID, MaxAttempts: 10})
	return err
}

// InstanceVolumes lists the volumes attached to one of the project's
// instances, by device.
func (s *Store) InstanceVolumes(ctx context.Context, c Caller, instanceID string) ([]Volume, error) {
	inst, err := s.GetInstance(ctx, c, instanceID)
	if err != nil {
		return nil, err
	}
	return s.volumesOf(s.db.WithContext(ctx), inst.ID)
}

func (s *Store) volumesOf(db *gorm.DB, instanceID string) ([]Volume, error) {
	var vols []Volume
	err := db.Model(&Volume{}).Joins("JOIN volume_attachments a ON a.volume_id = volumes.id").
		Where("a.instance_id = ?", instanceID).Order("a.device").Find(&vols).Error
	if err != nil {
		return nil, fmt.Errorf("instance volumes: %w", err)
	}
	return vols, s.loadAttachments(db, vols)
}

// AttachedVolume is one volume of an instance as its compute host needs
// it: the attachment and where the data is.
type AttachedVolume struct {
	Attachment VolumeAttachment
	Volume     Volume
}

// InstanceVolumeDisks lists an instance's attachments with their volumes
// (workers: a build, a hard reboot and the reconcile need them).
func (s *Store) InstanceVolumeDisks(ctx context.Context, instanceID string) ([]AttachedVolume, error) {
	vols, err := s.volumesOf(s.db.WithContext(ctx), instanceID)
	if err != nil {
		return nil, err
	}
	out := make([]AttachedVolume, 0, len(vols))
	for _, v := range vols {
		if a, ok := v.attachment(); ok {
			out = append(out, AttachedVolume{Attachment: a, Volume: v})
		}
	}
	return out, nil
}

// InstancesVolumeAttachments reads the attachments of a page of instances
// in one query, by instance and in device order (the OpenStack facade's
// os-extended-volumes:volumes_attached). The caller has already read the
// instances through its project scope.
func (s *Store) InstancesVolumeAttachments(ctx context.Context, instanceIDs []string) (map[string][]VolumeAttachment, error) {
	out := map[string][]VolumeAttachment{}
	if len(instanceIDs) == 0 {
		return out, nil
	}
	var atts []VolumeAttachment
	err := s.db.WithContext(ctx).Where("instance_id IN ?", instanceIDs).Order("instance_id, device").Find(&atts).Error
	if err != nil {
		return nil, fmt.Errorf("instances' volume attachments: %w", err)
	}
	for _, a := range atts {
		out[a.InstanceID] = append(out[a.InstanceID], a)
	}
	return out, nil
}

// HostVolumeAttachments lists the attachments of the instances on a host
// (the agent's reconcile at start).
func (s *Store) HostVolumeAttachments(ctx context.Context, host string) ([]VolumeAttachment, error) {
	var out []VolumeAttachment
	err := s.db.WithContext(ctx).Model(&VolumeAttachment{}).
		Joins("JOIN instances i ON i.id = volume_attachments.instance_id").
		Where("i.host = ? AND i.vm_state <> ?", host, VMDeleted).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("host attachments: %w", err)
	}
	return out, nil
}

// releaseInstanceVolumes runs when an instance is deleted: its attachments
// go, volumes marked delete_on_termination are deleted, the others become
// available again.
func (s *Store) releaseInstanceVolumes(tx *gorm.DB, instanceID string) error {
	var atts []VolumeAttachment
	if err := tx.Where("instance_id = ?", instanceID).Find(&atts).Error; err != nil {
		return fmt.Errorf("read attachments: %w", err)
	}
	for _, a := range atts {
		if err := tx.Where("id = ?", a.ID).Delete(&VolumeAttachment{}).Error; err != nil {
			return fmt.Errorf("delete attachment: %w", err)
		}
		var v Volume
		if err := s.forUpdate(tx.Where("id = ?", a.VolumeID)).Take(&v).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			continue
		} else if err != nil {
			return fmt.Errorf("read volume: %w", err)
		}
		if a.DeleteOnTermination {
			var snaps int64
			if err := tx.Model(&Snapshot{}).Where("volume_id = ?", v.ID).Count(&snaps).Error; err != nil {
				return err
			}
			if snaps == 0 && v.Status != VolumeCreating {
				v.Status = VolumeAvailable // what it is once detached
				if err := tx.Model(&Volume{}).Where("id = ?", v.ID).Update("status", VolumeAvailable).Error; err != nil {
					return err
				}
				if err := s.startVolumeDelete(tx, &v); err != nil {
					return err
				}
				continue
			}
		}
		if v.Status == VolumeCreating || v.Status == VolumeDeleting {
			continue // its own job settles it
		}
		if err := tx.Model(&Volume{}).Where("id = ?", v.ID).
			Updates(map[string]any{"status": VolumeAvailable, "updated_at": s.now()}).Error; err != nil {
			return fmt.Errorf("free volume: %w", err)
		}
	}
	return nil
}
