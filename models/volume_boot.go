package models

import (
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// BootVolume launches an instance whose root disk is a volume (Nova's
// block_device_mapping_v2 with boot_index 0): an existing bootable volume,
// or a new one made from an image or a snapshot. The flavor's disk is
// then not used, nor charged.
type BootVolume struct {
	Source              string `json:"source"` // image, volume or snapshot
	ID                  string `json:"id"`
	SizeGB              int    `json:"size_gb"` // new volumes: 0 = the source's size
	VolumeType          string `json:"volume_type"`
	DeleteOnTermination bool   `json:"delete_on_termination"`
}

// bootPlan is a checked BootVolume.
type bootPlan struct {
	in       BootVolume
	existing *Volume     // source volume
	newVol   *volumePlan // image or snapshot: a volume per instance
}

// planBootVolume checks a launch's boot_volume and returns the image that
// the instance boots (its kernel and ramdisk, for three-part images) —
// zero when the volume came from no image.
func (s *Store) planBootVolume(db *gorm.DB, c Caller, in InstanceCreate, p Problems) (*bootPlan, Image, error) {
	bv := *in.BootVolume
	plan := &bootPlan{in: bv}
	var im Image
	if in.Image != "" {
		p.Add("image", "give either image or boot_volume, not both")
		return plan, im, nil
	}
	if bv.ID == "" {
		p.Add("boot_volume.id", "name the source")
		return plan, im, nil
	}
	meta := map[string]string{}
	switch bv.Source {
	case "volume":
		if in.Count > 1 {
			p.Add("count", "one volume boots one instance")
			return plan, im, nil
		}
		v, err := s.getVolume(db, c, bv.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			p.Add("boot_volume.id", "no such volume")
		case err != nil:
			return plan, im, err
		case v.ProjectID != c.ProjectID:
			p.Add("boot_volume.id", "no such volume")
		case v.Status != VolumeAvailable:
			p.Addf("boot_volume.id", "the volume is %s, not available", v.Status)
		case !v.Bootable:
			p.Add("boot_volume.id", "the volume is not bootable (it was not made from an image)")
		default:
			plan.existing, meta = &v, v.ImageMeta
		}
	case "image", "snapshot":
		vc := VolumeCreate{Name: in.Name, SizeGB: bv.SizeGB, VolumeType: bv.VolumeType, AvailabilityZone: in.AvailabilityZone}
		if bv.Source == "image" {
			vc.ImageID = bv.ID
		} else {
			vc.SnapshotID = bv.ID
		}
		vp, err := s.planVolume(db, c, vc)
		var ve *ValidationError
		if errors.As(err, &ve) {
			for field := range ve.Fields {
				pr := ve.Problem(field)
				switch field {
				case "image_id", "snapshot_id":
					field = "boot_volume.id"
				case "availability_zone":
					field = "availability_zone"
				default:
					field = "boot_volume." + field
				}
				p.put(field, pr)
			}
			return plan, im, nil
		}
		if err != nil {
			return plan, im, err
		}
		if bv.Source == "snapshot" && !vp.vol.Bootable {
			p.Add("boot_volume.id", "the snapshot's volume is not bootable (it was not made from an image)")
		}
		plan.newVol, meta = &vp, vp.vol.ImageMeta
	default:
		p.Add("boot_volume.source", "must be image, volume or snapshot")
		return plan, im, nil
	}
	if id := meta["image_id"]; id != "" {
		var err error
		if im, err = s.getImage(db, Caller{SystemRole: RoleReader}, id); err != nil && !errors.Is(err, ErrNotFound) {
			return plan, im, err
		}
	}
	return plan, im, nil
}

// newGigabytes is what the boot volumes of count instances add to the
// gigabytes quota.
func (b *bootPlan) usage(count int) Usage {
	if b == nil || b.newVol == nil {
		return Usage{}
	}
	return Usage{Volumes: int64(count), Gigabytes: int64(count * b.newVol.vol.SizeGB)}
}

// attachBootVolume writes, for one instance of a launch, its root volume's
// attachment (reserved until the build) — creating the volume first when
// it is made from an image or a snapshot. Call it in CreateInstances'
// transaction, after the quota check.
func (s *Store) attachBootVolume(tx *gorm.DB, b *bootPlan, inst Instance) error {
	var volID string
	if b.existing != nil {
		v, err := s.lockVolume(tx, Caller{ProjectID: inst.ProjectID}, b.existing.ID)
		if err != nil {
			return err
		}
		if v.Status != VolumeAvailable {
			return conflict("volume %s is %s, not available", v.DisplayName(), v.Status)
		}
		if err := s.setVolumeStatus(tx, v.ID, []VolumeStatus{VolumeAvailable}, VolumeAttaching, "", nil); err != nil {
			return err
		}
		volID = v.ID
	} else {
		plan := *b.newVol
		plan.vol.ID, plan.vol.Name, plan.vol.CreatedAt, plan.vol.UpdatedAt = newID(), inst.Name, s.now(), s.now()
		if err := s.insertVolume(tx, &plan); err != nil {
			return err
		}
		if plan.vol.Status == VolumeError {
			return errorf(ErrConflict, "cannot create the boot volume: %s", plan.vol.FaultMessage)
		}
		volID = plan.vol.ID
	}
	att := VolumeAttachment{ID: newID(), VolumeID: volID, InstanceID: inst.ID, ProjectID: inst.ProjectID, Device: "vda",
		Status: AttachmentReserved, BootIndex: 0, DeleteOnTermination: b.in.DeleteOnTermination, CreatedAt: s.now()}
	if err := tx.Create(&att).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return conflict("the volume is already attached")
		}
		return fmt.Errorf("insert boot attachment: %w", err)
	}
	return nil
}

// volumeBacked reports whether the instance boots from a volume (its
// attachment at boot index 0) rather than from a root disk on its host.
func volumeBacked(db *gorm.DB, instanceID string) (bool, error) {
	var n int64
	if err := db.Model(&VolumeAttachment{}).Where("instance_id = ? AND boot_index = 0", instanceID).Count(&n).Error; err != nil {
		return false, fmt.Errorf("boot volume of %s: %w", instanceID, err)
	}
	return n > 0, nil
}
