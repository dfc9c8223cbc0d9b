package models

import (
	"context"
	"fmt"
	"strings"
)

// ExplainJobQuery returns the plan of one of the queue's reads — "claim",
// "rescue" or "prune" — as MySQL's EXPLAIN rows ("key=… extra=…") or
// SQLite's EXPLAIN QUERY PLAN details.
func ExplainJobQuery(ctx context.Context, s *Store, which string) (string, error) {
	var q string
	var args []any
	switch which {
	case "claim":
		q, args = s.claimSQL(), []any{string(JobAvailable), "", s.now(), 100}
	case "rescue":
		q, args = rescueSelectSQL, []any{string(JobRunning), s.now(), idBatch}
	case "prune":
		q, args = s.pruneSelectSQL(), []any{s.now(), string(JobSucceeded), string(JobFailed), string(JobCancelled), idBatch}
	default:
		return "", fmt.Errorf("no job query %q", which)
	}
	prefix := "EXPLAIN "
	if s.dialect == SQLite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := s.db.WithContext(ctx).Raw(prefix+q, args...).Rows()
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		var parts []string
		for i, c := range cols {
			v := vals[i]
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			parts = append(parts, fmt.Sprintf("%s=%v", strings.ToLower(c), v))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return strings.Join(out, "\n"), rows.Err()
}
