package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// DeleteObject deletes an object: its row and the container's counters in
// one transaction, then its blob. An expired object is already gone.
func (s *Store) DeleteObject(ctx context.Context, project, container, name string) (Object, error) {
	if err := CheckObjectName(name); err != nil {
		return Object{}, notFound("object %q not found", name)
	}
	var o Object
	err := s.tx(ctx, func(tx *gorm.DB) error {
		c, err := s.lockContainer(tx, project, container)
		if err != nil {
			return err
		}
		if o, err = takeRef[Object](s.forUpdate(tx.Where("container_id = ? AND name = ?", c.ID, s.nameArg(name))), "object", name); err != nil {
			return err
		}
		if o.Expired(s.now()) {
			return notFound("object %q not found", name)
		}
		return s.removeObjectRow(tx, o)
	})
	if err != nil {
		return Object{}, err
	}
	s.dropBlob(ctx, o.BlobKey)
	return o, nil
}

// removeObjectRow deletes a locked object row and counts it out of its
// container.
func (s *Store) removeObjectRow(tx *gorm.DB, o Object) error {
	res := tx.Where("id = ?", o.ID).Delete(&Object{})
	if res.Error != nil {
		return fmt.Errorf("delete object: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return notFound("object %q not found", o.Name)
	}
	return s.countObjects(tx, o.ContainerID, -1, -o.SizeBytes, s.now())
}

// ReapExpiredObjects removes up to batch objects whose X-Delete-At has
// passed (the object expirer). It is safe to run in several processes at
// once: each object is removed by whoever deletes its row.
func (s *Store) ReapExpiredObjects(ctx context.Context, batch int) (int, error) {
	return s.reapExpired(ctx, 0, batch)
}

// reapExpired reaps the expired objects of one container (containerID 0:
// of all).
func (s *Store) reapExpired(ctx context.Context, containerID int64, batch int) (int, error) {
	now := s.now()
	q := s.db.WithContext(ctx).Model(&Object{}).Where("delete_at <= ?", now)
	if containerID != 0 {
		q = q.Where("container_id = ?", containerID)
	}
	var found []struct{ ID, ContainerID int64 }
	if err := q.Select("id, container_id").Limit(batch).Scan(&found).Error; err != nil {
		return 0, fmt.Errorf("find expired objects: %w", err)
	}
	reaped := 0
	for _, f := range found {
		var o Object
		err := s.tx(ctx, func(tx *gorm.DB) error {
			// Container first, then object: the order every object write
			// locks in, so that MySQL writers never deadlock.
			if _, err := takeRef[Container](s.forUpdate(tx.Where("id = ?", f.ContainerID)), "container", fmt.Sprint(f.ContainerID)); err != nil {
				return err
			}
			var err error
			o, err = takeRef[Object](s.forUpdate(tx.Where("id = ? AND delete_at <= ?", f.ID, now)), "object", fmt.Sprint(f.ID))
			if err != nil {
				return err
			}
			return s.removeObjectRow(tx, o)
		})
		if errors.Is(err, ErrNotFound) {
			continue // replaced, re-dated or reaped by another process
		}
		if err != nil {
			return reaped, err
		}
		s.dropBlob(ctx, o.BlobKey)
		reaped++
	}
	return reaped, nil
}
