package workers_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"stratus/models"
	"stratus/workers"
)

func TestRegistryListsKindsAndRefusesDuplicates(t *testing.T) {
	reg := workers.NewRegistry()
	noop := func(context.Context, *models.Job, testArgs) error { return nil }
	workers.Register(reg, workers.WorkFunc[testArgs](noop))
	workers.Register(reg, workers.WorkFunc[outcomeArgs](func(context.Context, *models.Job, outcomeArgs) error { return nil }))
	if got := reg.Kinds(); !slices.Equal(got, []string{"test.outcome", "test.work"}) {
		t.Fatalf("kinds %v", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a second worker for the same kind was accepted")
		}
	}()
	workers.Register(reg, workers.WorkFunc[testArgs](noop))
}

func TestBackoffGrowsWithTheFourthPowerUpToItsCap(t *testing.T) {
	b := workers.Backoff{Base: time.Second, Max: 5 * time.Minute}
	want := []time.Duration{time.Second, 16 * time.Second, 81 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := b.Delay(i + 1); got != w {
			t.Errorf("Delay(%d) = %s, want %s", i+1, got, w)
		}
	}
	b.Jitter = 0.1
	seen := map[time.Duration]bool{}
	for range 50 {
		d := b.Delay(2)
		if d < 14400*time.Millisecond || d > 17600*time.Millisecond {
			t.Fatalf("jittered Delay(2) = %s, want 16 s ± 10 %%", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Fatal("jitter does not vary the delay")
	}
	if d := workers.DefaultBackoff().Delay(1); d < 900*time.Millisecond || d > 1100*time.Millisecond {
		t.Fatalf("default first retry after %s", d)
	}
}
