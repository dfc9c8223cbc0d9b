package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// ListAPITokensPage lists the caller's own named tokens (all projects,
// revoked ones included) newest first, a page at a time: o.Name filters by
// name, o.Marker is the ID of the last token of the previous page and must
// be one of the caller's tokens.
func (s *Store) ListAPITokensPage(ctx context.Context, c Caller, o ListOptions) (Page[Token], error) {
	q := s.db.WithContext(ctx).Model(&Token{}).Where("tokens.user_id = ? AND tokens.kind = ?", c.UserID, TokenAPI)
	q = nameFilter(q, "tokens", o)
	if o.Marker != "" {
		var m Token
		err := q.Session(&gorm.Session{}).Where("tokens.id = ?", o.Marker).Take(&m).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Page[Token]{}, Invalid("marker", "no item with this ID in the list")
		} else if err != nil {
			return Page[Token]{}, fmt.Errorf("list tokens: %w", err)
		}
		q = q.Where("(tokens.created_at < ? OR (tokens.created_at = ? AND tokens.id < ?))", m.CreatedAt, m.CreatedAt, m.ID)
	}
	p, err := finishPage(q.Order("tokens.created_at DESC, tokens.id DESC"), o, func(t Token) string { return t.ID })
	if err != nil {
		return p, fmt.Errorf("list tokens: %w", err)
	}
	return p, nil
}
