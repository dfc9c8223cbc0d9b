package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

type jobArgs struct {
	N int `json:"n"`
}

func (jobArgs) Kind() string { return "test.job" }

type otherJobArgs struct{}

func (otherJobArgs) Kind() string { return "test.other" }

type badKindArgs struct{}

func (badKindArgs) Kind() string { return "" }

// jobClock is a store clock that moves only when told to.
type jobClock struct {
	mu sync.Mutex
	t  time.Time
}

func newJobClock(s *models.Store) *jobClock {
	c := &jobClock{t: time.Now().UTC().Truncate(time.Second)}
	s.SetClock(c.Now)
	return c
}

func (c *jobClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *jobClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func enqueueN(t *testing.T, s *models.Store, n int, o models.JobOptions) []models.Job {
	t.Helper()
	out := make([]models.Job, n)
	for i := range out {
		j, err := s.EnqueueJob(context.Background(), jobArgs{N: i}, o)
		if err != nil {
			t.Fatalf("enqueue: %v", err)
		}
		out[i] = j
	}
	return out
}

func jobIDs(jobs []models.Job) []int64 {
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	return ids
}

func mustGetJob(t *testing.T, s *models.Store, id int64) models.Job {
	t.Helper()
	j, err := s.GetJob(context.Background(), id)
	if err != nil {
		t.Fatalf("get job %d: %v", id, err)
	}
	return j
}

func TestEnqueueStoresArgsAndOptions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		clock := newJobClock(s)
		later := clock.Now().Add(time.Hour)
		j, err := s.EnqueueJob(ctx, jobArgs{N: 7}, models.JobOptions{
			TargetHost: "host1", MaxAttempts: 3, RunAfter: later, ResourceType: "instance", ResourceID: "i-1",
		})
		if err != nil {
			t.Fatal(err)
		}
		got := mustGetJob(t, s, j.ID)
		var args jobArgs
		if err := json.Unmarshal(got.Args, &args); err != nil || args.N != 7 {
			t.Fatalf("args %s decode to %+v (%v)", got.Args, args, err)
		}
		if got.Kind != "test.job" || got.State != models.JobAvailable || got.TargetHost != "host1" ||
			got.MaxAttempts != 3 || !got.RunAfter.Equal(later) || got.ResourceType != "instance" ||
			got.ResourceID != "i-1" || got.Attempt != 0 || !got.CreatedAt.Equal(clock.Now()) {
			t.Fatalf("stored job %+v", got)
		}
		if got.LeaseExpiresAt != nil || got.AttemptedAt != nil || got.FinishedAt != nil || got.LastError != "" {
			t.Fatalf("a new job has lease/attempt/finish data: %+v", got)
		}
		d, err := s.EnqueueJob(ctx, jobArgs{}, models.JobOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.MaxAttempts != models.DefaultMaxAttempts || !d.RunAfter.Equal(clock.Now()) || d.TargetHost != "" {
			t.Fatalf("defaults not applied: %+v", d)
		}
	})
}

func TestEnqueueRejectsBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		cases := []struct {
			name  string
			args  models.JobArgs
			opts  models.JobOptions
			field string
		}{
			{"nil args", nil, models.JobOptions{}, "args"},
			{"empty kind", badKindArgs{}, models.JobOptions{}, "kind"},
			{"negative attempts", jobArgs{}, models.JobOptions{MaxAttempts: -1}, "max_attempts"},
			{"long resource type", jobArgs{}, models.JobOptions{ResourceType: string(make([]byte, 33))}, "resource_type"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.EnqueueJob(ctx, tc.args, tc.opts)
				var ve *models.ValidationError
				if !errors.As(err, &ve) || ve.Fields[tc.field] == "" {
					t.Fatalf("err %v, want a validation error on %q", err, tc.field)
				}
			})
		}
		counts, err := s.JobCounts(ctx)
		if err != nil || counts[models.JobAvailable] != 0 {
			t.Fatalf("rejected jobs were stored: %v %v", counts, err)
		}
	})
}

// A job enqueued in a transaction that rolls back must never exist, and so
// never run; one in a committed transaction must.
func TestEnqueueInRolledBackTransactionNeverRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		boom := errors.New("intent failed after enqueue")
		var rolledBack models.Job
		err := s.InTx(ctx, func(tx *models.Tx) error {
			var err error
			if rolledBack, err = tx.Enqueue(jobArgs{N: 1}, models.JobOptions{}); err != nil {
				return err
			}
			if rolledBack.ID == 0 {
				t.Error("no id inside the transaction")
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx returned %v, want the function's error", err)
		}
		if _, err := s.GetJob(ctx, rolledBack.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("rolled-back job is visible: %v", err)
		}
		claimed, err := s.ClaimJobs(ctx, "w", "", 10, time.Minute)
		if err != nil || len(claimed) != 0 {
			t.Fatalf("claimed %d jobs after a rollback (err %v), want none", len(claimed), err)
		}

		var committed models.Job
		if err := s.InTx(ctx, func(tx *models.Tx) error {
			var err error
			committed, err = tx.Enqueue(jobArgs{N: 2}, models.JobOptions{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		claimed, err = s.ClaimJobs(ctx, "w", "", 10, time.Minute)
		if err != nil || len(claimed) != 1 || claimed[0].ID != committed.ID {
			t.Fatalf("claimed %+v (err %v), want only the committed job %d", claimed, err, committed.ID)
		}
	})
}

func TestEnqueueManyInsertsInBatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		in := make([]models.JobInsert, 2500) // three INSERTs
		for i := range in {
			in[i] = models.JobInsert{Args: jobArgs{N: i}}
		}
		in[2499].Options.TargetHost = "h"
		n, err := s.EnqueueMany(ctx, in)
		if err != nil || n != 2500 {
			t.Fatalf("EnqueueMany = %d, %v", n, err)
		}
		counts, _ := s.JobCounts(ctx)
		if counts[models.JobAvailable] != 2500 {
			t.Fatalf("counts %v", counts)
		}
		last, err := s.ClaimJobs(ctx, "w", "h", 5, time.Minute)
		if err != nil || len(last) != 1 || string(last[0].Args) != `{"n":2499}` {
			t.Fatalf("host job: %+v %v", last, err)
		}

		bad := []models.JobInsert{{Args: jobArgs{}}, {Args: badKindArgs{}}}
		if _, err := s.EnqueueMany(ctx, bad); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("a bad job in the batch: err %v, want invalid", err)
		}
		counts, _ = s.JobCounts(ctx)
		if counts[models.JobAvailable] != 2499 {
			t.Fatalf("a failed batch left rows behind: %v", counts)
		}
	})
}
