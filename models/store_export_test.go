package models

import "context"

// RawScalar reads one value with raw SQL (tests only).
func RawScalar(ctx context.Context, s *Store, q string, dst any) error {
	return s.db.WithContext(ctx).Raw(q).Row().Scan(dst)
}
