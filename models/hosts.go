package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Host is a hypervisor host: what it has (inventory), what it keeps back
// (reserved), how far it may be overcommitted (ratios), and what is claimed
// on it (used_*). Capacity of a resource = (total − reserved) × ratio.
type Host struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	AvailabilityZone string `json:"availability_zone"`
	Driver           string `json:"driver"`
	HypervisorType   string `json:"hypervisor_type"`
	Arch             string `json:"arch"`
	Address          string `json:"address"`
	TunnelAddress    string `json:"tunnel_address"` // where its VXLAN tunnels end
	// ExternalInterface is the provider interface or bridge external
	// networks are on ('' = the host carries no routers).
	ExternalInterface string    `json:"external_interface"`
	VCPUs             int       `json:"vcpus" gorm:"column:vcpus"`
	RAMMB             int64     `json:"ram_mb" gorm:"column:ram_mb"`
	DiskGB            int64     `json:"disk_gb" gorm:"column:disk_gb"`
	ReservedVCPUs     int       `json:"reserved_vcpus" gorm:"column:reserved_vcpus"`
	ReservedRAMMB     int64     `json:"reserved_ram_mb" gorm:"column:reserved_ram_mb"`
	ReservedDiskGB    int64     `json:"reserved_disk_gb" gorm:"column:reserved_disk_gb"`
	CPURatio          float64   `json:"cpu_allocation_ratio" gorm:"column:cpu_ratio"`
	RAMRatio          float64   `json:"ram_allocation_ratio" gorm:"column:ram_ratio"`
	DiskRatio         float64   `json:"disk_allocation_ratio" gorm:"column:disk_ratio"`
	UsedVCPUs         int       `json:"used_vcpus" gorm:"column:used_vcpus"`
	UsedRAMMB         int64     `json:"used_ram_mb" gorm:"column:used_ram_mb"`
	UsedDiskGB        int64     `json:"used_disk_gb" gorm:"column:used_disk_gb"`
	InstanceCount     int       `json:"instance_count"`
	FailedBuilds      int       `json:"failed_builds"`
	Enabled           bool      `json:"enabled"`
	DisabledReason    string    `json:"disabled_reason"`
	Up                bool      `json:"up"`
	LastHeartbeat     time.Time `json:"last_heartbeat"`
	AgentID           string    `json:"-"` // the agent process running the host (see RegisterHost)
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// Capacity is what the scheduler may place on the host in all.
func (h Host) CapacityVCPUs() float64 { return float64(h.VCPUs-h.ReservedVCPUs) * h.CPURatio }
func (h Host) CapacityRAMMB() float64 { return float64(h.RAMMB-h.ReservedRAMMB) * h.RAMRatio }
func (h Host) CapacityDiskGB() float64 {
	return float64(h.DiskGB-h.ReservedDiskGB) * h.DiskRatio
}

// FreeVCPUs, FreeRAMMB and FreeDiskGB are what is left to claim.
func (h Host) FreeVCPUs() float64  { return h.CapacityVCPUs() - float64(h.UsedVCPUs) }
func (h Host) FreeRAMMB() float64  { return h.CapacityRAMMB() - float64(h.UsedRAMMB) }
func (h Host) FreeDiskGB() float64 { return h.CapacityDiskGB() - float64(h.UsedDiskGB) }

// HostInventory is what a compute agent reports about its host when it
// starts.
type HostInventory struct {
	Name             string
	AvailabilityZone string
	Driver           string
	HypervisorType   string
	Arch             string
	Address          string
	TunnelAddress    string // VXLAN underlay address; "" = no tunnels to this host
	// ExternalInterface is --external-interface: a host with one carries
	// routers (and adopts those without a live host when it registers).
	ExternalInterface string
	VCPUs             int
	RAMMB             int64
	DiskGB            int64
	ReservedVCPUs     int
	ReservedRAMMB     int64
	ReservedDiskGB    int64
	CPURatio          float64
	RAMRatio          float64
	DiskRatio         float64
	// AgentID names the agent process (its job pool's lease owner). An
	// agent registering with a new ID supersedes the host's previous agent
	// (see TakeOverHost); "" leaves the host's agent as it is.
	AgentID string
}

// ErrAgentSuperseded means another agent process registered the host since
// this one did: this one must stop, as two agents for one host would fight
// over its domains.
var ErrAgentSuperseded = fmt.Errorf("%w: another agent process took over this host", ErrConflict)

// RegisterHost records a host's inventory (creating it the first time) and
// marks it up. Operator choices — enabled, disabled reason — survive a
// restart of the agent.
func (s *Store) RegisterHost(ctx context.Context, inv HostInventory) (Host, error) {
	p := Problems{}
	p.Name("name", inv.Name, 255)
	if strings.ContainsAny(inv.Name, " /") {
		p.Add("name", "must not contain spaces or slashes")
	}
	if inv.VCPUs < 1 || inv.RAMMB < 1 || inv.DiskGB < 0 {
		p.Add("inventory", "a host needs at least one vCPU and some RAM")
	}
	if inv.CPURatio <= 0 || inv.RAMRatio <= 0 || inv.DiskRatio <= 0 {
		p.Add("allocation_ratio", "allocation ratios must be positive")
	}
	if err := p.Err(); err != nil {
		return Host{}, err
	}
	if inv.AvailabilityZone == "" {
		inv.AvailabilityZone = "nova"
	}
	now := s.now()
	var h Host
	inventory := map[string]any{
		"availability_zone": inv.AvailabilityZone, "driver": inv.Driver, "hypervisor_type": inv.HypervisorType,
		"arch": inv.Arch, "address": inv.Address, "tunnel_address": inv.TunnelAddress, "external_interface": inv.ExternalInterface, "vcpus": inv.VCPUs, "ram_mb": inv.RAMMB, "disk_gb": inv.DiskGB,
		"reserved_vcpus": inv.ReservedVCPUs, "reserved_ram_mb": inv.ReservedRAMMB, "reserved_disk_gb": inv.ReservedDiskGB,
		"cpu_ratio": inv.CPURatio, "ram_ratio": inv.RAMRatio, "disk_ratio": inv.DiskRatio,
		"up": true, "last_heartbeat": now, "updated_at": now,
	}
	if inv.AgentID != "" {
		if len(inv.AgentID) > 128 {
			return Host{}, Invalid("agent_id", "must be at most 128 characters")
		}
		inventory["agent_id"] = inv.AgentID
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		// Only the agent's own columns change: the operator's (enabled,
		// reason) and the scheduler's (used_*, counted by concurrent
		// claims) must never be written back from a stale read.
		res := tx.Model(&Host{}).Where("name = ?", inv.Name).Updates(inventory)
		if res.Error != nil {
			return fmt.Errorf("update host: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			h = Host{ID: newID(), Name: inv.Name, Enabled: true, CreatedAt: now}
			if err := tx.Create(&h).Error; err != nil && !errors.Is(err, gorm.ErrDuplicatedKey) {
				return fmt.Errorf("insert host: %w", err)
			}
			if err := tx.Model(&Host{}).Where("name = ?", inv.Name).Updates(inventory).Error; err != nil {
				return fmt.Errorf("update host: %w", err)
			}
		}
		if inv.ExternalInterface != "" {
			if err := s.adoptRouters(tx, inv.Name); err != nil {
				return err
			}
		}
		return tx.Where("name = ?", inv.Name).Take(&h).Error
	})
	return h, err
}

// HostHeartbeat says the host's agent is alive. agentID is the agent's
// (RegisterHost): ErrAgentSuperseded when another agent has registered the
// host since.
func (s *Store) HostHeartbeat(ctx context.Context, name, agentID string) error {
	now := s.now()
	res := s.db.WithContext(ctx).Model(&Host{}).Where("name = ? AND agent_id = ?", name, agentID).
		Updates(map[string]any{"last_heartbeat": now, "up": true})
	if res.Error != nil {
		return fmt.Errorf("heartbeat: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&Host{}).Where("name = ?", name).Count(&n).Error; err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	if n == 0 {
		return notFound("host %q is not registered", name)
	}
	return ErrAgentSuperseded
}

// TakeOverHost is a restarted agent taking back its host's work at start:
// every job of the host that is running under another lease — held by the
// agent processes that ran the host before this one (agentID), which the
// registration superseded — becomes available again at once, its attempt
// counted as a rescue counts it, rather than after its lease expires. It
// returns how many
// jobs it took back, or ErrAgentSuperseded if yet another agent registered
// the host meanwhile.
func (s *Store) TakeOverHost(ctx context.Context, name, agentID string) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		h, err := takeRef[Host](s.forUpdate(tx.Where("name = ?", name)), "host", name)
		if err != nil {
			return err
		}
		if h.AgentID != agentID {
			return ErrAgentSuperseded
		}
		now := s.now()
		res := tx.Exec("UPDATE jobs SET "+
			"state = CASE WHEN attempt >= max_attempts THEN ? ELSE ? END, "+
			"finished_at = CASE WHEN attempt >= max_attempts THEN ? ELSE NULL END, "+
			"run_after = ?, last_error = ?, lease_owner = '', lease_expires_at = NULL "+
			"WHERE state = ? AND target_host = ? AND lease_owner <> ?",
			string(JobFailed), string(JobAvailable), now, now, AgentRestartedError, string(JobRunning), name, agentID)
		if res.Error != nil {
			return fmt.Errorf("take back the host's jobs: %w", res.Error)
		}
		n = res.RowsAffected
		return nil
	})
	return n, err
}

// AgentRestartedError is the last_error of a job taken back from a
// superseded agent process of its host.
const AgentRestartedError = "its host's agent restarted: taken back from the previous process"

// MarkHostsDown marks hosts whose agent has not reported for downTime as
// down (the scheduler stops placing on them). It returns their names.
func (s *Store) MarkHostsDown(ctx context.Context, downTime time.Duration) ([]string, error) {
	cutoff := s.now().Add(-downTime)
	var names []string
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&Host{}).Where("up = ? AND last_heartbeat < ?", true, cutoff).Pluck("name", &names).Error; err != nil {
			return err
		}
		if len(names) == 0 {
			return nil
		}
		return tx.Model(&Host{}).Where("name IN ? AND last_heartbeat < ?", names, cutoff).Update("up", false).Error
	})
	if err != nil {
		return nil, fmt.Errorf("mark hosts down: %w", err)
	}
	return names, nil
}

// ListHosts lists every host by name (operators).
func (s *Store) ListHosts(ctx context.Context) ([]Host, error) {
	var out []Host
	if err := s.db.WithContext(ctx).Order("name").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	return out, nil
}

// GetHost finds a host by ID or name.
func (s *Store) GetHost(ctx context.Context, idOrName string) (Host, error) {
	return takeRef[Host](byRef(s.db.WithContext(ctx), "hosts", idOrName), "host", idOrName)
}

// SetHostEnabled enables or disables a host for scheduling; a reason is
// required to disable (Nova's disabled_reason), so the next operator knows
// why.
func (s *Store) SetHostEnabled(ctx context.Context, c Caller, idOrName string, enabled bool, reason string) (Host, error) {
	h, err := s.GetHost(ctx, idOrName)
	if err != nil {
		return h, err
	}
	reason = strings.TrimSpace(reason)
	if !enabled && reason == "" {
		return h, Invalid("reason", "say why the host is disabled")
	}
	if pr := textProblem(reason, 255); pr.Text != "" {
		return h, invalidProblem("reason", pr)
	}
	if enabled {
		reason = ""
	}
	h.Enabled, h.DisabledReason, h.UpdatedAt = enabled, reason, s.now()
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&Host{}).Where("id = ?", h.ID).
			Updates(map[string]any{"enabled": enabled, "disabled_reason": reason, "updated_at": h.UpdatedAt}).Error; err != nil {
			return fmt.Errorf("update host: %w", err)
		}
		detail := "enabled"
		if !enabled {
			detail = "disabled: " + reason
		}
		return s.audit(tx, c, AuditHostUpdate, OutcomeSuccess, "host", h.ID, h.Name, detail)
	})
	return h, err
}
