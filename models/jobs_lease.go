package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ErrLeaseLost means a worker tried to finish, extend or release a job it no
// longer holds: its lease expired and was rescued, or an operator cancelled
// the job. The worker must drop the job; whoever holds it now decides.
var ErrLeaseLost = errors.New("job lease lost")

// idBatch bounds the IN lists of one statement.
const idBatch = 1000

// ClaimJobs leases up to max available jobs whose run_after has come, for
// owner, oldest first. targetHost "" claims scheduler jobs; a host name claims
// that compute host's jobs only. Each claimed job's attempt counts from here.
//
// On MySQL/MariaDB concurrent claimers skip each other's locked rows (SKIP
// LOCKED), so they never wait on or double-claim a job; on SQLite the
// transaction starts with BEGIN IMMEDIATE and so holds the single write lock.
func (s *Store) ClaimJobs(ctx context.Context, owner, targetHost string, max int, lease time.Duration) ([]Job, error) {
	if owner == "" || lease <= 0 {
		return nil, fmt.Errorf("claim jobs: owner and a positive lease are required")
	}
	if max <= 0 {
		return nil, nil
	}
	var jobs []Job
	err := retryOnDeadlock(ctx, func() error {
		now := s.now()
		expires := now.Add(lease)
		jobs = jobs[:0]
		return s.tx(ctx, func(tx *gorm.DB) error {
			conn := tx.Statement.ConnPool
			rows, err := conn.QueryContext(ctx, s.claimSQL(), string(JobAvailable), targetHost, now, max)
			if err != nil {
				return fmt.Errorf("claim jobs: %w", err)
			}
			if jobs, err = scanJobs(rows, jobs); err != nil {
				return fmt.Errorf("claim jobs: %w", err)
			}
			if len(jobs) == 0 {
				return nil
			}
			ids := make([]int64, len(jobs))
			for i := range jobs {
				ids[i] = jobs[i].ID
			}
			q := "UPDATE jobs SET state = ?, lease_owner = ?, lease_expires_at = ?, attempt = attempt + 1, attempted_at = ? " +
				"WHERE id IN (" + idList(ids) + ")"
			if _, err := conn.ExecContext(ctx, q, string(JobRunning), owner, expires, now); err != nil {
				return fmt.Errorf("lease claimed jobs: %w", err)
			}
			for i := range jobs {
				j := &jobs[i]
				j.State, j.LeaseOwner, j.Attempt = JobRunning, owner, j.Attempt+1
				j.LeaseExpiresAt, j.AttemptedAt = &expires, &now
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// claimSQL reads the head of ix_jobs_claim: equality on (state, target_host),
// a range on run_after, in index order, so the engine stops after max rows
// and never sorts.
func (s *Store) claimSQL() string {
	if s.dialect == MySQL {
		return "SELECT " + jobColumns + " FROM jobs FORCE INDEX (ix_jobs_claim) " +
			"WHERE state = ? AND target_host = ? AND run_after <= ? ORDER BY run_after, id LIMIT ? FOR UPDATE SKIP LOCKED"
	}
	return "SELECT " + jobColumns + " FROM jobs INDEXED BY ix_jobs_claim " +
		"WHERE state = ? AND target_host = ? AND run_after <= ? ORDER BY run_after, id LIMIT ?"
}

// NextJobDue says when the next available job for targetHost may run:
// ok is false when there is none. It is what an idle pool polls: one
// indexed read instead of a claim's transaction, and the time of a retry
// or snooze due before the next poll, so the pool can wake for it.
func (s *Store) NextJobDue(ctx context.Context, targetHost string) (due time.Time, ok bool, err error) {
	hint := "INDEXED BY ix_jobs_claim"
	if s.dialect == MySQL {
		hint = "FORCE INDEX (ix_jobs_claim)"
	}
	q := "SELECT run_after FROM jobs " + hint + " WHERE state = ? AND target_host = ? ORDER BY run_after, id LIMIT 1"
	rows, err := s.db.WithContext(ctx).Raw(q, string(JobAvailable), targetHost).Rows()
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next job due: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return time.Time{}, false, rows.Err()
	}
	if err := rows.Scan(&due); err != nil {
		return time.Time{}, false, fmt.Errorf("next job due: %w", err)
	}
	return due, true, nil
}

// CompleteJobs marks jobs that owner ran as succeeded, in one UPDATE per
// thousand IDs, and returns the IDs it completed. A job owner no longer holds
// (rescued, cancelled by an operator) is left as it is and not returned.
func (s *Store) CompleteJobs(ctx context.Context, owner string, ids []int64) ([]int64, error) {
	now := s.now()
	var done []int64 // stays nil while every job was ours
	offset := 0
	for chunk := range chunks(ids, idBatch) {
		list := idList(chunk)
		q := "UPDATE jobs SET state = ?, finished_at = ?, lease_expires_at = NULL " +
			"WHERE id IN (" + list + ") AND state = ? AND lease_owner = ?"
		var n int64
		err := retryOnDeadlock(ctx, func() error {
			var err error
			n, err = s.exec(ctx, q, string(JobSucceeded), now, string(JobRunning), owner)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("complete jobs: %w", err)
		}
		if int(n) == len(chunk) {
			if done != nil {
				done = append(done, chunk...)
			}
			offset += len(chunk)
			continue
		}
		// Some were not ours any more: find the ones this call finished
		// (owner and finish time are both ours alone).
		var got []int64
		if err := s.db.WithContext(ctx).Raw("SELECT id FROM jobs WHERE id IN ("+list+") AND state = ? AND lease_owner = ? AND finished_at = ?",
			string(JobSucceeded), owner, now).Scan(&got).Error; err != nil {
			return nil, fmt.Errorf("complete jobs: %w", err)
		}
		if done == nil {
			done = append(make([]int64, 0, len(ids)), ids[:offset]...)
		}
		done = append(done, got...)
		offset += len(chunk)
	}
	if done == nil {
		return ids, nil
	}
	return done, nil
}

// RetryLater records a failed attempt of a job owner holds: the job becomes
// available again at runAfter, or failed if it has used all its attempts. It
// returns the state the job is in now, or ErrLeaseLost.
func (s *Store) RetryLater(ctx context.Context, owner string, id int64, runAfter time.Time, lastError string) (JobState, error) {
	now := s.now()
	q := "UPDATE jobs SET " +
		"state = CASE WHEN attempt >= max_attempts THEN ? ELSE ? END, " +
		"finished_at = CASE WHEN attempt >= max_attempts THEN ? ELSE NULL END, " +
		"run_after = ?, last_error = ?, lease_expires_at = NULL " +
		"WHERE id = ? AND state = ? AND lease_owner = ?"
	n, err := s.exec(ctx, q, string(JobFailed), string(JobAvailable), now,
		runAfter.UTC().Truncate(time.Microsecond), truncateError(lastError), id, string(JobRunning), owner)
	if err != nil {
		return "", fmt.Errorf("retry job %d later: %w", id, err)
	}
	if n == 0 {
		return "", ErrLeaseLost
	}
	var st string
	if err := s.db.WithContext(ctx).Raw("SELECT state FROM jobs WHERE id = ?", id).Row().Scan(&st); err != nil {
		return "", fmt.Errorf("read job %d state: %w", id, err)
	}
	return JobState(st), nil
}

// FailJob ends a job owner holds as failed, whatever attempts it has left:
// its error is terminal. lastError is shown to operators.
func (s *Store) FailJob(ctx context.Context, owner string, id int64, lastError string) error {
	return s.finishLeased(ctx, owner, id, JobFailed, lastError)
}

// CancelLeasedJob ends a job owner holds as cancelled: its handler decided
// the work is no longer wanted (the resource is gone, say).
func (s *Store) CancelLeasedJob(ctx context.Context, owner string, id int64, reason string) error {
	return s.finishLeased(ctx, owner, id, JobCancelled, reason)
}

func (s *Store) finishLeased(ctx context.Context, owner string, id int64, st JobState, msg string) error {
	q := "UPDATE jobs SET state = ?, finished_at = ?, last_error = ?, lease_expires_at = NULL " +
		"WHERE id = ? AND state = ? AND lease_owner = ?"
	n, err := s.exec(ctx, q, string(st), s.now(), truncateError(msg), id, string(JobRunning), owner)
	if err != nil {
		return fmt.Errorf("mark job %d %s: %w", id, st, err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// SnoozeJob puts a job owner holds back to available at runAfter without
// counting the attempt: the handler asked to be called again later (waiting
// for a host to come up, say), which is not a failure.
func (s *Store) SnoozeJob(ctx context.Context, owner string, id int64, runAfter time.Time) error {
	q := "UPDATE jobs SET state = ?, run_after = ?, attempt = CASE WHEN attempt > 0 THEN attempt - 1 ELSE 0 END, " +
		"lease_owner = '', lease_expires_at = NULL WHERE id = ? AND state = ? AND lease_owner = ?"
	n, err := s.exec(ctx, q, string(JobAvailable), runAfter.UTC().Truncate(time.Microsecond), id, string(JobRunning), owner)
	if err != nil {
		return fmt.Errorf("snooze job %d: %w", id, err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// ExtendLeases moves the lease of jobs owner still holds to until (the
// heartbeat). It returns the IDs owner no longer holds, whose handlers must
// stop.
func (s *Store) ExtendLeases(ctx context.Context, owner string, ids []int64, until time.Time) (lost []int64, err error) {
	until = until.UTC().Truncate(time.Microsecond)
	for chunk := range chunks(ids, idBatch) {
		list := idList(chunk)
		n, err := s.exec(ctx, "UPDATE jobs SET lease_expires_at = ? WHERE id IN ("+list+") AND state = ? AND lease_owner = ?",
			until, string(JobRunning), owner)
		if err != nil {
			return lost, fmt.Errorf("extend leases: %w", err)
		}
		if int(n) == len(chunk) {
			continue
		}
		// MySQL counts changed rows, not matched ones, so a short count is
		// only a hint: ask which leases are still ours.
		var held []int64
		if err := s.db.WithContext(ctx).Raw("SELECT id FROM jobs WHERE id IN ("+list+") AND state = ? AND lease_owner = ?",
			string(JobRunning), owner).Scan(&held).Error; err != nil {
			return lost, fmt.Errorf("check leases: %w", err)
		}
		ours := make(map[int64]bool, len(held))
		for _, id := range held {
			ours[id] = true
		}
		for _, id := range chunk {
			if !ours[id] {
				lost = append(lost, id)
			}
		}
	}
	return lost, nil
}

// ReleaseJobs gives back jobs owner claimed but did not start (shutdown):
// they become available at once and the attempt does not count.
func (s *Store) ReleaseJobs(ctx context.Context, owner string, ids []int64) (int64, error) {
	var n int64
	for chunk := range chunks(ids, idBatch) {
		q := "UPDATE jobs SET state = ?, attempt = CASE WHEN attempt > 0 THEN attempt - 1 ELSE 0 END, " +
			"lease_owner = '', lease_expires_at = NULL WHERE id IN (" + idList(chunk) + ") AND state = ? AND lease_owner = ?"
		got, err := s.exec(ctx, q, string(JobAvailable), string(JobRunning), owner)
		if err != nil {
			return n, fmt.Errorf("release jobs: %w", err)
		}
		n += got
	}
	return n, nil
}
