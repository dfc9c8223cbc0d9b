package libvirt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"stratus/workers/virt"
)

// Spawn builds an instance: its disks, config drive and domain, then starts
// it. Every step can run again (a retried job, libvirtd restarting under
// it): a domain that exists is started if stopped and otherwise left as it
// is.
func (d *Driver) Spawn(ctx context.Context, spec virt.InstanceSpec) error {
	if dom, err := d.lookup(ctx, spec.ID); err == nil {
		if st, err := d.state(ctx, dom); err == nil && st == virt.Running {
			return nil
		}
		return d.create(ctx, dom)
	} else if !errors.Is(err, virt.ErrNotFound) {
		return err
	}
	t0 := time.Now()
	ds, err := d.prepareFiles(ctx, spec)
	if err != nil {
		return err
	}
	t1 := time.Now()
	x, err := DomainXML(ds)
	if err != nil {
		return err
	}
	var dom golibvirt.Domain
	err = d.client.Call(ctx, func(l *golibvirt.Libvirt) error {
		var err error
		dom, err = l.DomainDefineXML(x)
		return err
	})
	if err != nil {
		return fmt.Errorf("define domain: %w", err)
	}
	d.mu.Lock()
	d.owned[dom.Name] = true
	d.mu.Unlock()
	t2 := time.Now()
	if err := d.create(ctx, dom); err != nil {
		return err
	}
	d.log.Info("spawned", "instance", spec.ID, "files_ms", t1.Sub(t0).Milliseconds(),
		"define_ms", t2.Sub(t1).Milliseconds(), "create_ms", time.Since(t2).Milliseconds())
	return nil
}

// domainSpec says where an instance's files are in dir and what its
// domain is, without making anything.
func (d *Driver) domainSpec(spec virt.InstanceSpec, dir string) DomainSpec {
	ds := DomainSpec{InstanceID: spec.ID, Host: d.cfg.Host, Name: spec.Name, ProjectID: spec.ProjectID, Flavor: spec.FlavorName,
		VirtType: d.virtType, VCPUs: spec.VCPUs, RAMMB: spec.RAMMB, VNCListen: d.cfg.VNCListen,
		ConsoleLog: filepath.Join(dir, fileConsoleLog), Volumes: spec.Volumes, NICs: spec.NICs}
	if !hasBootVolume(spec) {
		switch spec.Image.Format {
		case "iso":
			ds.BootISO = spec.Image.Path
			if spec.DiskGB > 0 {
				ds.RootDisk = filepath.Join(dir, fileRootDisk)
			}
		default:
			ds.RootDisk = filepath.Join(dir, fileRootDisk)
		}
	}
	if spec.EphemeralGB > 0 {
		ds.EphemeralDisk = filepath.Join(dir, fileEphemeral)
	}
	if spec.Kernel != nil {
		ds.Kernel = filepath.Join(dir, fileKernel)
		if spec.Ramdisk != nil {
			ds.Initrd = filepath.Join(dir, fileRamdisk)
		}
		ds.Cmdline = "root=/dev/vda console=tty0 console=ttyS0"
	}
	ds.ConfigDrive = filepath.Join(dir, fileConfigDrive)
	return ds
}

// prepareFiles makes the instance's directory and files and says where
// they are.
func (d *Driver) prepareFiles(ctx context.Context, spec virt.InstanceSpec) (DomainSpec, error) {
	dir, err := d.instanceDir(spec.ID)
	if err != nil {
		return DomainSpec{}, err
	}
	if err := mkdirAll(dir); err != nil { // 0755: qemu's user reaches the files below
		return DomainSpec{}, fmt.Errorf("instance directory: %w", err)
	}
	// Which host's files these are: a host that finds another's name here
	// shares the instances directory with it (see PrepareIncoming).
	if err := os.WriteFile(filepath.Join(dir, fileHostMarker), []byte(d.cfg.Host+"\n"), 0o644); err != nil {
		return DomainSpec{}, fmt.Errorf("mark the instance's directory: %w", err)
	}
	ds := d.domainSpec(spec, dir)
	if !hasBootVolume(spec) {
		if err := d.prepareRoot(ctx, spec, dir, &ds); err != nil {
			return ds, err
		}
	}
	if ds.EphemeralDisk != "" {
		if err := d.createBlank(ctx, ds.EphemeralDisk, spec.EphemeralGB); err != nil {
			return ds, err
		}
	}
	if spec.Kernel != nil {
		// Copied, as Nova does, so that the instance keeps booting when
		// the cache is pruned, and libvirt's relabelling of these files at
		// start and stop never touches a file other domains share.
		if err := copyFile(spec.Kernel.Path, ds.Kernel); err != nil {
			return ds, fmt.Errorf("kernel: %w", err)
		}
		if spec.Ramdisk != nil {
			if err := copyFile(spec.Ramdisk.Path, ds.Initrd); err != nil {
				return ds, fmt.Errorf("ramdisk: %w", err)
			}
		}
	}
	cd := ConfigDrive{InstanceID: spec.ID, Name: spec.Name, ProjectID: spec.ProjectID, AvailabilityZone: spec.AZ,
		KeyName: spec.KeyName, KeyData: spec.KeyData, UserData: spec.UserData, NICs: spec.NICs}
	if err := cd.WriteISO(ds.ConfigDrive); err != nil {
		return ds, err
	}
	return ds, nil
}

// hasBootVolume reports whether a volume is the instance's root disk.
func hasBootVolume(spec virt.InstanceSpec) bool {
	for _, v := range spec.Volumes {
		if v.Boot {
			return true
		}
	}
	return false
}

// prepareRoot makes the root disk from the image: a qcow2 overlay on the
// cached base, or a blank disk beside a bootable ISO.
func (d *Driver) prepareRoot(ctx context.Context, spec virt.InstanceSpec, dir string, ds *DomainSpec) error {
	if spec.Image.Path == "" {
		return fmt.Errorf("image %s is not in this host's cache", spec.Image.ID)
	}
	root := filepath.Join(dir, fileRootDisk)
	switch spec.Image.Format {
	case "qcow2", "raw": // the cache converted both to a qcow2 base
		if err := d.createOverlay(ctx, spec.Image.Path, root, spec.DiskGB); err != nil {
			return err
		}
		ds.RootDisk = root
	case "iso":
		ds.BootISO = spec.Image.Path
		if spec.DiskGB > 0 {
			if err := d.createBlank(ctx, root, spec.DiskGB); err != nil {
				return err
			}
			ds.RootDisk = root
		}
	default:
		return fmt.Errorf("image %s is a %s image, which cannot boot by itself", spec.Image.ID, spec.Image.Format)
	}
	return nil
}
