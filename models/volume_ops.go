package models

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// User-facing volume actions: each checks the volume's status under its
// row lock, sets the transitional status and enqueues the job — in one
// transaction. A conflicting status is a 409 that says why.

// VolumeUpdate renames a volume or changes its description.
type VolumeUpdate struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// UpdateVolume changes a volume's name or description.
func (s *Store) UpdateVolume(ctx context.Context, c Caller, ref string, in VolumeUpdate) (Volume, error) {
	p := Problems{}
	upd := map[string]any{"updated_at": s.now()}
	if in.Name != nil {
		*in.Name = strings.TrimSpace(*in.Name)
		p.Text("name", *in.Name, 255)
		upd["name"] = *in.Name
	}
	if in.Description != nil {
		p.Text("description", *in.Description, 255)
		upd["description"] = *in.Description
	}
	if err := p.Err(); err != nil {
		return Volume{}, err
	}
	v, err := s.GetVolume(ctx, c, ref)
	if err != nil {
		return v, err
	}
	if err := s.db.WithContext(ctx).Model(&Volume{}).Where("id = ?", v.ID).Updates(upd).Error; err != nil {
		return v, fmt.Errorf("update volume: %w", err)
	}
	return s.GetVolume(ctx, c, v.ID)
}

// namedSnapshots is how many of its snapshots a refused volume delete
// names.
const namedSnapshots = 3

// DeleteVolume deletes an available (or failed) volume: 409 while it is
// attached or has snapshots, saying which. A volume that never reached a
// backend goes at once; otherwise it is "deleting" until its service has
// removed the data.
func (s *Store) DeleteVolume(ctx context.Context, c Caller, ref string) (Volume, error) {
	var v Volume
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if v, err = s.lockVolume(tx, c, ref); err != nil {
			return err
		}
		if v.Status == VolumeDeleting {
			return nil
		}
		// Only whether attachments and snapshots exist matters (and a few
		// to name): a volume with hundreds of snapshots reads as few rows.
		var att []string
		if err := tx.Model(&VolumeAttachment{}).Where("volume_id = ?", v.ID).Limit(1).Pluck("instance_id", &att).Error; err != nil {
			return fmt.Errorf("read attachments: %w", err)
		}
		if len(att) > 0 {
			return conflict("volume %s is attached to instance %s: detach it first", v.DisplayName(), att[0])
		}
		if v.Status != VolumeAvailable && v.Status != VolumeError {
			return conflict("volume %s is %s: only an available volume, or one in error, can be deleted", v.DisplayName(), v.Status)
		}
		var snaps []string
		if err := tx.Model(&Snapshot{}).Where("volume_id = ?", v.ID).Order("created_at, id").Limit(namedSnapshots+1).
			Pluck("id", &snaps).Error; err != nil {
			return fmt.Errorf("read snapshots: %w", err)
		}
		if len(snaps) > 0 {
			n := int64(len(snaps))
			if len(snaps) > namedSnapshots {
				if err := tx.Model(&Snapshot{}).Where("volume_id = ?", v.ID).Count(&n).Error; err != nil {
					return fmt.Errorf("count snapshots: %w", err)
				}
				snaps[namedSnapshots] = "…"
			}
			return conflict("volume %s has %d snapshot(s) (%s): delete them first", v.DisplayName(), n, strings.Join(snaps, ", "))
		}
		return s.startVolumeDelete(tx, &v)
	})
	return v, err
}

// startVolumeDelete deletes a volume that has no backend data at once, or
// enqueues its data's deletion.
func (s *Store) startVolumeDelete(tx *gorm.DB, v *Volume) error {
	if v.Backend == "" {
		v.Status = VolumeDeleting
		return tx.Where("id = ?", v.ID).Delete(&Volume{}).Error
	}
	if err := s.setVolumeStatus(tx, v.ID, []VolumeStatus{v.Status}, VolumeDeleting, "", nil); err != nil {
		return err
	}
	v.Status = VolumeDeleting
	_, err := s.enqueue(tx, DeleteVolume{VolumeID: v.ID},
		JobOptions{TargetHost: VolumeTarget(v.Backend), ResourceType: "volume", ResourceID: v.ID})
	return err
}

// ExtendVolume grows a volume to newSizeGB: an available one, or an in-use
// one online (the guest sees the new size). The extra gigabytes are
// checked against the quota and claimed on the backend.
func (s *Store) ExtendVolume(ctx context.Context, c Caller, ref string, newSizeGB int) (Volume, error) {
	var v Volume
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if v, err = s.lockVolume(tx, c, ref); err != nil {
			return err
		}
		if newSizeGB <= v.SizeGB || newSizeGB > MaxVolumeSizeGB {
			return Invalidf("new_size_gb", "must be more than the current %d GB and at most %d", v.SizeGB, MaxVolumeSizeGB)
		}
		if v.Status != VolumeAvailable && v.Status != VolumeInUse {
			return conflict("volume %s is %s: only an available or in-use volume can be extended", v.DisplayName(), v.Status)
		}
		if err := s.checkNoSnapshotInProgress(tx, v); err != nil {
			return err
		}
		if err := s.lockProject(tx, v.ProjectID); err != nil {
			return err
		}
		delta := newSizeGB - v.SizeGB
		if err := s.checkQuota(tx, v.ProjectID, Usage{Gigabytes: int64(delta)}); err != nil {
			return err
		}
		ok, err := s.claimBackend(tx, v.Backend, delta)
		if err != nil {
			return err
		}
		if !ok {
			return errorf(ErrConflict, "backend %s has no room for %d more GB", v.Backend, delta)
		}
		// The new size counts at once, so that concurrent requests see it
		// in the quota; a failed extend gives it back.
		if err := s.setVolumeStatus(tx, v.ID, []VolumeStatus{v.Status}, VolumeExtending, "",
			map[string]any{"size_gb": newSizeGB}); err != nil {
			return err
		}
		old := v.SizeGB
		v.Status, v.SizeGB = VolumeExtending, newSizeGB
		_, err = s.enqueue(tx, ExtendVolume{VolumeID: v.ID, NewSizeGB: newSizeGB, OldSizeGB: old},
			JobOptions{TargetHost: VolumeTarget(v.Backend), ResourceType: "volume", ResourceID: v.ID})
		return err
	})
	if err != nil {
		return v, err
	}
	return s.GetVolume(ctx, c, v.ID)
}
