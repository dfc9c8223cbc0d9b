package scheduler

import (
	"context"
	"fmt"

	"stratus/models"
	"stratus/workers"
)

// WorkMove places one move (resize, cold or live migration, evacuation):
// the same filters and weighers as a build, for the instance's (new) size,
// without its current host, on the operator's chosen host when one was
// named, and for a live migration only on hosts of the source's driver.
// The destination's claim is made here, so a move never overcommits; the
// source's allocation stays until the move is confirmed or completed.
func (s *Scheduler) WorkMove(ctx context.Context, _ *models.Job, args models.ScheduleMove) error {
	mj, done, err := s.cfg.Store.MoveForJob(ctx, args.MigrationID,
		models.MigrationPreMigrating, models.MigrationQueued, models.MigrationAccepted)
	if err != nil || done {
		return err
	}
	m, inst := mj.Migration, mj.Instance
	// A move goes to another host: Stratus does not resize on the same
	// host (Nova's allow_resize_to_same_host), so a one-host cloud says so.
	req := &Request{Instance: inst, Exclude: map[string]bool{m.SourceCompute: true}, Host: m.RequestedHost,
		ExcludeWhy: "the instance's own host: a " + moveNoun(m.Type) + " goes to another host"}
	if req.Image, err = s.image(ctx, inst.ImageID); err != nil {
		return err
	}
	if inst.ServerGroupID != "" {
		g, err := s.cfg.Store.ServerGroupPlacement(ctx, inst.ServerGroupID, inst.ID)
		if err != nil {
			return err
		}
		req.Group = &g
	}
	if m.Type == models.MigrationLive {
		src, err := s.cfg.Store.GetHost(ctx, m.SourceCompute)
		if err != nil {
			return err
		}
		req.Driver = src.Driver
	}
	for round := 0; round < 2; round++ {
		out, d, err := s.tryPlace(ctx, req, round > 0, func(h models.Host) error {
			err := s.cfg.Store.PlaceMove(ctx, m.ID, h)
			if err == nil {
				s.cfg.Log.Info("move placed", "instance", inst.ID, "type", m.Type, "from", m.SourceCompute, "to", h.Name)
			}
			return err
		})
		switch {
		case err != nil:
			return err
		case out == placed:
			return nil
		case out == noHost && round == 1:
			s.cfg.Log.Info("no valid host for a move", "instance", inst.ID, "type", m.Type, "fault", d.NoValidHost())
			return s.cfg.Store.FailMove(ctx, m.ID, d.NoValidHost(), true)
		}
	}
	return fmt.Errorf("move of instance %s: every candidate host filled up while we claimed; retrying", inst.ID)
}

// registerMoves adds the move worker to a registry.
func (s *Scheduler) registerMoves(reg *workers.Registry) {
	workers.Register(reg, workers.WorkFunc[models.ScheduleMove](s.WorkMove))
}

// moveNoun names a move in a fault: "resize", "live migration" …
func moveNoun(t models.MigrationType) string {
	if t == models.MigrationLive {
		return "live migration"
	}
	return string(t)
}
