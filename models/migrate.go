package models

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Schema changes are versioned SQL files in migrations/, named
// NNNN_what.sql, applied in order and recorded in schema_migrations. One file
// serves both engines: the few spots where MySQL and SQLite disagree are
// written as {{tokens}} that dialectTokens expands. A file may hold several
// statements separated by ";" at the end of a line.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

var dialectTokens = map[Dialect]map[string]string{
	MySQL: {
		"{{serial}}":     "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
		"{{datetime}}":   "DATETIME(6)",
		"{{blob}}":       "LONGBLOB",
		"{{text}}":       "MEDIUMTEXT",
		"{{table_opts}}": "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
		// Names compared and sorted byte by byte (Swift's order), short
		// enough for an index key.
		"{{bytes256}}":  "VARBINARY(256)",
		"{{bytes1024}}": "VARBINARY(1024)",
		// A line only MySQL runs (SQLite has no MODIFY and does not
		// enforce VARCHAR lengths).
		"{{mysql_only}}": "",
	},
	SQLite: {
		"{{serial}}":     "INTEGER PRIMARY KEY AUTOINCREMENT",
		"{{datetime}}":   "DATETIME", // the driver parses times only for this exact type name
		"{{blob}}":       "BLOB",
		"{{text}}":       "TEXT",
		"{{table_opts}}": "",
		"{{bytes256}}":   "TEXT", // SQLite's BINARY collation is memcmp
		"{{bytes1024}}":  "TEXT",
		"{{mysql_only}}": "-- ",
	},
}

// Migration is one schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the embedded schema steps in order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_what.sql", name)
		}
		body, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: version, Name: rest, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("two migrations have version %d", out[i].Version)
		}
	}
	return out, nil
}

// statements expands the dialect tokens and splits a migration into
// statements.
func (m Migration) statements(d Dialect) []string {
	body := m.SQL
	for token, value := range dialectTokens[d] {
		body = strings.ReplaceAll(body, token, value)
	}
	var out []string
	for _, stmt := range strings.Split(body, ";\n") {
		var kept []string
		for _, line := range strings.Split(stmt, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
				kept = append(kept, line)
			}
		}
		if s := strings.TrimSuffix(strings.TrimSpace(strings.Join(kept, "\n")), ";"); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// MigrationStatus is one row of `stratus migrate --status`.
type MigrationStatus struct {
	Version   int
	Name      string
	AppliedAt *time.Time
}

// Migrate brings the schema to the newest version. It is safe to call from
// several processes at once: on MySQL a named lock serialises them, on SQLite
// the database's single writer does. It returns the versions it applied.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	conn := s.db.WithContext(ctx)
	if s.dialect == MySQL {
		// A named lock belongs to a session, so pin one connection.
		sqlDB, err := s.db.DB()
		if err != nil {
			return nil, err
		}
		c, err := sqlDB.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("migration connection: %w", err)
		}
		defer c.Close()
		var got int
		if err := c.QueryRowContext(ctx, "SELECT GET_LOCK('stratus_migrate', 120)").Scan(&got); err != nil || got != 1 {
			return nil, fmt.Errorf("take the migration lock (another migrate running?): %v", err)
		}
		defer c.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK('stratus_migrate')") //nolint:errcheck
	}
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INT NOT NULL PRIMARY KEY,
		name VARCHAR(255) NOT NULL,
		applied_at ` + dialectTokens[s.dialect]["{{datetime}}"] + ` NOT NULL
	) ` + dialectTokens[s.dialect]["{{table_opts}}"]
	if err := conn.Exec(create).Error; err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	var versions []int
	if err := conn.Raw("SELECT version FROM schema_migrations").Scan(&versions).Error; err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, v := range versions {
		applied[v] = true
	}
	var done []int
	for _, m := range all {
		if applied[m.Version] {
			continue
		}
		if err := s.applyMigration(ctx, m); err != nil {
			return done, err
		}
		done = append(done, m.Version)
	}
	return done, nil
}

// applyMigration runs one step. SQLite runs DDL transactionally, so a failed
// step leaves nothing behind; MySQL commits DDL implicitly, so a step there
// should be small enough to fix forward by hand if it fails halfway.
func (s *Store) applyMigration(ctx context.Context, m Migration) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		for _, stmt := range m.statements(s.dialect) {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("migration %04d_%s: %w\nstatement: %s", m.Version, m.Name, err, stmt)
			}
		}
		return tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.Version, m.Name, s.now()).Error
	})
}

// MigrationStatus lists every known migration and when it was applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	type row struct {
		Version   int
		AppliedAt time.Time
	}
	var rows []row
	if !s.db.WithContext(ctx).Migrator().HasTable("schema_migrations") {
		rows = nil
	} else if err := s.db.WithContext(ctx).Raw("SELECT version, applied_at FROM schema_migrations").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	at := map[int]time.Time{}
	for _, r := range rows {
		at[r.Version] = r.AppliedAt
	}
	out := make([]MigrationStatus, len(all))
	for i, m := range all {
		out[i] = MigrationStatus{Version: m.Version, Name: m.Name}
		if t, ok := at[m.Version]; ok {
			out[i].AppliedAt = &t
		}
	}
	return out, nil
}

// PendingMigrations counts steps not yet applied; serve refuses to start
// on an old schema.
func (s *Store) PendingMigrations(ctx context.Context) (int, error) {
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range st {
		if m.AppliedAt == nil {
			n++
		}
	}
	return n, nil
}
