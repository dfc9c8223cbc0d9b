package models

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	mysqldrv "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"stratus/models/objectstore"
)

// Options tune the identity rules. The zero value is not useful: start from
// DefaultOptions.
type Options struct {
	BcryptCost        int           // cost of password hashes
	MinPasswordLength int           // shortest password accepted
	LockoutThreshold  int           // failed logins in a row that lock an account
	LockoutDuration   time.Duration // how long a locked account stays locked
	TokenTTL          time.Duration // lifetime of a login (POST /auth/tokens) token
	MaxTokenTTL       time.Duration // longest expiry a user may give an API token
	// ImageDir is where image files are stored (the image store).
	ImageDir string
	// MaxImageBytes is the largest image upload accepted.
	MaxImageBytes int64
	// DefaultQuotas override DefaultQuotas() for projects without their own.
	DefaultQuotas map[string]int64
	// ObjectBackend holds the bytes of Swift objects (nil: object storage
	// is off, and its operations fail).
	ObjectBackend objectstore.Backend
	// MaxObjectBytes is the largest single object (Swift's max_file_size);
	// larger ones are uploaded as segments of a static large object.
	MaxObjectBytes int64
}

// DefaultOptions are the settings a production deployment starts from.
func DefaultOptions() Options {
	return Options{
		BcryptCost:        12,
		MinPasswordLength: 10,
		LockoutThreshold:  5,
		LockoutDuration:   15 * time.Minute,
		TokenTTL:          12 * time.Hour,
		MaxTokenTTL:       365 * 24 * time.Hour,
		MaxImageBytes:     20 << 30,
		MaxObjectBytes:    DefaultMaxObjectBytes,
	}
}

// Store is the handle every adapter and worker uses for data. It is safe for
// concurrent use; several processes may share one database.
type Store struct {
	db      *gorm.DB
	dialect Dialect
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	dummy   *dummyHash
	// onEnqueue is told, after a commit, which targets got new jobs.
	onEnqueue func(target string)
	netAddr   string // host:port of a MySQL server reached over TCP
}

// Open connects to the database named by a --db setting (see ParseDSN). It
// does not migrate: call Migrate.
func Open(ctx context.Context, rawDSN string, opts Options, log *slog.Logger) (*Store, error) {
	dialect, dsn, err := ParseDSN(rawDSN)
	if err != nil {
		return nil, err
	}
	if err := EnsureSQLiteDir(rawDSN); err != nil {
		return nil, err
	}
	var st *Store // the clock below reads it once Open has returned
	var dialector gorm.Dialector
	switch dialect {
	case MySQL:
		if dsn, err = readCommitted(ctx, dsn); err != nil {
			return nil, err
		}
		dialector = mysql.New(mysql.Config{DSN: dsn})
	case SQLite:
		dialector = sqlite.Open(dsn)
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true, // intents open their own transactions
		TranslateError:         true, // unique violations become gorm.ErrDuplicatedKey
		// gorm stamps created_at/updated_at itself: with the store's clock,
		// so that SetClock moves those too.
		NowFunc: func() time.Time { return st.now() },
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("database handle: %w", err)
	}
	switch dialect {
	case MySQL:
		sqlDB.SetMaxOpenConns(64)
		sqlDB.SetMaxIdleConns(32)
		sqlDB.SetConnMaxLifetime(5 * time.Minute)
	case SQLite:
		// One writer at a time is SQLite's nature; a few connections let
		// readers proceed in WAL mode while a writer holds the lock.
		sqlDB.SetMaxOpenConns(8)
		sqlDB.SetMaxIdleConns(8)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("reach %s database: %w", dialect, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	netAddr := ""
	if dialect == MySQL {
		if cfg, err := mysqldrv.ParseDSN(dsn); err == nil && cfg.Net == "tcp" {
			netAddr = cfg.Addr
		}
	}
	st = &Store{
		netAddr: netAddr,
		db:      db,
		dialect: dialect,
		opts:    opts,
		log:     log,
		now:     func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		dummy:   &dummyHash{},
	}
	return st, nil
}

// readCommitted makes every connection use READ COMMITTED. Under InnoDB's
// default REPEATABLE READ, the queue's SELECT … FOR UPDATE SKIP LOCKED takes
// gap locks that deadlock with concurrent INSERTs of new jobs; READ
// COMMITTED takes none. Every invariant Stratus needs is kept by row locks
// (the project lock for quotas) and conditional UPDATEs (claims), which do
// not depend on the isolation level. The variable's name differs: MySQL 8
// has only transaction_isolation, MariaDB before 11.1 only tx_isolation.
func readCommitted(ctx context.Context, dsn string) (string, error) {
	probe, err := sql.Open("mysql", dsn)
	if err != nil {
		return "", fmt.Errorf("open mysql: %w", err)
	}
	defer probe.Close()
	var version string
	if err := probe.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return "", fmt.Errorf("reach mysql database: %w", err)
	}
	name := "transaction_isolation"
	if strings.Contains(strings.ToLower(version), "mariadb") {
		name = "tx_isolation"
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + name + "=%27READ-COMMITTED%27", nil
}

// Close releases the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// NetworkAddr is the host:port of the database server when it is reached
// over the network ("" for SQLite or a unix socket).
func (s *Store) NetworkAddr() string { return s.netAddr }

// Dialect says which engine this store talks to.
func (s *Store) Dialect() Dialect { return s.dialect }

// Options returns the identity settings the store enforces.
func (s *Store) Options() Options { return s.opts }

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// DBStats exposes the connection pool counters for /metrics.
func (s *Store) DBStats() sql.DBStats {
	sqlDB, err := s.db.DB()
	if err != nil {
		return sql.DBStats{}
	}
	return sqlDB.Stats()
}

// Now is the store's clock: UTC, microsecond precision (what DATETIME(6) keeps).
func (s *Store) Now() time.Time { return s.now() }

// SetClock replaces the clock; tests use it to move time forward.
func (s *Store) SetClock(now func() time.Time) {
	s.now = func() time.Time { return now().UTC().Truncate(time.Microsecond) }
}

// OnEnqueue registers fn to be told, after each commit that enqueued jobs
// (and after a rescue or an operator's retry made jobs available again),
// their target ("" = the schedulers, else a host name). Every process wires
// it to its workers.Wake, so that the pool running those jobs — in this
// process or another — claims them at once instead of at its next poll.
// Set it before use.
func (s *Store) OnEnqueue(fn func(target string)) { s.onEnqueue = fn }

type enqueuedKey struct{}

// tx runs fn in a transaction and, once it committed, tells onEnqueue
// about the jobs it enqueued.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.onEnqueue == nil {
		return s.db.WithContext(ctx).Transaction(fn)
	}
	targets := map[string]bool{}
	ctx = context.WithValue(ctx, enqueuedKey{}, targets)
	if err := s.db.WithContext(ctx).Transaction(fn); err != nil {
		return err
	}
	for t := range targets {
		s.onEnqueue(t)
	}
	return nil
}

// notify tells onEnqueue about jobs made available outside s.tx.
func (s *Store) notify(targets map[string]bool) {
	if s.onEnqueue == nil {
		return
	}
	for t := range targets {
		s.onEnqueue(t)
	}
}

// noteEnqueued records, for tx's commit, that a job for target was added.
func noteEnqueued(tx *gorm.DB, target string) {
	if targets, ok := tx.Statement.Context.Value(enqueuedKey{}).(map[string]bool); ok {
		targets[target] = true
	}
}
