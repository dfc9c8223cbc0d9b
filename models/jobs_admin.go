package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// Audit actions of the operator's queue controls.
const (
	AuditJobRetry  = "job.retry"
	AuditJobCancel = "job.cancel"
)

// JobCounts counts jobs in each state (every state is present, zero or not):
// the admin console's summary and the queue depth metrics.
func (s *Store) JobCounts(ctx context.Context) (map[JobState]int64, error) {
	rows, err := s.db.WithContext(ctx).Raw("SELECT state, COUNT(*) FROM jobs GROUP BY state").Rows()
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := make(map[JobState]int64, 5)
	for _, st := range JobStates() {
		out[st] = 0
	}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		out[JobState(st)] = n
	}
	return out, rows.Err()
}

// JobFilter narrows ListJobs. Marker is the ID of the last job of the
// previous page: the next page holds older jobs.
type JobFilter struct {
	State  JobState
	Kind   string
	Limit  int
	Marker int64
}

// ListJobs lists jobs newest first, and the marker of the next page (0 on the
// last page). Operators only (the policy says so at the route).
func (s *Store) ListJobs(ctx context.Context, f JobFilter) ([]Job, int64, error) {
	var where []string
	var args []any
	if f.State != "" {
		if !f.State.valid() {
			return nil, 0, Invalid("state", "must be one of available, running, succeeded, failed, cancelled")
		}
		where, args = append(where, "state = ?"), append(args, string(f.State))
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.Marker > 0 {
		where, args = append(where, "id < ?"), append(args, f.Marker)
	}
	q := "SELECT " + jobColumns + " FROM jobs"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	n := ListOptions{Limit: f.Limit}.limit()
	q += " ORDER BY id DESC LIMIT " + strconv.Itoa(n+1)
	rows, err := s.db.Statement.ConnPool.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	jobs, err := scanJobs(rows, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	var next int64
	if len(jobs) > n {
		jobs = jobs[:n]
		next = jobs[n-1].ID
	}
	return jobs, next, nil
}

// GetJob finds one job.
func (s *Store) GetJob(ctx context.Context, id int64) (Job, error) {
	return s.getJob(ctx, s.db.Statement.ConnPool, id)
}

func (s *Store) getJob(ctx context.Context, conn gorm.ConnPool, id int64) (Job, error) {
	rows, err := conn.QueryContext(ctx, "SELECT "+jobColumns+" FROM jobs WHERE id = ?", id)
	if err != nil {
		return Job{}, fmt.Errorf("get job: %w", err)
	}
	jobs, err := scanJobs(rows, nil)
	if err != nil {
		return Job{}, fmt.Errorf("get job: %w", err)
	}
	if len(jobs) == 0 {
		return Job{}, notFound("job %d not found", id)
	}
	return jobs[0], nil
}

// RetryJob makes a failed or cancelled job available now with a fresh attempt
// budget. Its last error stays visible until the job runs again.
func (s *Store) RetryJob(ctx context.Context, c Caller, id int64) (Job, error) {
	q := "UPDATE jobs SET state = ?, attempt = 0, run_after = ?, finished_at = NULL, lease_owner = '', lease_expires_at = NULL " +
		"WHERE id = ? AND state IN (?, ?)"
	return s.operatorAction(ctx, c, id, AuditJobRetry, "retried", "only failed or cancelled jobs can be retried",
		q, string(JobAvailable), s.now(), id, string(JobFailed), string(JobCancelled))
}

// CancelJob stops a job that has not finished. A running job's worker learns
// it at its next heartbeat, and its own completion no longer applies.
func (s *Store) CancelJob(ctx context.Context, c Caller, id int64) (Job, error) {
	who := c.UserName
	if who == "" {
		who = "an operator"
	}
	q := "UPDATE jobs SET state = ?, finished_at = ?, lease_expires_at = NULL, last_error = ? " +
		"WHERE id = ? AND state IN (?, ?)"
	return s.operatorAction(ctx, c, id, AuditJobCancel, "cancelled", "only available or running jobs can be cancelled",
		q, string(JobCancelled), s.now(), "cancelled by "+who, id, string(JobAvailable), string(JobRunning))
}

// operatorAction runs one guarded UPDATE on a job with its audit event, and
// says why when the job is not in a state the action applies to.
func (s *Store) operatorAction(ctx context.Context, c Caller, id int64, action, done, rule, q string, args ...any) (Job, error) {
	var j Job
	err := s.tx(ctx, func(tx *gorm.DB) error {
		conn := tx.Statement.ConnPool
		res, err := conn.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("%s job %d: %w", action, id, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("%s job %d: %w", action, id, err)
		}
		if j, err = s.getJob(ctx, conn, id); err != nil {
			return err
		}
		if n == 0 {
			return conflict("job %d is %s: %s", id, j.State, rule)
		}
		if j.State == JobAvailable {
			noteEnqueued(tx, j.TargetHost) // a retried job wakes its pool
		}
		return s.audit(tx, c, action, OutcomeSuccess, "job", strconv.FormatInt(id, 10), j.Kind, "job "+done)
	})
	if err != nil {
		return Job{}, err
	}
	return j, nil
}
