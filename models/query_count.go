package models

import (
	"sync/atomic"

	"gorm.io/gorm"
)

// CountQueries makes the store count the SQL statements it runs from now
// on and returns a function that reads the count. Tests and benchmarks use
// it to show that a page costs a constant number of queries, whatever its
// number of rows. The count covers every statement gorm runs (queries,
// raw SQL, writes) on this store.
func (s *Store) CountQueries() func() int64 {
	var n atomic.Int64
	inc := func(*gorm.DB) { n.Add(1) }
	cb := s.db.Callback()
	name := "stratus:count"
	_ = cb.Query().After("gorm:query").Register(name, inc)
	_ = cb.Row().After("gorm:row").Register(name, inc)
	_ = cb.Raw().After("gorm:raw").Register(name, inc)
	_ = cb.Create().After("gorm:create").Register(name, inc)
	_ = cb.Update().After("gorm:update").Register(name, inc)
	_ = cb.Delete().After("gorm:delete").Register(name, inc)
	return n.Load
}

// CountRowsRead is CountQueries for the rows the store's queries return
// (what gorm scans into structs): a page that reads only what it shows
// reads as many rows in a project of five volumes as in one of five
// hundred.
func (s *Store) CountRowsRead() func() int64 {
	var n atomic.Int64
	_ = s.db.Callback().Query().After("gorm:query").Register("stratus:rows", func(db *gorm.DB) {
		n.Add(db.Statement.RowsAffected)
	})
	return n.Load
}
