package models_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"stratus/models"
)

// The SQLite file holds password hashes and sessions: only its owner may
// read it, even when its directory is searchable by others (and a file
// left world-readable by an older version is made private).
func TestSQLiteFileIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "stratus.db")
	s, err := models.Open(context.Background(), "sqlite://"+path, models.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			continue // the WAL may be checkpointed away
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %s, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = models.Open(context.Background(), "sqlite://"+path, models.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("a world-readable database stayed %s", fi.Mode().Perm())
	}
}
