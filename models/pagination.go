package models

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// List limits: OpenStack's default page is 1000 rows; ours is smaller
// because the UI shows pages too.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// ListOptions are the paging and filter inputs every list takes. Marker is
// the ID of the last item of the previous page (OpenStack's convention).
type ListOptions struct {
	Limit     int
	Marker    string
	Name      string   // case-insensitive substring of the name
	ExactName []string // the whole name, as it is, any of these (OpenStack's name filters)
}

// Match holds the exact ID and owner filters OpenStack's lists take
// besides the name (Neutron's id and project_id/tenant_id), each any of
// several values (Neutron's ?id=a&id=b). A list applies them in its query,
// inside what the caller may see, before the page is cut: they narrow a
// list, never widen it.
type Match struct {
	ID        []string
	ProjectID []string
}

// where applies m to a query on table.
func (m Match) where(q *gorm.DB, table string) *gorm.DB {
	return anyOf(anyOf(q, table+".id", m.ID), table+".project_id", m.ProjectID)
}

// anyOf keeps the rows whose column holds one of values: the exact filters
// of the lists, each of which may be given several times (OR). Empty values
// filter nothing, as Neutron drops them: a filter of no (non-empty) values
// leaves the query as it is.
func anyOf(q *gorm.DB, column string, values []string) *gorm.DB {
	switch v := given(values); len(v) {
	case 0:
		return q
	case 1:
		return q.Where(column+" = ?", v[0])
	default:
		return q.Where(column+" IN ?", v)
	}
}

// given is values without the empty ones.
func given(values []string) []string {
	var out []string
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Page is one page of a list. NextMarker is empty on the last page.
type Page[T any] struct {
	Items      []T
	NextMarker string
}

func (o ListOptions) limit() int {
	switch {
	case o.Limit <= 0:
		return DefaultPageSize
	case o.Limit > MaxPageSize:
		return MaxPageSize
	}
	return o.Limit
}

// likePattern makes a LIKE pattern that matches s as a literal substring,
// escaped with '!' (a backslash would itself need escaping in MySQL string
// literals but not in SQLite's).
func likePattern(s string) string {
	return "%" + strings.ToLower(likeEscape(s)) + "%"
}

// likeEscape escapes LIKE's wildcards in s (with ESCAPE '!').
func likeEscape(s string) string {
	return strings.NewReplacer(`!`, `!!`, `%`, `!%`, `_`, `!_`).Replace(s)
}

// nameFilter applies ListOptions.Name and ExactName to a query on table,
// before any page of it is cut.
func nameFilter(q *gorm.DB, table string, o ListOptions) *gorm.DB {
	q = anyOf(q, table+".name", o.ExactName)
	if o.Name == "" {
		return q
	}
	return q.Where("LOWER("+table+".name) LIKE ? ESCAPE '!'", likePattern(o.Name))
}

// pageByName lists rows of table ordered by (name, id), starting after the
// marker row. The marker must name a row of the same (already scoped) query,
// or the caller gets a 422 on "marker".
func pageByName[T any](q *gorm.DB, table string, o ListOptions, idOf func(T) string) (Page[T], error) {
	q = nameFilter(q, table, o)
	if o.Marker != "" {
		var names []string // the marker's name, which may be empty (unnamed ports sort first)
		if err := q.Session(&gorm.Session{}).Table(table).Where(table+".id = ?", o.Marker).
			Limit(1).Pluck(table+".name", &names).Error; err != nil {
			return Page[T]{}, err
		}
		if len(names) == 0 {
			return Page[T]{}, Invalid("marker", "no item with this ID in the list")
		}
		name := names[0]
		q = q.Where("("+table+".name > ? OR ("+table+".name = ? AND "+table+".id > ?))", name, name, o.Marker)
	}
	return finishPage(q.Order(table+".name, "+table+".id"), o, idOf)
}

// pageNewestFirst lists rows of table newest first (created_at, then id,
// both descending, so rows written in the same microsecond still page
// once each), starting after the marker row. The marker must name a row of
// the same (already scoped and filtered) query, or the caller gets a 422 on
// "marker".
func pageNewestFirst[T any](q *gorm.DB, table string, o ListOptions, idOf func(T) string) (Page[T], error) {
	if o.Marker != "" {
		var m struct {
			ID        string
			CreatedAt time.Time
		}
		err := q.Session(&gorm.Session{}).Select(table+".id", table+".created_at").Where(table+".id = ?", o.Marker).Take(&m).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Page[T]{}, Invalid("marker", "no item with this ID in the list")
		} else if err != nil {
			return Page[T]{}, fmt.Errorf("find marker: %w", err)
		}
		q = q.Where("("+table+".created_at < ? OR ("+table+".created_at = ? AND "+table+".id < ?))", m.CreatedAt, m.CreatedAt, m.ID)
	}
	return finishPage(q.Order(table+".created_at DESC, "+table+".id DESC"), o, idOf)
}

// finishPage fetches one more row than asked to learn whether a next page
// exists, without a COUNT.
func finishPage[T any](q *gorm.DB, o ListOptions, idOf func(T) string) (Page[T], error) {
	n := o.limit()
	var rows []T
	if err := q.Limit(n + 1).Find(&rows).Error; err != nil {
		return Page[T]{}, err
	}
	p := Page[T]{Items: rows}
	if len(rows) > n {
		p.Items = rows[:n]
		p.NextMarker = idOf(rows[n-1])
	}
	return p, nil
}
