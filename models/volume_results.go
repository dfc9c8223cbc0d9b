package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// What the volume service and the compute agents record when their jobs
// end. Each checks the status the job was enqueued for, so a job run twice
// changes nothing the second time.

// SetVolumeProgress records how much of an image is written (0–100).
func (s *Store) SetVolumeProgress(ctx context.Context, id string, pct int) error {
	pct = min(max(pct, 0), 100)
	return s.db.WithContext(ctx).Model(&Volume{}).Where("id = ? AND status = ?", id, VolumeCreating).
		Updates(map[string]any{"progress": pct, "updated_at": s.now()}).Error
}

// FinishVolumeCreate records that a volume's data exists and where: the
// volume is available — or attaching when it is the boot disk of an
// instance waiting to be built.
func (s *Store) FinishVolumeCreate(ctx context.Context, id string, conn VolumeConnection) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var reserved int64
		if err := tx.Model(&VolumeAttachment{}).Where("volume_id = ? AND status = ?", id, AttachmentReserved).
			Count(&reserved).Error; err != nil {
			return fmt.Errorf("read attachments: %w", err)
		}
		to := VolumeAvailable
		if reserved > 0 {
			to = VolumeAttaching
		}
		return s.setVolumeStatus(tx, id, []VolumeStatus{VolumeCreating}, to, "",
			map[string]any{"connection_info": conn, "progress": 100})
	})
}

// FailVolumeCreate puts a volume whose data could not be made in error
// with the reason. Its backend allocation stays until it is deleted. An
// instance being built on it as its boot volume goes to ERROR at once: no
// host could build it, so it is not rescheduled.
func (s *Store) FailVolumeCreate(ctx context.Context, id, reason string) error {
	if err := s.tx(ctx, func(tx *gorm.DB) error {
		return s.setVolumeStatus(tx, id, []VolumeStatus{VolumeCreating}, VolumeError, truncate(reason, 2000), nil)
	}); err != nil {
		return err
	}
	// A transaction of its own, so that the instance is locked before its
	// volume as everywhere else.
	var owners []string
	if err := s.db.WithContext(ctx).Model(&VolumeAttachment{}).Where("volume_id = ? AND boot_index = 0", id).
		Pluck("instance_id", &owners).Error; err != nil {
		return fmt.Errorf("boot attachments of volume %s: %w", id, err)
	}
	for _, instanceID := range owners {
		if err := s.tx(ctx, func(tx *gorm.DB) error {
			inst, err := s.lockInstance(tx, instanceID)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if inst.VMState != VMBuilding {
				return nil
			}
			return s.setError(tx, inst, truncate("its boot volume could not be created: "+reason, 1024))
		}); err != nil {
			return err
		}
	}
	return nil
}

// FinishVolumeDelete forgets a volume whose data is gone and gives its
// backend allocation back.
func (s *Store) FinishVolumeDelete(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var v Volume
		if err := s.forUpdate(tx.Where("id = ?", id)).Take(&v).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read volume: %w", err)
		}
		if v.Status != VolumeDeleting {
			return conflict("volume %s is %s, not deleting", id, v.Status)
		}
		if err := tx.Where("id = ?", id).Delete(&Volume{}).Error; err != nil {
			return fmt.Errorf("delete volume: %w", err)
		}
		return s.releaseBackend(tx, v.Backend, v.SizeGB)
	})
}

// FailVolumeDelete puts a volume whose data could not be deleted in error.
func (s *Store) FailVolumeDelete(ctx context.Context, id, reason string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		return s.setVolumeStatus(tx, id, []VolumeStatus{VolumeDeleting}, VolumeError, truncate(reason, 2000), nil)
	})
}

// FinishBackendExtend records that the backend grew a volume. An attached
// volume then needs its host to grow the disk under the guest: that job is
// enqueued here and the volume stays extending.
func (s *Store) FinishBackendExtend(ctx context.Context, args ExtendVolume) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var att VolumeAttachment
		err := tx.Where("volume_id = ? AND status = ?", args.VolumeID, AttachmentAttached).Take(&att).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return s.setVolumeStatus(tx, args.VolumeID, []VolumeStatus{VolumeExtending}, VolumeAvailable, "", nil)
		}
		if err != nil {
			return fmt.Errorf("read attachment: %w", err)
		}
		_, err = s.enqueue(tx, ExtendVolumeLive{VolumeID: args.VolumeID, InstanceID: att.InstanceID,
			NewSizeGB: args.NewSizeGB, OldSizeGB: args.OldSizeGB},
			JobOptions{TargetHost: att.Host, ResourceType: "volume", ResourceID: args.VolumeID})
		return err
	})
}

// FinishLiveExtend records that the guest's disk has the new size.
func (s *Store) FinishLiveExtend(ctx context.Context, volumeID string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		return s.setVolumeStatus(tx, volumeID, []VolumeStatus{VolumeExtending}, VolumeInUse, "", nil)
	})
}

// FailExtend gives a failed extend's size and backend allocation back and
// returns the volume to what it was, with the reason as its fault message.
func (s *Store) FailExtend(ctx context.Context, volumeID string, oldSizeGB int, reason string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var v Volume
		if err := s.forUpdate(tx.Where("id = ?", volumeID)).Take(&v).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read volume: %w", err)
		}
		if v.Status != VolumeExtending {
			return nil
		}
		var n int64
		if err := tx.Model(&VolumeAttachment{}).Where("volume_id = ?", volumeID).Count(&n).Error; err != nil {
			return err
		}
		to := VolumeAvailable
		if n > 0 {
			to = VolumeInUse
		}
		if err := s.releaseBackend(tx, v.Backend, v.SizeGB-oldSizeGB); err != nil {
			return err
		}
		return s.setVolumeStatus(tx, volumeID, []VolumeStatus{VolumeExtending}, to,
			truncate("extend failed: "+reason, 2000), map[string]any{"size_gb": oldSizeGB})
	})
}

// SetVolumeConnection records where a volume's data now is (the backend
// moved it: a snapshot switched its active file, a flatten rewrote it).
func (s *Store) SetVolumeConnection(ctx context.Context, volumeID string, conn VolumeConnection) error {
	return s.db.WithContext(ctx).Model(&Volume{}).Where("id = ?", volumeID).
		Updates(map[string]any{"connection_info": conn, "updated_at": s.now()}).Error
}

// FinishSnapshot records a snapshot's data (its provider location) and,
// when taking it moved the volume's active data, the volume's new
// connection — in one transaction, so the chain the DB describes is never
// half-updated.
func (s *Store) FinishSnapshot(ctx context.Context, snapshotID, location string, volumeConn *VolumeConnection) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var snap Snapshot
		if err := s.forUpdate(tx.Where("id = ?", snapshotID)).Take(&snap).Error; err != nil {
			return fmt.Errorf("read snapshot: %w", err)
		}
		if snap.Status != SnapshotCreating {
			return nil
		}
		if volumeConn != nil {
			if err := tx.Model(&Volume{}).Where("id = ?", snap.VolumeID).
				Updates(map[string]any{"connection_info": *volumeConn, "updated_at": s.now()}).Error; err != nil {
				return fmt.Errorf("update volume connection: %w", err)
			}
		}
		if err := tx.Model(&Snapshot{}).Where("id = ?", snapshotID).Updates(map[string]any{
			"status": SnapshotAvailable, "provider_location": location, "fault_message": "", "updated_at": s.now()}).Error; err != nil {
			return fmt.Errorf("finish snapshot: %w", err)
		}
		return s.finishVolumeSnapshotImages(tx, snapshotID, "")
	})
}

// HandSnapshotToHost enqueues the live part of an in-use volume's snapshot
// on the host of its instance; the snapshot stays creating.
func (s *Store) HandSnapshotToHost(ctx context.Context, live SnapshotVolumeLive) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var att VolumeAttachment
		if err := tx.Where("volume_id = ? AND status = ?", live.VolumeID, AttachmentAttached).Take(&att).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return conflict("volume %s is no longer attached", live.VolumeID)
			}
			return fmt.Errorf("read attachment: %w", err)
		}
		live.InstanceID = att.InstanceID
		_, err := s.enqueue(tx, live, JobOptions{TargetHost: att.Host, ResourceType: "snapshot", ResourceID: live.SnapshotID})
		return err
	})
}

// FailSnapshot puts a snapshot that could not be taken in error (and kills
// the image of an instance snapshot that waited for it).
func (s *Store) FailSnapshot(ctx context.Context, snapshotID, reason string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Snapshot{}).Where("id = ? AND status = ?", snapshotID, SnapshotCreating).
			Updates(map[string]any{"status": SnapshotError, "fault_message": faultText(reason, 2000), "updated_at": s.now()})
		if res.Error != nil {
			return fmt.Errorf("fail snapshot: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		return s.finishVolumeSnapshotImages(tx, snapshotID, reason)
	})
}

// FinishSnapshotDelete forgets a snapshot whose data is gone (or no
// longer needed by anything).
func (s *Store) FinishSnapshotDelete(ctx context.Context, snapshotID string) error {
	return s.db.WithContext(ctx).Where("id = ? AND status = ?", snapshotID, SnapshotDeleting).Delete(&Snapshot{}).Error
}

// FailSnapshotDelete puts a snapshot whose deletion failed in error.
func (s *Store) FailSnapshotDelete(ctx context.Context, snapshotID, reason string) error {
	return s.db.WithContext(ctx).Model(&Snapshot{}).Where("id = ? AND status = ?", snapshotID, SnapshotDeleting).
		Updates(map[string]any{"status": SnapshotError, "fault_message": faultText(reason, 2000), "updated_at": s.now()}).Error
}

// BackendReferences lists every provider location and connection of a
// backend that the database references: volumes' active data and
// snapshots'. A backend never deletes data in this set.
func (s *Store) BackendReferences(ctx context.Context, backend string) (volumes []Volume, snapshots []Snapshot, err error) {
	db := s.db.WithContext(ctx)
	if err := db.Where("backend = ?", backend).Find(&volumes).Error; err != nil {
		return nil, nil, fmt.Errorf("read backend volumes: %w", err)
	}
	if err := db.Where("backend = ?", backend).Find(&snapshots).Error; err != nil {
		return nil, nil, fmt.Errorf("read backend snapshots: %w", err)
	}
	return volumes, snapshots, nil
}

// FinishAttach records that the host attached the volume.
func (s *Store) FinishAttach(ctx context.Context, volumeID, instanceID string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		res := tx.Model(&VolumeAttachment{}).Where("volume_id = ? AND instance_id = ? AND status IN ?", volumeID, instanceID,
			[]string{AttachmentAttaching, AttachmentReserved}).Updates(map[string]any{"status": AttachmentAttached, "attached_at": now})
		if res.Error != nil {
			return fmt.Errorf("finish attach: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		if err := s.setVolumeStatus(tx, volumeID, []VolumeStatus{VolumeAttaching}, VolumeInUse, "", nil); err != nil {
			return err
		}
		return s.finishVolumeAction(tx, instanceID, "attach_volume", ActionSuccess, "")
	})
}

// FailAttach undoes an attachment the host could not make: the volume is
// available again, with the reason.
func (s *Store) FailAttach(ctx context.Context, volumeID, instanceID, reason string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("volume_id = ? AND instance_id = ? AND status = ?", volumeID, instanceID, AttachmentAttaching).
			Delete(&VolumeAttachment{})
		if res.Error != nil {
			return fmt.Errorf("undo attachment: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		msg := truncate("attach failed: "+reason, 2000)
		if err := s.setVolumeStatus(tx, volumeID, []VolumeStatus{VolumeAttaching}, VolumeAvailable, msg, nil); err != nil {
			return err
		}
		return s.finishVolumeAction(tx, instanceID, "attach_volume", ActionError, reason)
	})
}

// FinishDetach records that the guest released the disk: the volume is
// available.
func (s *Store) FinishDetach(ctx context.Context, volumeID, instanceID string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("volume_id = ? AND instance_id = ? AND status = ?", volumeID, instanceID, AttachmentDetaching).
			Delete(&VolumeAttachment{})
		if res.Error != nil {
			return fmt.Errorf("delete attachment: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		if err := s.setVolumeStatus(tx, volumeID, []VolumeStatus{VolumeDetaching}, VolumeAvailable, "", nil); err != nil {
			return err
		}
		return s.finishVolumeAction(tx, instanceID, "detach_volume", ActionSuccess, "")
	})
}

// FailDetach puts a volume the guest did not release back in use, with
// the reason.
func (s *Store) FailDetach(ctx context.Context, volumeID, instanceID, reason string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&VolumeAttachment{}).Where("volume_id = ? AND instance_id = ? AND status = ?", volumeID, instanceID,
			AttachmentDetaching).Update("status", AttachmentAttached)
		if res.Error != nil {
			return fmt.Errorf("restore attachment: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		msg := truncate("detach failed: "+reason, 2000)
		if err := s.setVolumeStatus(tx, volumeID, []VolumeStatus{VolumeDetaching}, VolumeInUse, msg, nil); err != nil {
			return err
		}
		return s.finishVolumeAction(tx, instanceID, "detach_volume", ActionError, reason)
	})
}

// finishVolumeAction closes the instance's open attach or detach log
// entry (not a power task's).
func (s *Store) finishVolumeAction(tx *gorm.DB, instanceID, action, result, message string) error {
	err := tx.Model(&InstanceAction{}).Where("instance_id = ? AND action = ? AND result = ?", instanceID, action, ActionRunning).
		Updates(map[string]any{"result": result, "message": faultText(message, 1024), "finished_at": s.now()}).Error
	if err != nil {
		return fmt.Errorf("finish action: %w", err)
	}
	return nil
}

// markBootVolumesAttached runs when an instance's build finishes: the
// volumes reserved for it are attached and in use.
func (s *Store) markBootVolumesAttached(tx *gorm.DB, instanceID, host string) error {
	var ids []string
	if err := tx.Model(&VolumeAttachment{}).Where("instance_id = ? AND status = ?", instanceID, AttachmentReserved).
		Pluck("volume_id", &ids).Error; err != nil {
		return fmt.Errorf("read boot volumes: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	now := s.now()
	if err := tx.Model(&VolumeAttachment{}).Where("instance_id = ? AND status = ?", instanceID, AttachmentReserved).
		Updates(map[string]any{"status": AttachmentAttached, "attached_at": now, "host": host}).Error; err != nil {
		return fmt.Errorf("attach boot volumes: %w", err)
	}
	return tx.Model(&Volume{}).Where("id IN ?", ids).Updates(map[string]any{"status": VolumeInUse, "updated_at": now}).Error
}
