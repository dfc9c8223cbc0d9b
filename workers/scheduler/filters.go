// Package scheduler places instances on hosts (Nova's scheduler and
// Placement, trimmed): filters remove hosts that cannot take the instance,
// weighers rank the rest, and the best host is claimed atomically in the
// database — so any number of schedulers may run. It also carries the
// conductor's duties: marking silent hosts down and failing stuck builds.
package scheduler

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"stratus/models"
)

// Request is what one scheduling decision is about.
type Request struct {
	Instance models.Instance
	Image    models.Image           // for the image properties filter
	Group    *models.GroupPlacement // nil when the instance is in no group
	Exclude  map[string]bool        // hosts an earlier build attempt failed on, or a move's source
	// ExcludeWhy says why Exclude's hosts are left out, in a no-valid-host
	// fault; empty: a build's words ("an earlier build failed there").
	ExcludeWhy string
	// Host, when set, is the only host the request may land on (an
	// operator's chosen destination of a move).
	Host string
	// Driver, when set, is the hypervisor driver the host must run (a live
	// migration stays between hosts of one driver).
	Driver string
	Now    time.Time
}

// Filter removes hosts that cannot take the instance.
type Filter struct {
	Name string
	Pass func(h *models.Host, r *Request) bool
}

// Filters are the filters in the order they run, cheapest and most
// selective first. A host is down when its agent has not reported for
// downTime.
func Filters(downTime time.Duration) []Filter {
	return []Filter{
		{"ComputeFilter", func(h *models.Host, r *Request) bool {
			return h.Enabled && h.Up && r.Now.Sub(h.LastHeartbeat) <= downTime
		}},
		{"RetryFilter", func(h *models.Host, r *Request) bool { return !r.Exclude[h.Name] }},
		{"RequestedHostFilter", func(h *models.Host, r *Request) bool { return r.Host == "" || h.Name == r.Host }},
		{"HypervisorFilter", func(h *models.Host, r *Request) bool { return r.Driver == "" || h.Driver == r.Driver }},
		{"AvailabilityZoneFilter", func(h *models.Host, r *Request) bool {
			return r.Instance.AvailabilityZone == "" || r.Instance.AvailabilityZone == h.AvailabilityZone
		}},
		{"RamFilter", func(h *models.Host, r *Request) bool { return h.FreeRAMMB() >= float64(r.Instance.RAMMB) }},
		{"CoreFilter", func(h *models.Host, r *Request) bool { return h.FreeVCPUs() >= float64(r.Instance.VCPUs) }},
		{"DiskFilter", func(h *models.Host, r *Request) bool {
			return h.FreeDiskGB() >= float64(r.Instance.DiskGB+r.Instance.EphemeralGB)
		}},
		{"ServerGroupAffinityFilter", func(h *models.Host, r *Request) bool {
			if r.Group == nil || r.Group.Policy != models.PolicyAffinity || len(r.Group.Hosts) == 0 {
				return true
			}
			return r.Group.Hosts[h.Name] > 0
		}},
		{"ServerGroupAntiAffinityFilter", func(h *models.Host, r *Request) bool {
			return r.Group == nil || r.Group.Policy != models.PolicyAntiAffinity || r.Group.Hosts[h.Name] == 0
		}},
		{"ImagePropertiesFilter", func(h *models.Host, r *Request) bool {
			if arch := r.Image.Properties["architecture"]; arch != "" && arch != h.Arch {
				return false
			}
			if hv := r.Image.Properties["hypervisor_type"]; hv != "" && hv != h.HypervisorType {
				return false
			}
			return true
		}},
	}
}

// Weigher ranks hosts. Each weigher's raw values are normalised to 0…1
// across the candidates, then multiplied (Nova's scheme): a negative RAM
// multiplier packs instead of spreading.
type Weigher struct {
	Name       string
	Multiplier float64
	Value      func(h *models.Host) float64
}

// Weights are the weigher multipliers.
type Weights struct {
	RAM          float64 // free RAM; > 0 spreads, < 0 packs (default 1)
	CPU          float64 // free vCPUs (default 1)
	BuildFailure float64 // recent failed builds push a host down (default 10)
}

// DefaultWeights spread by RAM and CPU and strongly avoid failing hosts.
func DefaultWeights() Weights { return Weights{RAM: 1, CPU: 1, BuildFailure: 10} }

// Weighers builds the weighers from the multipliers.
func Weighers(w Weights) []Weigher {
	return []Weigher{
		{"RAMWeigher", w.RAM, func(h *models.Host) float64 { return h.FreeRAMMB() }},
		{"CPUWeigher", w.CPU, func(h *models.Host) float64 { return h.FreeVCPUs() }},
		{"BuildFailureWeigher", w.BuildFailure, func(h *models.Host) float64 { return -float64(h.FailedBuilds) }},
	}
}

// Decision is the outcome of filtering and weighing: the hosts that passed
// every filter, with their weights.
type Decision struct {
	Total      int
	Removed    []Removal // by filter, in filter order
	excludeWhy string    // Request.ExcludeWhy
	cands      []*models.Host
	scores     []float64
}

// Removal says how many hosts one filter removed.
type Removal struct {
	Filter string
	Hosts  int
}

// Best is the highest-weighed host (ties to the first name), or nil when
// no host passed the filters. It costs one pass: a decision needs only
// the best, not a sorted list.
func (d Decision) Best() *models.Host {
	best := -1
	for i, h := range d.cands {
		if best < 0 || d.scores[i] > d.scores[best] || (d.scores[i] == d.scores[best] && h.Name < d.cands[best].Name) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	return d.cands[best]
}

// Pick returns one of the k best hosts at random (Nova's host_subset_size):
// schedulers that share a view of the hosts then spread their claims instead
// of all queueing on the single best host. k ≤ 1 is Best.
func (d Decision) Pick(k int, intn func(int) int) *models.Host {
	if k <= 1 || len(d.cands) <= 1 {
		return d.Best()
	}
	ranked := d.Ranked()
	return ranked[intn(min(k, len(ranked)))]
}

// Ranked lists the candidates best first (for display and tests).
func (d Decision) Ranked() []*models.Host {
	idx := make([]int, len(d.cands))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		i, j := idx[a], idx[b]
		if d.scores[i] != d.scores[j] {
			return d.scores[i] > d.scores[j]
		}
		return d.cands[i].Name < d.cands[j].Name
	})
	out := make([]*models.Host, len(idx))
	for k, i := range idx {
		out[k] = d.cands[i]
	}
	return out
}

// NoValidHost is the fault a tenant reads when nothing fits, e.g.
// "No valid host was found: 3 hosts — 2 removed by RamFilter, 1 by ComputeFilter (disabled or down)".
func (d Decision) NoValidHost() string {
	if d.Total == 0 {
		return "No valid host was found: there are no compute hosts"
	}
	parts := make([]string, 0, len(d.Removed))
	for _, r := range d.Removed {
		what := r.Filter
		switch r.Filter {
		case "ComputeFilter":
			what += " (disabled or down)"
		case "RetryFilter":
			if d.excludeWhy != "" {
				what += " (" + d.excludeWhy + ")"
			} else {
				what += " (an earlier build failed there)"
			}
		}
		parts = append(parts, fmt.Sprintf("%d removed by %s", r.Hosts, what))
	}
	return fmt.Sprintf("No valid host was found: %d hosts — %s", d.Total, strings.Join(parts, ", "))
}

// Select filters and weighs hosts for a request. It does not change hosts.
func Select(hosts []*models.Host, r *Request, filters []Filter, weighers []Weigher) Decision {
	d := Decision{Total: len(hosts), cands: make([]*models.Host, 0, len(hosts)), excludeWhy: r.ExcludeWhy}
	removed := make([]int, len(filters))
	for _, h := range hosts {
		ok := true
		for i, f := range filters {
			if !f.Pass(h, r) {
				removed[i]++
				ok = false
				break
			}
		}
		if ok {
			d.cands = append(d.cands, h)
		}
	}
	for i, n := range removed {
		if n > 0 {
			d.Removed = append(d.Removed, Removal{Filter: filters[i].Name, Hosts: n})
		}
	}
	d.scores = make([]float64, len(d.cands))
	values := make([]float64, len(d.cands))
	for _, w := range weighers {
		if w.Multiplier == 0 || len(d.cands) == 0 {
			continue
		}
		for i, h := range d.cands {
			values[i] = w.Value(h)
		}
		lo, hi := values[0], values[0]
		for _, v := range values[1:] {
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi == lo {
			continue // every candidate equal: this weigher cannot tell them apart
		}
		for i, v := range values {
			d.scores[i] += w.Multiplier * (v - lo) / (hi - lo)
		}
	}
	return d
}
