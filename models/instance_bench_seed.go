package models

import (
	"context"
	"fmt"
	"time"
)

// SeedInstancesForBench writes n instances straight into the caller's
// project — no quota check, no jobs, no action log — for benchmarks and
// scale tests that need a big project quickly. They look like a real
// project's: mostly active, some stopped, building or in error, one second
// apart (newest last), with the given flavor's size and image's name.
// Never call it from a request path.
func (s *Store) SeedInstancesForBench(ctx context.Context, c Caller, n int, flavor Flavor, image Image) ([]Instance, error) {
	if c.ProjectID == "" {
		return nil, Invalid("project", "choose a project first")
	}
	base := s.now().Add(-time.Duration(n) * time.Second)
	out := make([]Instance, n)
	for i := range out {
		inst := Instance{ID: newID(), ProjectID: c.ProjectID, UserID: c.UserID, Name: fmt.Sprintf("bench-%05d", i),
			FlavorID: flavor.ID, FlavorName: flavor.Name, VCPUs: flavor.VCPUs, RAMMB: flavor.RAMMB, DiskGB: flavor.DiskGB,
			ImageID: image.ID, ImageName: image.Name, AvailabilityZone: "nova", Host: "bench-host",
			VMState: VMActive, PowerState: PowerRunning, CreatedAt: base.Add(time.Duration(i) * time.Second)}
		switch i % 10 {
		case 7:
			inst.VMState, inst.PowerState = VMStopped, PowerShutdown
		case 8:
			inst.VMState, inst.TaskState, inst.PowerState, inst.Host = VMBuilding, TaskSpawning, PowerNoState, "bench-host"
		case 9:
			inst.VMState, inst.PowerState, inst.FaultMessage = VMError, PowerNoState, "bench: injected fault"
		}
		if inst.VMState != VMBuilding {
			t := inst.CreatedAt
			inst.LaunchedAt = &t
		}
		inst.UpdatedAt = inst.CreatedAt
		out[i] = inst
	}
	if err := s.db.WithContext(ctx).CreateInBatches(out, 500).Error; err != nil {
		return nil, fmt.Errorf("seed instances: %w", err)
	}
	return out, nil
}
