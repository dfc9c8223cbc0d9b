package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
	// HostSubsetSize picks each decision's host at random among the best N
	// (default 1: always the best). Several schedulers racing should use
	// about their number, so that they do not all claim the same host.
	HostSubsetSize int
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
	s.registerMoves(reg)
	workers.Register(reg, workers.WorkFunc[models.ScheduleUnshelve](s.WorkUnshelve))
}

// Work places one instance: filter, weigh, claim the best host (or the
// next when the claim loses a race), and hand the build to that host. When
// no host fits, the instance goes to ERROR with a fault that says why.
func (s *Scheduler) Work(ctx context.Context, _ *models.Job, args models.ScheduleInstance) error {
	req, done, err := s.request(ctx, args)
	if err != nil || done {
		return err
	}
	for round := 0; round < 2; round++ {
		// A second round looks at freshly loaded hosts: a stale view may
		// miss a host that just came up.
		out, d, err := s.tryPlace(ctx, req, round > 0, func(h models.Host) error {
			return s.cfg.Store.PlaceInstance(ctx, req.Instance, h, args.ExcludeHosts)
		})
		switch {
		case err != nil:
			return err
		case out == placed:
			return nil
		case out == noHost && round == 1:
			s.cfg.Log.Info("no valid host", "instance", req.Instance.ID, "fault", d.NoValidHost())
			return s.cfg.Store.FailBuild(ctx, req.Instance.ID, d.NoValidHost())
		}
	}
	return fmt.Errorf("instance %s: every candidate host filled up while we claimed; retrying", req.Instance.ID)
}

// request builds the placement request from the job, reading the instance
// only for jobs queued without a spec. done means there is nothing to do.
func (s *Scheduler) request(ctx context.Context, args models.ScheduleInstance) (req *Request, done bool, err error) {
	var inst models.Instance
	if args.Spec != nil {
		inst = args.Spec.Instance(args.InstanceID)
	} else {
		inst, err = s.cfg.Store.InstanceByID(ctx, args.InstanceID)
		if errors.Is(err, models.ErrNotFound) {
			return nil, true, nil // deleted before it was scheduled
		}
		if err != nil {
			return nil, false, err
		}
		if inst.VMState != models.VMBuilding || inst.TaskState != models.TaskScheduling {
			return nil, true, nil // already placed, deleted or failed: a job run twice
		}
	}
	req = &Request{Instance: inst, Exclude: map[string]bool{}}
	for _, h := range args.ExcludeHosts {
		req.Exclude[h] = true
	}
	if req.Image, err = s.image(ctx, inst.ImageID); err != nil {
		return nil, false, err
	}
	if inst.ServerGroupID != "" {
		g, err := s.cfg.Store.ServerGroupPlacement(ctx, inst.ServerGroupID, inst.ID)
		if err != nil {
			return nil, false, err
		}
		req.Group = &g
	}
	return req, false, nil
}

// outcome is how one round of placement ended.
type outcome int

const (
	placed    outcome = iota // claimed a host (or the instance no longer waits)
	noHost                   // no host passed the filters
	contended                // every claim tried lost a race
)

// tryPlace runs decisions on the cached hosts and claims the best host,
// up to Alternates times. The chosen host is charged in the cache before
// the claim, so the scheduler's concurrent decisions spread over hosts
// instead of queueing on one host's row; a lost claim reloads the hosts.
func (s *Scheduler) tryPlace(ctx context.Context, req *Request, reload bool, place func(models.Host) error) (outcome, Decision, error) {
	hosts, err := s.hostView(ctx, reload)
	if err != nil {
		return 0, Decision{}, err
	}
	var d Decision
	for attempt := 0; attempt < s.cfg.Alternates; attempt++ {
		s.mu.Lock()
		req.Now = s.cfg.Store.Now()
		d = Select(hosts, req, s.filters, s.weighers)
		best := d.Pick(s.cfg.HostSubsetSize, rand.IntN)
		if best == nil {
			s.mu.Unlock()
			return noHost, d, nil
		}
		charge(best, req.Instance, 1)
		host := *best // a copy: the claim runs without the lock
		s.mu.Unlock()

		err := place(host)
		switch {
		case err == nil:
			return placed, d, nil
		case errors.Is(err, models.ErrNotFound):
			s.uncharge(best, req.Instance)
			return placed, d, nil // no longer waiting: nothing to do
		case errors.Is(err, models.ErrConflict):
			if hosts, err = s.hostView(ctx, true); err != nil {
				return 0, d, err
			}
		default:
			s.uncharge(best, req.Instance)
			return 0, d, err
		}
	}
	return contended, d, nil
}

// charge adds (sign 1) or removes (-1) an instance's size to a cached host
// (Nova's consume_from_request). Called with s.mu held.
func charge(h *models.Host, inst models.Instance, sign int) {
	h.UsedVCPUs += sign * inst.VCPUs
	h.UsedRAMMB += int64(sign * inst.RAMMB)
	h.UsedDiskGB += int64(sign * (inst.DiskGB + inst.EphemeralGB))
	h.InstanceCount += sign
}

func (s *Scheduler) uncharge(h *models.Host, inst models.Instance) {
	s.mu.Lock()
	charge(h, inst, -1)
	s.mu.Unlock()
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
