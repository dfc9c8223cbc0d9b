package workers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stratus/models"
)

// Wake-ups across processes. A job committed by one process (an API server
// launching, a scheduler placing) is claimed by a pool in another (a
// scheduler, a host's agent). Polling alone costs each hop up to a poll
// interval; so every process that runs pools listens on a UDP port it
// registers in the database (wake_listeners), and a process that commits a
// job sends the target's listeners a datagram naming the target. The pool
// serving it claims at once.
//
// The database stays the single source of truth: a hint says only "look
// now", never what to do, so a lost, late, duplicated or forged hint costs
// at most a poll interval or one extra claim query — forged ones are
// rationed (Pool.Hint). Polling remains the fallback, and no other service
// is needed. Several API servers and schedulers are fine: hints for the
// schedulers go to every scheduler that registered.

// wakeMagic starts every hint datagram; the target's name follows.
const wakeMagic = "STRATUS-WAKE/1 "

// WakeConfig sets up a process's wake-ups.
type WakeConfig struct {
	Store *models.Store
	// Listen is the UDP address this process takes hints on ("ip:port";
	// port 0 picks one). "" takes none: the process only sends them
	// (stratus serve) or runs all its pools' enqueuers itself (stratus dev).
	Listen string
	// Name names the process in the listener registry ("scheduler",
	// "compute-hv1"); a random suffix makes it unique.
	Name string
	// Refresh is how often the registration is renewed (default 30 s); a
	// listener not renewed for three times as long is considered gone.
	Refresh time.Duration
	// CacheTTL bounds how stale a sender's view of the listeners may be
	// (default 2 s); it is read only when there is something to send.
	CacheTTL time.Duration

	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Wake delivers wake-ups for one process: to its own pools directly, to
// other processes' pools by UDP hints.
type Wake struct {
	cfg   WakeConfig
	log   *slog.Logger
	owner string

	mu    sync.Mutex
	pools map[string][]*Pool // target → this process's pools for it

	conn *net.UDPConn // hints in (nil: none) and out
	addr string       // registered address of conn

	pending map[string]bool // targets to send hints for
	kick    chan struct{}
	cache   map[string][]*net.UDPAddr
	cacheAt time.Time

	sent, received, ignored prometheus.Counter

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewWake checks cfg. Register pools with Serve, then Start.
func NewWake(cfg WakeConfig) (*Wake, error) {
	if cfg.Store == nil {
		return nil, errors.New("workers: WakeConfig needs a Store")
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 30 * time.Second
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := cfg.Name
	if len(name) > 100 {
		name = name[:100]
	}
	w := &Wake{
		cfg: cfg, log: cfg.Logger, owner: name + "-" + hex.EncodeToString(suffix),
		pools: map[string][]*Pool{}, pending: map[string]bool{}, kick: make(chan struct{}, 1),
		sent: register(cfg.Registerer, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stratus_wake_hints_sent_total", Help: "Wake-up hints sent to other processes' job pools.",
		})),
		received: register(cfg.Registerer, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stratus_wake_hints_received_total", Help: "Wake-up hints received for this process's job pools.",
		})),
		ignored: register(cfg.Registerer, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stratus_wake_hints_ignored_total", Help: "Datagrams on the wake-up port that named no pool of this process.",
		})),
	}
	return w, nil
}

// Serve makes hints for p's target wake p. Call it before Start.
func (w *Wake) Serve(p *Pool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := p.TargetHost()
	w.pools[t] = append(w.pools[t], p)
}

// Addr is the address hints are taken on ("" when none).
func (w *Wake) Addr() string { return w.addr }

// Start binds the listener, registers it and runs the wake-ups until Stop.
func (w *Wake) Start(ctx context.Context) error {
	ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	var err error
	if w.cfg.Listen != "" {
		var la *net.UDPAddr
		if la, err = net.ResolveUDPAddr("udp", w.cfg.Listen); err == nil {
			w.conn, err = net.ListenUDP("udp", la)
		}
		if err != nil {
			w.cancel()
			return fmt.Errorf("wake-up listener on %s: %w", w.cfg.Listen, err)
		}
		w.addr = w.conn.LocalAddr().String()
		if err := w.cfg.Store.RegisterWakeListener(ctx, w.owner, w.addr, w.targets()); err != nil {
			w.conn.Close()
			w.cancel()
			return err
		}
		w.log.Info("taking wake-up hints", "addr", w.addr, "targets", w.targets())
		w.wg.Add(2)
		go w.receiveLoop()
		go w.refreshLoop(ctx)
	} else if w.conn, err = net.ListenUDP("udp", nil); err != nil { // for sending only
		w.cancel()
		return fmt.Errorf("wake-up sender: %w", err)
	}
	w.wg.Add(1)
	go w.sendLoop(ctx)
	return nil
}

// Stop unregisters the listener and stops.
func (w *Wake) Stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	if w.addr != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := w.cfg.Store.UnregisterWakeListener(ctx, w.owner); err != nil {
			w.log.Warn("unregister the wake-up listener; it is pruned later", "err", err)
		}
		cancel()
	}
	w.conn.Close()
	w.wg.Wait()
}

func (w *Wake) targets() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.pools))
	for t := range w.pools {
		out = append(out, t)
	}
	return out
}

func (w *Wake) local(target string) []*Pool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pools[target]
}

// Notify says a job for target was just committed: this process's pool for
// target claims now, or another process's is sent a hint. Wire it to
// models.Store.OnEnqueue. It never blocks.
func (w *Wake) Notify(target string) {
	if pools := w.local(target); len(pools) > 0 {
		for _, p := range pools {
			p.Wake()
		}
		return
	}
	w.mu.Lock()
	w.pending[target] = true
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *Wake) sendLoop(ctx context.Context) {
	defer w.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		}
		w.mu.Lock()
		targets := w.pending
		w.pending = map[string]bool{}
		w.mu.Unlock()
		for t := range targets {
			addrs := w.lookup(ctx, t)
			for _, a := range addrs {
				if _, err := w.conn.WriteToUDP([]byte(wakeMagic+t), a); err != nil {
					w.log.Debug("send wake-up hint", "target", t, "addr", a, "err", err)
					continue
				}
				w.sent.Inc()
			}
		}
	}
}

// lookup returns the listeners of target, reading the registry when the
// cached view is older than CacheTTL.
func (w *Wake) lookup(ctx context.Context, target string) []*net.UDPAddr {
	if time.Since(w.cacheAt) > w.cfg.CacheTTL {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		rows, err := w.cfg.Store.WakeListeners(qctx, w.cfg.Store.Now().Add(-3*w.cfg.Refresh))
		cancel()
		if err != nil {
			w.log.Warn("read wake-up listeners; pools find their jobs at their next poll", "err", err)
		} else {
			cache := map[string][]*net.UDPAddr{}
			for _, r := range rows {
				if r.Owner == w.owner {
					continue
				}
				a, err := net.ResolveUDPAddr("udp", r.Addr)
				if err != nil {
					continue
				}
				cache[r.Target] = append(cache[r.Target], a)
			}
			w.cache = cache
		}
		w.cacheAt = time.Now() // on error too: do not hammer a database that is down
	}
	return w.cache[target]
}

func (w *Wake) receiveLoop() {
	defer w.wg.Done()
	buf := make([]byte, 512)
	for {
		n, _, err := w.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		target, ok := strings.CutPrefix(string(buf[:n]), wakeMagic)
		pools := w.local(target)
		if !ok || len(pools) == 0 {
			w.ignored.Inc()
			continue
		}
		w.received.Inc()
		for _, p := range pools {
			p.Hint()
		}
	}
}

// refreshLoop renews the registration, and registers again when it was
// pruned (the database was out of reach for a long while).
func (w *Wake) refreshLoop(ctx context.Context) {
	defer w.wg.Done()
	t := time.NewTicker(w.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, dbTimeout)
		ok, err := w.cfg.Store.RefreshWakeListener(rctx, w.owner)
		if err == nil && !ok {
			err = w.cfg.Store.RegisterWakeListener(rctx, w.owner, w.addr, w.targets())
		}
		cancel()
		if err != nil {
			w.log.Warn("refresh the wake-up listener", "err", err)
		}
	}
}

// DefaultWakeListen is the address a process takes hints on when its
// operator names none: the local address it reaches the database from,
// which the other processes — they reach the same database — can most
// likely reach too; loopback for SQLite (one machine). Port 0 picks a free
// port; the registry says which.
func DefaultWakeListen(store *models.Store) string {
	db := store.NetworkAddr()
	if db == "" {
		return "127.0.0.1:0"
	}
	c, err := net.Dial("udp", db) // no packet is sent: this asks the routing table
	if err != nil {
		return "127.0.0.1:0"
	}
	defer c.Close()
	host, _, err := net.SplitHostPort(c.LocalAddr().String())
	if err != nil {
		return "127.0.0.1:0"
	}
	return net.JoinHostPort(host, "0")
}
