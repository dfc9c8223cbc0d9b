package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ObjectChange is an object POST. As in Swift, it replaces the object's
// metadata as a whole (X-Object-Meta-* and the kept headers) and its
// expiry — a POST without X-Delete-At leaves the object without one — and
// changes the content type when given. The bytes stay.
type ObjectChange struct {
	Metadata    map[string]string
	ContentType string
	DeleteAt    *time.Time
}

// UpdateObject applies a POST to an object.
func (s *Store) UpdateObject(ctx context.Context, project, container, name string, ch ObjectChange) (Object, error) {
	now := s.now()
	if err := checkMetadata("object", ch.Metadata); err != nil {
		return Object{}, err
	}
	if ch.DeleteAt != nil && !ch.DeleteAt.After(now) {
		return Object{}, Invalid("X-Delete-At", "is in the past")
	}
	if len(ch.ContentType) > 256 {
		return Object{}, Invalid("Content-Type", "must be at most 256 characters")
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
		if o.Expired(now) {
			return notFound("object %q not found", name)
		}
		o.Metadata, o.DeleteAt, o.UpdatedAt = ch.Metadata, ch.DeleteAt, now
		if o.Metadata == nil {
			o.Metadata = map[string]string{}
		}
		if ch.ContentType != "" {
			o.ContentType = ch.ContentType
		}
		err = tx.Model(&Object{}).Where("id = ?", o.ID).Updates(map[string]any{
			"metadata": jsonText(o.Metadata), "delete_at": o.DeleteAt, "content_type": o.ContentType, "updated_at": now,
		}).Error
		if err != nil {
			return fmt.Errorf("update object: %w", err)
		}
		return nil
	})
	return o, err
}
