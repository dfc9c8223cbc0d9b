package models

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// VolumeStatus is where a volume is in its life (Cinder's statuses):
//
//	creating → available ⇄ attaching → in-use → detaching → available
//	available | in-use → extending → back;  available | error → deleting → gone
//
// error carries a fault message the owner can read.
type VolumeStatus string

const (
	VolumeCreating  VolumeStatus = "creating"
	VolumeAvailable VolumeStatus = "available"
	VolumeAttaching VolumeStatus = "attaching"
	VolumeInUse     VolumeStatus = "in-use"
	VolumeDetaching VolumeStatus = "detaching"
	VolumeExtending VolumeStatus = "extending"
	VolumeDeleting  VolumeStatus = "deleting"
	VolumeError     VolumeStatus = "error"
)

// VolumeStatuses lists every status, for filters and forms.
func VolumeStatuses() []VolumeStatus {
	return []VolumeStatus{VolumeCreating, VolumeAvailable, VolumeAttaching, VolumeInUse, VolumeDetaching,
		VolumeExtending, VolumeDeleting, VolumeError}
}

// InTransition reports whether a volume is changing (a page polls it).
func (st VolumeStatus) InTransition() bool {
	switch st {
	case VolumeAvailable, VolumeInUse, VolumeError:
		return false
	}
	return true
}

// Volume limits.
const (
	MaxVolumeSizeGB = 16384
	// maxChainHint is only documentation: the backend flattens long
	// snapshot chains itself.
)

// VolumeConnection says where a compute host finds a volume's data, in
// the shape of Cinder's connection_info: a file on storage every host
// mounts at the same path ("file"), or a network disk such as an RBD image
// ("rbd": Name is pool/image, Hosts and Ports the monitors). The volume
// service writes it; the compute agent turns it into a libvirt disk.
type VolumeConnection struct {
	Driver       string   `json:"driver_volume_type"`
	Path         string   `json:"path,omitempty"`
	Format       string   `json:"format,omitempty"` // raw or qcow2
	Name         string   `json:"name,omitempty"`
	Hosts        []string `json:"hosts,omitempty"`
	Ports        []string `json:"ports,omitempty"`
	AuthUsername string   `json:"auth_username,omitempty"`
	SecretUUID   string   `json:"secret_uuid,omitempty"`
}

// Value stores a connection as JSON.
func (c VolumeConnection) Value() (driver.Value, error) {
	b, err := json.Marshal(c)
	return string(b), err
}

// Scan reads a connection stored as JSON.
func (c *VolumeConnection) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c = VolumeConnection{}
		return nil
	case string:
		return json.Unmarshal([]byte(v), c)
	case []byte:
		return json.Unmarshal(v, c)
	}
	return fmt.Errorf("volume connection: cannot read a %T", src)
}

// Volume is a block device that outlives instances.
type Volume struct {
	ID               string            `json:"id"`
	ProjectID        string            `json:"project_id"`
	UserID           string            `json:"user_id"`
	Name             string            `json:"name"`
	Description      string            `json:"description"`
	SizeGB           int               `json:"size_gb" gorm:"column:size_gb"`
	Status           VolumeStatus      `json:"status"`
	VolumeTypeID     string            `json:"volume_type_id"`
	VolumeTypeName   string            `json:"volume_type"`
	AvailabilityZone string            `json:"availability_zone"`
	Backend          string            `json:"backend"`
	SourceImageID    string            `json:"image_id"`
	SourceSnapshotID string            `json:"snapshot_id"`
	SourceVolumeID   string            `json:"source_volid" gorm:"column:source_volume_id"`
	Bootable         bool              `json:"bootable"`
	ImageMeta        map[string]string `json:"volume_image_metadata,omitempty" gorm:"serializer:json"`
	Progress         int               `json:"progress"` // percent of an image written while creating
	Connection       *VolumeConnection `json:"-" gorm:"column:connection_info"`
	FaultMessage     string            `json:"fault_message"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`

	Attachments []VolumeAttachment `json:"attachments" gorm:"-"`
}

// Attachment status.
const (
	AttachmentReserved  = "reserved"  // a boot volume waiting for its instance's build
	AttachmentAttaching = "attaching" // the host is attaching it
	AttachmentAttached  = "attached"
	AttachmentDetaching = "detaching"
)

// VolumeAttachment ties a volume to an instance. The instance's host
// attaches it as a virtio disk whose serial is the volume ID.
type VolumeAttachment struct {
	ID                  string     `json:"id"`
	VolumeID            string     `json:"volume_id"`
	InstanceID          string     `json:"instance_id"`
	ProjectID           string     `json:"-"`
	Device              string     `json:"device"`
	Host                string     `json:"host"`
	Status              string     `json:"attach_status"`
	BootIndex           int        `json:"boot_index"` // 0 for the root disk, -1 otherwise
	DeleteOnTermination bool       `json:"delete_on_termination"`
	AttachedAt          *time.Time `json:"attached_at"`
	CreatedAt           time.Time  `json:"-"`
}

// Serial is what the guest sees as the disk's serial: the volume ID, of
// which Linux shows the first 20 characters (/dev/disk/by-id/virtio-…).
func (a VolumeAttachment) Serial() string { return a.VolumeID }

// VolumeFilter narrows ListVolumes.
type VolumeFilter struct {
	ListOptions
	Status      VolumeStatus
	AllProjects bool   // operators: every project
	ProjectID   string // operators, with AllProjects
	Backend     string // operators, with AllProjects
	IDs         []string
}

// ListVolumes lists the caller's project's volumes, newest first, with
// their attachments (operators may ask for every project's).
func (s *Store) ListVolumes(ctx context.Context, c Caller, f VolumeFilter) (Page[Volume], error) {
	q := s.db.WithContext(ctx).Model(&Volume{})
	if f.AllProjects && c.IsSystemAdmin() {
		if f.ProjectID != "" {
			q = q.Where("project_id = ?", f.ProjectID)
		}
		if f.Backend != "" {
			q = q.Where("backend = ?", f.Backend)
		}
	} else {
		q = q.Where("project_id = ?", c.ProjectID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if len(f.IDs) > 0 {
		q = q.Where("id IN ?", f.IDs)
	}
	q = nameFilter(q, "volumes", f.ListOptions)
	p, err := pageNewestFirst(q, "volumes", f.ListOptions, func(v Volume) string { return v.ID })
	if err != nil {
		return p, fmt.Errorf("list volumes: %w", err)
	}
	return p, s.loadAttachments(s.db.WithContext(ctx), p.Items)
}

// loadAttachments fills each volume's attachments in one query.
func (s *Store) loadAttachments(db *gorm.DB, vols []Volume) error {
	if len(vols) == 0 {
		return nil
	}
	ids := make([]string, len(vols))
	for i, v := range vols {
		ids[i] = v.ID
		vols[i].Attachments = []VolumeAttachment{}
	}
	var atts []VolumeAttachment
	if err := db.Where("volume_id IN ?", ids).Find(&atts).Error; err != nil {
		return fmt.Errorf("read attachments: %w", err)
	}
	byVol := map[string]int{}
	for i, v := range vols {
		byVol[v.ID] = i
	}
	for _, a := range atts {
		i := byVol[a.VolumeID]
		vols[i].Attachments = append(vols[i].Attachments, a)
	}
	return nil
}

// GetVolume finds one of the caller's project's volumes (operators: any)
// by ID, or by name within the project.
func (s *Store) GetVolume(ctx context.Context, c Caller, ref string) (Volume, error) {
	db := s.db.WithContext(ctx)
	v, err := s.getVolume(db, c, ref)
	if err != nil {
		return v, err
	}
	vols := []Volume{v}
	if err := s.loadAttachments(db, vols); err != nil {
		return v, err
	}
	return vols[0], nil
}

func (s *Store) getVolume(tx *gorm.DB, c Caller, ref string) (Volume, error) {
	q := tx.Model(&Volume{})
	if IsUUID(ref) {
		q = q.Where("id = ?", ref)
		if !c.IsSystemAdmin() {
			q = q.Where("project_id = ?", c.ProjectID)
		}
	} else {
		q = q.Where("project_id = ? AND name = ?", c.ProjectID, ref)
		return takeNamed[Volume](q, "volume", notFound("volume %q not found", ref),
			conflict("several volumes are named %q: use the ID", ref))
	}
	return takeRef[Volume](q, "volume", ref)
}

// lockVolume reads a volume for a state change, locked until the
// transaction ends.
func (s *Store) lockVolume(tx *gorm.DB, c Caller, ref string) (Volume, error) {
	return s.getVolume(s.forUpdate(tx), c, ref)
}

// VolumeByID reads a volume for a worker, with its attachments.
func (s *Store) VolumeByID(ctx context.Context, id string) (Volume, error) {
	db := s.db.WithContext(ctx)
	v, err := takeRef[Volume](db.Where("id = ?", id), "volume", id)
	if err != nil {
		return v, err
	}
	vols := []Volume{v}
	if err := s.loadAttachments(db, vols); err != nil {
		return v, err
	}
	return vols[0], nil
}

// attachment returns the volume's attachment, if any.
func (v Volume) attachment() (VolumeAttachment, bool) {
	if len(v.Attachments) == 0 {
		return VolumeAttachment{}, false
	}
	return v.Attachments[0], true
}

// AttachedTo is the instance the volume is attached to ("" when none).
func (v Volume) AttachedTo() string {
	a, _ := v.attachment()
	return a.InstanceID
}

// DisplayName is the name, or the ID when the volume has none (Cinder's
// names are optional).
func (v Volume) DisplayName() string {
	if v.Name != "" {
		return v.Name
	}
	return v.ID
}

// setVolumeStatus moves a volume from one status to another in tx, with
// a fault message ("" clears it). It refuses when the volume is no longer
// in from: a concurrent change won.
func (s *Store) setVolumeStatus(tx *gorm.DB, id string, from []VolumeStatus, to VolumeStatus, fault string, extra map[string]any) error {
	upd := map[string]any{"status": to, "fault_message": faultText(fault, 2000), "updated_at": s.now()}
	for k, v := range extra {
		upd[k] = v
	}
	res := tx.Model(&Volume{}).Where("id = ? AND status IN ?", id, from).Updates(upd)
	if res.Error != nil {
		return fmt.Errorf("set volume status: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return conflict("volume %s changed meanwhile: try again", id)
	}
	return nil
}
