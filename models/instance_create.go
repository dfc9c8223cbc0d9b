package models

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	// Networks are the NICs, in order; none: the project's only network
	// (its own or a shared one), no NIC when it has none.
	Networks []NetworkRequest `json:"networks,omitempty"`
	// NoNetworks launches without any NIC, even when the project has a
	// network (Nova's "networks": "none").
	NoNetworks bool `json:"no_networks,omitempty"`
	// SecurityGroups (IDs or names) of the ports the launch creates;
	// none: the project's default group.
	SecurityGroups []string `json:"security_groups,omitempty"`
	// BootVolume makes a volume the root disk instead of Image.
	BootVolume *BootVolume `json:"boot_volume,omitempty"`
}

// checkInstanceName checks an instance's name: free text of at most 63
// characters (a hostname's label), without a slash.
func checkInstanceName(p Problems, name string) {
	p.Name("name", name, 63)
	if strings.Contains(name, "/") {
		p.Add("name", "must not contain a slash")
	}
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
	checkInstanceName(p, in.Name)
	if in.Count < 1 || in.Count > MaxInstancesPerRequest {
		p.Addf("count", "must be 1–%d", MaxInstancesPerRequest)
	}
	if len(in.UserData) > MaxUserDataBytes {
		p.Addf("user_data", "must be at most %d KiB", MaxUserDataBytes>>10)
	}
	if in.Flavor == "" {
		p.Add("flavor", "choose a flavor")
	}
	if in.Image == "" && in.BootVolume == nil {
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
	var image Image
	var boot *bootPlan
	if in.BootVolume != nil {
		if boot, image, err = s.planBootVolume(db, c, in, p); err != nil {
			return nil, err
		}
	} else if image, err = s.launchImage(db, c, in.Image, p); err != nil {
		return nil, err
	} else if !p.has("image") {
		if boot, image, err = s.planImageBootVolume(db, c, in, image, p); err != nil {
			return nil, err
		}
	}
	if !p.has("flavor") && !p.has("image") {
		if image.MinRAMMB > flavor.RAMMB {
			p.Addf("flavor", "the image needs at least %d MB of RAM", image.MinRAMMB)
		}
		if boot == nil && flavor.DiskGB > 0 && image.MinDiskGB > flavor.DiskGB {
			p.Addf("flavor", "the image needs a root disk of at least %d GB", image.MinDiskGB)
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
		if ok, err := zoneExists(db, in.AvailabilityZone); err != nil {
			return nil, err
		} else if !ok {
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
			DiskGB: rootDiskGB(flavor, boot), EphemeralGB: flavor.EphemeralGB, ImageID: image.ID, ImageName: image.Name,
			KeyPairName: key.Name, KeyData: key.PublicKey, UserData: in.UserData,
			AvailabilityZone: in.AvailabilityZone, ServerGroupID: group.ID,
			VMState: VMBuilding, TaskState: TaskScheduling, PowerState: PowerNoState, CreatedAt: now, UpdatedAt: now}
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockProject(tx, c.ProjectID); err != nil {
			return err
		}
		n := int64(in.Count)
		var nics []nicPlan
		if in.NoNetworks {
			if len(in.Networks) > 0 {
				return Invalid("networks", "ask for networks or for none, not both")
			}
		} else {
			var err error
			if nics, err = s.planNICs(tx, c, in.Networks, in.Count); err != nil {
				return err
			}
		}
		newPorts := int64(0)
		for _, nic := range nics {
			if nic.port == nil {
				newPorts += n
			}
		}
		add := flavor.usage(n)
		add.Ports = newPorts
		b := boot.usage(in.Count)
		add.Volumes, add.Gigabytes = b.Volumes, b.Gigabytes
		if err := s.checkQuota(tx, c.ProjectID, add); err != nil {
			return err
		}
		var groups *[]string
		if len(in.SecurityGroups) > 0 {
			ids, err := s.resolveGroups(tx, c, &in.SecurityGroups, "security_groups")
			if err != nil {
				return err
			}
			groups = &ids
		}
		if err := tx.CreateInBatches(out, 100).Error; err != nil {
			return fmt.Errorf("insert instances: %w", err)
		}
		for _, inst := range out {
			if err := s.attachNICs(tx, c, inst, nics, groups); err != nil {
				return err
			}
			if boot != nil {
				if err := s.attachBootVolume(tx, boot, inst); err != nil {
					return err
				}
			}
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

// launchImage resolves the image a launch boots. A project boots only
// images it can see: the system roles' wider view (compute hosts fetch any
// image by ID) does not extend to launching.
func (s *Store) launchImage(db *gorm.DB, c Caller, ref string, p Problems) (Image, error) {
	inProject := c
	inProject.SystemRole = ""
	image, err := s.getImage(db, inProject, ref)
	switch {
	case errors.Is(err, ErrNotFound):
		p.Add("image", "no such image")
	case errors.Is(err, ErrConflict):
		p.Add("image", err.Error())
	case err != nil:
		return image, err
	case image.Status != ImageActive:
		p.Addf("image", "the image is %s, not active", image.Status)
	case !image.Bootable():
		p.Add("image", "a kernel or ramdisk image cannot boot alone: launch the disk image that names it")
	default:
		// The kernel and ramdisk it boots with must still be there: a host
		// could not build it otherwise, and would say so only in its log.
		gone := func(id string) (bool, error) {
			if id == "" {
				return false, nil
			}
			im, err := s.getImage(db, inProject, id)
			if errors.Is(err, ErrNotFound) {
				return true, nil
			}
			return err == nil && im.Status != ImageActive, err
		}
		if bad, err := gone(image.KernelID()); err != nil {
			return image, err
		} else if bad {
			p.Addf("image", "its kernel image %s is deleted or not active", image.KernelID())
		}
		if bad, err := gone(image.RamdiskID()); err != nil {
			return image, err
		} else if bad {
			p.Addf("image", "its ramdisk image %s is deleted or not active", image.RamdiskID())
		}
	}
	return image, nil
}

// rootDiskGB is the local root disk an instance takes on its host: none
// when a volume is its root disk.
func rootDiskGB(f Flavor, boot *bootPlan) int {
	if boot != nil {
		return 0
	}
	return f.DiskGB
}
