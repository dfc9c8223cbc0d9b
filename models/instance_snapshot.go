package models

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// Snapshots of instances (Nova's createImage): an image of the instance's
// root disk, private to its project, bootable like the image it came from.
// The instance is in task image_snapshot while its host copies the disk and
// usable again as soon as the copy is made; the host then uploads the copy
// (image saving, with progress) and the image becomes active.

// SnapshotInstance is the job that asks the instance's host to copy its
// root disk and upload it into ImageID. UploadSecret lets that host, and
// only it, upload the image's data.
type SnapshotInstance struct {
	InstanceID   string `json:"instance_id"`
	ImageID      string `json:"image_id"`
	UploadSecret string `json:"upload_secret"`
}

func (SnapshotInstance) Kind() string { return "instance.snapshot" }

// SnapshotSecretHeader carries a snapshot's upload secret.
const SnapshotSecretHeader = "X-Stratus-Snapshot-Secret"

// snapshotFrom are the states Nova snapshots from.
var snapshotFrom = []VMState{VMActive, VMStopped, VMPaused, VMSuspended}

// SnapshotAllowed says whether an instance's state lets a snapshot start.
func SnapshotAllowed(i Instance) bool {
	return i.TaskState == TaskNone && i.Host != "" && slices.Contains(snapshotFrom, i.VMState)
}

// SnapshotInstance starts a snapshot of an instance's root disk into a new
// private image named name (counted against the project's images quota).
// A volume-backed instance's snapshot is one of its boot volume, which the
// image maps (snapshotBootVolume).
func (s *Store) SnapshotInstance(ctx context.Context, c Caller, id, name string) (Instance, Image, error) {
	name = strings.TrimSpace(name)
	p := Problems{}
	p.Name("name", name, 255)
	if err := p.Err(); err != nil {
		return Instance{}, Image{}, err
	}
	var inst Instance
	var im Image
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if inst, err = s.getInstance(tx, c, id); err != nil {
			return err
		}
		// The project first, then the instance: CreateImage's order.
		if err := s.lockProject(tx, inst.ProjectID); err != nil {
			return err
		}
		if inst, err = s.getInstance(s.forUpdate(tx), c, id); err != nil {
			return err
		}
		if err := s.checkActionState(inst, "snapshot", snapshotFrom); err != nil {
			return err
		}
		var boot VolumeAttachment
		err = tx.Where("instance_id = ? AND boot_index = 0", inst.ID).Take(&boot).Error
		switch {
		case err == nil:
			im, err = s.snapshotBootVolume(tx, c, &inst, boot, name)
			return err
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("boot volume: %w", err)
		}
		if err := s.checkQuota(tx, inst.ProjectID, Usage{Images: 1}); err != nil {
			return err
		}
		secret := randomSecret(32)
		if im, err = s.newSnapshotImage(tx, inst, name, secret); err != nil {
			return err
		}
		if err := s.setTask(tx, &inst, TaskImageSnapshot); err != nil {
			return err
		}
		if err := s.startAction(tx, c, inst, "snapshot"); err != nil {
			return err
		}
		_, err = s.enqueue(tx, SnapshotInstance{InstanceID: inst.ID, ImageID: im.ID, UploadSecret: secret},
			JobOptions{TargetHost: inst.Host, ResourceType: "instance", ResourceID: inst.ID})
		return err
	})
	return inst, im, err
}

// checkActionState refuses an action while a task runs, in a state not in
// from (409 naming the state), or on an instance no host has.
func (s *Store) checkActionState(inst Instance, action string, from []VMState) error {
	switch {
	case inst.VMState == VMDeleted:
		return notFound("instance %q not found", inst.ID)
	case inst.TaskState != TaskNone:
		return conflict("instance %s is busy (%s): wait until it finishes", inst.Name, inst.TaskState)
	case !slices.Contains(from, inst.VMState):
		return conflict("cannot %s instance %s while it is %s", action, inst.Name, inst.Status())
	case inst.Host == "" && inst.VMState != VMShelvedOffloaded:
		return conflict("instance %s was never placed on a host: delete it and launch again", inst.Name)
	}
	return nil
}

// setTask sets an idle instance's task, refusing when it changed since it
// was read.
func (s *Store) setTask(tx *gorm.DB, inst *Instance, task TaskState) error {
	res := tx.Model(&Instance{}).Where("id = ? AND task_state = ?", inst.ID, inst.TaskState).
		Updates(map[string]any{"task_state": task, "updated_at": s.now()})
	if res.Error != nil {
		return fmt.Errorf("set task: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return conflict("instance %s changed meanwhile: try again", inst.Name)
	}
	inst.TaskState = task
	return nil
}

// snapshotImage is the image a snapshot of inst fills (not yet written):
// saving, private to the instance's project, with the properties of the
// image the instance was launched from (a three-part image's kernel and
// ramdisk, so the snapshot boots the same way) and Nova's snapshot
// properties.
func (s *Store) snapshotImage(tx *gorm.DB, inst Instance, name string) Image {
	props := map[string]string{}
	minRAM := 0
	var base Image
	if inst.ImageID != "" && tx.Where("id = ?", inst.ImageID).Take(&base).Error == nil {
		for k, v := range base.Properties {
			props[k] = v
		}
		minRAM = base.MinRAMMB
	}
	props["image_type"] = "snapshot"
	props["instance_uuid"] = inst.ID
	props["base_image_ref"] = inst.ImageID
	props["image_location"] = "snapshot"
	props["user_id"] = inst.UserID
	var owner []string
	if tx.Model(&User{}).Where("id = ?", inst.UserID).Limit(1).Pluck("name", &owner).Error == nil && len(owner) == 1 {
		props["owner_user_name"] = owner[0] // Nova's: a name, beside user_id
	}
	now := s.now()
	return Image{ID: newID(), ProjectID: inst.ProjectID, Name: name, Status: ImageSaving, Visibility: VisibilityPrivate,
		DiskFormat: FormatQCOW2, MinDiskGB: inst.DiskGB, MinRAMMB: minRAM, Properties: props, Tags: []string{},
		CreatedAt: now, UpdatedAt: now}
}

// newSnapshotImage records the image a snapshot of inst fills, which only
// the holder of secret may upload.
func (s *Store) newSnapshotImage(tx *gorm.DB, inst Instance, name, secret string) (Image, error) {
	im := s.snapshotImage(tx, inst, name)
	sum := sha256.Sum256([]byte(secret))
	im.UploadSecretHash = hex.EncodeToString(sum[:])
	if err := tx.Create(&im).Error; err != nil {
		return Image{}, fmt.Errorf("insert snapshot image: %w", err)
	}
	return im, nil
}

// FinishSnapshotCopy records that the host copied the instance's disk:
// the instance is idle (usable) again while the copy is uploaded. errMsg
// non-empty means the copy failed: the image is killed and the action
// ends with the reason.
func (s *Store) FinishSnapshotCopy(ctx context.Context, instanceID, imageID, errMsg string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.lockInstance(tx, instanceID)
		if err != nil {
			return err
		}
		if inst.TaskState != TaskImageSnapshot {
			return nil // a job run twice
		}
		if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).
			Updates(map[string]any{"task_state": TaskNone, "updated_at": s.now()}).Error; err != nil {
			return fmt.Errorf("finish snapshot copy: %w", err)
		}
		if errMsg != "" {
			if err := s.killImage(tx, imageID); err != nil {
				return err
			}
			return s.finishAction(tx, inst.ID, ActionError, "snapshot failed: "+errMsg)
		}
		return s.finishAction(tx, inst.ID, ActionSuccess, "disk copied; uploading image "+imageID)
	})
}

// FailSnapshotUpload kills a snapshot image whose upload failed, and says
// so in its instance's action log.
func (s *Store) FailSnapshotUpload(ctx context.Context, instanceID, imageID, reason string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var im Image
		switch err := tx.Where("id = ?", imageID).Take(&im).Error; {
		case errors.Is(err, gorm.ErrRecordNotFound):
			return nil // gone
		case err != nil:
			return fmt.Errorf("fail snapshot upload: %w", err)
		case im.Status != ImageSaving:
			return nil // finished meanwhile
		}
		if err := s.killImage(tx, imageID); err != nil {
			return err
		}
		inst, err := s.lockInstance(tx, instanceID)
		if errors.Is(err, ErrNotFound) {
			return nil // deleted meanwhile: no action log to write to
		}
		if err != nil {
			return err
		}
		return s.recordAction(tx, systemActor(), inst, "snapshot", ActionError, "upload of image "+imageID+" failed: "+reason)
	})
}

func (s *Store) killImage(tx *gorm.DB, id string) error {
	if err := tx.Model(&Image{}).Where("id = ? AND status = ?", id, ImageSaving).
		Updates(map[string]any{"status": ImageKilled, "upload_secret_hash": "", "updated_at": s.now()}).Error; err != nil {
		return fmt.Errorf("kill image: %w", err)
	}
	return nil
}

// SetImageProgress records how far a snapshot's upload got (percent).
func (s *Store) SetImageProgress(ctx context.Context, id string, percent int) error {
	percent = max(0, min(percent, 100))
	if err := s.db.WithContext(ctx).Model(&Image{}).Where("id = ? AND status = ?", id, ImageSaving).
		Updates(map[string]any{"progress": percent, "updated_at": s.now()}).Error; err != nil {
		return fmt.Errorf("image progress: %w", err)
	}
	return nil
}

// UploadSnapshot stores a snapshot's data, sent by the host that made it
// with the snapshot's secret: a saving snapshot image without the right
// secret is a 403, any other image a 404 (this is no general upload
// route). The data must be a qcow2 without a backing file. The image
// becomes active, or killed when the data is refused.
func (s *Store) UploadSnapshot(ctx context.Context, id, secret string, r io.Reader) (Image, error) {
	if !IsUUID(id) {
		return Image{}, notFound("image %q not found", id)
	}
	path, err := s.imagePath(id)
	if err != nil {
		return Image{}, err
	}
	var im Image
	if err := s.db.WithContext(ctx).Where("id = ? AND status = ? AND upload_secret_hash <> ''", id, ImageSaving).Take(&im).Error; err != nil {
		return Image{}, notFound("no snapshot %q is waiting for its data", id)
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(im.UploadSecretHash)) != 1 {
		return Image{}, &Error{Kind: ErrForbidden, Msg: "wrong snapshot upload secret"}
	}
	size, sha, md5sum, format, err := s.writeImageFile(path, r)
	if err == nil && format != FormatQCOW2 {
		err = Invalidf("file", "a snapshot is a qcow2 image, not %s", format)
	}
	if err != nil {
		_ = os.Remove(path)
		if kerr := s.killImage(s.db.WithContext(context.WithoutCancel(ctx)), id); kerr != nil {
			s.log.Error("kill a refused snapshot", "image", id, "err", kerr)
		}
		return Image{}, err
	}
	now := s.now()
	res := s.db.WithContext(ctx).Model(&Image{}).Where("id = ? AND status = ?", id, ImageSaving).Updates(map[string]any{
		"status": ImageActive, "size_bytes": size, "checksum": sha, "checksum_md5": md5sum, "progress": 100,
		"upload_secret_hash": "", "updated_at": now,
	})
	if res.Error != nil {
		return Image{}, fmt.Errorf("activate snapshot: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		_ = s.removeImageFile(id)
		return Image{}, conflict("image %q was deleted while it was being uploaded", im.Name)
	}
	im.Status, im.SizeBytes, im.Checksum, im.ChecksumMD5, im.Progress, im.UploadSecretHash, im.UpdatedAt = ImageActive, size, sha, md5sum, 100, "", now
	return im, nil
}

// InstanceSnapshots lists the snapshot images taken of an instance that
// the caller may see, newest first (at most 20): the instance page shows
// them, with an upload's progress. The images record the instance in
// their properties (see withProperty).
func (s *Store) InstanceSnapshots(ctx context.Context, c Caller, instanceID string) ([]Image, error) {
	inst, err := s.GetInstance(ctx, c, instanceID)
	if err != nil {
		return nil, err
	}
	var out []Image
	q := s.db.WithContext(ctx).Model(&Image{}).Where("images.project_id = ? AND images.status <> ?", inst.ProjectID, ImageDeleted)
	err = withProperty(q, "instance_uuid", inst.ID).Order("images.created_at DESC").Limit(20).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("instance snapshots: %w", err)
	}
	return out, nil
}
