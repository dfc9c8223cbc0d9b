package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// SeedObjectsForBench writes object rows straight into a container — no
// bytes, no quota check — for benchmarks of listings that need a container
// of a hundred thousand objects quickly. Their blobs do not exist (reading
// one fails); the container's counters are kept right. Never call it from
// a request path.
func (s *Store) SeedObjectsForBench(ctx context.Context, project, container string, names []string, size int64) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		c, err := s.lockContainer(tx, project, container)
		if err != nil {
			return err
		}
		now := s.now()
		rows := make([]Object, 0, 1000)
		flush := func() error {
			if len(rows) == 0 {
				return nil
			}
			if err := tx.CreateInBatches(rows, 1000).Error; err != nil {
				return fmt.Errorf("seed objects: %w", err)
			}
			rows = rows[:0]
			return nil
		}
		for _, n := range names {
			rows = append(rows, Object{ContainerID: c.ID, Name: n, BlobKey: newBlobKey(), SizeBytes: size,
				ETag: "d41d8cd98f00b204e9800998ecf8427e", ContentType: "application/octet-stream",
				Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now})
			if len(rows) == cap(rows) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		return s.countObjects(tx, c.ID, int64(len(names)), int64(len(names))*size, now)
	})
}
