package models

import (
	"context"
	"fmt"
	"time"
)

// SweepOrphanBlobs removes blobs no object points at that are older than
// minAge: what a process that died between writing a blob and committing
// (or between committing and removing a replaced blob) left behind. A blob
// is written moments before its row commits, so minAge (an hour, say)
// keeps the sweep away from uploads in flight. It returns how many blobs
// it removed.
func (s *Store) SweepOrphanBlobs(ctx context.Context, minAge time.Duration) (int, error) {
	be, err := s.objects()
	if err != nil {
		return 0, err
	}
	cutoff := time.Now().Add(-minAge)
	removed := 0
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var known []string
		if err := s.db.WithContext(ctx).Model(&Object{}).Where("blob_key IN ?", batch).Pluck("blob_key", &known).Error; err != nil {
			return fmt.Errorf("find referenced blobs: %w", err)
		}
		referenced := make(map[string]bool, len(known))
		for _, k := range known {
			referenced[k] = true
		}
		for _, k := range batch {
			if referenced[k] {
				continue
			}
			if err := be.Delete(ctx, k); err != nil {
				return err
			}
			removed++
		}
		batch = batch[:0]
		return nil
	}
	err = be.Walk(ctx, func(key string, written time.Time) error {
		if written.After(cutoff) {
			return nil
		}
		batch = append(batch, key)
		if len(batch) >= 500 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if removed > 0 {
		s.log.Info("removed orphaned object blobs", "blobs", removed)
	}
	return removed, err
}
