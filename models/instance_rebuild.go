package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// Rebuilds (Nova's rebuild): the same instance — ID, ports, volumes, host
// and size — with a new root disk from an image, and optionally a new name,
// key pair and user data, which the rebuilt guest's config drive carries.
// The old root disk (and ephemeral disk) is lost, as in Nova.

// ActionRebuild is the instance action that gives an instance a new root
// disk (RebuildInstance).
const ActionRebuild = "rebuild"

// RebuildInstance is the job that asks the instance's host to destroy its
// domain and disks and spawn it again from its (new) image.
type RebuildInstance struct {
	InstanceID string `json:"instance_id"`
	// PowerOn says whether the rebuilt guest runs: a stopped instance
	// stays stopped (Nova since Pike).
	PowerOn bool `json:"power_on"`
}

func (RebuildInstance) Kind() string { return "instance.rebuild" }

// RebuildRequest is a rebuild's body: the image (by ID or name, one the
// project may launch), and optionally a new name, key pair and user data
// (nil keeps them). KeyPair names one of the caller's project's key pairs
// (as a launch does), or is "" to leave the instance without one (Nova's
// key_name null); UserData "" removes the user data. PreserveEphemeral
// (Nova's preserve_ephemeral) asks to keep the ephemeral disk, which a
// Stratus rebuild makes anew as Nova's libvirt driver does: it is refused
// for an instance that has one (for one without, there is nothing to keep).
type RebuildRequest struct {
	Image             string  `json:"image"`
	Name              *string `json:"name,omitempty"`
	KeyPair           *string `json:"keypair,omitempty"`
	UserData          *string `json:"user_data,omitempty"`
	PreserveEphemeral bool    `json:"preserve_ephemeral,omitempty"`
}

// rebuildFrom are the states Nova rebuilds from.
var rebuildFrom = []VMState{VMActive, VMStopped, VMError}

// RebuildAllowed says whether an instance's state lets a rebuild start.
func RebuildAllowed(i Instance) bool {
	return i.TaskState == TaskNone && i.Host != "" && slices.Contains(rebuildFrom, i.VMState)
}

// RebuildInstance starts a rebuild of an instance from an image. The
// image must be one the project can launch and fit the instance's size
// (400 naming "image" otherwise); an instance that boots from a volume is
// refused (409), as Nova refuses a new image for one.
func (s *Store) RebuildInstance(ctx context.Context, c Caller, id string, in RebuildRequest) (Instance, error) {
	p := Problems{}
	in.Image = strings.TrimSpace(in.Image)
	if in.Image == "" {
		p.Add("image", "choose an image")
	}
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		in.Name = &n
		checkInstanceName(p, n)
	}
	if in.UserData != nil && len(*in.UserData) > MaxUserDataBytes {
		p.Addf("user_data", "must be at most %d KiB", MaxUserDataBytes>>10)
	}
	if err := p.Err(); err != nil {
		return Instance{}, err
	}
	var inst Instance
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if inst, err = s.getInstance(s.forUpdate(tx), c, id); err != nil {
			return err
		}
		if err := s.checkActionState(inst, ActionRebuild, rebuildFrom); err != nil {
			return err
		}
		fromVolume, err := volumeBacked(tx, inst.ID)
		if err != nil {
			return err
		}
		if fromVolume {
			return conflict("instance %s boots from a volume: a rebuild gives a new root disk from an image, which it has not", inst.Name)
		}
		owner := c
		owner.ProjectID = inst.ProjectID // an operator rebuilds with what the instance's project may launch
		image, err := s.launchImage(tx, owner, in.Image, p)
		if err != nil {
			return err
		}
		if in.PreserveEphemeral && inst.EphemeralGB > 0 {
			p.Add("preserve_ephemeral", "a rebuild makes the ephemeral disk anew: it cannot keep it")
		}
		var key KeyPair
		if in.KeyPair != nil && *in.KeyPair != "" { // "" is none; blanks name no key pair
			if strings.TrimSpace(*in.KeyPair) == "" {
				p.Add("keypair", "no such key pair in this project")
			} else if key, err = s.getKeyPair(tx, c, strings.TrimSpace(*in.KeyPair)); errors.Is(err, ErrNotFound) {
				p.Add("keypair", "no such key pair in this project")
			} else if err != nil {
				return err
			}
		}
		if !p.has("image") {
			switch {
			case image.Properties["block_device_mapping"] != "":
				p.Add("image", "the image maps a volume (a snapshot of a volume-backed instance): launch it, it is no root disk")
			case image.MinRAMMB > inst.RAMMB:
				p.Addf("image", "the image needs at least %d MB of RAM; the instance has %d", image.MinRAMMB, inst.RAMMB)
			case inst.DiskGB > 0 && image.MinDiskGB > inst.DiskGB:
				p.Addf("image", "the image needs a root disk of at least %d GB; the instance has %d", image.MinDiskGB, inst.DiskGB)
			case inst.DiskGB > 0 && image.SizeBytes > int64(inst.DiskGB)<<30:
				p.Addf("image", "the image (%d bytes) is larger than the instance's %d GB root disk", image.SizeBytes, inst.DiskGB)
			}
		}
		if err := p.Err(); err != nil {
			return err
		}
		set := map[string]any{"image_id": image.ID, "image_name": image.Name, "fault_message": "", "updated_at": s.now()}
		inst.ImageID, inst.ImageName = image.ID, image.Name
		if in.Name != nil {
			set["name"], inst.Name = *in.Name, *in.Name
		}
		if in.KeyPair != nil {
			set["keypair_name"], set["key_data"] = key.Name, key.PublicKey
			inst.KeyPairName, inst.KeyData = key.Name, key.PublicKey
		}
		if in.UserData != nil {
			set["user_data"], inst.UserData = *in.UserData, *in.UserData
		}
		if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(set).Error; err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		powerOn := inst.VMState != VMStopped
		if err := s.setTask(tx, &inst, TaskRebuilding); err != nil {
			return err
		}
		if err := s.startAction(tx, c, inst, ActionRebuild); err != nil {
			return err
		}
		_, err = s.enqueue(tx, RebuildInstance{InstanceID: inst.ID, PowerOn: powerOn},
			JobOptions{TargetHost: inst.Host, MaxAttempts: 3, ResourceType: "instance", ResourceID: inst.ID})
		return err
	})
	return inst, err
}

// FinishRebuild records the end of a rebuild on host with the power state
// the hypervisor reports: ACTIVE (or SHUTOFF when it was stopped) on
// success; on failure errMsg says why and the instance goes to ERROR
// (its old disk is gone), from where it may be rebuilt again or deleted.
func (s *Store) FinishRebuild(ctx context.Context, instanceID, host string, power PowerState, errMsg string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		inst, err := s.lockInstance(tx, instanceID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if inst.TaskState != TaskRebuilding || inst.Host != host {
			return nil // a job run twice, or deleted meanwhile
		}
		now := s.now()
		if errMsg != "" {
			if err := s.finishAction(tx, inst.ID, ActionError, errMsg); err != nil {
				return err
			}
			return tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(map[string]any{
				"vm_state": VMError, "task_state": TaskNone, "power_state": power,
				"fault_message": faultText("rebuild failed: "+errMsg, 1024), "fault_at": now, "updated_at": now,
			}).Error
		}
		vm := VMActive
		if power == PowerShutdown || power == PowerCrashed {
			vm = VMStopped
		}
		if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(map[string]any{
			"vm_state": vm, "task_state": TaskNone, "power_state": power, "launched_at": now, "updated_at": now,
		}).Error; err != nil {
			return fmt.Errorf("finish rebuild: %w", err)
		}
		return s.finishAction(tx, inst.ID, ActionSuccess, "rebuilt from image "+inst.ImageName)
	})
}
