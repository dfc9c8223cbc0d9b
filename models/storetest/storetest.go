// Package storetest gives tests a real, migrated, empty database: a SQLite
// file in the test's temp dir always, and a uniquely named MariaDB/MySQL
// database when STRATUS_TEST_MYSQL_DSN is set (dropped when the test ends).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/crypto/bcrypt"

	"stratus/models"
	"stratus/models/objectstore"
)

// EnvMySQL names the variable that switches DB tests to MariaDB too.
const EnvMySQL = "STRATUS_TEST_MYSQL_DSN"

// Engine is one database a test runs against.
type Engine string

const (
	SQLite Engine = "sqlite"
	MySQL  Engine = "mysql"
)

// Engines lists SQLite always, and MySQL when EnvMySQL is set.
func Engines() []Engine {
	if os.Getenv(EnvMySQL) != "" {
		return []Engine{SQLite, MySQL}
	}
	return []Engine{SQLite}
}

// Options are the store settings tests use: the cheapest bcrypt cost so that
// tests logging in many users stay fast; everything else as in production.
func Options() models.Options {
	o := models.DefaultOptions()
	o.BcryptCost = bcrypt.MinCost
	return o
}

// Each runs fn as a subtest on every engine in Engines.
func Each(t *testing.T, fn func(t *testing.T, s *models.Store)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(string(e), func(t *testing.T) {
			fn(t, New(t, e))
		})
	}
}

// EachWithOptions is Each with store settings changed by tune (a small
// image size limit, say).
func EachWithOptions(t *testing.T, tune func(*models.Options), fn func(t *testing.T, s *models.Store)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(string(e), func(t *testing.T) {
			fn(t, NewWithOptions(t, e, tune))
		})
	}
}

// New returns a migrated store on a fresh database of the given engine.
func New(t testing.TB, e Engine) *models.Store {
	t.Helper()
	return NewWithOptions(t, e, nil)
}

// NewWithOptions is New with store settings changed by tune (nil: none).
func NewWithOptions(t testing.TB, e Engine, tune func(*models.Options)) *models.Store {
	t.Helper()
	return open(t, e, DSN(t, e), tune)
}

// open opens and migrates a store on dsn.
func open(t testing.TB, e Engine, dsn string, tune func(*models.Options)) *models.Store {
	t.Helper()
	opts := Options()
	opts.ImageDir = filepath.Join(t.TempDir(), "images")
	objects, err := objectstore.NewDir(filepath.Join(t.TempDir(), "objects"))
	if err != nil {
		t.Fatalf("object directory: %v", err)
	}
	opts.ObjectBackend = objects
	if tune != nil {
		tune(&opts)
	}
	s, err := models.Open(context.Background(), dsn, opts, nil)
	if err != nil {
		t.Fatalf("open %s store: %v", e, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s store: %v", e, err)
	}
	return s
}

// DSN creates an empty database of the given engine and returns its --db
// setting; the database is removed when the test ends.
func DSN(t testing.TB, e Engine) string {
	t.Helper()
	switch e {
	case SQLite:
		return "sqlite://" + filepath.Join(t.TempDir(), "stratus.db")
	case MySQL:
		return mysqlDatabase(t)
	}
	t.Fatalf("unknown engine %q", e)
	return ""
}

func mysqlDatabase(t testing.TB) string {
	raw := os.Getenv(EnvMySQL)
	if raw == "" {
		t.Skipf("%s is not set", EnvMySQL)
	}
	_, base, err := models.ParseDSN(raw)
	if err != nil {
		t.Fatalf("%s: %v", EnvMySQL, err)
	}
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvMySQL, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "stratus_test_" + hex.EncodeToString(b)
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvMySQL, err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			fmt.Fprintf(os.Stderr, "drop test database %s: %v\n", name, err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}
