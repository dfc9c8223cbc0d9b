package libvirt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	golibvirt "github.com/digitalocean/go-libvirt"

	"stratus/workers/qemuimg"
	"stratus/workers/virt"
)

var _ virt.Lifecycle = (*Driver)(nil)

// Pause stops a running domain's vCPUs (virDomainSuspend); a paused one is
// fine.
func (d *Driver) Pause(ctx context.Context, id string) error {
	dom, err := d.lookup(ctx, id)
	if err != nil {
		return err
	}
	st, err := d.state(ctx, dom)
	if err != nil || st == virt.Paused {
		return err
	}
	if st != virt.Running {
		return fmt.Errorf("cannot pause a domain that is %s", st)
	}
	if err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error { return l.DomainSuspend(dom) }); err != nil {
		return fmt.Errorf("pause domain: %w", err)
	}
	return nil
}

// Unpause runs a paused domain's vCPUs again; a running one is fine.
func (d *Driver) Unpause(ctx context.Context, id string) error {
	dom, err := d.lookup(ctx, id)
	if err != nil {
		return err
	}
	st, err := d.state(ctx, dom)
	if err != nil || st == virt.Running {
		return err
	}
	if st != virt.Paused {
		return fmt.Errorf("cannot unpause a domain that is %s", st)
	}
	if err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error { return l.DomainResume(dom) }); err != nil {
		return fmt.Errorf("unpause domain: %w", err)
	}
	return nil
}

// Suspend saves a running or paused domain's memory into libvirt's managed
// save file and stops it; starting the domain restores it, running. A
// domain already saved is fine.
func (d *Driver) Suspend(ctx context.Context, id string) error {
	dom, err := d.lookup(ctx, id)
	if err != nil {
		return err
	}
	st, err := d.state(ctx, dom)
	if err != nil || st == virt.Suspended {
		return err
	}
	if st != virt.Running && st != virt.Paused {
		return fmt.Errorf("cannot suspend a domain that is %s", st)
	}
	err = d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		return l.DomainManagedSave(dom, uint32(golibvirt.DomainSaveRunning))
	})
	if err != nil {
		return fmt.Errorf("managed save: %w", err)
	}
	return nil
}

// Resume restores a suspended domain from its managed save; a running one
// is fine.
func (d *Driver) Resume(ctx context.Context, id string) error {
	dom, err := d.lookup(ctx, id)
	if err != nil {
		return err
	}
	st, err := d.state(ctx, dom)
	if err != nil || st == virt.Running {
		return err
	}
	if st != virt.Suspended {
		return fmt.Errorf("cannot resume a domain that is %s (no saved memory)", st)
	}
	return d.create(ctx, dom)
}

// hasManagedSave reports whether a shut-off domain has saved memory (it
// is suspended, not stopped).
func (d *Driver) hasManagedSave(ctx context.Context, dom golibvirt.Domain) (bool, error) {
	var has int32
	err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		var err error
		has, err = l.DomainHasManagedSaveImage(dom, 0)
		return err
	})
	return has == 1, err
}

// SnapshotDisk copies the root disk (the qcow2 overlay and the cached
// image under it) into one stand-alone qcow2 file at dst. A running guest
// is paused for the copy: pausing drains and flushes qemu's block layer,
// so the file is consistent (Nova's cold snapshot, without saving the
// memory); it runs again as soon as the copy is made.
func (d *Driver) SnapshotDisk(ctx context.Context, id, dst string) error {
	dir, err := d.instanceDir(id)
	if err != nil {
		return err
	}
	disk := filepath.Join(dir, fileRootDisk)
	dom, err := d.lookup(ctx, id)
	if err != nil {
		return err
	}
	if _, err := os.Stat(disk); errors.Is(err, os.ErrNotExist) {
		return virt.ErrNoRootDisk
	}
	st, err := d.state(ctx, dom)
	if err != nil {
		return err
	}
	if st == virt.Running {
		if err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error { return l.DomainSuspend(dom) }); err != nil {
			return fmt.Errorf("pause for the snapshot: %w", err)
		}
		defer func() {
			rctx := context.WithoutCancel(ctx)
			if err := d.client.Call(rctx, func(l *golibvirt.Libvirt) error { return l.DomainResume(dom) }); err != nil {
				d.log.Warn("resume after the snapshot", "domain", dom.Name, "err", err)
			}
		}()
	}
	return CopyDisk(ctx, d.cfg.QemuImg, disk, dst)
}

// CopyDisk writes the qcow2 disk at src (its backing chain flattened) into
// one stand-alone qcow2 file at dst, through dst.part so that dst is
// complete when it exists: the copy a snapshot and a shelve make.
func CopyDisk(ctx context.Context, qemuImg, src, dst string) error {
	tmp := dst + ".part"
	defer os.Remove(tmp)
	// -U: qemu holds the image's lock while the domain exists; the paused
	// (or stopped) guest writes nothing meanwhile.
	if _, err := qemuimg.Tool(qemuImg).Run(ctx, "convert", "-q", "-U", "-f", "qcow2", "-O", "qcow2", src, tmp); err != nil {
		return fmt.Errorf("copy the root disk: %w", err)
	}
	return os.Rename(tmp, dst)
}
