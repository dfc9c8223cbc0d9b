package models

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
)

// VolumeBackend is a storage backend and the volume service that owns it
// (cinder-volume's host@backend). The service reports capacity and free
// space with each heartbeat; AllocatedGB is what the volume scheduler has
// placed on it.
type VolumeBackend struct {
	ID                    string    `json:"id"`
	Name                  string    `json:"name"`
	Driver                string    `json:"driver"`
	AvailabilityZone      string    `json:"availability_zone"`
	CapacityGB            int64     `json:"capacity_gb" gorm:"column:capacity_gb"`
	FreeGB                int64     `json:"free_gb" gorm:"column:free_gb"`
	AllocatedGB           int64     `json:"allocated_gb" gorm:"column:allocated_gb"`
	OverSubscriptionRatio float64   `json:"max_over_subscription_ratio" gorm:"column:over_subscription_ratio"`
	Enabled               bool      `json:"enabled"`
	LastHeartbeat         time.Time `json:"last_heartbeat"`
	CreatedAt             time.Time `json:"created_at"`
	UpdatedAt             time.Time `json:"updated_at"`

	Up bool `json:"up" gorm:"-"` // heard from within VolumeServiceDownTime
}

// VolumeServiceDownTime is how long a silent volume service is still
// considered up. Its heartbeat is every 10 s.
const VolumeServiceDownTime = 60 * time.Second

// ProvisionableGB is what the scheduler may still place on the backend.
func (b VolumeBackend) ProvisionableGB() int64 {
	return int64(math.Floor(float64(b.CapacityGB)*b.OverSubscriptionRatio)) - b.AllocatedGB
}

// VolumeTarget is the job queue target of a backend's volume service.
// Compute host names never contain a slash, so it cannot name a host.
func VolumeTarget(backend string) string { return "volume/" + backend }

// VolumeBackendReport is what a volume service says about its backend.
type VolumeBackendReport struct {
	Name                  string
	Driver                string
	AvailabilityZone      string
	CapacityGB            int64
	FreeGB                int64
	OverSubscriptionRatio float64
}

// RegisterVolumeBackend records a backend (creating it the first time)
// with its capacity, and marks it alive. The operator's enabled flag and
// the scheduler's allocation survive.
func (s *Store) RegisterVolumeBackend(ctx context.Context, r VolumeBackendReport) (VolumeBackend, error) {
	p := Problems{}
	if r.Name == "" || len(r.Name) > 64 || strings.ContainsAny(r.Name, " /") {
		p.Add("backend", "must be 1–64 characters without spaces or slashes")
	}
	if r.Driver == "" {
		p.Add("driver", "is required")
	}
	if r.CapacityGB < 0 || r.FreeGB < 0 {
		p.Add("capacity", "must not be negative")
	}
	if err := p.Err(); err != nil {
		return VolumeBackend{}, err
	}
	if r.AvailabilityZone == "" {
		r.AvailabilityZone = "nova"
	}
	if r.OverSubscriptionRatio <= 0 {
		r.OverSubscriptionRatio = 1
	}
	now := s.now()
	cols := map[string]any{"driver": r.Driver, "availability_zone": r.AvailabilityZone, "capacity_gb": r.CapacityGB,
		"free_gb": r.FreeGB, "over_subscription_ratio": r.OverSubscriptionRatio, "last_heartbeat": now, "updated_at": now}
	var b VolumeBackend
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&VolumeBackend{}).Where("name = ?", r.Name).Updates(cols)
		if res.Error != nil {
			return fmt.Errorf("update volume backend: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			nb := VolumeBackend{ID: newID(), Name: r.Name, Driver: r.Driver, AvailabilityZone: r.AvailabilityZone,
				CapacityGB: r.CapacityGB, FreeGB: r.FreeGB, OverSubscriptionRatio: r.OverSubscriptionRatio,
				Enabled: true, LastHeartbeat: now, CreatedAt: now, UpdatedAt: now}
			if err := tx.Create(&nb).Error; err != nil && !errors.Is(err, gorm.ErrDuplicatedKey) {
				return fmt.Errorf("insert volume backend: %w", err)
			}
		}
		return tx.Where("name = ?", r.Name).Take(&b).Error
	})
	b.Up = true
	return b, err
}

// ListVolumeBackends lists the backends by name (operators).
func (s *Store) ListVolumeBackends(ctx context.Context, o ListOptions) (Page[VolumeBackend], error) {
	p, err := pageByName(s.db.WithContext(ctx).Model(&VolumeBackend{}), "volume_backends", o,
		func(b VolumeBackend) string { return b.ID })
	if err != nil {
		return p, fmt.Errorf("list volume backends: %w", err)
	}
	cutoff := s.now().Add(-VolumeServiceDownTime)
	for i := range p.Items {
		p.Items[i].Up = p.Items[i].LastHeartbeat.After(cutoff)
	}
	return p, nil
}

// SetVolumeBackendEnabled takes a backend out of (or back into) the
// volume scheduler's choice; its volumes keep working.
func (s *Store) SetVolumeBackendEnabled(ctx context.Context, c Caller, name string, enabled bool) (VolumeBackend, error) {
	res := s.db.WithContext(ctx).Model(&VolumeBackend{}).Where("name = ?", name).
		Updates(map[string]any{"enabled": enabled, "updated_at": s.now()})
	if res.Error != nil {
		return VolumeBackend{}, fmt.Errorf("update volume backend: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return VolumeBackend{}, notFound("volume backend %q not found", name)
	}
	b, err := takeRef[VolumeBackend](s.db.WithContext(ctx).Where("name = ?", name), "volume backend", name)
	if err != nil {
		return b, err
	}
	b.Up = b.LastHeartbeat.After(s.now().Add(-VolumeServiceDownTime))
	return b, nil
}

// placeVolume is the volume scheduler: among the enabled, live backends
// the type allows (and in the zone asked for), it claims size GB on the one
// with the most room, with a conditional UPDATE so concurrent creates
// never overcommit a backend. The refusal says what removed each backend.
func (s *Store) placeVolume(tx *gorm.DB, t VolumeType, az string, sizeGB int) (string, error) {
	var all []VolumeBackend
	if err := tx.Order("name").Find(&all).Error; err != nil {
		return "", fmt.Errorf("read volume backends: %w", err)
	}
	cutoff := s.now().Add(-VolumeServiceDownTime)
	var fit []VolumeBackend
	removed := map[string]int{}
	for _, b := range all {
		switch {
		case t.Backend != "" && b.Name != t.Backend:
			continue // not this type's: not worth mentioning
		case !b.Enabled:
			removed["disabled"]++
		case !b.LastHeartbeat.After(cutoff):
			removed["its volume service is down"]++
		case az != "" && b.AvailabilityZone != az:
			removed["in another availability zone"]++
		case b.ProvisionableGB() < int64(sizeGB):
			removed[fmt.Sprintf("without %d GB free", sizeGB)]++
		default:
			fit = append(fit, b)
		}
	}
	sort.SliceStable(fit, func(i, j int) bool { return fit[i].ProvisionableGB() > fit[j].ProvisionableGB() })
	for _, b := range fit {
		ok, err := s.claimBackend(tx, b.Name, sizeGB)
		if err != nil {
			return "", err
		}
		if ok {
			return b.Name, nil
		}
		removed[fmt.Sprintf("without %d GB free", sizeGB)]++
	}
	return "", noValidBackend(t, removed)
}

func noValidBackend(t VolumeType, removed map[string]int) error {
	n := 0
	var why []string
	for reason, k := range removed {
		n += k
		why = append(why, fmt.Sprintf("%d %s", k, reason))
	}
	sort.Strings(why)
	scope := "backends"
	if t.Backend != "" {
		scope = fmt.Sprintf("backends named %q (volume type %s)", t.Backend, t.Name)
	}
	if n == 0 {
		return fmt.Errorf("no valid backend was found: there are no %s", scope)
	}
	return fmt.Errorf("no valid backend was found: %d %s — %s", n, scope, strings.Join(why, ", "))
}

// claimBackend adds sizeGB to a backend's allocation unless that would
// exceed what it may provision.
func (s *Store) claimBackend(tx *gorm.DB, backend string, sizeGB int) (bool, error) {
	res := tx.Exec(`UPDATE volume_backends SET allocated_gb = allocated_gb + ?
		WHERE name = ? AND allocated_gb + ? <= FLOOR(capacity_gb * over_subscription_ratio)`, sizeGB, backend, sizeGB)
	if res.Error != nil {
		return false, fmt.Errorf("claim backend capacity: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// releaseBackend gives sizeGB of a backend's allocation back.
func (s *Store) releaseBackend(tx *gorm.DB, backend string, sizeGB int) error {
	if backend == "" || sizeGB == 0 {
		return nil
	}
	err := tx.Exec(`UPDATE volume_backends SET allocated_gb = CASE WHEN allocated_gb > ? THEN allocated_gb - ? ELSE 0 END
		WHERE name = ?`, sizeGB, sizeGB, backend).Error
	if err != nil {
		return fmt.Errorf("release backend capacity: %w", err)
	}
	return nil
}
