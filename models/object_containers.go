package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// ContainerChange is what a PUT or POST on a container sets: metadata by
// lower-case header name (an empty value removes, as in Swift), names to
// remove, and the ACLs when given.
type ContainerChange struct {
	Set      map[string]string
	Remove   []string
	ReadACL  *string
	WriteACL *string
}

// apply validates the change and applies it to a container.
func (ch ContainerChange) apply(c *Container) error {
	if ch.ReadACL != nil {
		acl, err := ParseACL(*ch.ReadACL, false)
		if err != nil {
			return err
		}
		c.ReadACL = acl.String()
	}
	if ch.WriteACL != nil {
		acl, err := ParseACL(*ch.WriteACL, true)
		if err != nil {
			return err
		}
		c.WriteACL = acl.String()
	}
	for _, k := range []string{"x-container-meta-quota-bytes", "x-container-meta-quota-count"} {
		if v, ok := ch.Set[k]; ok && v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
				return Invalid("X-Container-Meta-Quota-"+strings.TrimPrefix(k, "x-container-meta-quota-"), "must be a whole number")
			}
		}
	}
	c.Metadata = mergeMetadata(c.Metadata, ch.Set, ch.Remove)
	return checkMetadata("container", c.Metadata)
}

// CreateContainer creates a container in a project's account, or — as a
// PUT on an existing container does in Swift — changes its metadata.
// created says which.
func (s *Store) CreateContainer(ctx context.Context, project, name string, ch ContainerChange) (c Container, created bool, err error) {
	if err := CheckContainerName(name); err != nil {
		return c, false, err
	}
	for attempt := 0; ; attempt++ {
		err = s.tx(ctx, func(tx *gorm.DB) error {
			existing, err := s.lockContainer(tx, project, name)
			if err == nil {
				c, created = existing, false
				if err := ch.apply(&c); err != nil {
					return err
				}
				c.UpdatedAt = s.now()
				return tx.Model(&Container{}).Where("id = ?", c.ID).Updates(map[string]any{
					"read_acl": c.ReadACL, "write_acl": c.WriteACL, "metadata": jsonText(c.Metadata), "updated_at": c.UpdatedAt,
				}).Error
			}
			if !errors.Is(err, ErrNotFound) {
				return err
			}
			now := s.now()
			c, created = Container{ProjectID: project, Name: name, Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now}, true
			if err := ch.apply(&c); err != nil {
				return err
			}
			if err := tx.Create(&c).Error; err != nil {
				return fmt.Errorf("create container: %w", err)
			}
			return nil
		})
		// Two creators raced on MySQL: the loser finds the winner's row.
		if errors.Is(err, gorm.ErrDuplicatedKey) && attempt == 0 {
			continue
		}
		return c, created, err
	}
}

// lockContainer reads a container inside a transaction, locked until it
// ends.
func (s *Store) lockContainer(tx *gorm.DB, project, name string) (Container, error) {
	q := s.forUpdate(tx.Where("project_id = ? AND name = ?", project, s.nameArg(name)))
	return takeRef[Container](q, "container", name)
}

// GetContainer reads a container of a project's account.
func (s *Store) GetContainer(ctx context.Context, project, name string) (Container, error) {
	if err := CheckContainerName(name); err != nil {
		return Container{}, notFound("container %q not found", name)
	}
	return takeRef[Container](s.db.WithContext(ctx).Where("project_id = ? AND name = ?", project, s.nameArg(name)), "container", name)
}

// UpdateContainer changes a container's metadata or ACLs (POST).
func (s *Store) UpdateContainer(ctx context.Context, project, name string, ch ContainerChange) (Container, error) {
	var c Container
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if c, err = s.lockContainer(tx, project, name); err != nil {
			return err
		}
		if err := ch.apply(&c); err != nil {
			return err
		}
		c.UpdatedAt = s.now()
		return tx.Model(&Container{}).Where("id = ?", c.ID).Updates(map[string]any{
			"read_acl": c.ReadACL, "write_acl": c.WriteACL, "metadata": jsonText(c.Metadata), "updated_at": c.UpdatedAt,
		}).Error
	})
	return c, err
}

// DeleteContainer deletes an empty container; one with objects is a
// conflict. Its expired objects are reaped first, so that a container
// holding only those can go.
func (s *Store) DeleteContainer(ctx context.Context, project, name string) error {
	c, err := s.GetContainer(ctx, project, name)
	if err != nil {
		return err
	}
	if c.ObjectCount > 0 {
		if _, err := s.reapExpired(ctx, c.ID, 1000); err != nil {
			return err
		}
	}
	res := s.db.WithContext(ctx).Where("id = ? AND object_count = 0", c.ID).Delete(&Container{})
	if res.Error != nil {
		return fmt.Errorf("delete container: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := s.GetContainer(ctx, project, name); errors.Is(err, ErrNotFound) {
			return err
		}
		return conflict("container %q is not empty: delete its objects first", name)
	}
	return nil
}
