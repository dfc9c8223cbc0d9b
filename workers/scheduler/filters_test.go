package scheduler

import (
	"strings"
	"testing"
	"time"

	"stratus/models"
)

func host(name string, ramMB int64, mutate ...func(*models.Host)) *models.Host {
	h := &models.Host{Name: name, Enabled: true, Up: true, VCPUs: 8, RAMMB: ramMB, DiskGB: 100,
		CPURatio: 4, RAMRatio: 1, DiskRatio: 1, AvailabilityZone: "nova", Arch: "x86_64", HypervisorType: "qemu",
		LastHeartbeat: time.Unix(1000, 0)}
	for _, m := range mutate {
		m(h)
	}
	return h
}

func TestSelect(t *testing.T) {
	now := time.Unix(1010, 0)
	inst := models.Instance{VCPUs: 2, RAMMB: 2048, DiskGB: 20}
	tests := []struct {
		name      string
		hosts     []*models.Host
		req       Request
		weights   Weights
		wantFirst string
		wantNone  string // substring of the fault when nothing fits
	}{
		{
			name:      "spread by free RAM",
			hosts:     []*models.Host{host("small", 4096), host("big", 16384)},
			req:       Request{Instance: inst},
			weights:   DefaultWeights(),
			wantFirst: "big",
		},
		{
			name:      "a negative RAM multiplier packs",
			hosts:     []*models.Host{host("small", 4096), host("big", 16384)},
			req:       Request{Instance: inst},
			weights:   Weights{RAM: -1},
			wantFirst: "small",
		},
		{
			name:      "build failures push a host down",
			hosts:     []*models.Host{host("flaky", 16384, func(h *models.Host) { h.FailedBuilds = 3 }), host("steady", 8192)},
			req:       Request{Instance: inst},
			weights:   DefaultWeights(),
			wantFirst: "steady",
		},
		{
			name: "disabled, down and stale hosts are removed",
			hosts: []*models.Host{
				host("off", 16384, func(h *models.Host) { h.Enabled = false }),
				host("down", 16384, func(h *models.Host) { h.Up = false }),
				host("stale", 16384, func(h *models.Host) { h.LastHeartbeat = time.Unix(900, 0) }),
				host("ok", 4096),
			},
			req:       Request{Instance: inst},
			weights:   DefaultWeights(),
			wantFirst: "ok",
		},
		{
			name:     "no valid host says which filter removed how many",
			hosts:    []*models.Host{host("tiny1", 1024), host("tiny2", 1024), host("off", 16384, func(h *models.Host) { h.Enabled = false })},
			req:      Request{Instance: inst},
			weights:  DefaultWeights(),
			wantNone: "3 hosts — 1 removed by ComputeFilter (disabled or down), 2 removed by RamFilter",
		},
		{
			name:      "availability zone",
			hosts:     []*models.Host{host("a", 16384), host("b", 8192, func(h *models.Host) { h.AvailabilityZone = "az2" })},
			req:       Request{Instance: models.Instance{VCPUs: 1, RAMMB: 512, AvailabilityZone: "az2"}},
			weights:   DefaultWeights(),
			wantFirst: "b",
		},
		{
			name:      "anti-affinity avoids hosts with group members",
			hosts:     []*models.Host{host("a", 16384), host("b", 8192)},
			req:       Request{Instance: inst, Group: &models.GroupPlacement{Policy: models.PolicyAntiAffinity, Hosts: map[string]int{"a": 1}}},
			weights:   DefaultWeights(),
			wantFirst: "b",
		},
		{
			name:      "affinity sticks to the group's host",
			hosts:     []*models.Host{host("a", 16384), host("b", 8192)},
			req:       Request{Instance: inst, Group: &models.GroupPlacement{Policy: models.PolicyAffinity, Hosts: map[string]int{"b": 1}}},
			weights:   DefaultWeights(),
			wantFirst: "b",
		},
		{
			name:      "image architecture must match",
			hosts:     []*models.Host{host("x86", 16384), host("arm", 8192, func(h *models.Host) { h.Arch = "aarch64" })},
			req:       Request{Instance: inst, Image: models.Image{Properties: map[string]string{"architecture": "aarch64"}}},
			weights:   DefaultWeights(),
			wantFirst: "arm",
		},
		{
			name:     "hosts an earlier attempt failed on are skipped",
			hosts:    []*models.Host{host("a", 16384)},
			req:      Request{Instance: inst, Exclude: map[string]bool{"a": true}},
			weights:  DefaultWeights(),
			wantNone: "1 removed by RetryFilter (an earlier build failed there)",
		},
		{
			name:     "a move's own host is named as such",
			hosts:    []*models.Host{host("a", 16384)},
			req:      Request{Instance: inst, Exclude: map[string]bool{"a": true}, ExcludeWhy: "the instance's own host: a resize goes to another host"},
			weights:  DefaultWeights(),
			wantNone: "1 hosts — 1 removed by RetryFilter (the instance's own host: a resize goes to another host)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Now = now
			d := Select(tt.hosts, &tt.req, Filters(time.Minute), Weighers(tt.weights))
			if tt.wantNone != "" {
				if best := d.Best(); best != nil {
					t.Fatalf("expected no host, got %s", best.Name)
				}
				if msg := d.NoValidHost(); !strings.Contains(msg, tt.wantNone) {
					t.Fatalf("fault %q does not contain %q", msg, tt.wantNone)
				}
				return
			}
			ranked := d.Ranked()
			if len(ranked) == 0 || ranked[0].Name != tt.wantFirst || d.Best() != ranked[0] {
				t.Fatalf("first host %v, want %s (%s)", names(ranked), tt.wantFirst, d.NoValidHost())
			}
		})
	}
}

func names(hs []*models.Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}

func TestPickSpreadsOverTheBestHosts(t *testing.T) {
	hosts := []*models.Host{host("a", 16384), host("b", 15360), host("c", 14336), host("d", 1024)}
	r := &Request{Instance: models.Instance{VCPUs: 1, RAMMB: 512}, Now: time.Unix(1010, 0)}
	d := Select(hosts, r, Filters(time.Minute), Weighers(DefaultWeights()))
	if got := d.Pick(1, func(int) int { t.Fatal("subset 1 must not draw"); return 0 }); got.Name != "a" {
		t.Fatalf("subset 1 picked %s, want the best (a)", got.Name)
	}
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		seen[d.Pick(3, func(n int) int {
			if n != 3 {
				t.Fatalf("drew among %d hosts, want 3", n)
			}
			return i
		}).Name] = true
	}
	if len(seen) != 3 || seen["d"] {
		t.Fatalf("subset 3 picked %v; want a, b and c", seen)
	}
}
