package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// VolumeCreate asks for a volume: blank, or from an image (image_id), a
// snapshot (snapshot_id) or another volume (source_volid) — at most one
// source. SizeGB may be 0 with a source: the source's size.
type VolumeCreate struct {
	Name             string `json:"name"`
	Description      string `json:"description"`
	SizeGB           int    `json:"size_gb"`
	VolumeType       string `json:"volume_type"`
	AvailabilityZone string `json:"availability_zone"`
	ImageID          string `json:"image_id"`
	SnapshotID       string `json:"snapshot_id"`
	SourceVolID      string `json:"source_volid"`
}

// volumeImageFormats are the disk formats of images written onto volumes.
var volumeImageFormats = []string{FormatRaw, FormatQCOW2}

// volumePlan is a checked VolumeCreate: what insertVolume writes.
type volumePlan struct {
	vol    Volume
	vtype  VolumeType
	onSame string // the backend a snapshot or clone must land on
}

// CreateVolume creates a volume: it checks the request and the project's
// quota (volumes, gigabytes) under the project's lock, picks a backend for
// the volume type, and writes the volume (creating) with the volume
// service's job — in one transaction. 202: poll until available. When no
// backend can take it, the volume is created in error with the reason
// (Cinder's "No valid backend"), so the owner sees why and deletes it.
func (s *Store) CreateVolume(ctx context.Context, c Caller, in VolumeCreate) (Volume, error) {
	plan, err := s.planVolume(s.db.WithContext(ctx), c, in)
	if err != nil {
		return Volume{}, err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockProject(tx, c.ProjectID); err != nil {
			return err
		}
		if err := s.checkQuota(tx, c.ProjectID, Usage{Volumes: 1, Gigabytes: int64(plan.vol.SizeGB)}); err != nil {
			return err
		}
		return s.insertVolume(tx, &plan)
	})
	return plan.vol, err
}

// planVolume validates a request and resolves its type and source.
func (s *Store) planVolume(db *gorm.DB, c Caller, in VolumeCreate) (volumePlan, error) {
	in.Name, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	p := Problems{}
	p.Text("name", in.Name, 255)
	p.Text("description", in.Description, 255)
	if in.SizeGB < 0 || in.SizeGB > MaxVolumeSizeGB {
		p.Addf("size_gb", "must be 1–%d", MaxVolumeSizeGB)
	}
	sources := 0
	for _, src := range []string{in.ImageID, in.SnapshotID, in.SourceVolID} {
		if src != "" {
			sources++
		}
	}
	if sources > 1 {
		p.Add("source", "give at most one of image_id, snapshot_id and source_volid")
	}
	if sources == 0 && in.SizeGB == 0 {
		p.Addf("size_gb", "must be 1–%d", MaxVolumeSizeGB)
	}
	if c.ProjectID == "" {
		p.Add("project", "choose a project first")
	}
	if err := p.Err(); err != nil {
		return volumePlan{}, err
	}
	now := s.now()
	plan := volumePlan{vol: Volume{ID: newID(), ProjectID: c.ProjectID, UserID: c.UserID, Name: in.Name,
		Description: in.Description, SizeGB: in.SizeGB, Status: VolumeCreating, AvailabilityZone: in.AvailabilityZone,
		CreatedAt: now, UpdatedAt: now}}
	v := &plan.vol
	inProject := c
	inProject.SystemRole = "" // sources are the project's own, even for an operator
	switch {
	case in.ImageID != "":
		im, err := s.getImage(db, inProject, in.ImageID)
		switch {
		case errors.Is(err, ErrNotFound):
			p.Add("image_id", "no such image")
		case errors.Is(err, ErrConflict):
			p.Add("image_id", err.Error())
		case err != nil:
			return plan, err
		case im.Status != ImageActive:
			p.Addf("image_id", "the image is %s, not active", im.Status)
		case !slices.Contains(volumeImageFormats, im.DiskFormat):
			p.Addf("image_id", "a %s image cannot be written to a volume: only raw and qcow2 disk images", im.DiskFormat)
		default:
			need := max(int((im.SizeBytes+(1<<30)-1)>>30), im.MinDiskGB, 1)
			if v.SizeGB == 0 {
				v.SizeGB = need
			} else if v.SizeGB < need {
				p.Addf("size_gb", "the image needs a volume of at least %d GB", need)
			}
			v.SourceImageID, v.Bootable = im.ID, true
			v.ImageMeta = imageMetaOf(im)
		}
	case in.SnapshotID != "":
		snap, err := s.getSnapshot(db, inProject, in.SnapshotID)
		switch {
		case errors.Is(err, ErrNotFound):
			p.Add("snapshot_id", "no such snapshot")
		case err != nil:
			return plan, err
		case snap.Status != SnapshotAvailable:
			p.Addf("snapshot_id", "the snapshot is %s, not available", snap.Status)
		default:
			if v.SizeGB == 0 {
				v.SizeGB = snap.SizeGB
			} else if v.SizeGB < snap.SizeGB {
				p.Addf("size_gb", "must be at least the snapshot's %d GB", snap.SizeGB)
			}
			v.SourceSnapshotID, plan.onSame = snap.ID, snap.Backend
			var src Volume
			if err := db.Where("id = ?", snap.VolumeID).Take(&src).Error; err == nil {
				v.Bootable, v.ImageMeta, v.SourceImageID = src.Bootable, src.ImageMeta, src.SourceImageID
				if in.VolumeType == "" {
					in.VolumeType = src.VolumeTypeID
				}
			}
		}
	case in.SourceVolID != "":
		src, err := s.getVolume(db, inProject, in.SourceVolID)
		switch {
		case errors.Is(err, ErrNotFound):
			p.Add("source_volid", "no such volume")
		case err != nil:
			return plan, err
		case src.Status != VolumeAvailable:
			p.Addf("source_volid", "the volume is %s: only an available volume can be cloned", src.Status)
		default:
			if v.SizeGB == 0 {
				v.SizeGB = src.SizeGB
			} else if v.SizeGB < src.SizeGB {
				p.Addf("size_gb", "must be at least the source volume's %d GB", src.SizeGB)
			}
			v.SourceVolumeID, plan.onSame = src.ID, src.Backend
			v.Bootable, v.ImageMeta, v.SourceImageID = src.Bootable, src.ImageMeta, src.SourceImageID
			if in.VolumeType == "" {
				in.VolumeType = src.VolumeTypeID
			}
		}
	}
	if err := p.Err(); err != nil {
		return plan, err
	}
	if err := s.ensureDefaultVolumeType(db.Statement.Context); err != nil {
		return plan, err
	}
	var err error
	if in.VolumeType == "" {
		plan.vtype, err = s.defaultVolumeType(db)
	} else {
		plan.vtype, err = s.getVolumeType(db, c, in.VolumeType)
	}
	if errors.Is(err, ErrNotFound) {
		return plan, Invalid("volume_type", "no such volume type")
	}
	if err != nil {
		return plan, err
	}
	v.VolumeTypeID, v.VolumeTypeName = plan.vtype.ID, plan.vtype.Name
	if in.AvailabilityZone != "" {
		var n int64
		if err := db.Model(&VolumeBackend{}).Where("availability_zone = ?", in.AvailabilityZone).Count(&n).Error; err != nil {
			return plan, fmt.Errorf("check availability zone: %w", err)
		}
		if n == 0 {
			return plan, Invalid("availability_zone", "no volume backend is in this availability zone")
		}
	}
	return plan, nil
}

// imageMetaOf is what a volume remembers of the image written on it
// (Cinder's volume_image_metadata): enough to boot it.
func imageMetaOf(im Image) map[string]string {
	m := map[string]string{"image_id": im.ID, "image_name": im.Name, "disk_format": im.DiskFormat}
	if k := im.KernelID(); k != "" {
		m["kernel_id"] = k
	}
	if r := im.RamdiskID(); r != "" {
		m["ramdisk_id"] = r
	}
	if im.MinRAMMB > 0 {
		m["min_ram"] = fmt.Sprint(im.MinRAMMB)
	}
	return m
}

// insertVolume places a planned volume on a backend and writes it with its
// creation job. Call it in a transaction holding the project's lock, after
// the quota check.
func (s *Store) insertVolume(tx *gorm.DB, plan *volumePlan) error {
	v := &plan.vol
	if plan.onSame != "" {
		// A snapshot's or a clone's data is on its source's backend.
		ok, err := s.claimBackend(tx, plan.onSame, v.SizeGB)
		if err != nil {
			return err
		}
		if !ok {
			return errorf(ErrConflict, "backend %s, where the source is, has no room for %d GB", plan.onSame, v.SizeGB)
		}
		v.Backend = plan.onSame
	} else if b, err := s.placeVolume(tx, plan.vtype, v.AvailabilityZone, v.SizeGB); err != nil {
		v.Status, v.FaultMessage = VolumeError, err.Error()
	} else {
		v.Backend = b
	}
	if v.AvailabilityZone == "" && v.Backend != "" {
		var az []string
		if err := tx.Model(&VolumeBackend{}).Where("name = ?", v.Backend).Pluck("availability_zone", &az).Error; err != nil {
			return fmt.Errorf("read backend zone: %w", err)
		}
		if len(az) == 1 {
			v.AvailabilityZone = az[0]
		}
	}
	if err := tx.Create(v).Error; err != nil {
		return fmt.Errorf("insert volume: %w", err)
	}
	if v.Status == VolumeError {
		return nil
	}
	_, err := s.enqueue(tx, CreateVolume{VolumeID: v.ID},
		JobOptions{TargetHost: VolumeTarget(v.Backend), ResourceType: "volume", ResourceID: v.ID})
	return err
}

// volumeUsage adds a project's block storage use to u: volumes and
// snapshots count, and both count in gigabytes (Cinder's rule).
func (s *Store) volumeUsage(tx *gorm.DB, projectID string, u *Usage) error {
	var r struct{ Volumes, VolumeGB, Snapshots, SnapshotGB int64 }
	err := tx.Raw(`SELECT (SELECT COUNT(*) FROM volumes WHERE project_id = ?) AS volumes,
		(SELECT COALESCE(SUM(size_gb), 0) FROM volumes WHERE project_id = ?) AS volume_gb,
		(SELECT COUNT(*) FROM volume_snapshots WHERE project_id = ?) AS snapshots,
		(SELECT COALESCE(SUM(size_gb), 0) FROM volume_snapshots WHERE project_id = ?) AS snapshot_gb`,
		projectID, projectID, projectID, projectID).Scan(&r).Error
	if err != nil {
		return fmt.Errorf("count volume usage: %w", err)
	}
	u.Volumes, u.Snapshots, u.Gigabytes = r.Volumes, r.Snapshots, r.VolumeGB+r.SnapshotGB
	return nil
}
