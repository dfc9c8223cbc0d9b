package models

import (
	"context"
	"fmt"
	"time"
)

// LeaseExpiredError is the last_error of a job whose worker stopped
// heartbeating (crashed, lost its database, was killed).
const LeaseExpiredError = "lease expired (worker lost)"

// rescueSelectSQL scans the running range of ix_jobs_claim: only leased
// jobs, a few per worker.
const rescueSelectSQL = "SELECT id, target_host FROM jobs WHERE state = ? AND lease_expires_at < ? LIMIT ?"

// pruneSelectSQL reads ix_jobs_finished from its oldest end and stops after
// a batch. The index is forced: when much of the table is prunable the
// optimizers prefer a full scan and a sort, which is worse for a LIMIT.
func (s *Store) pruneSelectSQL() string {
	hint := "INDEXED BY ix_jobs_finished"
	if s.dialect == MySQL {
		hint = "FORCE INDEX (ix_jobs_finished)"
	}
	return "SELECT id FROM jobs " + hint + " WHERE finished_at < ? AND state IN (?, ?, ?) ORDER BY finished_at LIMIT ?"
}

// RescueExpiredLeases makes running jobs whose lease has expired available
// again at once, or failed if they have used all their attempts. The
// scheduler runs it periodically; any number may run it at the same time.
func (s *Store) RescueExpiredLeases(ctx context.Context) (int64, error) {
	var total int64
	for {
		now := s.now()
		var found []struct {
			ID         int64
			TargetHost string
		}
		if err := s.db.WithContext(ctx).Raw(rescueSelectSQL, string(JobRunning), now, idBatch).Scan(&found).Error; err != nil {
			return total, fmt.Errorf("find expired leases: %w", err)
		}
		if len(found) == 0 {
			return total, nil
		}
		ids := make([]int64, len(found))
		targets := map[string]bool{}
		for i, f := range found {
			ids[i] = f.ID
			targets[f.TargetHost] = true
		}
		// The conditions are checked again: a heartbeat that landed since
		// the SELECT keeps its job.
		q := "UPDATE jobs SET " +
			"state = CASE WHEN attempt >= max_attempts THEN ? ELSE ? END, " +
			"finished_at = CASE WHEN attempt >= max_attempts THEN ? ELSE NULL END, " +
			"run_after = ?, last_error = ?, lease_expires_at = NULL " +
			"WHERE id IN (" + idList(ids) + ") AND state = ? AND lease_expires_at < ?"
		var n int64
		err := retryOnDeadlock(ctx, func() error {
			var err error
			n, err = s.exec(ctx, q, string(JobFailed), string(JobAvailable), now, now, LeaseExpiredError, string(JobRunning), now)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("rescue expired leases: %w", err)
		}
		total += n
		s.notify(targets) // rescued jobs wake the pools that run them
		if len(ids) < idBatch {
			return total, nil
		}
	}
}

// PruneJobs deletes jobs that finished more than olderThan ago, a thousand
// rows per statement so that no statement holds locks for long.
func (s *Store) PruneJobs(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan < 0 {
		return 0, Invalid("retention", "must not be negative")
	}
	cutoff := s.now().Add(-olderThan)
	finished := []string{string(JobSucceeded), string(JobFailed), string(JobCancelled)}
	var total int64
	for {
		var ids []int64
		if err := s.db.WithContext(ctx).Raw(s.pruneSelectSQL(), cutoff, finished[0], finished[1], finished[2], idBatch).Scan(&ids).Error; err != nil {
			return total, fmt.Errorf("find finished jobs: %w", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		n, err := s.exec(ctx, "DELETE FROM jobs WHERE id IN ("+idList(ids)+") AND finished_at < ? AND state IN (?, ?, ?)",
			cutoff, finished[0], finished[1], finished[2])
		if err != nil {
			return total, fmt.Errorf("prune jobs: %w", err)
		}
		total += n
		if len(ids) < idBatch || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}
