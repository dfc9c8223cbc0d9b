package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"gorm.io/gorm"
)

// Snapshots of volume-backed instances, as Nova takes them: the snapshot
// action takes a snapshot of the boot volume (forced, crash-consistent
// while the volume is in use) and records an image without data whose
// properties map a new boot volume onto that snapshot (bdm_v2,
// root_device_name, block_device_mapping). The image is saving until the
// volume snapshot is available, then active; the instance is in task
// image_snapshot meanwhile. Launching the image boots from a new volume
// made from the snapshot. Deleting the image leaves the volume snapshot.

// imageBlockDevice is one entry of an image's block_device_mapping
// property (Nova's block_device_mapping_v2 fields).
type imageBlockDevice struct {
	SourceType          string `json:"source_type"`
	DestinationType     string `json:"destination_type"`
	SnapshotID          string `json:"snapshot_id,omitempty"`
	VolumeSize          int    `json:"volume_size,omitempty"`
	BootIndex           int    `json:"boot_index"`
	DeleteOnTermination bool   `json:"delete_on_termination"`
	DeviceName          string `json:"device_name,omitempty"`
}

// snapshotBootVolume starts the snapshot of a volume-backed instance
// whose boot attachment is boot: a volume snapshot and the image that
// records it. The instance and its project are locked.
func (s *Store) snapshotBootVolume(tx *gorm.DB, c Caller, inst *Instance, boot VolumeAttachment, name string) (Image, error) {
	v, err := s.lockVolume(tx, Caller{ProjectID: inst.ProjectID}, boot.VolumeID)
	if err != nil {
		return Image{}, fmt.Errorf("boot volume: %w", err)
	}
	if err := s.checkQuota(tx, inst.ProjectID, Usage{Images: 1}); err != nil {
		return Image{}, err
	}
	snap, err := s.takeSnapshot(tx, c, v, SnapshotCreate{VolumeID: v.ID, Name: truncate("snapshot for "+name, 255),
		Description: "of instance " + inst.ID, Force: true})
	if err != nil {
		return Image{}, err
	}
	bdm, err := json.Marshal([]imageBlockDevice{{SourceType: "snapshot", DestinationType: "volume", SnapshotID: snap.ID,
		VolumeSize: v.SizeGB, BootIndex: 0, DeleteOnTermination: boot.DeleteOnTermination, DeviceName: "/dev/" + boot.Device}})
	if err != nil {
		return Image{}, fmt.Errorf("block device mapping: %w", err)
	}
	im := s.snapshotImage(tx, *inst, name)
	im.Properties["bdm_v2"] = "True"
	im.Properties["root_device_name"] = "/dev/" + boot.Device
	im.Properties["block_device_mapping"] = string(bdm)
	im.VolumeSnapshotID = snap.ID
	if err := tx.Create(&im).Error; err != nil {
		return Image{}, fmt.Errorf("insert snapshot image: %w", err)
	}
	if err := s.setTask(tx, inst, TaskImageSnapshot); err != nil {
		return Image{}, err
	}
	return im, s.startAction(tx, c, *inst, "snapshot")
}

// finishVolumeSnapshotImages ends the images waiting for a volume
// snapshot: active when it was taken (errMsg empty), killed otherwise;
// their instances leave task image_snapshot and the action log says how
// it went. Call it in the transaction that changes the snapshot's status.
func (s *Store) finishVolumeSnapshotImages(tx *gorm.DB, snapshotID, errMsg string) error {
	var ims []Image
	if err := tx.Where("volume_snapshot_id = ? AND status = ?", snapshotID, ImageSaving).Find(&ims).Error; err != nil {
		return fmt.Errorf("images of volume snapshot %s: %w", snapshotID, err)
	}
	for _, im := range ims {
		upd := map[string]any{"status": ImageActive, "progress": 100, "updated_at": s.now()}
		result, msg := ActionSuccess, "volume snapshot "+snapshotID+" taken; image "+im.ID+" active"
		if errMsg != "" {
			upd = map[string]any{"status": ImageKilled, "updated_at": s.now()}
			result, msg = ActionError, "snapshot failed: "+errMsg
		}
		if err := tx.Model(&Image{}).Where("id = ? AND status = ?", im.ID, ImageSaving).Updates(upd).Error; err != nil {
			return fmt.Errorf("finish image %s: %w", im.ID, err)
		}
		inst, err := s.lockInstance(tx, im.Properties["instance_uuid"])
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if inst.TaskState != TaskImageSnapshot {
			continue
		}
		if err := tx.Model(&Instance{}).Where("id = ? AND task_state = ?", inst.ID, TaskImageSnapshot).
			Updates(map[string]any{"task_state": TaskNone, "updated_at": s.now()}).Error; err != nil {
			return fmt.Errorf("finish snapshot of instance %s: %w", inst.ID, err)
		}
		if err := s.finishAction(tx, inst.ID, result, msg); err != nil {
			return err
		}
	}
	return nil
}

// imageBootVolume is the boot volume an image maps (a snapshot of a
// volume-backed instance): nil for an image that is a disk.
func imageBootVolume(im Image) (*BootVolume, error) {
	if v, _ := strconv.ParseBool(im.Properties["bdm_v2"]); !v || im.Properties["block_device_mapping"] == "" {
		return nil, nil
	}
	var bdm []imageBlockDevice
	if err := json.Unmarshal([]byte(im.Properties["block_device_mapping"]), &bdm); err != nil {
		return nil, fmt.Errorf("the image's block_device_mapping is not a JSON list of mappings: %w", err)
	}
	for _, d := range bdm {
		if d.BootIndex != 0 || d.DestinationType != "volume" {
			continue
		}
		if d.SourceType != "snapshot" || d.SnapshotID == "" {
			return nil, fmt.Errorf("the image's boot mapping has source_type %q: only a snapshot is supported", d.SourceType)
		}
		return &BootVolume{Source: "snapshot", ID: d.SnapshotID, SizeGB: d.VolumeSize, DeleteOnTermination: d.DeleteOnTermination}, nil
	}
	return nil, nil
}

// planImageBootVolume plans the boot volume of a launch from an image that
// maps one (a snapshot of a volume-backed instance): a new volume from the
// mapped snapshot per instance, as if boot_volume had named it. Problems
// are the image's. The instance then records the image its volume came
// from, as a launch with boot_volume does. An image that is a disk plans
// nothing.
func (s *Store) planImageBootVolume(db *gorm.DB, c Caller, in InstanceCreate, im Image, p Problems) (*bootPlan, Image, error) {
	bv, err := imageBootVolume(im)
	if err != nil {
		p.Add("image", err.Error())
		return nil, im, nil
	}
	if bv == nil {
		return nil, im, nil
	}
	in.Image, in.BootVolume = "", bv
	q := Problems{}
	plan, base, err := s.planBootVolume(db, c, in, q)
	if err != nil {
		return nil, im, err
	}
	for field, pr := range q {
		if field == "boot_volume.id" {
			pr = problemf("its volume snapshot %s: %s", bv.ID, pr)
			field = "image"
		}
		p.put(field, pr)
	}
	return plan, base, nil
}
