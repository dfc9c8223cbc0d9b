package linux

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	hostnet "stratus/workers/net"
)

// removeStale deletes the bridges, VXLAN devices and DHCP servers of
// networks no longer on this host. Only devices named the way Stratus names
// its own are considered.
func (d *Driver) removeStale(ctx context.Context, st hostnet.HostState, keep map[string]bool) error {
	var errs []error
	wantNet := map[string]bool{}
	for _, n := range st.Networks {
		wantNet[n.ID] = true
	}
	entries, _ := os.ReadDir(filepath.Join(d.cfg.StateDir, "dhcp"))
	for _, e := range entries {
		if !wantNet[e.Name()] {
			if err := d.removeDHCP(ctx, e.Name()); err != nil {
				errs = append(errs, fmt.Errorf("remove DHCP of %s: %w", e.Name(), err))
			}
		}
	}
	links, err := d.h.LinkList()
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, l := range links {
		name := l.Attrs().Name
		if !ours(name) || keep[name] {
			continue
		}
		if err := d.h.LinkDel(l); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Links lists Stratus' bridges and VXLAN devices present (tests).
func (d *Driver) Links() ([]string, error) {
	links, err := d.h.LinkList()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range links {
		if ours(l.Attrs().Name) || (len(l.Attrs().Name) == 14 && l.Attrs().Name[:3] == "tap") {
			out = append(out, l.Attrs().Name)
		}
	}
	return out, nil
}
