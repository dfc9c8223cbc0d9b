package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// SnapshotStatus is where a snapshot is: creating → available → deleting,
// or error with a message.
type SnapshotStatus string

const (
	SnapshotCreating  SnapshotStatus = "creating"
	SnapshotAvailable SnapshotStatus = "available"
	SnapshotDeleting  SnapshotStatus = "deleting"
	SnapshotError     SnapshotStatus = "error"
)

// InTransition reports whether a snapshot is changing.
func (st SnapshotStatus) InTransition() bool {
	return st == SnapshotCreating || st == SnapshotDeleting
}

// Snapshot is a volume's data frozen at one moment. A new volume can be
// made from it; it lives on its volume's backend.
type Snapshot struct {
	ID               string         `json:"id"`
	ProjectID        string         `json:"project_id"`
	UserID           string         `json:"user_id"`
	VolumeID         string         `json:"volume_id"`
	Name             string         `json:"name"`
	Description      string         `json:"description"`
	SizeGB           int            `json:"size_gb" gorm:"column:size_gb"`
	Status           SnapshotStatus `json:"status"`
	Backend          string         `json:"-"`
	ProviderLocation string         `json:"-"` // the backend's name for the data
	FaultMessage     string         `json:"fault_message"`
	CreatedAt        time.Time      `json:"created_at"`
	UpdatedAt        time.Time      `json:"updated_at"`
}

func (Snapshot) TableName() string { return "volume_snapshots" }

// DisplayName is the name, or the ID when the snapshot has none.
func (sn Snapshot) DisplayName() string {
	if sn.Name != "" {
		return sn.Name
	}
	return sn.ID
}

// SnapshotCreate asks for a snapshot. Force allows one of an in-use volume
// (crash-consistent, as if the guest lost power).
type SnapshotCreate struct {
	VolumeID    string `json:"volume_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Force       bool   `json:"force"`
}

// SnapshotFilter narrows ListSnapshots.
type SnapshotFilter struct {
	ListOptions
	VolumeID    string
	Status      SnapshotStatus
	AllProjects bool
}

// ListSnapshots lists the project's snapshots, newest first.
func (s *Store) ListSnapshots(ctx context.Context, c Caller, f SnapshotFilter) (Page[Snapshot], error) {
	q := s.db.WithContext(ctx).Model(&Snapshot{})
	if !(f.AllProjects && c.IsSystemAdmin()) {
		q = q.Where("project_id = ?", c.ProjectID)
	}
	if f.VolumeID != "" {
		q = q.Where("volume_id = ?", f.VolumeID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	q = nameFilter(q, "volume_snapshots", f.ListOptions)
	p, err := pageNewestFirst(q, "volume_snapshots", f.ListOptions, func(sn Snapshot) string { return sn.ID })
	if err != nil {
		return p, fmt.Errorf("list snapshots: %w", err)
	}
	return p, nil
}

// GetSnapshot finds one of the project's snapshots by ID or name.
func (s *Store) GetSnapshot(ctx context.Context, c Caller, ref string) (Snapshot, error) {
	return s.getSnapshot(s.db.WithContext(ctx), c, ref)
}

func (s *Store) getSnapshot(db *gorm.DB, c Caller, ref string) (Snapshot, error) {
	q := db.Model(&Snapshot{})
	if IsUUID(ref) {
		q = q.Where("id = ?", ref)
		if !c.IsSystemAdmin() {
			q = q.Where("project_id = ?", c.ProjectID)
		}
	} else {
		q = q.Where("project_id = ? AND name = ?", c.ProjectID, ref)
		return takeNamed[Snapshot](q, "snapshot", notFound("snapshot %q not found", ref),
			conflict("several snapshots are named %q: use the ID", ref))
	}
	return takeRef[Snapshot](q, "snapshot", ref)
}

// SnapshotByID reads a snapshot for a worker.
func (s *Store) SnapshotByID(ctx context.Context, id string) (Snapshot, error) {
	return takeRef[Snapshot](s.db.WithContext(ctx).Where("id = ?", id), "snapshot", id)
}

// CreateSnapshot snapshots a volume: available, or in-use with force. The
// volume keeps its status; while the snapshot is creating, the volume
// refuses other changes (attach, detach, extend, delete).
func (s *Store) CreateSnapshot(ctx context.Context, c Caller, in SnapshotCreate) (Snapshot, error) {
	in.Name, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	p := Problems{}
	p.Text("name", in.Name, 255)
	p.Text("description", in.Description, 255)
	if in.VolumeID == "" {
		p.Add("volume_id", "choose a volume")
	}
	if err := p.Err(); err != nil {
		return Snapshot{}, err
	}
	var snap Snapshot
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockProject(tx, c.ProjectID); err != nil {
			return err
		}
		v, err := s.lockVolume(tx, c, in.VolumeID)
		if errors.Is(err, ErrNotFound) {
			return Invalid("volume_id", "no such volume")
		}
		if err != nil {
			return err
		}
		snap, err = s.takeSnapshot(tx, c, v, in)
		return err
	})
	return snap, err
}

// takeSnapshot records a snapshot of the locked volume v and enqueues its
// job, under the snapshots and gigabytes quota. Call it with the volume's
// project locked.
func (s *Store) takeSnapshot(tx *gorm.DB, c Caller, v Volume, in SnapshotCreate) (Snapshot, error) {
	switch {
	case v.Status == VolumeInUse && !in.Force:
		return Snapshot{}, conflict("volume %s is in use: detach it first, or give force to take a crash-consistent snapshot", v.DisplayName())
	case v.Status != VolumeAvailable && v.Status != VolumeInUse:
		return Snapshot{}, conflict("volume %s is %s: only an available or in-use volume can be snapshotted", v.DisplayName(), v.Status)
	}
	if err := s.checkNoSnapshotInProgress(tx, v); err != nil {
		return Snapshot{}, err
	}
	if err := s.checkQuota(tx, v.ProjectID, Usage{Snapshots: 1, Gigabytes: int64(v.SizeGB)}); err != nil {
		return Snapshot{}, err
	}
	now := s.now()
	snap := Snapshot{ID: newID(), ProjectID: v.ProjectID, UserID: c.UserID, VolumeID: v.ID, Name: in.Name,
		Description: in.Description, SizeGB: v.SizeGB, Status: SnapshotCreating, Backend: v.Backend,
		CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&snap).Error; err != nil {
		return Snapshot{}, fmt.Errorf("insert snapshot: %w", err)
	}
	_, err := s.enqueue(tx, CreateSnapshot{SnapshotID: snap.ID},
		JobOptions{TargetHost: VolumeTarget(v.Backend), ResourceType: "snapshot", ResourceID: snap.ID})
	return snap, err
}

// checkNoSnapshotInProgress refuses a change to a volume while one of its
// snapshots is being taken or deleted: both may rewrite its data chain.
func (s *Store) checkNoSnapshotInProgress(tx *gorm.DB, v Volume) error {
	var n int64
	if err := tx.Model(&Snapshot{}).Where("volume_id = ? AND status IN ?", v.ID,
		[]SnapshotStatus{SnapshotCreating, SnapshotDeleting}).Count(&n).Error; err != nil {
		return fmt.Errorf("count snapshots in progress: %w", err)
	}
	if n > 0 {
		return conflict("a snapshot of volume %s is being taken or deleted: wait until it finishes", v.DisplayName())
	}
	return nil
}

// UpdateSnapshot renames a snapshot or changes its description.
func (s *Store) UpdateSnapshot(ctx context.Context, c Caller, ref string, name, description *string) (Snapshot, error) {
	p := Problems{}
	upd := map[string]any{"updated_at": s.now()}
	if name != nil {
		*name = strings.TrimSpace(*name)
		p.Text("name", *name, 255)
		upd["name"] = *name
	}
	if description != nil {
		p.Text("description", *description, 255)
		upd["description"] = *description
	}
	if err := p.Err(); err != nil {
		return Snapshot{}, err
	}
	snap, err := s.GetSnapshot(ctx, c, ref)
	if err != nil {
		return snap, err
	}
	if err := s.db.WithContext(ctx).Model(&Snapshot{}).Where("id = ?", snap.ID).Updates(upd).Error; err != nil {
		return snap, fmt.Errorf("update snapshot: %w", err)
	}
	return s.GetSnapshot(ctx, c, snap.ID)
}

// DeleteSnapshot deletes a snapshot (available or error). Volumes made
// from it keep their data: the backend copies what they still need.
func (s *Store) DeleteSnapshot(ctx context.Context, c Caller, ref string) (Snapshot, error) {
	var snap Snapshot
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if snap, err = s.getSnapshot(s.forUpdate(tx), c, ref); err != nil {
			return err
		}
		switch snap.Status {
		case SnapshotDeleting:
			return nil
		case SnapshotAvailable, SnapshotError:
		default:
			return conflict("snapshot %s is %s: wait until it finishes", snap.DisplayName(), snap.Status)
		}
		var busy int64
		if err := tx.Model(&Volume{}).Where("source_snapshot_id = ? AND status = ?", snap.ID, VolumeCreating).
			Count(&busy).Error; err != nil {
			return fmt.Errorf("count volumes being made from the snapshot: %w", err)
		}
		if busy > 0 {
			return conflict("a volume is being created from snapshot %s: wait until it is", snap.DisplayName())
		}
		if snap.ProviderLocation == "" {
			// Nothing was written on the backend.
			snap.Status = SnapshotDeleting
			return tx.Where("id = ?", snap.ID).Delete(&Snapshot{}).Error
		}
		res := tx.Model(&Snapshot{}).Where("id = ? AND status = ?", snap.ID, snap.Status).
			Updates(map[string]any{"status": SnapshotDeleting, "updated_at": s.now()})
		if res.Error != nil {
			return fmt.Errorf("set snapshot status: %w", res.Error)
		}
		snap.Status = SnapshotDeleting
		_, err = s.enqueue(tx, DeleteSnapshot{SnapshotID: snap.ID},
			JobOptions{TargetHost: VolumeTarget(snap.Backend), ResourceType: "snapshot", ResourceID: snap.ID})
		return err
	})
	return snap, err
}
