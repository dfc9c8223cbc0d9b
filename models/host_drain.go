package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Host-level moves: an operator drains a host for maintenance (live
// migrates every running instance away) or evacuates every instance of a
// dead host; the scheduler's opt-in auto-evacuation does the latter by
// itself for hosts that are fenced.

// HostDrain is what a host-level action started: the instances it moved
// and those it could not, with the reason.
type HostDrain struct {
	Started []string          `json:"started"`
	Refused map[string]string `json:"refused"`
}

// DrainHost live-migrates (ActionLiveMigrate) every ACTIVE instance of a
// host, or evacuates (ActionEvacuate) every instance of a host that is
// down, each through the same intent as one instance's action.
func (s *Store) DrainHost(ctx context.Context, c Caller, host, action string) (HostDrain, error) {
	out := HostDrain{Refused: map[string]string{}}
	if !c.IsSystemAdmin() {
		return out, forbidden("only operators may drain hosts")
	}
	if action != ActionLiveMigrate && action != ActionEvacuate {
		return out, Invalid("action", "must be live_migrate or evacuate")
	}
	h, err := s.GetHost(ctx, host)
	if err != nil {
		return out, err
	}
	if action == ActionEvacuate && h.Up {
		return out, conflict("host %s is up: evacuate only a host that is down (live-migrate its instances instead)", h.Name)
	}
	if action == ActionLiveMigrate && !h.Up {
		return out, conflict("host %s is down: evacuate it instead", h.Name)
	}
	ids, err := s.hostInstanceIDs(ctx, h.Name)
	if err != nil {
		return out, err
	}
	for _, id := range ids {
		if _, err := s.MoveInstance(ctx, c, id, action, MoveRequest{}); err != nil {
			var e *Error
			if errors.As(err, &e) {
				out.Refused[id] = e.Msg
				continue
			}
			return out, err
		}
		out.Started = append(out.Started, id)
	}
	return out, nil
}

func (s *Store) hostInstanceIDs(ctx context.Context, host string) ([]string, error) {
	var ids []string
	if err := s.db.WithContext(ctx).Model(&Instance{}).Where("host = ? AND vm_state IN ?", host,
		[]VMState{VMActive, VMStopped, VMError}).Order("created_at").Limit(recoveryBatch).Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("host instances: %w", err)
	}
	return ids, nil
}

// AutoEvacuate evacuates, as the system, the instances of every host that
// is fenced: down, disabled by an operator (who thereby says it will not
// come back running them), and silent for longer than after — never less
// than twice the service-down-time, so that a host that only missed a few
// heartbeats is never evacuated while it may still run its guests. It
// returns how many evacuations it started.
func (s *Store) AutoEvacuate(ctx context.Context, after, serviceDownTime time.Duration) (int, error) {
	after = max(after, 2*serviceDownTime)
	var hosts []string
	if err := s.db.WithContext(ctx).Model(&Host{}).Where("up = ? AND enabled = ? AND last_heartbeat < ?", false, false,
		s.now().Add(-after)).Pluck("name", &hosts).Error; err != nil {
		return 0, fmt.Errorf("fenced hosts: %w", err)
	}
	n := 0
	for _, host := range hosts {
		ids, err := s.hostInstanceIDs(ctx, host)
		if err != nil {
			return n, err
		}
		for _, id := range ids {
			err := s.tx(ctx, func(tx *gorm.DB) error {
				inst, err := s.lockInstance(tx, id)
				if errors.Is(err, ErrNotFound) {
					return nil
				} else if err != nil {
					return err
				}
				if inst.Host != host || inst.TaskState != TaskNone {
					return nil // moved or busy meanwhile (the next run looks again)
				}
				if err := s.startMove(tx, systemActor(), &inst, MigrationEvacuation, nil, "", false); err != nil {
					return err
				}
				n++
				return nil
			})
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}
