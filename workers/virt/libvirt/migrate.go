package libvirt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stratus/workers/virt"
)

// Moving instances between hosts with libvirt's peer-to-peer migration:
// the source's libvirtd dials the destination's (qemu+tcp://ADDR/system,
// the destination's --migration-address) and streams the guest to the
// destination's qemu (tcp://ADDR). When the hosts do not share the
// instances directory, the destination first makes the instance's files —
// a qcow2 overlay on its own cached copy of the image, the ephemeral disk,
// kernel, ramdisk and config drive — and the source copies the overlays'
// data over NBD (VIR_MIGRATE_NON_SHARED_INC: the base image is not sent).
// The destination also writes the domain's XML for its own paths, which
// the source passes along (destination_xml).
//
// A cold move (resize, cold migration) uses the same stream for the
// stopped instance's disks: the source starts the domain paused — no guest
// code runs, the disks stay as they were — and migrates it paused; the
// destination then destroys that transient domain and defines the instance
// at its new size. The source's definition and files stay, stopped, for a
// revert.

// fileHostMarker names the host whose instance directory this is: a
// destination that finds another host's name in it shares the directory
// with the source.
const fileHostMarker = "host"

var _ virt.Migrations = (*Driver)(nil)

// PrepareIncoming makes the instance's files here (unless the source's are
// already here: shared storage) and the domain XML for this host.
func (d *Driver) PrepareIncoming(ctx context.Context, spec virt.InstanceSpec) (virt.MigrationTarget, error) {
	t := virt.MigrationTarget{Host: d.cfg.Host}
	if d.cfg.MigrationAddress == "" {
		return t, errors.New("this host has no migration address (--migration-address): other hosts cannot reach its libvirtd")
	}
	if dom, err := d.lookup(ctx, spec.ID); err == nil {
		if m, ok, _ := d.owns(ctx, dom); ok && m.Host != "" && m.Host != d.cfg.Host {
			return t, fmt.Errorf("the source host %s uses the same libvirtd as this one: instances cannot move between them", m.Host)
		}
		// Our own leftover of an earlier attempt: start afresh.
		if err := d.Destroy(ctx, spec.ID); err != nil {
			return t, err
		}
	}
	dir, err := d.instanceDir(spec.ID)
	if err != nil {
		return t, err
	}
	if owner, err := os.ReadFile(filepath.Join(dir, fileHostMarker)); err == nil && strings.TrimSpace(string(owner)) != d.cfg.Host {
		t.Shared = true
	}
	var ds DomainSpec
	if t.Shared {
		ds = d.domainSpec(spec, dir)
	} else if ds, err = d.prepareFiles(ctx, spec); err != nil {
		return t, err
	}
	if t.XML, err = DomainXML(ds); err != nil {
		return t, err
	}
	if ds.RootDisk != "" {
		t.Disks = append(t.Disks, "vda")
	}
	if ds.EphemeralDisk != "" {
		t.Disks = append(t.Disks, "vdb")
	}
	t.URI = "qemu+tcp://" + d.cfg.MigrationAddress + "/system"
	t.MigrateURI = "tcp://" + d.cfg.MigrationAddress
	return t, nil
}

// Migrate sends the domain to the prepared destination. See the file's
// comment for the cold path.
func (d *Driver) Migrate(ctx context.Context, id string, t virt.MigrationTarget, opts virt.MigrateOptions) (virt.MigrationStats, error) {
	dom, err := d.lookup(ctx, id)
	if err != nil {
		return virt.MigrationStats{}, err
	}
	flags := golibvirt.MigratePeer2peer | golibvirt.MigrateLive
	if opts.Live {
		flags |= golibvirt.MigratePersistDest
	} else {
		st, err := d.state(ctx, dom)
		if err != nil {
			return virt.MigrationStats{}, err
		}
		if st == virt.Running {
			return virt.MigrationStats{}, errors.New("a cold migration needs the domain stopped")
		}
		if st != virt.Paused {
			err = d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
				_, err := l.DomainCreateWithFlags(dom, uint32(golibvirt.DomainStartPaused))
				return err
			})
			if err != nil {
				return virt.MigrationStats{}, fmt.Errorf("start the stopped domain paused for its disks' copy: %w", err)
			}
		}
		flags |= golibvirt.MigratePaused
	}
	var srcXML string
	err = d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		var err error
		srcXML, err = l.DomainGetXMLDesc(dom, golibvirt.DomainXMLMigratable)
		return err
	})
	if err != nil {
		return virt.MigrationStats{}, fmt.Errorf("read the domain to migrate: %w", err)
	}
	destXML, err := retarget(srcXML, t.XML)
	if err != nil {
		return virt.MigrationStats{}, err
	}
	params := []golibvirt.TypedParam{
		{Field: golibvirt.MigrateParamURI, Value: *golibvirt.NewTypedParamValueString(t.MigrateURI)},
		{Field: golibvirt.MigrateParamDestXML, Value: *golibvirt.NewTypedParamValueString(destXML)},
	}
	if opts.Live {
		params = append(params, golibvirt.TypedParam{Field: golibvirt.MigrateParamPersistXML, Value: *golibvirt.NewTypedParamValueString(destXML)})
	}
	if opts.CopyDisks && len(t.Disks) > 0 {
		flags |= golibvirt.MigrateNonSharedInc
		for _, dev := range t.Disks {
			params = append(params, golibvirt.TypedParam{Field: golibvirt.MigrateParamMigrateDisks, Value: *golibvirt.NewTypedParamValueString(dev)})
		}
	}
	pctx, stopPolling := context.WithCancel(ctx)
	polled := make(chan virt.MigrationStats, 1)
	go func() { polled <- d.pollJob(pctx, dom, opts.Progress) }()
	start := time.Now()
	err = d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		_, err := l.DomainMigratePerform3Params(dom, golibvirt.OptString{t.URI}, params, nil, flags)
		return err
	})
	stopPolling()
	stats := <-polled
	if err != nil {
		if !opts.Live {
			_ = d.destroy(context.WithoutCancel(ctx), dom) // the paused run only
		}
		return stats, fmt.Errorf("migrate to %s: %w", t.Host, err)
	}
	if done, ok := d.completedJob(ctx, dom); ok {
		stats = done
	}
	d.log.Info("migrated", "domain", dom.Name, "to", t.Host, "live", opts.Live, "copy_disks", opts.CopyDisks,
		"seconds", time.Since(start).Seconds(), "downtime_ms", stats.DowntimeMS)
	return stats, nil
}

// pollJob reports the running migration job's progress every half second
// and returns the last figures seen.
func (d *Driver) pollJob(ctx context.Context, dom golibvirt.Domain, progress func(virt.MigrationStats)) virt.MigrationStats {
	var last virt.MigrationStats
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return last
		case <-tick.C:
		}
		var typ int32
		var ps []golibvirt.TypedParam
		err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
			var err error
			typ, ps, err = l.DomainGetJobStats(dom, 0)
			return err
		})
		if err != nil || typ == int32(golibvirt.DomainJobNone) {
			continue
		}
		last = jobStats(ps)
		if progress != nil {
			progress(last)
		}
	}
}

// completedJob reads the finished migration's figures (with the guest's
// downtime) from the source, where libvirt keeps them.
func (d *Driver) completedJob(ctx context.Context, dom golibvirt.Domain) (virt.MigrationStats, bool) {
	var ps []golibvirt.TypedParam
	err := d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		var err error
		_, ps, err = l.DomainGetJobStats(dom, golibvirt.DomainJobStatsCompleted)
		return err
	})
	if err != nil || len(ps) == 0 {
		return virt.MigrationStats{}, false
	}
	return jobStats(ps), true
}

// jobStats reads libvirt's job statistics.
func jobStats(ps []golibvirt.TypedParam) virt.MigrationStats {
	var st virt.MigrationStats
	for _, p := range ps {
		var v int64
		switch n := p.Value.I.(type) {
		case uint64:
			v = int64(n)
		case int64:
			v = n
		case uint32:
			v = int64(n)
		case int32:
			v = int64(n)
		default:
			continue
		}
		switch p.Field {
		case "memory_total":
			st.MemoryTotal = v
		case "memory_processed":
			st.MemoryProcessed = v
		case "memory_remaining":
			st.MemoryRemaining = v
		case "disk_total":
			st.DiskTotal = v
		case "disk_processed":
			st.DiskProcessed = v
		case "disk_remaining":
			st.DiskRemaining = v
		case "downtime":
			st.DowntimeMS = v
		}
	}
	return st
}

// FinishIncoming makes the arrived domain the instance as spec says. A live
// move's domain runs already (and was made persistent); a cold move's
// paused, transient domain is replaced by the instance at its new size,
// its disks grown, started when powerOn.
func (d *Driver) FinishIncoming(ctx context.Context, spec virt.InstanceSpec, live, powerOn bool) error {
	dir, err := d.instanceDir(spec.ID)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, fileHostMarker), []byte(d.cfg.Host+"\n"), 0o644); err != nil {
		return fmt.Errorf("mark the instance's directory: %w", err)
	}
	dom, err := d.lookup(ctx, spec.ID)
	if live {
		if err != nil {
			return fmt.Errorf("the migrated domain is not here: %w", err)
		}
		d.mu.Lock()
		d.owned[dom.Name] = true
		d.mu.Unlock()
		st, err := d.state(ctx, dom)
		if err != nil {
			return err
		}
		if st == virt.Paused {
			return d.client.Call(ctx, func(l *golibvirt.Libvirt) error { return l.DomainResume(dom) })
		}
		return nil
	}
	switch {
	case errors.Is(err, virt.ErrNotFound): // finished before, and stopped since: define again below
	case err != nil:
		return err
	default:
		if err := d.destroy(ctx, dom); err != nil {
			return err
		}
	}
	ds := d.domainSpec(spec, dir)
	if err := d.growDisk(ctx, ds.RootDisk, spec.DiskGB); err != nil {
		return err
	}
	if spec.EphemeralGB > 0 {
		if _, err := os.Stat(ds.EphemeralDisk); errors.Is(err, os.ErrNotExist) {
			if err := d.createBlank(ctx, ds.EphemeralDisk, spec.EphemeralGB); err != nil {
				return err
			}
		} else if err := d.growDisk(ctx, ds.EphemeralDisk, spec.EphemeralGB); err != nil {
			return err
		}
	}
	x, err := DomainXML(ds)
	if err != nil {
		return err
	}
	err = d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		var err error
		dom, err = l.DomainDefineXML(x)
		return err
	})
	if err != nil {
		return fmt.Errorf("define the moved domain: %w", err)
	}
	d.mu.Lock()
	d.owned[dom.Name] = true
	d.mu.Unlock()
	if !powerOn {
		return nil
	}
	return d.create(ctx, dom)
}

// growDisk grows a qcow2 disk to sizeGB; never shrinks it.
func (d *Driver) growDisk(ctx context.Context, path string, sizeGB int) error {
	if path == "" || sizeGB <= 0 {
		return nil
	}
	info, err := d.imageInfo(ctx, path)
	if err != nil {
		return err
	}
	want := int64(sizeGB) << 30
	if want <= info.VirtualSize {
		return nil
	}
	_, err = d.qemuImg(ctx, "resize", "-q", path, fmt.Sprint(want))
	return err
}

// CleanupSource removes what a live migration left here: the domain's
// definition and, unless the hosts share them, its files.
func (d *Driver) CleanupSource(ctx context.Context, id string, shared bool) error {
	if !shared {
		return d.Destroy(ctx, id)
	}
	dom, err := d.lookup(ctx, id)
	if errors.Is(err, virt.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m, ok, _ := d.owns(ctx, dom); ok && m.Host != "" && m.Host != d.cfg.Host {
		return nil // the domain is the destination's now
	}
	if st, err := d.state(ctx, dom); err == nil && st == virt.Running {
		return nil // the guest runs here: not ours to remove
	}
	err = d.client.Call(ctx, func(l *golibvirt.Libvirt) error { return l.DomainUndefineFlags(dom, golibvirt.DomainUndefineNvram) })
	if err != nil && !golibvirt.IsNotFound(err) {
		return fmt.Errorf("undefine migrated domain: %w", err)
	}
	return nil
}

// retarget is the source's running domain (its migratable XML: the devices
// and the addresses the guest was given, which the destination must keep)
// with the destination's host-specific parts taken from destXML: the disks'
// files (matched by target), kernel and initrd, the console log, the VNC
// listen address and the metadata naming the host.
func retarget(srcXML, destXML string) (string, error) {
	var src, dst libvirtxml.Domain
	if err := src.Unmarshal(srcXML); err != nil {
		return "", fmt.Errorf("read the source's domain: %w", err)
	}
	if err := dst.Unmarshal(destXML); err != nil {
		return "", fmt.Errorf("read the destination's domain: %w", err)
	}
	if src.Devices == nil || dst.Devices == nil {
		return "", errors.New("a domain without devices")
	}
	files := map[string]string{}
	for _, d := range dst.Devices.Disks {
		if d.Target != nil && d.Source != nil && d.Source.File != nil {
			files[d.Target.Dev] = d.Source.File.File
		}
	}
	for i := range src.Devices.Disks {
		d := &src.Devices.Disks[i]
		if d.Target == nil || d.Source == nil || d.Source.File == nil {
			continue
		}
		if f, ok := files[d.Target.Dev]; ok {
			d.Source.File.File = f
		}
	}
	if src.OS != nil && dst.OS != nil {
		src.OS.Kernel, src.OS.Initrd = dst.OS.Kernel, dst.OS.Initrd
	}
	var log *libvirtxml.DomainChardevLog
	if len(dst.Devices.Serials) > 0 {
		log = dst.Devices.Serials[0].Log
	}
	for i := range src.Devices.Serials {
		if src.Devices.Serials[i].Log != nil {
			src.Devices.Serials[i].Log = log
		}
	}
	for i := range src.Devices.Consoles {
		if src.Devices.Consoles[i].Log != nil {
			src.Devices.Consoles[i].Log = log
		}
	}
	if len(dst.Devices.Graphics) > 0 && dst.Devices.Graphics[0].VNC != nil {
		want := dst.Devices.Graphics[0].VNC
		for i := range src.Devices.Graphics {
			if g := src.Devices.Graphics[i].VNC; g != nil {
				g.Listen, g.Listeners = want.Listen, want.Listeners
				if g.AutoPort == "yes" {
					g.Port = 0
				}
			}
		}
	}
	src.Metadata = dst.Metadata
	return src.Marshal()
}
