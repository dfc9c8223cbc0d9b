package models

import (
	"context"
	"fmt"
)

// ListAPITokensPage lists the caller's own named tokens (all projects,
// revoked ones included) newest first, a page at a time: o.Name filters by
// name, o.Marker is the ID of the last token of the previous page and must
// be one of the caller's tokens.
func (s *Store) ListAPITokensPage(ctx context.Context, c Caller, o ListOptions) (Page[Token], error) {
	q := s.db.WithContext(ctx).Model(&Token{}).Where("tokens.user_id = ? AND tokens.kind = ?", c.UserID, TokenAPI)
	q = nameFilter(q, "tokens", o)
	p, err := pageNewestFirst(q, "tokens", o, func(t Token) string { return t.ID })
	if err != nil {
		return p, fmt.Errorf("list tokens: %w", err)
	}
	return p, nil
}
