package volume

import (
	"context"
	"errors"
	"fmt"
	"time"

	"stratus/models"
	"stratus/workers"
)

// The service's job workers. Each reads its volume or snapshot first and
// does nothing when it is no longer in the state the job was enqueued for,
// so a job that runs twice is harmless. A backend failure ends the job,
// logged in full here, and becomes the volume's fault message (which the
// model gives its owner without the server's paths); a context cancelled
// because the service stops lets the job run again.

// create makes a volume's data.
func (s *Service) create(ctx context.Context, job *models.Job, args models.CreateVolume) error {
	store := s.cfg.Store
	v, err := store.VolumeByID(ctx, args.VolumeID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if v.Status != models.VolumeCreating || v.Backend != s.cfg.Name {
		return nil
	}
	start := time.Now()
	src, err := s.source(ctx, v)
	if err != nil {
		if ctx.Err() != nil || job.Attempt < job.MaxAttempts && isTransient(err) {
			return err // the image store may answer on the next attempt
		}
		s.log.Warn("create volume failed", "volume", v.ID, "err", err)
		return store.FailVolumeCreate(ctx, v.ID, err.Error())
	}
	conn, err := s.cfg.Backend.CreateVolume(ctx, v, src)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("create volume failed", "volume", v.ID, "err", err)
		return store.FailVolumeCreate(ctx, v.ID, err.Error())
	}
	s.log.Info("volume created", "volume", v.ID, "size_gb", v.SizeGB, "from_image", v.SourceImageID,
		"from_snapshot", v.SourceSnapshotID, "from_volume", v.SourceVolumeID, "duration_ms", time.Since(start).Milliseconds())
	return store.FinishVolumeCreate(ctx, v.ID, conn)
}

// transientError wraps a failure worth retrying (fetching an image).
type transientError struct{ error }

func (e transientError) Unwrap() error { return e.error }

func isTransient(err error) bool {
	var t transientError
	return errors.As(err, &t)
}

// source gathers what a volume is made from.
func (s *Service) source(ctx context.Context, v models.Volume) (Source, error) {
	store := s.cfg.Store
	var src Source
	switch {
	case v.SourceImageID != "" && v.SourceSnapshotID == "" && v.SourceVolumeID == "":
		if s.cfg.Images == nil {
			return src, fmt.Errorf("the %s backend's volume service cannot read images", s.cfg.Name)
		}
		im, err := store.ImageByID(ctx, v.SourceImageID)
		if err != nil {
			return src, fmt.Errorf("image %s: %w", v.SourceImageID, err)
		}
		if im.Status != models.ImageActive {
			return src, fmt.Errorf("image %s is %s", im.ID, im.Status)
		}
		path, err := s.cfg.Images.Fetch(ctx, im)
		if err != nil {
			err = fmt.Errorf("fetch image %s: %w", im.ID, err)
			if _, unusable := errors.AsType[*workers.TerminalError](err); unusable {
				return src, err // its bytes arrived but cannot be used: no retry helps
			}
			return src, transientError{err}
		}
		src.ImagePath, src.ImageFormat = path, "qcow2" // the cache prepares a qcow2 base
		src.Progress = s.progress(ctx, v.ID)
	case v.SourceSnapshotID != "":
		snap, err := store.SnapshotByID(ctx, v.SourceSnapshotID)
		if err != nil {
			return src, fmt.Errorf("snapshot %s: %w", v.SourceSnapshotID, err)
		}
		if snap.ProviderLocation == "" {
			return src, fmt.Errorf("snapshot %s has no data", snap.ID)
		}
		src.Snapshot = &snap
	case v.SourceVolumeID != "":
		from, err := store.VolumeByID(ctx, v.SourceVolumeID)
		if err != nil {
			return src, fmt.Errorf("source volume %s: %w", v.SourceVolumeID, err)
		}
		src.Volume = &from
	}
	return src, nil
}

// progress records an image write's progress, at most once a second.
func (s *Service) progress(ctx context.Context, volumeID string) func(int) {
	var last time.Time
	return func(pct int) {
		if pct < 100 && time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		if err := s.cfg.Store.SetVolumeProgress(ctx, volumeID, pct); err != nil {
			s.log.Warn("record progress", "volume", volumeID, "err", err)
		}
	}
}

// delete removes a volume's data, then whatever of its chain nothing
// needs any more.
func (s *Service) delete(ctx context.Context, job *models.Job, args models.DeleteVolume) error {
	store := s.cfg.Store
	v, err := store.VolumeByID(ctx, args.VolumeID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if v.Status != models.VolumeDeleting {
		return nil
	}
	if err := s.cfg.Backend.DeleteVolume(ctx, v); err != nil {
		if ctx.Err() == nil && job.Attempt >= job.MaxAttempts {
			s.log.Warn("delete volume failed", "volume", v.ID, "err", err)
			return store.FailVolumeDelete(ctx, v.ID, err.Error())
		}
		return fmt.Errorf("delete volume data: %w", err)
	}
	if err := store.FinishVolumeDelete(ctx, v.ID); err != nil {
		return err
	}
	if err := s.collect(ctx); err != nil {
		s.log.Warn("collect after delete", "err", err)
	}
	return nil
}

// extend grows a volume; an attached one's host then grows it under the
// guest.
func (s *Service) extend(ctx context.Context, job *models.Job, args models.ExtendVolume) error {
	store := s.cfg.Store
	v, err := store.VolumeByID(ctx, args.VolumeID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if v.Status != models.VolumeExtending {
		return nil
	}
	if err := s.cfg.Backend.ExtendVolume(ctx, v, args.NewSizeGB, len(v.Attachments) > 0); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("extend volume failed", "volume", v.ID, "err", err)
		return store.FailExtend(ctx, v.ID, args.OldSizeGB, err.Error())
	}
	return store.FinishBackendExtend(ctx, args)
}

// createSnapshot takes a snapshot, or hands its live part to the host of
// the instance the volume is attached to.
func (s *Service) createSnapshot(ctx context.Context, job *models.Job, args models.CreateSnapshot) error {
	store := s.cfg.Store
	snap, err := store.SnapshotByID(ctx, args.SnapshotID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if snap.Status != models.SnapshotCreating {
		return nil
	}
	v, err := store.VolumeByID(ctx, snap.VolumeID)
	if err != nil {
		return err
	}
	attached := len(v.Attachments) > 0
	res, err := s.cfg.Backend.CreateSnapshot(ctx, v, snap, attached)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("snapshot failed", "snapshot", snap.ID, "volume", v.ID, "err", err)
		return store.FailSnapshot(ctx, snap.ID, err.Error())
	}
	if res.Live != nil {
		live := models.SnapshotVolumeLive{SnapshotID: snap.ID, VolumeID: v.ID, Overlay: *res.Live, Frozen: res.Location}
		if v.Connection != nil {
			live.Previous = *v.Connection
		}
		if err := store.HandSnapshotToHost(ctx, live); err != nil {
			s.log.Warn("snapshot not handed to the host", "snapshot", snap.ID, "volume", v.ID, "err", err)
			return store.FailSnapshot(ctx, snap.ID, err.Error())
		}
		return nil
	}
	return store.FinishSnapshot(ctx, snap.ID, res.Location, res.VolumeConnection)
}

// deleteSnapshot removes a snapshot's data once nothing needs it.
func (s *Service) deleteSnapshot(ctx context.Context, job *models.Job, args models.DeleteSnapshot) error {
	store := s.cfg.Store
	snap, err := store.SnapshotByID(ctx, args.SnapshotID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if snap.Status != models.SnapshotDeleting {
		return nil
	}
	refs, err := s.references(ctx)
	if err != nil {
		return err
	}
	if err := s.cfg.Backend.DeleteSnapshot(ctx, snap, refs); err != nil {
		if ctx.Err() == nil && job.Attempt >= job.MaxAttempts {
			s.log.Warn("delete snapshot failed", "snapshot", snap.ID, "err", err)
			return store.FailSnapshotDelete(ctx, snap.ID, err.Error())
		}
		return fmt.Errorf("delete snapshot data: %w", err)
	}
	return store.FinishSnapshotDelete(ctx, snap.ID)
}
