package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Instance creation limits.
const (
	MaxInstancesPerRequest = 100
	MaxUserDataBytes       = 64 << 10 // Nova's limit, before base64
)

// InstanceCreate is a launch request. Flavor, image, key pair and server
// group may be given by ID or name.
type InstanceCreate struct {
	Name             string `json:"name"`
	Flavor           string `json:"flavor"`
	Image            string `json:"image"`
	KeyPair          string `json:"keypair"`
	UserData         string `json:"user_data"`
	Count            int    `json:"count"`
	AvailabilityZone string `json:"availability_zone"`
	ServerGroup      string `json:"server_group"`
}

// CreateInstances launches Count instances: it checks the request and the
// project's quota, writes the instances (building/scheduling), their
// "create" action and one scheduling job each — all in one transaction, so
// a request either launches every instance or none. Quota is checked under
// the project's lock, so concurrent requests cannot exceed it together.
func (s *Store) CreateInstances(ctx context.Context, c Caller, in InstanceCreate) ([]Instance, error) {
	in.Name = strings.TrimSpace(in.Name)
	if in.Count == 0 {
		in.Count = 1
	}
	p := Problems{}
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 63 || strings.ContainsAny(in.Name, "\x00\n\r\t/") {
		p.Add("name", "must be 1–63 characters, without slashes or control characters")
	}
	if in.Count < 1 || in.Count > MaxInstancesPerRequest {
		p.Add("count", fmt.Sprintf("must be 1–%d", MaxInstancesPerRequest))
	}
	if len(in.UserData) > MaxUserDataBytes {
		p.Add("user_data", fmt.Sprintf("must be at most %d KiB", MaxUserDataBytes>>10))
	}
	if in.Flavor == "" {
		p.Add("flavor", "choose a flavor")
	}
	if in.Image == "" {
		p.Add("image", "choose an image")
	}
	if c.ProjectID == "" {
		p.Add("project", "choose a project first")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	flavor, err := s.getFlavor(db, c, in.Flavor)
	if errors.Is(err, ErrNotFound) || (err == nil && flavor.Disabled) {
		p.Add("flavor", "no such flavor")
	} else if err != nil {
		return nil, err
	}
	// A project boots only images it can see: the system roles' wider view
	// (compute hosts fetch any image by ID) does not extend to launching.
	inProject := c
	inProject.SystemRole = ""
	image, err := s.getImage(db, inProject, in.Image)
	switch {
	case errors.Is(err, ErrNotFound):
		p.Add("image", "no such image")
	case errors.Is(err, ErrConflict):
		p.Add("image", err.Error())
	case err != nil:
		return nil, err
	case image.Status != ImageActive:
		p.Add("image", fmt.Sprintf("the image is %s, not active", image.Status))
	case image.DiskFormat == FormatAKI || image.DiskFormat == FormatARI:
		p.Add("image", "a kernel or ramdisk image cannot boot alone: launch the disk image that names it")
	}
	if p["flavor"] == "" && p["image"] == "" {
		if image.MinRAMMB > flavor.RAMMB {
			p.Add("flavor", fmt.Sprintf("the image needs at least %d MB of RAM", image.MinRAMMB))
		}
		if flavor.DiskGB > 0 && image.MinDiskGB > flavor.DiskGB {
			p.Add("flavor", fmt.Sprintf("the image needs a root disk of at least %d GB", image.MinDiskGB))
		}
	}
	var key KeyPair
	if in.KeyPair != "" {
		if key, err = s.getKeyPair(db, c, in.KeyPair); errors.Is(err, ErrNotFound) {
			p.Add("keypair", "no such key pair in this project")
		} else if err != nil {
			return nil, err
		}
	}
	var group ServerGroup
	if in.ServerGroup != "" {
		if group, err = s.getServerGroup(db, c.ProjectID, in.ServerGroup); errors.Is(err, ErrNotFound) {
			p.Add("server_group", "no such server group in this project")
		} else if err != nil {
			return nil, err
		}
	}
	if in.AvailabilityZone != "" {
		var n int64
		if err := db.Model(&Host{}).Where("availability_zone = ?", in.AvailabilityZone).Count(&n).Error; err != nil {
			return nil, fmt.Errorf("check availability zone: %w", err)
		}
		if n == 0 {
			p.Add("availability_zone", "no such availability zone")
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}

	now := s.now()
	out := make([]Instance, in.Count)
	for n := range out {
		name := in.Name
		if in.Count > 1 {
			name = fmt.Sprintf("%s-%d", in.Name, n+1)
		}
		out[n] = Instance{ID: newID(), ProjectID: c.ProjectID, UserID: c.UserID, Name: name,
			FlavorID: flavor.ID, FlavorName: flavor.Name, VCPUs: flavor.VCPUs, RAMMB: flavor.RAMMB,
			DiskGB: flavor.DiskGB, EphemeralGB: flavor.EphemeralGB, ImageID: image.ID, ImageName: image.Name,
			KeyPairName: key.Name, KeyData: key.PublicKey, UserData: in.UserData,
			AvailabilityZone: in.AvailabilityZone, ServerGroupID: group.ID,
			VMState: VMBuilding, TaskState: TaskScheduling, PowerState: PowerNoState, CreatedAt: now, UpdatedAt: now}
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockProject(tx, c.ProjectID); err != nil {
			return err
		}
		n := int64(in.Count)
		if err := s.checkQuota(tx, c.ProjectID, Usage{Instances: n, VCPUs: n * int64(flavor.VCPUs), RAMMB: n * int64(flavor.RAMMB)}); err != nil {
			return err
		}
		if err := tx.CreateInBatches(out, 100).Error; err != nil {
			return fmt.Errorf("insert instances: %w", err)
		}
		for _, inst := range out {
			if err := s.startAction(tx, c, inst, "create"); err != nil {
				return err
			}
			if _, err := s.enqueue(tx, ScheduleInstance{InstanceID: inst.ID, Spec: SpecOf(inst)},
				JobOptions{ResourceType: "instance", ResourceID: inst.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
