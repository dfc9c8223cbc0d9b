package fake

import (
	"context"
	"fmt"
	"slices"
	"time"

	"stratus/workers/virt"
)

// The fake hypervisor keeps each domain's volumes in its spec, as a real
// domain keeps them in its definition: attach and detach work on running
// and stopped domains, a serial is attached once, and a guest can be made
// to hold a disk (HoldVolume) so that a detach times out.

// HoldVolume makes the guest refuse to release the disk with this serial
// (failure injection); ReleaseVolume lets it go.
func (d *Driver) HoldVolume(serial string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.held == nil {
		d.held = map[string]bool{}
	}
	d.held[serial] = true
}

// ReleaseVolume undoes HoldVolume.
func (d *Driver) ReleaseVolume(serial string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.held, serial)
}

// AttachVolume adds the disk; one already attached is fine.
func (d *Driver) AttachVolume(_ context.Context, id string, disk virt.VolumeDisk) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dom, ok := d.domains[id]
	if !ok {
		return virt.ErrNotFound
	}
	for _, v := range dom.spec.Volumes {
		if v.Serial == disk.Serial {
			return nil
		}
		if v.Device == disk.Device {
			return fmt.Errorf("fake hypervisor: target %s is already used", disk.Device)
		}
	}
	dom.spec.Volumes = append(dom.spec.Volumes, disk)
	return nil
}

// DetachVolume removes the disk, unless the guest holds it and the caller
// waits for the guest (a forced detach, timeout 0, always succeeds).
func (d *Driver) DetachVolume(ctx context.Context, id, serial string, timeout time.Duration) error {
	d.mu.Lock()
	dom, ok := d.domains[id]
	if !ok {
		d.mu.Unlock()
		return nil
	}
	if timeout > 0 && d.held[serial] && dom.state == virt.Running {
		d.mu.Unlock()
		select {
		case <-time.After(min(timeout, 50*time.Millisecond)):
		case <-ctx.Done():
			return ctx.Err()
		}
		return fmt.Errorf("%w (waited %s)", virt.ErrDetachTimeout, timeout)
	}
	defer d.mu.Unlock()
	dom.spec.Volumes = slices.DeleteFunc(dom.spec.Volumes, func(v virt.VolumeDisk) bool { return v.Serial == serial })
	return nil
}

// ExtendVolume checks the disk is attached and the domain runs.
func (d *Driver) ExtendVolume(_ context.Context, id, serial string, sizeBytes int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dom, ok := d.domains[id]
	if !ok {
		return virt.ErrNotFound
	}
	if dom.state != virt.Running {
		return fmt.Errorf("fake hypervisor: domain is %s: a block resize needs a running domain", dom.state)
	}
	for _, v := range dom.spec.Volumes {
		if v.Serial == serial {
			return nil
		}
	}
	return fmt.Errorf("fake hypervisor: no disk with serial %s", serial)
}

// SnapshotVolume switches the disk to the overlay.
func (d *Driver) SnapshotVolume(_ context.Context, id, serial string, overlay virt.VolumeDisk) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dom, ok := d.domains[id]
	if !ok {
		return virt.ErrNotFound
	}
	for i, v := range dom.spec.Volumes {
		if v.Serial == serial {
			overlay.Serial, overlay.Device, overlay.Boot = v.Serial, v.Device, v.Boot
			dom.spec.Volumes[i] = overlay
			return nil
		}
	}
	return fmt.Errorf("fake hypervisor: no disk with serial %s", serial)
}

// AttachedVolumes lists the domain's volume serials.
func (d *Driver) AttachedVolumes(_ context.Context, id string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dom, ok := d.domains[id]
	if !ok {
		return nil, virt.ErrNotFound
	}
	out := make([]string, 0, len(dom.spec.Volumes))
	for _, v := range dom.spec.Volumes {
		out = append(out, v.Serial)
	}
	return out, nil
}

// VolumeDisks returns a domain's volume disks (for tests).
func (d *Driver) VolumeDisks(id string) []virt.VolumeDisk {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dom, ok := d.domains[id]; ok {
		return slices.Clone(dom.spec.Volumes)
	}
	return nil
}
