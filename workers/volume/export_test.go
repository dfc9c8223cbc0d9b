package volume

import (
	"context"
	"encoding/json"
	"fmt"

	"stratus/models"
)

// RunJob runs one claimed job with the service's handler for its kind, as
// the service's pool would, so that tests drive the handlers one step at
// a time (and can run a job twice).
func (s *Service) RunJob(ctx context.Context, job *models.Job) error {
	switch job.Kind {
	case models.CreateVolume{}.Kind():
		return run(ctx, job, s.create)
	case models.DeleteVolume{}.Kind():
		return run(ctx, job, s.delete)
	case models.ExtendVolume{}.Kind():
		return run(ctx, job, s.extend)
	case models.CreateSnapshot{}.Kind():
		return run(ctx, job, s.createSnapshot)
	case models.DeleteSnapshot{}.Kind():
		return run(ctx, job, s.deleteSnapshot)
	}
	return fmt.Errorf("no handler for %q", job.Kind)
}

func run[T models.JobArgs](ctx context.Context, job *models.Job, f func(context.Context, *models.Job, T) error) error {
	var args T
	if err := json.Unmarshal(job.Args, &args); err != nil {
		return err
	}
	return f(ctx, job, args)
}
