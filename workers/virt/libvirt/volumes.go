package libvirt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stratus/workers/virt"
)

// Block storage volumes: a volume is a virtio disk whose <serial> is the
// volume ID (the guest's /dev/disk/by-id/virtio-<id[:20]>). Attach and
// detach change the running domain and its persistent definition, so a
// stopped instance has the change at its next start.

var _ virt.Volumes = (*Driver)(nil)

// volumeDisk is the libvirt disk of a volume: a file, or a network disk
// (RBD) with its monitors and cephx secret.
func volumeDisk(v virt.VolumeDisk) (libvirtxml.DomainDisk, error) {
	disk := libvirtxml.DomainDisk{
		Device: "disk",
		Target: &libvirtxml.DomainDiskTarget{Dev: v.Device, Bus: "virtio"},
		Serial: v.Serial,
	}
	switch v.Driver {
	case "file":
		format := v.Format
		if format == "" {
			format = "raw"
		}
		disk.Driver = &libvirtxml.DomainDiskDriver{Name: "qemu", Type: format}
		disk.Source = &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: v.Path}}
	case "rbd":
		net := &libvirtxml.DomainDiskSourceNetwork{Protocol: "rbd", Name: v.Name}
		for i, h := range v.Hosts {
			host := libvirtxml.DomainDiskSourceHost{Name: h}
			if i < len(v.Ports) {
				host.Port = v.Ports[i]
			}
			net.Hosts = append(net.Hosts, host)
		}
		if v.AuthUsername != "" {
			disk.Auth = &libvirtxml.DomainDiskAuth{Username: v.AuthUsername,
				Secret: &libvirtxml.DomainDiskSecret{Type: "ceph", UUID: v.SecretUUID}}
		}
		disk.Driver = &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"}
		disk.Source = &libvirtxml.DomainDiskSource{Network: net}
	default:
		return disk, fmt.Errorf("volume %s: unknown volume driver %q", v.Serial, v.Driver)
	}
	return disk, nil
}

// domainXML reads a domain's definition: the running one (live) or the
// persistent one.
func (d *Driver) domainXML(ctx context.Context, dom golibvirt.Domain, inactive bool) (*libvirtxml.Domain, error) {
	var flags golibvirt.DomainXMLFlags
	if inactive {
		flags = golibvirt.DomainXMLInactive
	}
	var x string
	err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		var err error
		x, err = l.DomainGetXMLDesc(dom, flags)
		return err
	})
	if golibvirt.IsNotFound(err) {
		return nil, virt.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read domain XML: %w", err)
	}
	var def libvirtxml.Domain
	if err := def.Unmarshal(x); err != nil {
		return nil, fmt.Errorf("parse domain XML: %w", err)
	}
	return &def, nil
}

// diskBySerial finds the disk with this serial in a definition.
func diskBySerial(def *libvirtxml.Domain, serial string) (libvirtxml.DomainDisk, bool) {
	if def == nil || def.Devices == nil {
		return libvirtxml.DomainDisk{}, false
	}
	for _, disk := range def.Devices.Disks {
		if disk.Serial == serial {
			return disk, true
		}
	}
	return libvirtxml.DomainDisk{}, false
}

// volumeState is where a volume's disk is: in the persistent definition,
// in the running domain, and whether the domain runs.
type volumeState struct {
	dom        golibvirt.Domain
	running    bool
	live, conf *libvirtxml.Domain
}

func (d *Driver) volumeState(ctx context.Context, id string) (volumeState, error) {
	var vs volumeState
	dom, err := d.lookup(ctx, id)
	if err != nil {
		return vs, err
	}
	vs.dom = dom
	st, err := d.state(ctx, dom)
	if err != nil {
		return vs, err
	}
	vs.running = st == virt.Running || st == virt.Paused
	if vs.conf, err = d.domainXML(ctx, dom, true); err != nil {
		return vs, err
	}
	if vs.running {
		if vs.live, err = d.domainXML(ctx, dom, false); err != nil {
			return vs, err
		}
	}
	return vs, nil
}

// AttachVolume adds the volume's disk to the persistent definition and,
// when the domain runs, to the running guest (PCI hotplug). Each part is
// skipped when already done, so a retried attach is harmless.
func (d *Driver) AttachVolume(ctx context.Context, id string, v virt.VolumeDisk) error {
	disk, err := volumeDisk(v)
	if err != nil {
		return err
	}
	x, err := disk.Marshal()
	if err != nil {
		return err
	}
	vs, err := d.volumeState(ctx, id)
	if err != nil {
		return err
	}
	var flags golibvirt.DomainDeviceModifyFlags
	if _, ok := diskBySerial(vs.conf, v.Serial); !ok {
		flags |= golibvirt.DomainDeviceModifyConfig
	}
	if _, ok := diskBySerial(vs.live, v.Serial); vs.running && !ok {
		flags |= golibvirt.DomainDeviceModifyLive
	}
	if flags == 0 {
		return nil
	}
	start := time.Now()
	err = d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		return l.DomainAttachDeviceFlags(vs.dom, x, uint32(flags))
	})
	if err != nil {
		return fmt.Errorf("attach volume %s: %w", v.Serial, err)
	}
	d.log.Info("volume attached", "instance", id, "volume", v.Serial, "device", v.Device, "live", vs.running,
		"duration_ms", time.Since(start).Milliseconds())
	return nil
}

// DetachVolume removes the volume's disk from the definition and asks the
// running guest to release it, then waits until qemu reports the device
// removed (libvirt drops it from the live definition when the guest's
// DEVICE_DELETED arrives). A guest that keeps the disk is ErrDetachTimeout;
// the disk then stays in the running domain, not in the definition.
func (d *Driver) DetachVolume(ctx context.Context, id, serial string, timeout time.Duration) error {
	vs, err := d.volumeState(ctx, id)
	if errors.Is(err, virt.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if disk, ok := diskBySerial(vs.conf, serial); ok {
		if err := d.detachDisk(ctx, vs.dom, disk, golibvirt.DomainDeviceModifyConfig); err != nil {
			return err
		}
	}
	disk, ok := diskBySerial(vs.live, serial)
	if !vs.running || !ok {
		return nil
	}
	start := time.Now()
	if err := d.detachDisk(ctx, vs.dom, disk, golibvirt.DomainDeviceModifyLive); err != nil {
		return err
	}
	if timeout <= 0 {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for {
		live, err := d.domainXML(ctx, vs.dom, false)
		if errors.Is(err, virt.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, still := diskBySerial(live, serial); !still {
			d.log.Info("volume detached", "instance", id, "volume", serial, "duration_ms", time.Since(start).Milliseconds())
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: the guest did not release volume %s within %s (is it mounted?)", virt.ErrDetachTimeout, serial, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (d *Driver) detachDisk(ctx context.Context, dom golibvirt.Domain, disk libvirtxml.DomainDisk, flags golibvirt.DomainDeviceModifyFlags) error {
	x, err := disk.Marshal()
	if err != nil {
		return err
	}
	err = d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		return l.DomainDetachDeviceFlags(dom, x, uint32(flags))
	})
	if err != nil && !isDeviceMissing(err) {
		return fmt.Errorf("detach volume %s: %w", disk.Serial, err)
	}
	return nil
}

// isDeviceMissing is libvirt's answer to detaching a device that is gone.
func isDeviceMissing(err error) bool {
	var le golibvirt.Error
	return errors.As(err, &le) && (le.Code == uint32(golibvirt.ErrDeviceMissing) ||
		strings.Contains(le.Message, "no target device") || strings.Contains(le.Message, "not found"))
}

// ExtendVolume grows an attached disk under the running guest (qemu
// resizes the image and the guest's virtio driver sees the new capacity).
func (d *Driver) ExtendVolume(ctx context.Context, id, serial string, sizeBytes int64) error {
	vs, err := d.volumeState(ctx, id)
	if err != nil {
		return err
	}
	disk, ok := diskBySerial(vs.live, serial)
	if !vs.running || !ok {
		return fmt.Errorf("volume %s is not attached to a running domain", serial)
	}
	err = d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		return l.DomainBlockResize(vs.dom, disk.Target.Dev, uint64(sizeBytes), golibvirt.DomainBlockResizeBytes)
	})
	if err != nil {
		return fmt.Errorf("block resize of volume %s: %w", serial, err)
	}
	return nil
}

// SnapshotVolume freezes an attached file volume's data and continues on
// the overlay: on a running domain with an external disk-only snapshot of
// that disk alone (libvirt creates the overlay and switches qemu to it;
// crash-consistent), on a stopped one by creating the overlay and pointing
// the definition at it.
func (d *Driver) SnapshotVolume(ctx context.Context, id, serial string, overlay virt.VolumeDisk) error {
	vs, err := d.volumeState(ctx, id)
	if err != nil {
		return err
	}
	def := vs.conf
	if vs.running {
		def = vs.live
	}
	disk, ok := diskBySerial(def, serial)
	if !ok {
		return fmt.Errorf("volume %s is not attached", serial)
	}
	if disk.Source != nil && disk.Source.File != nil && disk.Source.File.File == overlay.Path {
		return nil // done by an earlier attempt
	}
	if overlay.Driver != "file" || disk.Source == nil || disk.Source.File == nil {
		return fmt.Errorf("volume %s: only file volumes are snapshotted through the hypervisor", serial)
	}
	if !vs.running {
		base := disk.Source.File.File
		format := "raw"
		if disk.Driver != nil && disk.Driver.Type != "" {
			format = disk.Driver.Type
		}
		_ = os.Remove(overlay.Path)
		if _, err := d.qemuImg(ctx, "create", "-q", "-f", "qcow2", "-F", format, "-b", base, overlay.Path); err != nil {
			return err
		}
		overlay.Device = disk.Target.Dev
		nd, err := volumeDisk(overlay)
		if err != nil {
			return err
		}
		nd.Target = disk.Target
		x, err := nd.Marshal()
		if err != nil {
			return err
		}
		return d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
			return l.DomainUpdateDeviceFlags(vs.dom, x, golibvirt.DomainDeviceModifyConfig)
		})
	}
	snap := libvirtxml.DomainSnapshot{Name: "stratus-" + serial[:min(8, len(serial))] + "-" + fmt.Sprint(time.Now().UnixNano()),
		Disks: &libvirtxml.DomainSnapshotDisks{}}
	for _, dd := range def.Devices.Disks {
		if dd.Target == nil {
			continue
		}
		sd := libvirtxml.DomainSnapshotDisk{Name: dd.Target.Dev, Snapshot: "no"}
		if dd.Serial == serial {
			sd.Snapshot = "external"
			sd.Driver = &libvirtxml.DomainDiskDriver{Type: "qcow2"}
			sd.Source = &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: overlay.Path}}
		}
		snap.Disks.Disks = append(snap.Disks.Disks, sd)
	}
	x, err := snap.Marshal()
	if err != nil {
		return err
	}
	_ = os.Remove(overlay.Path) // a half-made overlay of an earlier attempt
	flags := golibvirt.DomainSnapshotCreateDiskOnly | golibvirt.DomainSnapshotCreateNoMetadata | golibvirt.DomainSnapshotCreateAtomic
	start := time.Now()
	err = d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		_, err := l.DomainSnapshotCreateXML(vs.dom, x, uint32(flags))
		return err
	})
	if err != nil {
		return fmt.Errorf("live snapshot of volume %s: %w", serial, err)
	}
	d.log.Info("volume snapshot taken live", "instance", id, "volume", serial, "overlay", overlay.Path,
		"duration_ms", time.Since(start).Milliseconds())
	return nil
}

// AttachedVolumes lists the serials of the disks that are volumes.
func (d *Driver) AttachedVolumes(ctx context.Context, id string) ([]string, error) {
	vs, err := d.volumeState(ctx, id)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, def := range []*libvirtxml.Domain{vs.conf, vs.live} {
		if def == nil || def.Devices == nil {
			continue
		}
		for _, disk := range def.Devices.Disks {
			if disk.Serial != "" && !seen[disk.Serial] {
				seen[disk.Serial] = true
				out = append(out, disk.Serial)
			}
		}
	}
	return out, nil
}
