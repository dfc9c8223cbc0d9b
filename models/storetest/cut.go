package storetest

import (
	"database/sql"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"

	"stratus/models"
)

// NewCuttable is New with a way to take the database away from the store,
// as a crashed or unreachable database server does, to test what callers
// answer meanwhile. On MySQL the store reaches its database through a TCP
// proxy of the test's own, and cut closes every connection through it and
// refuses new ones; SQLite has no server to lose, so cut closes the store's
// connection pool.
func NewCuttable(t testing.TB, e Engine) (s *models.Store, cut func()) {
	t.Helper()
	if e == SQLite {
		s = New(t, e)
		return s, func() { _ = s.Close() }
	}
	_, base, err := models.ParseDSN(DSN(t, e))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, cfg.Addr)
	cfg.Addr = p.addr()
	return open(t, e, cfg.FormatDSN(), nil), p.cut
}

// proxy forwards TCP connections to a server until cut.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(p.cut)
	go p.serve()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	p.conns = append(p.conns, cs...)
	return true
}

func (p *proxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// cut closes the listener and every connection: the server is gone.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
}

// NewRaw is New with a second, raw handle on the same database (its own
// connection pool), for tests that must break the database under the
// store in a way no intent would — drop a table, say — to see what callers
// answer to an internal error.
func NewRaw(t testing.TB, e Engine) (*models.Store, *sql.DB) {
	t.Helper()
	dsn := DSN(t, e)
	s := open(t, e, dsn, nil)
	dialect, base, err := models.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	driver := "mysql"
	if dialect == models.SQLite {
		driver = "sqlite" // glebarez/go-sqlite, which the store's gorm driver registers
	}
	db, err := sql.Open(driver, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return s, db
}
