package models

import (
	"context"
)

// LaunchOptions are what a project may launch instances with, as a launch
// form offers them. They follow the rules CreateInstances applies — an
// image must be bootable (Image.Bootable), one more instance must fit the
// quota (quotaOver) — so what a form offers is what a launch accepts,
// whichever adapter asks.
type LaunchOptions struct {
	Images       []Image        // active images the project may boot, by name
	Flavors      []FlavorChoice // enabled flavors the project may use, smallest first
	KeyPairs     []KeyPair
	ServerGroups []ServerGroup
	Zones        []string    // availability zones with hosts
	Quotas       []QuotaLine // the quotas a launch draws on: instances, vCPUs, RAM
}

// FlavorChoice is a flavor on offer and, when one more instance of it does
// not fit the project's quota, the first resource it would exceed.
type FlavorChoice struct {
	Flavor Flavor
	Excess *QuotaExcess // nil: it fits
}

// Fits says whether one more instance of the flavor fits the quota.
func (f FlavorChoice) Fits() bool { return f.Excess == nil }

// QuotaExcess is a request that would take a project over one limit.
type QuotaExcess struct {
	Resource string // one of QuotaResources
	Want     int64  // what the request adds
	Used     int64  // what the project uses now
	Limit    int64
}

// Free is what the limit leaves.
func (e QuotaExcess) Free() int64 { return max(e.Limit-e.Used, 0) }

// Bootable reports whether an instance can boot from the image alone:
// kernels and ramdisks (aki, ari) boot only as parts of a disk image that
// names them.
func (im Image) Bootable() bool { return im.DiskFormat != FormatAKI && im.DiskFormat != FormatARI }

// LaunchOptions lists what the caller's project may launch with (see the
// type). It is scoped to the caller's project like the launch itself.
func (s *Store) LaunchOptions(ctx context.Context, c Caller) (LaunchOptions, error) {
	var o LaunchOptions
	images, err := s.ListImages(ctx, c, ImageFilter{Status: ImageActive, ListOptions: ListOptions{Limit: MaxPageSize}})
	if err != nil {
		return o, err
	}
	for _, im := range images.Items {
		if im.Bootable() {
			o.Images = append(o.Images, im)
		}
	}
	flavors, err := s.ListFlavors(ctx, c, false)
	if err != nil {
		return o, err
	}
	db := s.db.WithContext(ctx)
	limits, err := s.quotaLimits(db, c.ProjectID)
	if err != nil {
		return o, err
	}
	used, err := s.projectUsage(db, c.ProjectID, QuotaInstances, QuotaVCPUs, QuotaRAMMB)
	if err != nil {
		return o, err
	}
	for _, f := range flavors {
		ch := FlavorChoice{Flavor: f}
		if ex, over := quotaOver(f.usage(1), limits, used); over {
			ch.Excess = &ex
		}
		o.Flavors = append(o.Flavors, ch)
	}
	for _, r := range []string{QuotaInstances, QuotaVCPUs, QuotaRAMMB} {
		o.Quotas = append(o.Quotas, QuotaLine{Resource: r, Limit: limits[r], Used: used.get(r)})
	}
	if o.KeyPairs, err = s.ListKeyPairs(ctx, c); err != nil {
		return o, err
	}
	if o.ServerGroups, err = s.ListServerGroups(ctx, c); err != nil {
		return o, err
	}
	if o.Zones, err = s.AvailabilityZones(ctx, c); err != nil {
		return o, err
	}
	return o, nil
}

// usage is what n instances of the flavor count against the quota.
func (f Flavor) usage(n int64) Usage {
	return Usage{Instances: n, VCPUs: n * int64(f.VCPUs), RAMMB: n * int64(f.RAMMB)}
}
