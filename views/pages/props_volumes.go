package pages

import (
	"context"
	"fmt"
	"time"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/ui"
)

// VolumesProps is the project's volume list (or, for operators, every
// project's).
type VolumesProps struct {
	Rows      []models.Volume
	Instances map[string]string // instance ID → name, for the attachments column
	Projects  map[string]string // operators: project ID → name
	Filter    string
	Pager     ui.PagerLinks
	CanCreate bool
	Admin     bool
	CSRF      string
	Now       time.Time
	Polling   bool // a row is in transition: the results refresh themselves
	Here      string
}

// VolumeNewProps is the create form.
type VolumeNewProps struct {
	Form      ui.Form
	Images    []models.Image
	Snapshots []models.Snapshot
	Types     []models.VolumeType
	Quotas    []QuotaMeter
}

// VolumeDetailProps is one volume's page.
type VolumeDetailProps struct {
	Vol          models.Volume
	Instance     *models.Instance  // what it is attached to
	Attachable   []models.Instance // instances it may be attached to
	Snapshots    []models.Snapshot
	CanAct       bool
	CanDelete    bool
	CanSnapshot  bool
	CanDetach    bool // the instance's state lets the volume go (models.VolumeDetachAllowed)
	ForceDetach  bool // operators
	CSRF         string
	Here         string
	SnapshotForm ui.Form
}

// Polling reports whether the page refreshes itself: the volume or one
// of its snapshots is changing.
func (p VolumeDetailProps) Polling() bool {
	if p.Vol.Status.InTransition() {
		return true
	}
	for _, sn := range p.Snapshots {
		if sn.Status.InTransition() {
			return true
		}
	}
	return false
}

// InstanceVolumesProps is the volumes card of an instance's page.
type InstanceVolumesProps struct {
	InstanceID string
	Rows       []models.Volume
	Attachable []models.Volume // the project's available volumes
	CanAttach  bool            // policy, and models.VolumeAttachAllowed
	CanDetach  bool            // policy, and models.VolumeDetachAllowed
	CSRF       string
	Here       string
}

// InTransition reports whether a volume of the instance is changing.
func (p InstanceVolumesProps) InTransition() bool {
	for _, v := range p.Rows {
		if v.Status.InTransition() {
			return true
		}
	}
	return false
}

// SnapshotsProps is the project's snapshot list.
type SnapshotsProps struct {
	Rows      []models.Snapshot
	Volumes   map[string]string // volume ID → name
	Pager     ui.PagerLinks
	CanCreate bool // a volume from a snapshot
	CanDelete bool
	CSRF      string
	Now       time.Time
	Polling   bool
	Here      string
}

// AdminVolumesProps is the operator's storage page: backends with their
// capacity, volume types, and every project's volumes.
type AdminVolumesProps struct {
	Backends []models.VolumeBackend
	Types    []models.VolumeType
	Volumes  VolumesProps
	TypeForm ui.Form
	CSRF     string
}

// VolumeTone is a volume status's colour.
func VolumeTone(st models.VolumeStatus) ui.Tone {
	switch st {
	case models.VolumeAvailable:
		return ui.Green
	case models.VolumeInUse:
		return ui.Indigo
	case models.VolumeError:
		return ui.Red
	}
	return ui.Blue
}

// SnapshotTone is a snapshot status's colour.
func SnapshotTone(st models.SnapshotStatus) ui.Tone {
	switch st {
	case models.SnapshotAvailable:
		return ui.Green
	case models.SnapshotError:
		return ui.Red
	}
	return ui.Blue
}

// GB is a size in gigabytes.
func GB(n int) string { return fmt.Sprintf("%d GB", n) }

// BackendMeter is a backend's allocation against what it may provision.
func BackendMeter(ctx context.Context, b models.VolumeBackend) (string, int) {
	limit := int64(float64(b.CapacityGB) * b.OverSubscriptionRatio)
	pct := 0
	if limit > 0 {
		pct = int(b.AllocatedGB * 100 / limit)
	}
	return i18n.T(ctx, "%d of %d GB allocated · %d GB free on disk", b.AllocatedGB, limit, b.FreeGB), min(pct, 100)
}

// VolumeSource says what a volume was made from.
func VolumeSource(ctx context.Context, v models.Volume) string {
	switch {
	case v.SourceSnapshotID != "":
		return i18n.T(ctx, "snapshot %s", short(v.SourceSnapshotID))
	case v.SourceVolumeID != "":
		return i18n.T(ctx, "volume %s", short(v.SourceVolumeID))
	case v.SourceImageID != "":
		if n := v.ImageMeta["image_name"]; n != "" {
			return i18n.T(ctx, "image %s", n)
		}
		return i18n.T(ctx, "image %s", short(v.SourceImageID))
	}
	return i18n.T(ctx, "blank")
}
