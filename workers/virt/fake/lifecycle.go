package fake

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"slices"

	"stratus/workers/virt"
)

var _ virt.Lifecycle = (*Driver)(nil)

// FailNext makes the next n calls of op ("pause", "unpause", "suspend",
// "resume", "snapshot", "destroy") fail with msg, leaving the domain as it
// was, as a hypervisor that refuses does.
func (d *Driver) FailNext(op string, n int, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failOps == nil {
		d.failOps = map[string]failure{}
	}
	d.failOps[op] = failure{n: n, msg: msg}
}

type failure struct {
	n   int
	msg string
}

// transition moves a domain from one of the states in from to state to,
// refusing any other (libvirt's "domain is not running").
func (d *Driver) transition(op string, id string, from []virt.PowerState, to virt.PowerState, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dom, ok := d.domains[id]
	if !ok {
		return virt.ErrNotFound
	}
	if err := d.injected(op); err != nil {
		return err
	}
	if !slices.Contains(from, dom.state) {
		return fmt.Errorf("fake hypervisor: cannot %s a domain that is %s", op, dom.state)
	}
	dom.state = to
	d.emit(virt.Event{ID: id, State: to, Reason: reason})
	return nil
}

// injected consumes one injected failure of op. Called with mu held.
func (d *Driver) injected(op string) error {
	f, ok := d.failOps[op]
	if !ok || f.n <= 0 {
		return nil
	}
	f.n--
	d.failOps[op] = f
	return fmt.Errorf("fake hypervisor: %s", f.msg)
}

// Pause stops a running domain's vCPUs.
func (d *Driver) Pause(_ context.Context, id string) error {
	return d.transition("pause", id, []virt.PowerState{virt.Running}, virt.Paused, "paused")
}

// Unpause runs a paused domain again.
func (d *Driver) Unpause(_ context.Context, id string) error {
	return d.transition("unpause", id, []virt.PowerState{virt.Paused}, virt.Running, "resumed")
}

// Suspend saves a running or paused domain's memory (the fake keeps it
// where it is) and stops it.
func (d *Driver) Suspend(_ context.Context, id string) error {
	return d.transition("suspend", id, []virt.PowerState{virt.Running, virt.Paused}, virt.Suspended, "suspended: memory saved to disk")
}

// Resume restores a suspended domain; like a boot it takes BootDelay.
func (d *Driver) Resume(ctx context.Context, id string) error {
	if err := d.wait(ctx); err != nil {
		return err
	}
	return d.transition("resume", id, []virt.PowerState{virt.Suspended}, virt.Running, "resumed from saved memory")
}

// HoldNextSnapshot makes the next root-disk copy on this host wait, as a
// long copy would, until release is called (or the job's context ends):
// tests look at an instance while its disk is being copied.
func (d *Driver) HoldNextSnapshot() (release func()) { return d.holdNext(&d.holdSnapshot) }

// SnapshotDisk writes a small qcow2 file of the domain's root disk size
// (a header, no clusters) that names the domain it came from. A domain
// booted from a volume has no root disk of its own.
func (d *Driver) SnapshotDisk(ctx context.Context, id, dst string) error {
	d.mu.Lock()
	dom, ok := d.domains[id]
	var spec virt.InstanceSpec
	if ok {
		spec = dom.spec
	}
	err := d.injected("snapshot")
	d.mu.Unlock()
	switch {
	case !ok:
		return virt.ErrNotFound
	case err != nil:
		return err
	}
	for _, v := range spec.Volumes {
		if v.Boot {
			return virt.ErrNoRootDisk
		}
	}
	d.mu.Lock()
	hold := d.holdSnapshot
	d.holdSnapshot = nil
	d.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := d.wait(ctx); err != nil {
		return err
	}
	return os.WriteFile(dst, QCOW2Header(int64(spec.DiskGB)<<30, "fake snapshot of "+id), 0o644)
}

// QCOW2Header is a qcow2 (version 3) header of a disk of size bytes with
// no data and no backing file, followed by note: what the fake driver
// writes for a snapshot.
func QCOW2Header(size int64, note string) []byte {
	b := make([]byte, 512+len(note))
	copy(b, "QFI\xfb")
	be := binary.BigEndian
	be.PutUint32(b[4:], 3)             // version
	be.PutUint32(b[20:], 16)           // cluster_bits: 64 KiB
	be.PutUint64(b[24:], uint64(size)) // virtual size
	be.PutUint32(b[96:], 4)            // refcount_order
	be.PutUint32(b[100:], 104)         // header_length
	copy(b[512:], note)
	return b
}
