package libvirt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"syscall"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// DefaultSocket is libvirtd's read-write socket.
const DefaultSocket = "/var/run/libvirt/libvirt-sock"

// ErrUnreachable means libvirtd did not answer on its socket.
var ErrUnreachable = errors.New("libvirtd is not reachable")

// Client is a connection to libvirtd that outlives the daemon's restarts:
// it reconnects with backoff when the socket closes, and pings the daemon
// (a keepalive at the application level: go-libvirt does not speak
// libvirt's keepalive protocol) so that a hung daemon is noticed and its
// connection dropped rather than waited on for ever.
type Client struct {
	uri       string
	socket    string
	log       *slog.Logger
	keepalive time.Duration

	mu   sync.Mutex
	conn *golibvirt.Libvirt // nil while down
	up   chan struct{}      // closed while a connection is up
	gen  uint64             // bumped at each new connection

	cancel context.CancelFunc
	done   chan struct{}
}

// ParseURI splits a libvirt URI into the URI to open and the socket to
// dial: "qemu:///system?socket=/run/x/libvirt-sock" is libvirt's own way to
// name another socket; without it, socket (or DefaultSocket) is used.
func ParseURI(uri, socket string) (string, string, error) {
	if uri == "" {
		uri = string(golibvirt.QEMUSystem)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", "", fmt.Errorf("libvirt URI %q: %w", uri, err)
	}
	if u.Host != "" {
		return "", "", fmt.Errorf("libvirt URI %q: only local URIs (unix socket) are supported", uri)
	}
	q := u.Query()
	if s := q.Get("socket"); s != "" {
		socket = s
		q.Del("socket")
		u.RawQuery = q.Encode()
	}
	if socket == "" {
		socket = DefaultSocket
	}
	return u.String(), socket, nil
}

// Dial connects to libvirtd (failing at once when it does not answer, so a
// caller can tell "no libvirt here") and then keeps the connection up until
// Close.
func Dial(ctx context.Context, uri, socket string, keepalive time.Duration, log *slog.Logger) (*Client, error) {
	uri, socket, err := ParseURI(uri, socket)
	if err != nil {
		return nil, err
	}
	if keepalive <= 0 {
		keepalive = 5 * time.Second
	}
	c := &Client{uri: uri, socket: socket, log: log, keepalive: keepalive, up: make(chan struct{}), done: make(chan struct{})}
	conn, err := c.connect()
	if err != nil {
		return nil, err
	}
	c.setUp(conn)
	ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go c.maintain(ctx)
	return c, nil
}

func (c *Client) connect() (*golibvirt.Libvirt, error) {
	l := golibvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(c.socket), dialers.WithLocalTimeout(5*time.Second)))
	if err := l.ConnectToURI(golibvirt.ConnectURI(c.uri)); err != nil {
		if IsConnectionError(err) {
			return nil, fmt.Errorf("%w: connect to %s (%s): %w", ErrUnreachable, c.socket, c.uri, err)
		}
		return nil, fmt.Errorf("open %s on libvirtd at %s: %w", c.uri, c.socket, err)
	}
	return l, nil
}

func (c *Client) setUp(l *golibvirt.Libvirt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = l
	c.gen++
	close(c.up)
}

// setDown forgets conn (if it is still the current one) so callers wait for
// the next.
func (c *Client) setDown(l *golibvirt.Libvirt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != l || c.conn == nil {
		return
	}
	c.conn = nil
	c.up = make(chan struct{})
}

// maintain watches the connection: on loss it reconnects with backoff
// (0.2 s doubling to 5 s), and every keepalive interval it pings.
func (c *Client) maintain(ctx context.Context) {
	defer close(c.done)
	for {
		c.mu.Lock()
		l := c.conn
		c.mu.Unlock()
		if l == nil {
			l = c.reconnect(ctx)
			if l == nil {
				return
			}
		}
		tick := time.NewTicker(c.keepalive)
	watch:
		for {
			select {
			case <-ctx.Done():
				tick.Stop()
				return
			case <-l.Disconnected():
				c.log.Warn("lost the connection to libvirtd; reconnecting", "socket", c.socket)
				break watch
			case <-tick.C:
				if err := ping(l, 2*c.keepalive); err != nil {
					c.log.Warn("libvirtd does not answer; dropping the connection", "err", err)
					go l.Disconnect() // may block on a hung daemon; the socket close wakes Disconnected
					break watch
				}
			}
		}
		tick.Stop()
		c.setDown(l)
	}
}

func (c *Client) reconnect(ctx context.Context) *golibvirt.Libvirt {
	wait := 200 * time.Millisecond
	start := time.Now()
	for {
		l, err := c.connect()
		if err == nil {
			c.setUp(l)
			c.log.Info("reconnected to libvirtd", "after", time.Since(start).Round(time.Millisecond))
			return l
		}
		c.log.Debug("libvirtd not reachable yet", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

func ping(l *golibvirt.Libvirt, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() {
		_, err := l.ConnectGetLibVersion()
		errc <- err
	}()
	select {
	case err := <-errc:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no answer to a ping within %s", timeout)
	}
}

// Conn waits (up to ctx) for a live connection.
func (c *Client) Conn(ctx context.Context) (*golibvirt.Libvirt, uint64, error) {
	for {
		c.mu.Lock()
		l, gen, up := c.conn, c.gen, c.up
		c.mu.Unlock()
		if l != nil {
			return l, gen, nil
		}
		select {
		case <-up:
		case <-c.done:
			return nil, 0, errors.New("libvirt client closed")
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("libvirtd unreachable: %w", ctx.Err())
		}
	}
}

// Call runs fn on a live connection. When the connection drops under it
// (libvirtd restarting), it waits for the next connection and runs fn again,
// up to three times: callers pass only steps that are safe to repeat.
func (c *Client) Call(ctx context.Context, fn func(*golibvirt.Libvirt) error) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var l *golibvirt.Libvirt
		if l, _, err = c.Conn(ctx); err != nil {
			return err
		}
		if err = fn(l); err == nil || !IsConnectionError(err) {
			return err
		}
		c.setDown(l)
		c.log.Info("libvirt call interrupted by a lost connection; retrying after reconnect", "err", err)
	}
	return err
}

// IsConnectionError says err means the connection, not the call, failed.
func IsConnectionError(err error) bool {
	var ne net.Error
	return errors.Is(err, golibvirt.ErrInterrupted) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.ErrClosedPipe) || errors.As(err, &ne)
}

// Close stops reconnecting and closes the connection.
func (c *Client) Close() error {
	c.cancel()
	<-c.done
	c.mu.Lock()
	l := c.conn
	c.conn = nil
	c.mu.Unlock()
	if l != nil {
		return l.Disconnect()
	}
	return nil
}
