package models_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// An idle pool's poll: when is the next job for its target due?
func TestNextJobDue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		if _, ok, err := s.NextJobDue(ctx, "h1"); ok || err != nil {
			t.Fatalf("empty queue: %v %v", ok, err)
		}
		later := s.Now().Add(time.Hour)
		if _, err := s.EnqueueJob(ctx, models.DeleteInstance{InstanceID: "x"}, models.JobOptions{TargetHost: "h1", RunAfter: later}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.EnqueueJob(ctx, models.DeleteInstance{InstanceID: "y"}, models.JobOptions{TargetHost: "h2"}); err != nil {
			t.Fatal(err)
		}
		due, ok, err := s.NextJobDue(ctx, "h1")
		if err != nil || !ok || !due.Equal(later) {
			t.Fatalf("h1's next job due %v %v %v, want %v", due, ok, err, later)
		}
		if due, ok, _ := s.NextJobDue(ctx, "h2"); !ok || due.After(s.Now()) {
			t.Fatalf("h2's job due %v %v, want now", due, ok)
		}
	})
}

func TestWakeListeners(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		var offset atomic.Int64
		s.SetClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
		if err := s.RegisterWakeListener(ctx, "sched-1", "10.0.0.1:4000", []string{""}); err != nil {
			t.Fatal(err)
		}
		if err := s.RegisterWakeListener(ctx, "allinone-1", "10.0.0.2:4000", []string{"", "h1", "h2"}); err != nil {
			t.Fatal(err)
		}
		if err := s.RegisterWakeListener(ctx, "allinone-1", "10.0.0.2:4001", []string{"h1"}); err != nil { // replaces
			t.Fatal(err)
		}
		since := s.Now().Add(-time.Minute)
		ls, err := s.WakeListeners(ctx, since)
		if err != nil || len(ls) != 2 {
			t.Fatalf("listeners: %+v %v", ls, err)
		}
		offset.Store(int64(20 * time.Minute))
		if ok, err := s.RefreshWakeListener(ctx, "sched-1"); !ok || err != nil {
			t.Fatalf("refresh: %v %v", ok, err)
		}
		if n, err := s.PruneWakeListeners(ctx, 10*time.Minute); n != 1 || err != nil {
			t.Fatalf("pruned %d %v, want the one not refreshed", n, err)
		}
		if ok, _ := s.RefreshWakeListener(ctx, "allinone-1"); ok {
			t.Fatal("a pruned listener was refreshed")
		}
		if err := s.UnregisterWakeListener(ctx, "sched-1"); err != nil {
			t.Fatal(err)
		}
		if ls, _ := s.WakeListeners(ctx, time.Time{}); len(ls) != 0 {
			t.Fatalf("left: %+v", ls)
		}
		if err := s.RegisterWakeListener(ctx, "", "x", nil); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("a listener without owner: %v", err)
		}
	})
}
