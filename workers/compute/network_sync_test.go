package compute

import (
	"context"
	"errors"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
	hostnet "stratus/workers/net"
	netfake "stratus/workers/net/fake"
	"stratus/workers/virt/fake"
)

// heldNet is the fake network driver whose first apply waits for release.
type heldNet struct {
	*netfake.Driver
	entered, release chan struct{}
	first            bool
}

func (d *heldNet) Apply(ctx context.Context, st hostnet.HostState) (hostnet.Stats, error) {
	if !d.first {
		d.first = true
		close(d.entered)
		<-d.release
	}
	return d.Driver.Apply(ctx, st)
}

// waitRequested waits until n requests for an apply were made.
func waitRequested(t *testing.T, a *Agent, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		a.net.mu.Lock()
		r := a.net.requested
		a.net.mu.Unlock()
		if r >= n {
			time.Sleep(20 * time.Millisecond) // let it reach the run lock
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d requests for an apply never came", n)
}

// An apply that fails because its own caller gave up (the periodic
// check's deadline) does not fail the others it covers: a build waiting
// to plug its ports runs its own apply instead of being sent to another
// host with "context deadline exceeded".
func TestSharedNetworkApplyKeepsItsCallersContextToItself(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		net := &heldNet{Driver: netfake.New(), entered: make(chan struct{}), release: make(chan struct{})}
		a, err := New(Config{Store: s, Driver: fake.New(fake.Config{}), Network: net, Host: "h1"})
		if err != nil {
			t.Fatal(err)
		}
		bg := context.Background()
		first := make(chan error, 1)
		go func() { first <- a.SyncNetwork(bg) }() // holds the run lock in Apply
		<-net.entered

		// The periodic check asks next and gives up while it waits; the
		// build asks after it, so the check's apply would cover it.
		checkCtx, giveUp := context.WithCancel(bg)
		check := make(chan error, 1)
		go func() { check <- a.SyncNetwork(checkCtx) }()
		waitRequested(t, a, 2)
		build := make(chan error, 1)
		go func() { build <- a.SyncNetwork(bg) }()
		waitRequested(t, a, 3)
		giveUp()
		close(net.release)

		if err := <-first; err != nil {
			t.Fatalf("first apply: %v", err)
		}
		if err := <-check; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("the check's apply: %v, want nil or its own cancellation", err)
		}
		if err := <-build; err != nil {
			t.Fatalf("the build's apply failed with another caller's context: %v", err)
		}
	})
}
