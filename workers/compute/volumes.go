package compute

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"stratus/models"
	"stratus/workers"
	"stratus/workers/virt"
)

// The agent's part of block storage: it attaches and detaches volumes
// through the hypervisor, grows attached ones under the guest, takes the
// live part of a snapshot of an attached file volume, and at start makes
// the hypervisor's disks match the database's attachments.

// volumes is the driver's block storage part; a driver without one cannot
// attach volumes, which is a terminal error for the job.
func (a *Agent) volumes() (virt.Volumes, error) {
	v, ok := a.cfg.Driver.(virt.Volumes)
	if !ok {
		return nil, workers.Terminalf("the %s hypervisor driver cannot attach volumes", a.cfg.Driver.Name())
	}
	return v, nil
}

// volumeDisk is the disk the driver attaches for an attachment.
func volumeDisk(att models.VolumeAttachment, v models.Volume) (virt.VolumeDisk, error) {
	if v.Connection == nil {
		return virt.VolumeDisk{}, fmt.Errorf("volume %s has no data yet (status %s)", v.ID, v.Status)
	}
	return diskOf(*v.Connection, att.Serial(), att.Device, att.BootIndex == 0), nil
}

func diskOf(c models.VolumeConnection, serial, device string, boot bool) virt.VolumeDisk {
	return virt.VolumeDisk{Serial: serial, Device: device, Driver: c.Driver, Path: c.Path, Format: c.Format,
		Name: c.Name, Hosts: c.Hosts, Ports: c.Ports, AuthUsername: c.AuthUsername, SecretUUID: c.SecretUUID, Boot: boot}
}

// attachVolume runs a volume.attach job.
func (a *Agent) attachVolume(ctx context.Context, job *models.Job, args models.AttachVolume) error {
	store := a.cfg.Store
	v, err := store.VolumeByID(ctx, args.VolumeID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	att, ok := attachmentOf(v, args.InstanceID)
	if !ok || att.Status != models.AttachmentAttaching || att.Host != a.cfg.Host {
		return nil // undone meanwhile, or a job run twice
	}
	drv, err := a.volumes()
	if err == nil {
		var disk virt.VolumeDisk
		if disk, err = volumeDisk(att, v); err == nil {
			err = drv.AttachVolume(ctx, args.InstanceID, disk)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var term *workers.TerminalError
		if errors.As(err, &term) || errors.Is(err, virt.ErrNotFound) || job.Attempt >= job.MaxAttempts {
			a.log.Warn("attach volume failed", "instance", args.InstanceID, "volume", v.ID, "err", err)
			return store.FailAttach(ctx, v.ID, args.InstanceID, err.Error())
		}
		return err
	}
	return store.FinishAttach(ctx, v.ID, args.InstanceID)
}

func attachmentOf(v models.Volume, instanceID string) (models.VolumeAttachment, bool) {
	for _, att := range v.Attachments {
		if att.InstanceID == instanceID {
			return att, true
		}
	}
	return models.VolumeAttachment{}, false
}

// detachVolume runs a volume.detach job: it waits for the guest to release
// the disk (DetachTimeout), unless forced.
func (a *Agent) detachVolume(ctx context.Context, job *models.Job, args models.DetachVolume) error {
	store := a.cfg.Store
	drv, err := a.volumes()
	if err != nil {
		return err
	}
	if args.Cleanup {
		// The database forgot the attachment already (a forced detach):
		// remove the disk, without waiting for the guest.
		err := drv.DetachVolume(ctx, args.InstanceID, args.VolumeID, 0)
		if errors.Is(err, virt.ErrNotFound) {
			return nil
		}
		return err
	}
	v, err := store.VolumeByID(ctx, args.VolumeID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	att, ok := attachmentOf(v, args.InstanceID)
	if !ok || att.Status != models.AttachmentDetaching {
		return nil
	}
	timeout := a.cfg.DetachTimeout
	if args.Force {
		timeout = 0
	}
	err = drv.DetachVolume(ctx, args.InstanceID, v.ID, timeout)
	switch {
	case err == nil || errors.Is(err, virt.ErrNotFound):
		return store.FinishDetach(ctx, v.ID, args.InstanceID)
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, virt.ErrDetachTimeout) || job.Attempt >= job.MaxAttempts:
		a.log.Warn("detach volume failed", "instance", args.InstanceID, "volume", v.ID, "err", err)
		return store.FailDetach(ctx, v.ID, args.InstanceID, err.Error())
	}
	return err
}

// extendVolumeLive runs a volume.extend_live job: the guest sees the new
// size.
func (a *Agent) extendVolumeLive(ctx context.Context, job *models.Job, args models.ExtendVolumeLive) error {
	store := a.cfg.Store
	v, err := store.VolumeByID(ctx, args.VolumeID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if v.Status != models.VolumeExtending {
		return nil
	}
	drv, err := a.volumes()
	if err == nil {
		err = drv.ExtendVolume(ctx, args.InstanceID, v.ID, int64(args.NewSizeGB)<<30)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var term *workers.TerminalError
		if errors.As(err, &term) || job.Attempt >= job.MaxAttempts {
			a.log.Warn("extend volume failed", "instance", args.InstanceID, "volume", v.ID, "err", err)
			return store.FailExtend(ctx, v.ID, args.OldSizeGB, err.Error())
		}
		return err
	}
	return store.FinishLiveExtend(ctx, v.ID)
}

// snapshotVolumeLive runs a volume.snapshot_live job: the volume's disk
// continues on the overlay, and what it had becomes the snapshot.
func (a *Agent) snapshotVolumeLive(ctx context.Context, job *models.Job, args models.SnapshotVolumeLive) error {
	store := a.cfg.Store
	snap, err := store.SnapshotByID(ctx, args.SnapshotID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if snap.Status != models.SnapshotCreating {
		return nil
	}
	drv, err := a.volumes()
	if err == nil {
		err = drv.SnapshotVolume(ctx, args.InstanceID, args.VolumeID, diskOf(args.Overlay, args.VolumeID, "", false))
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var term *workers.TerminalError
		if errors.As(err, &term) || job.Attempt >= job.MaxAttempts {
			a.log.Warn("live volume snapshot failed", "instance", args.InstanceID, "volume", args.VolumeID, "snapshot", snap.ID, "err", err)
			return store.FailSnapshot(ctx, snap.ID, err.Error())
		}
		return err
	}
	return store.FinishSnapshot(ctx, snap.ID, args.Frozen, &args.Overlay)
}

// instanceVolumes adds an instance's volumes to its spec (a build, or a
// hard reboot that redefines the domain). A boot volume still being
// created makes the build wait.
func (a *Agent) instanceVolumes(ctx context.Context, spec *virt.InstanceSpec) error {
	vols, err := a.cfg.Store.InstanceVolumeDisks(ctx, spec.ID)
	if err != nil {
		return err
	}
	for _, av := range vols {
		if av.Volume.Status == models.VolumeError {
			return fmt.Errorf("volume %s is in error: %s", av.Volume.ID, av.Volume.FaultMessage)
		}
		if av.Volume.Connection == nil {
			return errVolumeNotReady
		}
		if av.Attachment.Status == models.AttachmentAttaching || av.Attachment.Status == models.AttachmentDetaching {
			continue // its own job adds or removes it
		}
		disk, err := volumeDisk(av.Attachment, av.Volume)
		if err != nil {
			return err
		}
		spec.Volumes = append(spec.Volumes, disk)
	}
	return nil
}

// errVolumeNotReady: a boot volume is still being written.
var errVolumeNotReady = errors.New("the boot volume is still being created")

// bootVolume is the instance's root volume, if any.
func bootVolume(spec virt.InstanceSpec) (virt.VolumeDisk, bool) {
	i := slices.IndexFunc(spec.Volumes, func(v virt.VolumeDisk) bool { return v.Boot })
	if i < 0 {
		return virt.VolumeDisk{}, false
	}
	return spec.Volumes[i], true
}

// ReconcileVolumes makes every domain's volumes match the database: an
// attachment the domain lacks is attached again, a volume disk no
// attachment explains is detached (without waiting for the guest). Disks
// of attachments in flight are left to their jobs.
func (a *Agent) ReconcileVolumes(ctx context.Context) error {
	drv, ok := a.cfg.Driver.(virt.Volumes)
	if !ok {
		return nil
	}
	atts, err := a.cfg.Store.HostVolumeAttachments(ctx, a.cfg.Host)
	if err != nil {
		return err
	}
	want := map[string]map[string]models.VolumeAttachment{} // instance → serial → attachment
	for _, att := range atts {
		if want[att.InstanceID] == nil {
			want[att.InstanceID] = map[string]models.VolumeAttachment{}
		}
		want[att.InstanceID][att.Serial()] = att
	}
	doms, err := a.cfg.Driver.List(ctx)
	if err != nil {
		return fmt.Errorf("list domains: %w", err)
	}
	for _, d := range doms {
		have, err := drv.AttachedVolumes(ctx, d.ID)
		if errors.Is(err, virt.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		for _, serial := range have {
			if _, ok := want[d.ID][serial]; ok {
				continue
			}
			a.log.Warn("detaching a volume disk no attachment explains", "instance", d.ID, "volume", serial)
			if err := drv.DetachVolume(ctx, d.ID, serial, 0); err != nil {
				a.log.Warn("reconcile: detach", "instance", d.ID, "volume", serial, "err", err)
			}
		}
		for serial, att := range want[d.ID] {
			if att.Status != models.AttachmentAttached || slices.Contains(have, serial) {
				continue
			}
			v, err := a.cfg.Store.VolumeByID(ctx, att.VolumeID)
			if err != nil {
				return err
			}
			disk, err := volumeDisk(att, v)
			if err == nil {
				a.log.Warn("re-attaching a volume the domain lost", "instance", d.ID, "volume", serial)
				err = drv.AttachVolume(ctx, d.ID, disk)
			}
			if err != nil {
				a.log.Warn("reconcile: attach", "instance", d.ID, "volume", serial, "err", err)
			}
		}
	}
	return nil
}
