package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ListingOptions are Swift's listing parameters, for accounts (containers)
// and containers (objects) alike.
type ListingOptions struct {
	Prefix    string
	Delimiter string // roll names up to "subdirectories" at this separator
	Marker    string // names after this one (before it, in reverse)
	EndMarker string // names before this one (after it, in reverse)
	Limit     int    // 1–MaxListingLimit; 0 means the maximum
	Reverse   bool
}

func (o ListingOptions) check() error {
	switch {
	case o.Limit < 0 || o.Limit > MaxListingLimit:
		return Invalidf("limit", "must be 1–%d", MaxListingLimit)
	case len(o.Delimiter) > 32:
		return Invalid("delimiter", "must be at most 32 bytes")
	}
	return nil
}

// ListingEntry is one line of a listing: an item, or a subdirectory (a
// name prefix up to the delimiter) standing for every item under it.
type ListingEntry[T any] struct {
	Subdir string
	Item   T
}

// bound is one end of a name range.
type bound struct {
	name      string
	inclusive bool
	set       bool
}

// nameRange is the range of names a listing still has to read.
type nameRange struct{ lo, hi bound }

// where adds the range to a query on column col; arg converts a name to
// the engine's bind type.
func (r nameRange) where(q *gorm.DB, col string, arg func(string) any) *gorm.DB {
	if r.lo.set {
		op := " > ?"
		if r.lo.inclusive {
			op = " >= ?"
		}
		q = q.Where(col+op, arg(r.lo.name))
	}
	if r.hi.set {
		op := " < ?"
		if r.hi.inclusive {
			op = " <= ?"
		}
		q = q.Where(col+op, arg(r.hi.name))
	}
	return q
}

// prefixEnd is the smallest string above every string that starts with p
// ("" when there is none: p is empty or all 0xff bytes).
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// tighter keeps the stricter of two lower (or upper) bounds.
func tighterLo(a, b bound) bound {
	if !a.set || (b.set && (b.name > a.name || (b.name == a.name && !b.inclusive))) {
		return b
	}
	return a
}

func tighterHi(a, b bound) bound {
	if !a.set || (b.set && (b.name < a.name || (b.name == a.name && !b.inclusive))) {
		return b
	}
	return a
}

// initialRange turns the listing options into the range of names to read.
func (o ListingOptions) initialRange() nameRange {
	var r nameRange
	if o.Prefix != "" {
		r.lo = bound{name: o.Prefix, inclusive: true, set: true}
		if end := prefixEnd(o.Prefix); end != "" {
			r.hi = bound{name: end, set: true}
		}
	}
	first, last := o.Marker, o.EndMarker
	if o.Reverse {
		first, last = last, first
	}
	if first != "" {
		r.lo = tighterLo(r.lo, bound{name: first, set: true})
	}
	if last != "" {
		r.hi = tighterHi(r.hi, bound{name: last, set: true})
	}
	return r
}

// list runs Swift's listing algorithm over fetch, which reads up to n rows
// of a range in name order (descending when reverse). With a delimiter,
// every name with the delimiter after the prefix becomes its subdirectory,
// once, and the rest of that subdirectory is skipped in one step rather
// than read.
func list[T any](o ListingOptions, nameOf func(T) string, fetch func(r nameRange, n int) ([]T, error)) ([]ListingEntry[T], error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	limit := o.Limit
	if limit == 0 {
		limit = MaxListingLimit
	}
	r := o.initialRange()
	var out []ListingEntry[T]
	for len(out) < limit {
		if r.lo.set && r.hi.set && (r.lo.name > r.hi.name || (r.lo.name == r.hi.name && !(r.lo.inclusive && r.hi.inclusive))) {
			break // the range is empty
		}
		want := limit - len(out)
		if o.Delimiter != "" {
			// A subdirectory ends the batch: do not read far past it.
			want = min(want, 100)
		}
		rows, err := fetch(r, want)
		if err != nil {
			return nil, err
		}
		rolled := false
		for _, row := range rows {
			name := nameOf(row)
			if o.Delimiter != "" {
				if i := strings.Index(name[len(o.Prefix):], o.Delimiter); i >= 0 {
					sub := name[:len(o.Prefix)+i+len(o.Delimiter)]
					out = append(out, ListingEntry[T]{Subdir: sub})
					if o.Reverse {
						r.hi = bound{name: sub, set: true}
					} else if end := prefixEnd(sub); end != "" {
						r.lo = bound{name: end, inclusive: true, set: true}
					} else {
						return out, nil
					}
					rolled = true
					break
				}
			}
			out = append(out, ListingEntry[T]{Item: row})
			if o.Reverse {
				r.hi = bound{name: name, set: true}
			} else {
				r.lo = bound{name: name, set: true}
			}
			if len(out) == limit {
				break
			}
		}
		if !rolled && len(rows) < want {
			break // the range is exhausted
		}
	}
	return out, nil
}

// nameArg binds a name for a byte-wise comparison: MySQL compares its
// VARBINARY columns with binary strings, SQLite compares TEXT with TEXT
// (memcmp) — and would sort any BLOB after every TEXT.
func (s *Store) nameArg(name string) any {
	if s.dialect == MySQL {
		return []byte(name)
	}
	return name
}

// ObjectEntry is an object as a listing shows it. As in Swift, a static
// large object is listed with its whole size, its manifest's MD5 as Hash
// and its own ETag as SLOETag.
type ObjectEntry struct {
	Name         string
	Bytes        int64
	Hash         string
	ContentType  string
	LastModified time.Time
	Large        string
	SLOETag      string
}

// ListObjects lists a container's live objects (expired ones are hidden
// until the expirer removes them).
func (s *Store) ListObjects(ctx context.Context, project, container string, o ListingOptions) (Container, []ListingEntry[ObjectEntry], error) {
	ct, err := s.GetContainer(ctx, project, container)
	if err != nil {
		return ct, nil, err
	}
	now := s.now()
	type row struct {
		Name        string
		SizeBytes   int64
		ETag        string `gorm:"column:etag"`
		ContentType string
		Large       string
		LargeSize   int64
		LargeETag   string `gorm:"column:large_etag"`
		CreatedAt   time.Time
	}
	order := "name"
	if o.Reverse {
		order = "name DESC"
	}
	entries, err := list(o, func(r row) string { return r.Name }, func(rg nameRange, n int) ([]row, error) {
		q := s.db.WithContext(ctx).Table("objects").
			Select("name, size_bytes, etag, content_type, large, large_size, large_etag, created_at").
			Where("container_id = ?", ct.ID).Where("(delete_at IS NULL OR delete_at > ?)", now)
		var rows []row
		err := rg.where(q, "name", s.nameArg).Order(order).Limit(n).Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("list objects: %w", err)
		}
		return rows, nil
	})
	if err != nil {
		return ct, nil, err
	}
	out := make([]ListingEntry[ObjectEntry], len(entries))
	for i, e := range entries {
		if e.Subdir != "" {
			out[i] = ListingEntry[ObjectEntry]{Subdir: e.Subdir}
			continue
		}
		it := ObjectEntry{Name: e.Item.Name, Bytes: e.Item.SizeBytes, Hash: e.Item.ETag, ContentType: e.Item.ContentType,
			LastModified: e.Item.CreatedAt, Large: e.Item.Large}
		if e.Item.Large == LargeSLO {
			it.Bytes, it.SLOETag = e.Item.LargeSize, e.Item.LargeETag
		}
		out[i] = ListingEntry[ObjectEntry]{Item: it}
	}
	return ct, out, nil
}

// ContainerEntry is a container as an account listing shows it.
type ContainerEntry struct {
	Name         string
	Count        int64
	Bytes        int64
	LastModified time.Time
	ReadACL      string
}

// ListContainers lists an account's containers.
func (s *Store) ListContainers(ctx context.Context, project string, o ListingOptions) ([]ListingEntry[ContainerEntry], error) {
	order := "name"
	if o.Reverse {
		order = "name DESC"
	}
	type row struct {
		Name        string
		ObjectCount int64
		BytesUsed   int64
		UpdatedAt   time.Time
		ReadACL     string `gorm:"column:read_acl"`
	}
	entries, err := list(o, func(r row) string { return r.Name }, func(rg nameRange, n int) ([]row, error) {
		q := s.db.WithContext(ctx).Table("object_containers").
			Select("name, object_count, bytes_used, updated_at, read_acl").Where("project_id = ?", project)
		var rows []row
		if err := rg.where(q, "name", s.nameArg).Order(order).Limit(n).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("list containers: %w", err)
		}
		return rows, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]ListingEntry[ContainerEntry], len(entries))
	for i, e := range entries {
		if e.Subdir != "" {
			out[i] = ListingEntry[ContainerEntry]{Subdir: e.Subdir}
			continue
		}
		out[i] = ListingEntry[ContainerEntry]{Item: ContainerEntry{Name: e.Item.Name, Count: e.Item.ObjectCount,
			Bytes: e.Item.BytesUsed, LastModified: e.Item.UpdatedAt, ReadACL: e.Item.ReadACL}}
	}
	return out, nil
}
