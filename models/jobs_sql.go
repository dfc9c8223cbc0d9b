package models

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// exec runs one statement outside any transaction and returns the rows it
// changed. The queue's hot paths use database/sql directly: gorm's callbacks
// cost more than these one-line statements.
func (s *Store) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.db.Statement.ConnPool.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// scanJobs reads rows of jobColumns, appending to dst.
func scanJobs(rows *sql.Rows, dst []Job) ([]Job, error) {
	defer rows.Close()
	for rows.Next() {
		var (
			j                          Job
			args                       []byte
			state                      string
			lease, attempted, finished sql.NullTime
			lastErr                    sql.NullString
		)
		if err := rows.Scan(&j.ID, &j.Kind, &args, &j.TargetHost, &state, &j.Attempt, &j.MaxAttempts, &j.RunAfter,
			&j.LeaseOwner, &lease, &lastErr, &j.ResourceType, &j.ResourceID, &j.CreatedAt, &attempted, &finished); err != nil {
			return dst, err
		}
		j.Args, j.State, j.LastError = args, JobState(state), lastErr.String
		j.RunAfter, j.CreatedAt = j.RunAfter.UTC(), j.CreatedAt.UTC()
		j.LeaseExpiresAt, j.AttemptedAt, j.FinishedAt = timePtr(lease), timePtr(attempted), timePtr(finished)
		dst = append(dst, j)
	}
	return dst, rows.Err()
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// idList writes IDs as SQL integer literals. They are int64s, so nothing can
// be injected, and a literal list keeps statements small and cheap to parse.
func idList(ids []int64) string {
	b := make([]byte, 0, len(ids)*8)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(b)
}

// chunks yields ids in slices of at most n.
func chunks(ids []int64, n int) func(yield func([]int64) bool) {
	return func(yield func([]int64) bool) {
		for len(ids) > 0 {
			k := min(n, len(ids))
			if !yield(ids[:k]) {
				return
			}
			ids = ids[k:]
		}
	}
}

// retryOnDeadlock runs fn again when MySQL picked it as a deadlock victim or
// gave up waiting for a lock: both roll the transaction back and are safe to
// retry. Queue statements are short, so a few tries suffice.
func retryOnDeadlock(ctx context.Context, fn func() error) error {
	var err error
	for try := 0; try < 5; try++ {
		if err = fn(); err == nil || !isDeadlock(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(try+1) * time.Millisecond):
		}
	}
	return err
}

func isDeadlock(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205
	}
	return strings.Contains(err.Error(), "database is locked")
}
