package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Image statuses (Glance's).
const (
	ImageQueued  = "queued" // created, no data yet
	ImageSaving  = "saving" // data being uploaded
	ImageActive  = "active"
	ImageKilled  = "killed" // the upload failed; delete and try again
	ImageDeleted = "deleted"
)

// Image visibilities.
const (
	VisibilityPrivate = "private" // the owner project only
	VisibilityShared  = "shared"  // the owner and its members (image_members)
	VisibilityPublic  = "public"  // every project; operators only may publish
)

// Image is a Glance image: metadata here, bytes in the image store.
type Image struct {
	ID         string `json:"id"`
	ProjectID  string `json:"owner"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	Visibility string `json:"visibility"`
	Protected  bool   `json:"protected"`
	DiskFormat string `json:"disk_format"`
	SizeBytes  int64  `json:"size"`
	Checksum   string `json:"checksum_sha256"`
	// ChecksumMD5 is Glance's legacy "checksum", recorded with the SHA-256.
	ChecksumMD5 string            `json:"checksum_md5" gorm:"column:checksum_md5"`
	MinDiskGB   int               `json:"min_disk" gorm:"column:min_disk_gb"`
	MinRAMMB    int               `json:"min_ram" gorm:"column:min_ram_mb"`
	Properties  map[string]string `json:"properties" gorm:"serializer:json"`
	Tags        []string          `json:"tags" gorm:"serializer:json"`
	// Progress is how much of a snapshot's data its host has uploaded
	// (percent) while the image is saving.
	Progress int `json:"progress"`
	// UploadSecretHash is the SHA-256 of the secret a snapshot's host
	// uploads with (empty for every other image).
	UploadSecretHash string `json:"-"`
	// VolumeSnapshotID is the volume snapshot a snapshot of a
	// volume-backed instance waits for (see its block_device_mapping).
	VolumeSnapshotID string    `json:"-"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// KernelID and RamdiskID name the parts of a three-part image.
func (im Image) KernelID() string  { return im.Properties["kernel_id"] }
func (im Image) RamdiskID() string { return im.Properties["ramdisk_id"] }

// ImageInput creates an image record (then its bytes are uploaded).
type ImageInput struct {
	Name       string            `json:"name"`
	Visibility string            `json:"visibility"`
	Protected  bool              `json:"protected"`
	DiskFormat string            `json:"disk_format"` // optional: detected from the bytes
	MinDiskGB  int               `json:"min_disk"`
	MinRAMMB   int               `json:"min_ram"`
	Properties map[string]string `json:"properties"`
	Members    []string          `json:"members"` // project IDs or names, for visibility "shared"
	Tags       []string          `json:"tags"`
}

// visibleImages limits an image query to what a project may see.
func visibleImages(q *gorm.DB, projectID string) *gorm.DB {
	return q.Where("images.status <> ?", ImageDeleted).
		Where("images.project_id = ? OR images.visibility = ? OR (images.visibility = ? AND images.id IN (SELECT image_id FROM image_members WHERE project_id = ?))",
			projectID, VisibilityPublic, VisibilityShared, projectID)
}

func (s *Store) validateImage(tx *gorm.DB, c Caller, in *ImageInput) error {
	p := Problems{}
	in.Name = strings.TrimSpace(in.Name)
	p.Name("name", in.Name, 255)
	if in.Visibility == "" {
		in.Visibility = VisibilityPrivate
	}
	switch in.Visibility {
	case VisibilityPrivate, VisibilityShared:
	case VisibilityPublic:
		if !c.IsSystemAdmin() {
			p.Add("visibility", "only operators may publish public images")
		}
	default:
		p.Add("visibility", "must be private, shared or public")
	}
	if in.DiskFormat != "" && !slices.Contains(DiskFormats(), in.DiskFormat) {
		p.Addf("disk_format", "must be one of %s", strings.Join(DiskFormats(), ", "))
	}
	if in.MinDiskGB < 0 || in.MinDiskGB > 65536 {
		p.Add("min_disk", "must be 0–65536 GB")
	}
	if in.MinRAMMB < 0 || in.MinRAMMB > 4<<20 {
		p.Add("min_ram", "must be 0–4194304 MB")
	}
	if len(in.Properties) > 128 {
		p.Add("properties", "at most 128 properties")
	}
	for k, v := range in.Properties {
		if k == "" || len(k) > 255 || len(v) > 1024 {
			p.Add("properties", "keys must be 1–255 characters and values at most 1024")
		}
	}
	for _, part := range []struct{ key, format string }{{"kernel_id", FormatAKI}, {"ramdisk_id", FormatARI}} {
		id := in.Properties[part.key]
		if id == "" {
			continue
		}
		var im Image
		err := visibleImages(tx.Model(&Image{}), c.ProjectID).Where("images.id = ?", id).Take(&im).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			p.Add(part.key, "no such image")
		case err != nil:
			return fmt.Errorf("check %s: %w", part.key, err)
		case im.DiskFormat != "" && im.DiskFormat != part.format:
			p.Addf(part.key, "must be an image of format %s, not %s", part.format, im.DiskFormat)
		}
	}
	checkTags(p, in.Tags)
	if len(in.Members) > 0 && in.Visibility != VisibilityShared {
		p.Add("members", "only shared images have members")
	}
	return p.Err()
}

// CreateImage records a new image in the caller's project, status queued.
func (s *Store) CreateImage(ctx context.Context, c Caller, in ImageInput) (Image, error) {
	var im Image
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.validateImage(tx, c, &in); err != nil {
			return err
		}
		if err := s.lockProject(tx, c.ProjectID); err != nil {
			return err
		}
		if err := s.checkQuota(tx, c.ProjectID, Usage{Images: 1}); err != nil {
			return err
		}
		now := s.now()
		props := in.Properties
		if props == nil {
			props = map[string]string{}
		}
		im = Image{ID: newID(), ProjectID: c.ProjectID, Name: in.Name, Status: ImageQueued, Visibility: in.Visibility,
			Protected: in.Protected, DiskFormat: in.DiskFormat, MinDiskGB: in.MinDiskGB, MinRAMMB: in.MinRAMMB,
			Properties: props, Tags: uniqueTags(in.Tags), CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&im).Error; err != nil {
			return fmt.Errorf("insert image: %w", err)
		}
		for _, m := range in.Members {
			pr, err := projectRef(tx, "members", m)
			if err != nil {
				return err
			}
			if err := tx.Exec("INSERT INTO image_members (image_id, project_id) VALUES (?, ?)", im.ID, pr.ID).Error; err != nil &&
				!errors.Is(err, gorm.ErrDuplicatedKey) {
				return fmt.Errorf("add image member: %w", err)
			}
		}
		return nil
	})
	return im, err
}

// ImageFilter narrows ListImages.
type ImageFilter struct {
	ListOptions
	Status     string
	Visibility string
	Tag        string // only images with this tag
	Owner      string // only images of this project (ID)
	All        bool   // operators: every project's images
	// MinDiskGB and MinRAMMB, when set, keep the images whose min_disk and
	// min_ram are exactly these (Nova's minDisk and minRam, which Glance
	// matches as it matches every image attribute: equal).
	MinDiskGB, MinRAMMB *int
	// Properties keeps the images with each of these properties, exactly
	// (Nova's server and type filters: a snapshot's instance_uuid and
	// image_type).
	Properties map[string]string
	// VolumeSource lists only the images a volume may be made from
	// (active, in a format written onto volumes: CreateVolume's rule).
	VolumeSource bool
}

// ListImages lists the images the caller may see, by name.
func (s *Store) ListImages(ctx context.Context, c Caller, f ImageFilter) (Page[Image], error) {
	q := s.db.WithContext(ctx).Model(&Image{})
	if f.All && c.IsSystemAdmin() {
		q = q.Where("images.status <> ?", ImageDeleted)
	} else {
		q = visibleImages(q, c.ProjectID)
	}
	if f.Status != "" {
		q = q.Where("images.status = ?", f.Status)
	}
	if f.Visibility != "" {
		q = q.Where("images.visibility = ?", f.Visibility)
	}
	if f.Owner != "" {
		q = q.Where("images.project_id = ?", f.Owner)
	}
	if f.VolumeSource {
		q = q.Where("images.status = ? AND images.disk_format IN ?", ImageActive, volumeImageFormats)
	}
	if f.MinDiskGB != nil {
		q = q.Where("images.min_disk_gb = ?", *f.MinDiskGB)
	}
	if f.MinRAMMB != nil {
		q = q.Where("images.min_ram_mb = ?", *f.MinRAMMB)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Properties)) {
		q = withProperty(q, k, f.Properties[k])
	}
	if f.Tag != "" {
		// Tags are a JSON array of strings: match the quoted element.
		tag, _ := json.Marshal(f.Tag)
		q = q.Where("images.tags LIKE ? ESCAPE '!'", "%"+likeEscape(string(tag))+"%")
	}
	p, err := pageByName(q, "images", f.ListOptions, func(im Image) string { return im.ID })
	if err != nil {
		return p, fmt.Errorf("list images: %w", err)
	}
	return p, nil
}

// withProperty keeps the images whose property key is value. Properties
// are stored as JSON with sorted keys and no spaces (encoding/json), so the
// pair written the same way is found exactly: a value or key that merely
// holds it is escaped or bounded differently. INSTR, unlike LIKE, is
// case-sensitive on SQLite as on MySQL's binary collation.
func withProperty(q *gorm.DB, key, value string) *gorm.DB {
	k, _ := json.Marshal(key)
	v, _ := json.Marshal(value)
	return q.Where("INSTR(images.properties, ?) > 0", string(k)+":"+string(v))
}

// GetImage finds an image the caller may see, by ID or (unique) name.
// By name, it looks only among the images visible to the caller's project.
func (s *Store) GetImage(ctx context.Context, c Caller, idOrName string) (Image, error) {
	return s.getImage(s.db.WithContext(ctx), c, idOrName)
}

func (s *Store) getImage(tx *gorm.DB, c Caller, idOrName string) (Image, error) {
	q := tx.Model(&Image{})
	if IsUUID(idOrName) {
		q = q.Where("images.id = ?", idOrName)
		// Operators, and the compute hosts' service accounts (system
		// readers) that fetch images to boot them, see every image by ID.
		if c.SystemRole.AtLeast(RoleReader) {
			q = q.Where("images.status <> ?", ImageDeleted)
		} else {
			q = visibleImages(q, c.ProjectID)
		}
	} else {
		q = visibleImages(q.Where("images.name = ?", idOrName), c.ProjectID)
	}
	return takeNamed[Image](q, "image", notFound("image %q not found", idOrName),
		conflict("several images are named %q: use the ID", idOrName))
}

// ImageRights are what a caller may do with an image: the one rule the
// image intents enforce (ownImage) and that pages follow to offer or hide
// each action. The project that owns an image may change, delete and (while
// it is queued) upload it; operators may do the same with any image; other
// projects may only use it.
type ImageRights struct {
	Own    bool // the caller's project owns it
	Change bool // edit, protect, publish, delete
	Upload bool // send its data (a queued image)
}

// RightsOf says what c may do with the image.
func (im Image) RightsOf(c Caller) ImageRights {
	own := im.ProjectID == c.ProjectID && c.ProjectID != ""
	change := own || c.IsSystemAdmin()
	return ImageRights{Own: own, Change: change, Upload: change && im.Status == ImageQueued}
}

// ownImage finds and locks an image the caller may change (RightsOf): a
// visible image the caller may not change is 403, any other 404.
func (s *Store) ownImage(tx *gorm.DB, c Caller, id string) (Image, error) {
	var im Image
	err := s.forUpdate(tx.Where("id = ? AND status <> ?", id, ImageDeleted)).Take(&im).Error // locked: the caller is about to change it
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return im, fmt.Errorf("get image: %w", err)
	}
	if err == nil && im.RightsOf(c).Change {
		return im, nil
	}
	if _, err := s.getImage(tx, c, id); err == nil {
		return Image{}, forbidden("only the project that owns image %q may change it", id)
	}
	return Image{}, notFound("image %q not found", id)
}

// ImageUpdate changes an image's metadata.
type ImageUpdate struct {
	Name       *string           `json:"name"`
	Visibility *string           `json:"visibility"`
	Protected  *bool             `json:"protected"`
	MinDiskGB  *int              `json:"min_disk"`
	MinRAMMB   *int              `json:"min_ram"`
	Properties map[string]string `json:"properties"` // merged; an empty value removes a key
	Tags       *[]string         `json:"tags"`       // the whole set, replaced
}

// UpdateImage applies an ImageUpdate.
func (s *Store) UpdateImage(ctx context.Context, c Caller, id string, up ImageUpdate) (Image, error) {
	var im Image
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if im, err = s.ownImage(tx, c, id); err != nil {
			return err
		}
		in := ImageInput{Name: im.Name, Visibility: im.Visibility, Protected: im.Protected, DiskFormat: im.DiskFormat,
			MinDiskGB: im.MinDiskGB, MinRAMMB: im.MinRAMMB, Properties: map[string]string{}}
		for k, v := range im.Properties {
			in.Properties[k] = v
		}
		if up.Name != nil {
			in.Name = *up.Name
		}
		if up.Visibility != nil {
			in.Visibility = *up.Visibility
		}
		if up.Protected != nil {
			in.Protected = *up.Protected
		}
		if up.MinDiskGB != nil {
			in.MinDiskGB = *up.MinDiskGB
		}
		if up.MinRAMMB != nil {
			in.MinRAMMB = *up.MinRAMMB
		}
		for k, v := range up.Properties {
			if v == "" {
				delete(in.Properties, k)
			} else {
				in.Properties[k] = v
			}
		}
		if up.Tags != nil {
			in.Tags = *up.Tags
		} else {
			in.Tags = im.Tags
		}
		if in.Visibility == VisibilityPublic && im.Visibility == VisibilityPublic {
			c.SystemRole = RoleAdmin // keeping a public image public is not publishing it
		}
		if err := s.validateImage(tx, c, &in); err != nil {
			return err
		}
		im.Name, im.Visibility, im.Protected, im.MinDiskGB, im.MinRAMMB, im.Properties, im.Tags =
			in.Name, in.Visibility, in.Protected, in.MinDiskGB, in.MinRAMMB, in.Properties, uniqueTags(in.Tags)
		im.UpdatedAt = s.now()
		if err := tx.Save(&im).Error; err != nil {
			return fmt.Errorf("update image: %w", err)
		}
		return nil
	})
	return im, err
}

// DeleteImage removes an image and its file. A protected image must be
// unprotected first.
func (s *Store) DeleteImage(ctx context.Context, c Caller, id string) error {
	var im Image
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if im, err = s.ownImage(tx, c, id); err != nil {
			return err
		}
		if im.Protected {
			return conflict("image %q is protected: unprotect it first", im.Name)
		}
		if im.Status == ImageSaving {
			return conflict("image %q is being uploaded", im.Name)
		}
		if err := tx.Model(&Image{}).Where("id = ?", im.ID).
			Updates(map[string]any{"status": ImageDeleted, "updated_at": s.now()}).Error; err != nil {
			return fmt.Errorf("delete image: %w", err)
		}
		return tx.Exec("DELETE FROM image_members WHERE image_id = ?", im.ID).Error
	})
	if err != nil {
		return err
	}
	return s.removeImageFile(im.ID)
}

// ImageByID reads an image for a worker (the scheduler's image filter, a
// host fetching it), whoever owns it.
func (s *Store) ImageByID(ctx context.Context, id string) (Image, error) {
	var im Image
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&im).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return im, notFound("image %q not found", id)
	}
	if err != nil {
		return im, fmt.Errorf("get image: %w", err)
	}
	return im, nil
}
