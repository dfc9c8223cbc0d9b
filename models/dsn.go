package models

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Dialect names the SQL engine behind a Store.
type Dialect string

const (
	MySQL  Dialect = "mysql" // MySQL ≥ 8 or MariaDB ≥ 10.6
	SQLite Dialect = "sqlite"
)

// ParseDSN turns the --db setting into a dialect and a driver DSN. It accepts
// sqlite://PATH (relative or absolute), mysql://user:pass@host:port/db?opts
// and a plain go-sql-driver DSN (user:pass@tcp(host:port)/db).
func ParseDSN(raw string) (Dialect, string, error) {
	switch {
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if path == "" {
			return "", "", fmt.Errorf("sqlite DSN %q has no file path", raw)
		}
		return SQLite, sqliteDSN(path), nil
	case strings.HasPrefix(raw, "mysql://"):
		dsn, err := mysqlURLToDSN(raw)
		return MySQL, dsn, err
	default:
		cfg, err := mysql.ParseDSN(raw)
		if err != nil {
			return "", "", fmt.Errorf("database %q is neither a sqlite:// or mysql:// URL nor a MySQL DSN: %w", raw, err)
		}
		return MySQL, normalizeMySQL(cfg), nil
	}
}

// sqliteDSN sets the pragmas Stratus relies on: WAL so readers do not block
// the writer, a busy timeout instead of immediate SQLITE_BUSY, foreign keys,
// and BEGIN IMMEDIATE so a transaction that will write takes the write lock
// up front (this is what makes the job claim safe without SKIP LOCKED).
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// No _time_format: this driver version stops reading parameters after
	// it, so _txlock would be ignored; its default format is the same.
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// EnsureSQLiteDir creates the directory that will hold a sqlite:// database,
// and makes the database readable by its owner only: it holds password
// hashes and sessions, and its directory may be searchable by others (the
// dev data directory is, for qemu's user, when guests' disks are below it).
// SQLite gives its -wal and -shm files the database file's mode.
func EnsureSQLiteDir(raw string) error {
	if !strings.HasPrefix(raw, "sqlite://") {
		return nil
	}
	path := strings.TrimPrefix(raw, "sqlite://")
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create database directory %s: %w", dir, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create database file %s: %w", path, err)
	}
	_ = f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("make %s private: %w", p, err)
			}
		}
	}
	return nil
}

func mysqlURLToDSN(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse mysql URL: %w", err)
	}
	cfg := mysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	if !strings.Contains(cfg.Addr, ":") {
		cfg.Addr += ":3306"
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if cfg.DBName == "" {
		return "", fmt.Errorf("mysql URL %q names no database", u.Redacted())
	}
	cfg.Params = map[string]string{}
	for k, v := range u.Query() {
		cfg.Params[k] = v[0]
	}
	return normalizeMySQL(cfg), nil
}

// normalizeMySQL makes every connection speak UTC with parsed times and
// utf8mb4, whatever the operator's DSN said.
func normalizeMySQL(cfg *mysql.Config) string {
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Params["charset"] = "utf8mb4"
	cfg.Collation = "utf8mb4_bin"
	cfg.InterpolateParams = true
	return cfg.FormatDSN()
}
