package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// JobState is where a job is in its life. available → running → succeeded,
// or back to available (retry, rescue, release), or failed/cancelled.
type JobState string

const (
	JobAvailable JobState = "available" // waiting for run_after, then for a worker
	JobRunning   JobState = "running"   // leased by a worker (lease_owner)
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"    // attempts exhausted or a terminal error
	JobCancelled JobState = "cancelled" // by an operator or by its handler
)

// JobStates lists every state, in the order the admin console shows them.
func JobStates() []JobState {
	return []JobState{JobAvailable, JobRunning, JobSucceeded, JobFailed, JobCancelled}
}

// Finished reports whether a job in this state will not run again unless an
// operator retries it.
func (st JobState) Finished() bool {
	return st == JobSucceeded || st == JobFailed || st == JobCancelled
}

func (st JobState) valid() bool {
	switch st {
	case JobAvailable, JobRunning, JobSucceeded, JobFailed, JobCancelled:
		return true
	}
	return false
}

// Queue limits.
const (
	DefaultMaxAttempts = 5
	maxJobKindLength   = 64
	maxJobErrorLength  = 4000 // last_error keeps the head of a long error
)

// JobArgs are the typed arguments of one kind of job. Kind is stored with the
// job and picks its handler, so it must never change once jobs of that kind
// may be queued: it is a name in the queue's protocol, not the Go type's name.
type JobArgs interface {
	Kind() string
}

// JobOptions tune one enqueued job. The zero value means: any scheduler,
// DefaultMaxAttempts, run now, about no particular resource.
type JobOptions struct {
	TargetHost   string    // "" = any scheduler; else only that host's compute agent
	MaxAttempts  int       // 0 = DefaultMaxAttempts
	RunAfter     time.Time // zero = now
	ResourceType string    // what the job concerns ("instance", "volume" …), for the console
	ResourceID   string
}

// Job is one row of the queue. Args is the JSON of the JobArgs it was
// enqueued with.
type Job struct {
	ID             int64           `json:"id"`
	Kind           string          `json:"kind"`
	Args           json.RawMessage `json:"args"`
	TargetHost     string          `json:"target_host"`
	State          JobState        `json:"state"`
	Attempt        int             `json:"attempt"`
	MaxAttempts    int             `json:"max_attempts"`
	RunAfter       time.Time       `json:"run_after"`
	LeaseOwner     string          `json:"lease_owner"`
	LeaseExpiresAt *time.Time      `json:"lease_expires_at"`
	LastError      string          `json:"last_error"`
	ResourceType   string          `json:"resource_type"`
	ResourceID     string          `json:"resource_id"`
	CreatedAt      time.Time       `json:"created_at"`
	AttemptedAt    *time.Time      `json:"attempted_at"`
	FinishedAt     *time.Time      `json:"finished_at"`
}

// JobInsert is one job for EnqueueMany.
type JobInsert struct {
	Args    JobArgs
	Options JobOptions
}

// jobColumns is the column list every raw job query reads, in scanJob's order.
const jobColumns = "id, kind, args, target_host, state, attempt, max_attempts, run_after, lease_owner, " +
	"lease_expires_at, last_error, resource_type, resource_id, created_at, attempted_at, finished_at"

// newJob validates args and options and builds the row to insert.
func (s *Store) newJob(args JobArgs, o JobOptions, now time.Time) (Job, error) {
	p := Problems{}
	if args == nil {
		return Job{}, Invalid("args", "job arguments are required")
	}
	kind := args.Kind()
	if kind == "" || len(kind) > maxJobKindLength || strings.TrimSpace(kind) != kind {
		p.Addf("kind", "must be 1–%d characters without surrounding spaces", maxJobKindLength)
	}
	if o.MaxAttempts < 0 {
		p.Add("max_attempts", "must not be negative")
	}
	if len(o.TargetHost) > 255 {
		p.Add("target_host", "must be at most 255 characters")
	}
	if len(o.ResourceType) > 32 {
		p.Add("resource_type", "must be at most 32 characters")
	}
	if len(o.ResourceID) > 64 {
		p.Add("resource_id", "must be at most 64 characters")
	}
	raw, err := json.Marshal(args)
	if err != nil {
		p.Addf("args", "cannot be encoded as JSON: %s", err.Error())
	}
	if err := p.Err(); err != nil {
		return Job{}, err
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	runAfter := now
	if !o.RunAfter.IsZero() {
		runAfter = o.RunAfter.UTC().Truncate(time.Microsecond)
	}
	return Job{
		Kind: kind, Args: raw, TargetHost: o.TargetHost, State: JobAvailable,
		MaxAttempts: o.MaxAttempts, RunAfter: runAfter,
		ResourceType: o.ResourceType, ResourceID: o.ResourceID, CreatedAt: now,
	}, nil
}

// enqueue inserts a job in the caller's transaction, so that an intent and
// the job that makes it real commit together or not at all.
func (s *Store) enqueue(tx *gorm.DB, args JobArgs, o JobOptions) (Job, error) {
	j, err := s.newJob(args, o, s.now())
	if err != nil {
		return Job{}, err
	}
	q, vals := insertJobsSQL([]Job{j})
	res, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, q, vals...)
	if err != nil {
		return Job{}, fmt.Errorf("enqueue %s job: %w", j.Kind, err)
	}
	if j.ID, err = res.LastInsertId(); err != nil {
		return Job{}, fmt.Errorf("enqueue %s job: read its id: %w", j.Kind, err)
	}
	noteEnqueued(tx, j.TargetHost)
	return j, nil
}

// EnqueueJob adds one job on its own.
func (s *Store) EnqueueJob(ctx context.Context, args JobArgs, o JobOptions) (Job, error) {
	var j Job
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		j, err = s.enqueue(tx, args, o)
		return err
	})
	return j, err
}

// enqueueBatch is how many rows one INSERT of EnqueueMany carries: large
// enough to amortise the round trip, small enough for SQLite's variable limit.
const enqueueBatch = 1000

// EnqueueMany adds many jobs in one transaction, in multi-row INSERTs. It
// returns how many it added; it does not return their IDs.
func (s *Store) EnqueueMany(ctx context.Context, jobs []JobInsert) (int, error) {
	now := s.now()
	rows := make([]Job, 0, min(len(jobs), enqueueBatch))
	n := 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		for i, in := range jobs {
			j, err := s.newJob(in.Args, in.Options, now)
			if err != nil {
				return fmt.Errorf("job %d: %w", i, err)
			}
			rows = append(rows, j)
			if len(rows) == enqueueBatch || i == len(jobs)-1 {
				q, vals := insertJobsSQL(rows)
				if _, err := tx.Statement.ConnPool.ExecContext(ctx, q, vals...); err != nil {
					return fmt.Errorf("enqueue jobs: %w", err)
				}
				for _, j := range rows {
					noteEnqueued(tx, j.TargetHost)
				}
				n += len(rows)
				rows = rows[:0]
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func insertJobsSQL(jobs []Job) (string, []any) {
	var b strings.Builder
	b.WriteString("INSERT INTO jobs (kind, args, target_host, state, attempt, max_attempts, run_after, " +
		"lease_owner, last_error, resource_type, resource_id, created_at) VALUES ")
	vals := make([]any, 0, len(jobs)*10)
	for i, j := range jobs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, 0, ?, ?, '', '', ?, ?, ?)")
		vals = append(vals, j.Kind, string(j.Args), j.TargetHost, string(j.State), j.MaxAttempts,
			j.RunAfter, j.ResourceType, j.ResourceID, j.CreatedAt)
	}
	return b.String(), vals
}

// Tx is an open transaction handed to InTx's function. Other packages use it
// to enqueue jobs atomically with their own work (and tests, to prove that a
// rolled-back job never runs).
type Tx struct {
	s  *Store
	db *gorm.DB
}

// InTx runs fn in one transaction: it commits if fn returns nil and rolls
// back otherwise.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	return s.tx(ctx, func(db *gorm.DB) error {
		return fn(&Tx{s: s, db: db})
	})
}

// Enqueue adds a job that commits or rolls back with the transaction.
func (t *Tx) Enqueue(args JobArgs, o JobOptions) (Job, error) {
	return t.s.enqueue(t.db, args, o)
}

// truncateError keeps last_error to a size the console can show.
func truncateError(msg string) string {
	if len(msg) <= maxJobErrorLength {
		return msg
	}
	return truncate(msg, maxJobErrorLength) + "…"
}
