package models

import (
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// byRef restricts q to the row a user named: by ID when ref looks like a
// UUID, else by name. Most resources may be given either way.
func byRef(q *gorm.DB, table, ref string) *gorm.DB {
	col := "name"
	if IsUUID(ref) {
		col = "id"
	}
	return q.Where(table+"."+col+" = ?", ref)
}

// forUpdate makes a read inside a transaction lock the rows it finds until
// the transaction ends (SELECT … FOR UPDATE), so a read-then-write cannot
// interleave with another writer's. SQLite needs no clause: its
// transactions hold the database's write lock from BEGIN IMMEDIATE.
func (s *Store) forUpdate(q *gorm.DB) *gorm.DB {
	if s.dialect == MySQL {
		return q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return q
}

// lockInstance reads an instance for a worker's state change, locked.
func (s *Store) lockInstance(tx *gorm.DB, id string) (Instance, error) {
	return takeRef[Instance](s.forUpdate(tx.Where("id = ?", id)), "instance", id)
}

// projectRef finds the project an input field names (by ID or name); an
// unknown one is a validation error on that field.
func projectRef(tx *gorm.DB, field, ref string) (Project, error) {
	pr, err := takeRef[Project](byRef(tx, "projects", ref), "project", ref)
	if errors.Is(err, ErrNotFound) {
		return pr, Invalidf(field, "no project %q", ref)
	}
	return pr, err
}

// takeNamed reads the one row q finds when a user named it: a name need
// not be unique, so up to two rows are read. None is missing, two are
// several: the caller's not-found and conflict errors, each a literal
// format the console can translate ("several snapshots are named %q: use
// the ID").
func takeNamed[T any](q *gorm.DB, what string, missing, several error) (T, error) {
	var found []T
	var none T
	if err := q.Limit(2).Find(&found).Error; err != nil {
		return none, fmt.Errorf("get %s: %w", what, err)
	}
	switch len(found) {
	case 0:
		return none, missing
	case 1:
		return found[0], nil
	}
	return none, several
}

// takeRef reads the one row q finds into a T; no row is a not-found error
// that names what was looked for ("host", "key pair" …) and the reference.
func takeRef[T any](q *gorm.DB, what, ref string) (T, error) {
	var v T
	err := q.Take(&v).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return v, notFound("%s %q not found", what, ref)
	}
	if err != nil {
		return v, fmt.Errorf("get %s: %w", what, err)
	}
	return v, nil
}
