package scheduler

import (
	"context"
	"errors"
	"fmt"

	"stratus/models"
)

// WorkUnshelve places a shelved instance again: the same filters and
// weighers as a build (any host that fits, not necessarily its old one),
// the claim made here, and the boot handed to the chosen host. No host
// leaves the instance shelved, with the reason in its log.
func (s *Scheduler) WorkUnshelve(ctx context.Context, _ *models.Job, args models.ScheduleUnshelve) error {
	inst, err := s.cfg.Store.UnshelvingInstance(ctx, args.InstanceID)
	if errors.Is(err, models.ErrNotFound) {
		return nil // deleted, or a job run twice
	}
	if err != nil {
		return err
	}
	req := &Request{Instance: inst, Exclude: map[string]bool{}}
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
	for round := 0; round < 2; round++ {
		out, d, err := s.tryPlace(ctx, req, round > 0, func(h models.Host) error {
			return s.cfg.Store.PlaceUnshelve(ctx, inst, h)
		})
		switch {
		case err != nil:
			return err
		case out == placed:
			return nil
		case out == noHost && round == 1:
			s.cfg.Log.Info("no valid host to unshelve", "instance", inst.ID, "fault", d.NoValidHost())
			return s.cfg.Store.FailUnshelve(ctx, inst.ID, d.NoValidHost())
		}
	}
	return fmt.Errorf("unshelve of instance %s: every candidate host filled up while we claimed; retrying", inst.ID)
}
