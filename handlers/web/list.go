package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"stratus/models"
	"stratus/views/ui"
)

// List page sizes: admin lists show adminPageSize rows unless the URL asks
// for another limit (at most maxListLimit).
const (
	adminPageSize = 25
	maxListLimit  = 200
)

// listQuery is what a marker-paged list page reads from its URL: the page
// it starts at (marker, the last ID of the previous page), how many rows,
// and its filters, which every link it makes keeps. Every list page reads
// one (readList) and turns it into the model's paging (options) and its
// pager's links (pager), so that no page builds its links by hand.
type listQuery struct {
	path    string
	marker  string
	limit   int
	deflt   int               // the page size when the URL gives none
	keys    []string          // the filters' names, in the links' order
	filters map[string]string // name → value (trimmed); "" is no filter
}

// readList reads a list page's marker, limit and the named filters from its
// URL (each trimmed; an empty one is no filter).
func readList(r *http.Request, path string, pageSize int, filters ...string) listQuery {
	q := r.URL.Query()
	lq := listQuery{path: path, marker: q.Get("marker"), limit: pageSize, deflt: pageSize,
		keys: filters, filters: make(map[string]string, len(filters))}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		lq.limit = min(n, max(maxListLimit, pageSize))
	}
	for _, k := range filters {
		lq.filters[k] = strings.TrimSpace(q.Get(k))
	}
	return lq
}

// get returns a filter's value.
func (lq listQuery) get(key string) string { return lq.filters[key] }

// set changes a filter (say, to drop one the model refused).
func (lq *listQuery) set(key, value string) { lq.filters[key] = value }

// options is the model's paging for this page, with the "name" filter.
func (lq listQuery) options() models.ListOptions {
	return models.ListOptions{Name: lq.get("name"), Marker: lq.marker, Limit: lq.limit}
}

// seqMarker is the marker of a log keyed by increasing integers (jobs, the
// audit log); a malformed one is the first page.
func (lq listQuery) seqMarker() int64 {
	n, err := strconv.ParseInt(lq.marker, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// url is this list's URL at marker ("" is the first page), with the same
// filters and limit.
func (lq listQuery) url(marker string) string {
	q := url.Values{}
	for _, k := range lq.keys {
		if v := lq.filters[k]; v != "" {
			q.Set(k, v)
		}
	}
	if lq.limit != lq.deflt {
		q.Set("limit", strconv.Itoa(lq.limit))
	}
	if marker != "" {
		q.Set("marker", marker)
	}
	if len(q) == 0 {
		return lq.path
	}
	return lq.path + "?" + q.Encode()
}

// here is the URL of this very page (where its forms return).
func (lq listQuery) here() string { return lq.url(lq.marker) }

// with is the URL of this list with one filter changed and from its first
// page (a tab or a status link).
func (lq listQuery) with(key, value string) string {
	c := lq
	c.filters = make(map[string]string, len(lq.filters))
	for k, v := range lq.filters {
		c.filters[k] = v
	}
	c.filters[key] = value
	return c.url("")
}

// pager links the first page (unless this is it) and the page after next
// (the model's next marker; "" or "0" when this is the last page).
func (lq listQuery) pager(next string) ui.PagerLinks {
	var p ui.PagerLinks
	if lq.marker != "" && lq.marker != "0" {
		p.First = lq.url("")
	}
	if next != "" && next != "0" {
		p.Next = lq.url(next)
	}
	return p
}
