package models

import (
	"errors"
	"fmt"

	"gorm.io/gorm"
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
