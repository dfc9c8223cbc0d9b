package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"stratus/models"
	"stratus/workers"
)

// Config tunes a scheduler.
type Config struct {
	Store *models.Store
	Log   *slog.Logger
	// ServiceDownTime is how long a host may stay silent before it is
	// treated as down (default 60 s).
	ServiceDownTime time.Duration
	Weights         Weights
	// HostCacheTTL bounds how stale the scheduler's view of the hosts may
	// be (default 1 s). Staleness costs only retries: every claim is checked
	// again by the database.
	HostCacheTTL time.Duration
	// Alternates is how many ranked hosts a decision tries when claims
	// conflict (default 5).
	Alternates int
}

// Scheduler handles ScheduleInstance jobs.
type Scheduler struct {
	cfg      Config
	filters  []Filter
	weighers []Weigher

	mu       sync.Mutex
	hosts    []*models.Host
	loadedAt time.Time
	images   map[string]models.Image
}

// New builds a scheduler.
func New(cfg Config) *Scheduler {
	if cfg.ServiceDownTime <= 0 {
		cfg.ServiceDownTime = 60 * time.Second
	}
	if cfg.Weights == (Weights{}) {
		cfg.Weights = DefaultWeights()
	}
	if cfg.HostCacheTTL <= 0 {
		cfg.HostCacheTTL = time.Second
	}
	if cfg.Alternates <= 0 {
		cfg.Alternates = 5
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{cfg: cfg, filters: Filters(cfg.ServiceDownTime), weighers: Weighers(cfg.Weights), images: map[string]models.Image{}}
}

// Register adds the scheduler's job worker to a registry.
func (s *Scheduler) Register(reg *workers.Registry) {
	workers.Register(reg, workers.Worker[models.ScheduleInstance](s))
}

// Work places one instance: filter, weigh, claim the best host (or the
// next when the claim loses a race), and hand the build to that host. When
// no host fits, the instance goes to ERROR with a fault that says why.
func (s *Scheduler) Work(ctx context.Context, _ *models.Job, args models.ScheduleInstance) error {
	store := s.cfg.Store
	inst, err := store.InstanceByID(ctx, args.InstanceID)
	if errors.Is(err, models.ErrNotFound) {
		return nil // deleted before it was scheduled
	}
	if err != nil {
		return err
	}
	if inst.VMState != models.VMBuilding || inst.TaskState != models.TaskScheduling {
		return nil // already placed, deleted or failed: a job run twice
	}
	req := &Request{Instance: inst, Exclude: map[string]bool{}}
	for _, h := range args.ExcludeHosts {
		req.Exclude[h] = true
	}
	if req.Image, err = s.image(ctx, inst.ImageID); err != nil {
		return err
	}
	if inst.ServerGroupID != "" {
		g, err := store.ServerGroupPlacement(ctx, inst.ServerGroupID, inst.ID)
		if err != nil {
			return err
		}
		req.Group = &g
	}
	for round := 0; round < 2; round++ {
		placed, decision, err := s.tryPlace(ctx, req, args.ExcludeHosts, round > 0)
		if err != nil || placed {
			return err
		}
		if len(decision.Ranked) == 0 {
			if round == 0 {
				continue // a stale view may miss a host that just came up: look again
			}
			s.cfg.Log.Info("no valid host", "instance", inst.ID, "fault", decision.NoValidHost())
			return store.FailBuild(ctx, inst.ID, decision.NoValidHost())
		}
	}
	return fmt.Errorf("instance %s: every candidate host filled up while we claimed; retrying", inst.ID)
}

// tryPlace runs one decision on the cached hosts and claims down the
// ranking. It reports placed, or the decision when nothing could be claimed.
func (s *Scheduler) tryPlace(ctx context.Context, req *Request, tried []string, reload bool) (bool, Decision, error) {
	hosts, err := s.hostView(ctx, reload)
	if err != nil {
		return false, Decision{}, err
	}
	s.mu.Lock()
	req.Now = s.cfg.Store.Now()
	d := Select(hosts, req, s.filters, s.weighers)
	// Take copies: the claims below run without the lock.
	ranked := make([]models.Host, 0, min(len(d.Ranked), s.cfg.Alternates))
	for _, h := range d.Ranked[:min(len(d.Ranked), s.cfg.Alternates)] {
		ranked = append(ranked, *h)
	}
	s.mu.Unlock()
	for _, h := range ranked {
		err := s.cfg.Store.PlaceInstance(ctx, req.Instance.ID, h, tried)
		switch {
		case err == nil:
			s.consume(h.ID, req.Instance)
			return true, d, nil
		case errors.Is(err, models.ErrNotFound):
			return true, d, nil // no longer waiting: nothing to do
		case errors.Is(err, models.ErrConflict):
			s.invalidate()
			continue
		default:
			return false, d, err
		}
	}
	d.Ranked = nil
	return false, d, nil
}

// hostView returns the cached hosts, reloading them when stale.
func (s *Scheduler) hostView(ctx context.Context, force bool) ([]*models.Host, error) {
	s.mu.Lock()
	fresh := !force && s.hosts != nil && time.Since(s.loadedAt) < s.cfg.HostCacheTTL
	hosts := s.hosts
	s.mu.Unlock()
	if fresh {
		return hosts, nil
	}
	list, err := s.cfg.Store.ListHosts(ctx)
	if err != nil {
		return nil, err
	}
	hosts = make([]*models.Host, len(list))
	for i := range list {
		hosts[i] = &list[i]
	}
	s.mu.Lock()
	s.hosts, s.loadedAt = hosts, time.Now()
	s.mu.Unlock()
	return hosts, nil
}

// consume charges a successful claim to the cached host, so the next
// decision sees it before the cache reloads (Nova's consume_from_request).
func (s *Scheduler) consume(hostID string, inst models.Instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hosts {
		if h.ID == hostID {
			h.UsedVCPUs += inst.VCPUs
			h.UsedRAMMB += int64(inst.RAMMB)
			h.UsedDiskGB += int64(inst.DiskGB + inst.EphemeralGB)
			h.InstanceCount++
			return
		}
	}
}

func (s *Scheduler) invalidate() {
	s.mu.Lock()
	s.loadedAt = time.Time{}
	s.mu.Unlock()
}

// image reads an image's properties, cached: they rarely change and many
// instances boot the same image.
func (s *Scheduler) image(ctx context.Context, id string) (models.Image, error) {
	s.mu.Lock()
	im, ok := s.images[id]
	s.mu.Unlock()
	if ok {
		return im, nil
	}
	im, err := s.cfg.Store.ImageByID(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return models.Image{}, nil // deleted since launch: no properties to match
	}
	if err != nil {
		return im, err
	}
	s.mu.Lock()
	if len(s.images) > 10000 {
		s.images = map[string]models.Image{}
	}
	s.images[id] = im
	s.mu.Unlock()
	return im, nil
}
