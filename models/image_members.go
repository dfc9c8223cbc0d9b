package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Image members are the projects a shared image is shared with (Glance's
// members). Stratus has no member status: sharing is the owner's decision
// and the member sees the image at once, as if it had accepted.

// MaxImageTags bounds an image's tags (Glance's image_tag_quota default).
const MaxImageTags = 128

// checkTags accepts up to MaxImageTags tags of 1–255 characters.
func checkTags(p Problems, tags []string) {
	if len(tags) > MaxImageTags {
		p.Addf("tags", "at most %d tags", MaxImageTags)
	}
	for _, t := range tags {
		if strings.TrimSpace(t) == "" || utf8.RuneCountInString(t) > 255 {
			p.Add("tags", "each tag must be 1–255 characters")
		}
	}
}

// uniqueTags sorts tags and drops repeats; never nil, so the column holds [].
func uniqueTags(tags []string) []string {
	out := slices.Clone(tags)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// ImageMember is a project an image is shared with.
type ImageMember struct {
	ImageID   string `json:"image_id"`
	ProjectID string `json:"member_id"`
}

// ListImageMembers lists the projects an image is shared with: all of them
// for its owner (or an operator), only itself for a member project. Anyone
// else gets not found.
func (s *Store) ListImageMembers(ctx context.Context, c Caller, imageID string) ([]ImageMember, error) {
	db := s.db.WithContext(ctx)
	im, err := s.getImage(db, c, imageID)
	if err != nil {
		return nil, err
	}
	q := db.Table("image_members").Select("image_id, project_id").Where("image_id = ?", im.ID)
	if im.ProjectID != c.ProjectID && !c.IsSystemAdmin() {
		q = q.Where("project_id = ?", c.ProjectID)
	}
	var out []ImageMember
	if err := q.Order("project_id").Limit(MaxPageSize).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("list image members: %w", err)
	}
	return out, nil
}

// AddImageMember shares a shared image with a project (ID or name). Only
// the owner (or an operator) may; sharing twice is a conflict.
func (s *Store) AddImageMember(ctx context.Context, c Caller, imageID, project string) (ImageMember, error) {
	var m ImageMember
	err := s.tx(ctx, func(tx *gorm.DB) error {
		im, err := s.ownImage(tx, c, imageID)
		if err != nil {
			return err
		}
		if im.Visibility != VisibilityShared {
			return conflict("image %q is %s: only shared images have members", im.Name, im.Visibility)
		}
		pr, err := projectRef(tx, "member", project)
		if err != nil {
			return err
		}
		if pr.ID == im.ProjectID {
			return Invalid("member", "the owner project is not a member of its own image")
		}
		err = tx.Exec("INSERT INTO image_members (image_id, project_id) VALUES (?, ?)", im.ID, pr.ID).Error
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return conflict("image %q is already shared with project %s", im.Name, pr.Name)
		} else if err != nil {
			return fmt.Errorf("add image member: %w", err)
		}
		m = ImageMember{ImageID: im.ID, ProjectID: pr.ID}
		return nil
	})
	return m, err
}

// RemoveImageMember stops sharing an image with a project (ID). Only the
// owner (or an operator) may.
func (s *Store) RemoveImageMember(ctx context.Context, c Caller, imageID, projectID string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		im, err := s.ownImage(tx, c, imageID)
		if err != nil {
			return err
		}
		res := tx.Exec("DELETE FROM image_members WHERE image_id = ? AND project_id = ?", im.ID, projectID)
		if res.Error != nil {
			return fmt.Errorf("remove image member: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return notFound("project %q is not a member of image %q", projectID, im.Name)
		}
		return nil
	})
}
