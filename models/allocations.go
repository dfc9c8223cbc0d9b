package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Allocation is an instance's claim on a host's resources.
type Allocation struct {
	InstanceID string
	HostID     string
	VCPUs      int `gorm:"column:vcpus"`
	RAMMB      int `gorm:"column:ram_mb"`
	DiskGB     int `gorm:"column:disk_gb"`
	CreatedAt  time.Time
}

// claimHost takes an instance's resources on a host, or fails with
// ErrConflict when they do not fit any more. The check and the increment
// are one UPDATE, so concurrent schedulers cannot overcommit: the database
// serialises them on the host's row.
func (s *Store) claimHost(tx *gorm.DB, hostID string, inst Instance) error {
	disk := inst.DiskGB + inst.EphemeralGB
	res := tx.Exec(`UPDATE hosts SET used_vcpus = used_vcpus + ?, used_ram_mb = used_ram_mb + ?,
			used_disk_gb = used_disk_gb + ?, instance_count = instance_count + 1, updated_at = ?
		WHERE id = ? AND enabled = ? AND up = ?
			AND used_vcpus + ? <= (vcpus - reserved_vcpus) * cpu_ratio
			AND used_ram_mb + ? <= (ram_mb - reserved_ram_mb) * ram_ratio
			AND used_disk_gb + ? <= (disk_gb - reserved_disk_gb) * disk_ratio`,
		inst.VCPUs, inst.RAMMB, disk, s.now(), hostID, true, true, inst.VCPUs, inst.RAMMB, disk)
	if res.Error != nil {
		return fmt.Errorf("claim host: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return conflict("the host has no room for the instance any more")
	}
	a := Allocation{InstanceID: inst.ID, HostID: hostID, VCPUs: inst.VCPUs, RAMMB: inst.RAMMB, DiskGB: disk, CreatedAt: s.now()}
	if err := tx.Create(&a).Error; err != nil {
		return fmt.Errorf("record allocation: %w", err)
	}
	return nil
}

// releaseAllocations gives back everything an instance holds.
func (s *Store) releaseAllocations(tx *gorm.DB, instanceID string) error {
	var allocs []Allocation
	if err := tx.Where("instance_id = ?", instanceID).Find(&allocs).Error; err != nil {
		return fmt.Errorf("read allocations: %w", err)
	}
	for _, a := range allocs {
		if err := tx.Exec(`UPDATE hosts SET used_vcpus = used_vcpus - ?, used_ram_mb = used_ram_mb - ?,
				used_disk_gb = used_disk_gb - ?, instance_count = instance_count - 1 WHERE id = ?`,
			a.VCPUs, a.RAMMB, a.DiskGB, a.HostID).Error; err != nil {
			return fmt.Errorf("release allocation: %w", err)
		}
	}
	if len(allocs) > 0 {
		if err := tx.Where("instance_id = ?", instanceID).Delete(&Allocation{}).Error; err != nil {
			return fmt.Errorf("delete allocations: %w", err)
		}
	}
	return nil
}
