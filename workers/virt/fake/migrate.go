package fake

import (
	"context"
	"fmt"
	"sync"

	"stratus/workers/virt"
)

var _ virt.Migrations = (*Driver)(nil)

// FailNextMigrations makes the next n migrations from this host fail with
// msg (failure injection): a live one leaves the guest running here, as
// libvirt does.
func (d *Driver) FailNextMigrations(n int, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failMigrations, d.failMigrationMsg = n, msg
}

// HoldNextMigration makes the next migration from this host wait, as a
// long copy would, until release is called (or the job's context ends):
// tests look at both hosts while a move is under way.
func (d *Driver) HoldNextMigration() (release func()) { return d.holdNext(&d.holdMigration) }

// holdNext sets *slot to a channel the next operation that takes it waits
// on, and returns what closes it (once).
func (d *Driver) holdNext(slot *chan struct{}) (release func()) {
	ch := make(chan struct{})
	d.mu.Lock()
	*slot = ch
	d.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// PrepareIncoming reserves the incoming domain (paused, as libvirt's waits
// for the stream), refusing one that does not fit this host.
func (d *Driver) PrepareIncoming(_ context.Context, spec virt.InstanceSpec) (virt.MigrationTarget, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.domains[spec.ID]; !ok {
		if err := d.fits(spec, nil); err != nil {
			return virt.MigrationTarget{}, err
		}
		d.domains[spec.ID] = &domain{spec: spec, state: virt.Paused}
	}
	return virt.MigrationTarget{URI: "fake:///incoming", Disks: []string{"vda"}}, nil
}

// Migrate sends a domain away: a live one stops existing here; a cold one
// must be stopped first and stays defined here for a revert.
func (d *Driver) Migrate(ctx context.Context, id string, _ virt.MigrationTarget, opts virt.MigrateOptions) (virt.MigrationStats, error) {
	d.mu.Lock()
	if hold := d.holdMigration; hold != nil {
		d.holdMigration = nil
		d.mu.Unlock()
		select {
		case <-hold:
		case <-ctx.Done():
			return virt.MigrationStats{}, ctx.Err()
		}
		d.mu.Lock()
	}
	dom, ok := d.domains[id]
	if !ok {
		d.mu.Unlock()
		return virt.MigrationStats{}, virt.ErrNotFound
	}
	if d.failMigrations > 0 {
		d.failMigrations--
		msg := d.failMigrationMsg
		d.mu.Unlock()
		return virt.MigrationStats{}, fmt.Errorf("fake hypervisor: migration failed: %s", msg)
	}
	if !opts.Live && dom.state == virt.Running {
		d.mu.Unlock()
		return virt.MigrationStats{}, fmt.Errorf("fake hypervisor: a cold migration needs the domain stopped")
	}
	mem := int64(dom.spec.RAMMB) << 20
	disk := int64(0)
	if opts.CopyDisks {
		disk = int64(dom.spec.DiskGB+dom.spec.EphemeralGB) << 30
	}
	st := virt.MigrationStats{MemoryTotal: mem, MemoryProcessed: mem, DiskTotal: disk, DiskProcessed: disk}
	if opts.Live {
		delete(d.domains, id)
		d.emit(virt.Event{ID: id, State: virt.Shutdown, Reason: "migrated"})
	}
	d.mu.Unlock()
	if opts.Progress != nil {
		opts.Progress(st)
	}
	return st, nil
}

// FinishIncoming gives the arrived domain its new size and power state.
func (d *Driver) FinishIncoming(ctx context.Context, spec virt.InstanceSpec, _, powerOn bool) error {
	if powerOn {
		if err := d.wait(ctx); err != nil {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	dom, ok := d.domains[spec.ID]
	if !ok {
		return virt.ErrNotFound
	}
	if err := d.fits(spec, dom); err != nil {
		return err
	}
	dom.spec, dom.state = spec, virt.Shutdown
	if powerOn {
		dom.state = virt.Running
	}
	d.emit(virt.Event{ID: spec.ID, State: dom.state, Reason: "migration finished"})
	return nil
}

// CleanupSource forgets what a live migration left (nothing in memory).
func (d *Driver) CleanupSource(context.Context, string, bool) error { return nil }

// fits checks spec fits the host's free RAM and disk, not counting the
// domain it replaces. Called with mu held.
func (d *Driver) fits(spec virt.InstanceSpec, replaces *domain) error {
	var ram, disk int64
	for _, dom := range d.domains {
		if dom == replaces {
			continue
		}
		ram += int64(dom.spec.RAMMB)
		disk += int64(dom.spec.DiskGB + dom.spec.EphemeralGB)
	}
	if ram+int64(spec.RAMMB) > d.cfg.RAMMB {
		return fmt.Errorf("fake hypervisor: out of memory: %d MB free, %d MB asked", d.cfg.RAMMB-ram, spec.RAMMB)
	}
	if disk+int64(spec.DiskGB+spec.EphemeralGB) > d.cfg.DiskGB {
		return fmt.Errorf("fake hypervisor: out of disk: %d GB free", d.cfg.DiskGB-disk)
	}
	return nil
}
