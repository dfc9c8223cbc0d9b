package compute

import (
	"context"
	"errors"
	"runtime"
	"strings"
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

// waitQueued waits until n SyncNetwork calls that the running test made
// are parked on a sync.Mutex: the agent's run lock, the only one held for
// long (its mu is held only for a few lines). A sync.Mutex queues its
// waiters in FIFO order, and with no newcomer the one woken first takes
// it: the callers run in the order they queued in.
func waitQueued(t *testing.T, n int) {
	t.Helper()
	test, _, _ := strings.Cut(t.Name(), "/")
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		k := runtime.Stack(buf, true)
		if k == len(buf) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		queued := 0
		for _, g := range strings.Split(string(buf[:k]), "\n\n") {
			head, _, _ := strings.Cut(g, "\n") // "goroutine 7 [sync.Mutex.Lock]:"
			if strings.Contains(head, "[sync.Mutex.Lock") && strings.Contains(g, ").SyncNetwork(") && strings.Contains(g, "."+test+".") {
				queued++
			}
		}
		if queued >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d calls never queued for the network's run lock", n)
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
		waitQueued(t, 1)
		build := make(chan error, 1)
		go func() { build <- a.SyncNetwork(bg) }()
		waitQueued(t, 2)
		giveUp()
		close(net.release)

		if err := <-first; err != nil {
			t.Fatalf("first apply: %v", err)
		}
		// The check ran next, for the build too, and failed by its own
		// context (after the build's, it would have found its request done).
		if err := <-check; !errors.Is(err, context.Canceled) {
			t.Fatalf("the check's apply: %v, want its own cancellation", err)
		}
		if err := <-build; err != nil {
			t.Fatalf("the build's apply failed with another caller's context: %v", err)
		}
	})
}
