package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Moving an instance between hosts (Nova's migrations): resize and cold
// migration share one path (a resize also changes the flavor), live
// migration keeps the guest running, evacuation rebuilds the instance of a
// dead host elsewhere. Each move is a Migration row beside the instance:
//
//	resize/migration: pre-migrating (scheduler claims the destination)
//	  → migrating (destination prepares, source copies the stopped disks)
//	  → post-migrating (destination finishes: new flavor, grown disks)
//	  → finished (VERIFY_RESIZE) → confirmed, or reverting → reverted
//	live-migration: queued → preparing → running (memory copied, progress
//	  recorded) → post-migrating → completed
//	evacuation: accepted → rebuilding → done
//
// and error from any step. The instance's allocation on the source is
// held until the move is confirmed (or completed, for live moves and
// evacuations), the destination's from the scheduler's claim on; a revert
// or a failure gives the destination's back.

// MigrationType is what kind of move a migration is (Nova's names).
type MigrationType string

const (
	MigrationResize     MigrationType = "resize"
	MigrationCold       MigrationType = "migration"
	MigrationLive       MigrationType = "live-migration"
	MigrationEvacuation MigrationType = "evacuation"
)

// Migration statuses.
const (
	MigrationQueued        = "queued"
	MigrationPreMigrating  = "pre-migrating"
	MigrationPreparing     = "preparing"
	MigrationMigrating     = "migrating"
	MigrationRunning       = "running"
	MigrationPostMigrating = "post-migrating"
	MigrationFinished      = "finished"
	MigrationConfirmed     = "confirmed"
	MigrationReverting     = "reverting"
	MigrationReverted      = "reverted"
	MigrationCompleted     = "completed"
	MigrationAccepted      = "accepted"
	MigrationRebuilding    = "rebuilding"
	MigrationDone          = "done"
	MigrationError         = "error"
)

// migrationOpen are the statuses of a move still under way (its instance
// may have a domain on both hosts).
var migrationOpen = []string{MigrationQueued, MigrationPreMigrating, MigrationPreparing, MigrationMigrating,
	MigrationRunning, MigrationPostMigrating, MigrationFinished, MigrationReverting, MigrationAccepted, MigrationRebuilding}

// migrationPlugging are the statuses of a move whose destination has (or is
// about to have) the instance's domain while its ports are still bound to
// the source (Neutron's inactive binding on the destination, which Nova's
// pre_live_migration plugs): the destination's networking includes them,
// and the other hosts tunnel to it too. The binding itself moves when the
// guest runs on the destination (moveToHost).
var migrationPlugging = []string{MigrationPreparing, MigrationMigrating, MigrationRunning, MigrationPostMigrating}

// InstanceMigration is one move of an instance (Nova's Migration object;
// models.Migration is a schema step).
type InstanceMigration struct {
	ID             string        `json:"id"`
	InstanceID     string        `json:"instance_id"`
	ProjectID      string        `json:"project_id"`
	Type           MigrationType `json:"migration_type" gorm:"column:migration_type"`
	Status         string        `json:"status"`
	SourceCompute  string        `json:"source_compute"`
	DestCompute    string        `json:"dest_compute"`
	RequestedHost  string        `json:"requested_host,omitempty"`
	OldFlavorID    string        `json:"old_flavor_id"`
	OldFlavorName  string        `json:"old_flavor_name"`
	OldVCPUs       int           `json:"old_vcpus" gorm:"column:old_vcpus"`
	OldRAMMB       int           `json:"old_ram_mb" gorm:"column:old_ram_mb"`
	OldDiskGB      int           `json:"old_disk_gb" gorm:"column:old_disk_gb"`
	OldEphemeralGB int           `json:"old_ephemeral_gb" gorm:"column:old_ephemeral_gb"`
	NewFlavorID    string        `json:"new_flavor_id"`
	NewFlavorName  string        `json:"new_flavor_name"`
	// PowerOn says whether the instance runs when the move ends (it was
	// running when the move began).
	PowerOn        bool `json:"power_on"`
	BlockMigration bool `json:"block_migration"`
	// Target is what the destination's hypervisor prepared for the source
	// to migrate to (a driver's document, opaque here).
	Target               string    `json:"-"`
	MemoryTotalBytes     int64     `json:"memory_total_bytes"`
	MemoryProcessedBytes int64     `json:"memory_processed_bytes"`
	MemoryRemainingBytes int64     `json:"memory_remaining_bytes"`
	DiskTotalBytes       int64     `json:"disk_total_bytes"`
	DiskProcessedBytes   int64     `json:"disk_processed_bytes"`
	DiskRemainingBytes   int64     `json:"disk_remaining_bytes"`
	DowntimeMS           int64     `json:"downtime_ms" gorm:"column:downtime_ms"`
	ErrorMessage         string    `json:"error_message"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
}

// TableName is Nova's.
func (InstanceMigration) TableName() string { return "migrations" }

// Open reports whether the move is still under way.
func (m InstanceMigration) Open() bool {
	for _, st := range migrationOpen {
		if m.Status == st {
			return true
		}
	}
	return false
}

// OldSize is the instance as it was before a resize (for the source's
// domain and a revert).
func (m InstanceMigration) OldSize(i Instance) Instance {
	i.FlavorID, i.FlavorName, i.VCPUs, i.RAMMB, i.DiskGB, i.EphemeralGB =
		m.OldFlavorID, m.OldFlavorName, m.OldVCPUs, m.OldRAMMB, m.OldDiskGB, m.OldEphemeralGB
	return i
}

// MigrationByID reads a migration for a worker.
func (s *Store) MigrationByID(ctx context.Context, id string) (InstanceMigration, error) {
	var m InstanceMigration
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return m, notFound("migration %q not found", id)
	}
	if err != nil {
		return m, fmt.Errorf("get migration: %w", err)
	}
	return m, nil
}

func (s *Store) lockMigration(tx *gorm.DB, id string) (InstanceMigration, error) {
	var m InstanceMigration
	err := s.forUpdate(tx.Where("id = ?", id)).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return m, notFound("migration %q not found", id)
	}
	if err != nil {
		return m, fmt.Errorf("get migration: %w", err)
	}
	return m, nil
}

// MigrationFilter narrows ListMigrations.
type MigrationFilter struct {
	InstanceID  string
	AllProjects bool // operators: every project's
	Status      string
	Host        string // source or destination
}

// ListMigrations lists moves newest first, scoped to the caller's project
// (operators may ask for all).
func (s *Store) ListMigrations(ctx context.Context, c Caller, f MigrationFilter) ([]InstanceMigration, error) {
	q := s.db.WithContext(ctx).Model(&InstanceMigration{})
	if !(f.AllProjects && c.IsSystemAdmin()) {
		q = q.Where("project_id = ?", c.ProjectID)
	}
	if f.InstanceID != "" {
		q = q.Where("instance_id = ?", f.InstanceID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Host != "" {
		q = q.Where("source_compute = ? OR dest_compute = ?", f.Host, f.Host)
	}
	var out []InstanceMigration
	if err := q.Order("created_at DESC, id DESC").Limit(MaxPageSize).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	return out, nil
}

// LatestMigration is an instance's most recent move (ErrNotFound when it
// never moved), for its detail page.
func (s *Store) LatestMigration(ctx context.Context, c Caller, instanceID string) (InstanceMigration, error) {
	if _, err := s.GetInstance(ctx, c, instanceID); err != nil {
		return InstanceMigration{}, err
	}
	var m InstanceMigration
	err := s.db.WithContext(ctx).Where("instance_id = ?", instanceID).Order("created_at DESC, id DESC").Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return m, notFound("instance %s never moved", instanceID)
	}
	if err != nil {
		return m, fmt.Errorf("latest migration: %w", err)
	}
	return m, nil
}

// openMigration is the instance's move under way, if any.
func (s *Store) openMigration(tx *gorm.DB, instanceID string) (InstanceMigration, bool, error) {
	var ms []InstanceMigration
	if err := tx.Where("instance_id = ? AND status IN ?", instanceID, migrationOpen).Order("created_at DESC").
		Limit(1).Find(&ms).Error; err != nil {
		return InstanceMigration{}, false, fmt.Errorf("open migration: %w", err)
	}
	if len(ms) == 0 {
		return InstanceMigration{}, false, nil
	}
	return ms[0], true, nil
}

// MovingInstances lists the instances with a move under way that involves
// host as source or destination: a host's agent leaves their domains alone
// even when the instance's host is the other one.
func (s *Store) MovingInstances(ctx context.Context, host string) (map[string]bool, error) {
	var ids []string
	if err := s.db.WithContext(ctx).Model(&InstanceMigration{}).
		Where("status IN ? AND (source_compute = ? OR dest_compute = ?)", migrationOpen, host, host).
		Pluck("instance_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("moving instances: %w", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// setMigration updates a migration's columns.
func (s *Store) setMigration(tx *gorm.DB, id string, set map[string]any) error {
	set["updated_at"] = s.now()
	if err := tx.Model(&InstanceMigration{}).Where("id = ?", id).Updates(set).Error; err != nil {
		return fmt.Errorf("update migration: %w", err)
	}
	return nil
}

// releaseHostAllocation gives back what an instance holds on one host.
func (s *Store) releaseHostAllocation(tx *gorm.DB, instanceID, host string) error {
	var allocs []Allocation
	if err := tx.Raw(`SELECT a.* FROM allocations a JOIN hosts h ON h.id = a.host_id WHERE a.instance_id = ? AND h.name = ?`,
		instanceID, host).Scan(&allocs).Error; err != nil {
		return fmt.Errorf("read allocation: %w", err)
	}
	for _, a := range allocs {
		if err := tx.Exec(`UPDATE hosts SET used_vcpus = used_vcpus - ?, used_ram_mb = used_ram_mb - ?,
				used_disk_gb = used_disk_gb - ?, instance_count = instance_count - 1 WHERE id = ?`,
			a.VCPUs, a.RAMMB, a.DiskGB, a.HostID).Error; err != nil {
			return fmt.Errorf("release allocation: %w", err)
		}
		if err := tx.Where("instance_id = ? AND host_id = ?", instanceID, a.HostID).Delete(&Allocation{}).Error; err != nil {
			return fmt.Errorf("delete allocation: %w", err)
		}
	}
	return nil
}

// moveToHost switches an instance to its new host in tx: the instance row,
// its volume attachments and its bound ports follow.
func (s *Store) moveToHost(tx *gorm.DB, inst Instance, host string, set map[string]any) error {
	set["host"], set["updated_at"] = host, s.now()
	if err := tx.Model(&Instance{}).Where("id = ?", inst.ID).Updates(set).Error; err != nil {
		return fmt.Errorf("move instance: %w", err)
	}
	if err := tx.Model(&VolumeAttachment{}).Where("instance_id = ? AND host <> ''", inst.ID).
		Update("host", host).Error; err != nil {
		return fmt.Errorf("move volume attachments: %w", err)
	}
	// The ports' binding follows (Neutron's binding:host_id); they are DOWN
	// until the new host's agent has plugged them.
	res := tx.Model(&Port{}).Where("device_id = ? AND binding_host_id <> '' AND binding_host_id <> ?", inst.ID, host).
		Updates(map[string]any{"binding_host_id": host, "status": PortDown, "updated_at": s.now()})
	if res.Error != nil {
		return fmt.Errorf("move ports: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		return bumpNetworkRevision(tx)
	}
	return nil
}

// movedNetworking tells the agents that a move's destination gained or lost
// the instance's ports (a move began or ended without the binding
// changing): their next network poll applies it. Nothing for an instance
// without ports.
func movedNetworking(tx *gorm.DB, instanceID string) error {
	var n int64
	if err := tx.Model(&Port{}).Where("device_id = ?", instanceID).Count(&n).Error; err != nil {
		return fmt.Errorf("moving ports: %w", err)
	}
	if n == 0 {
		return nil
	}
	return bumpNetworkRevision(tx)
}

// restingState is the vm_state an instance rests in after a move: active
// when it runs, stopped when not.
func restingState(powerOn bool) VMState {
	if powerOn {
		return VMActive
	}
	return VMStopped
}
