package api

import (
	"net/http"
	"net/url"
	"strconv"

	"stratus/models"
)

// Every list answers {"<things>": [...], "next": <link>|null}. "next" is the
// path and query of the next page — the same request with "marker" set to
// the last ID of this page — or null on the last page.

// page is the paging input of lists keyed by UUID.
type page struct {
	Limit  int    `query:"limit" min:"1" max:"1000" doc:"Page size: 1–1000, default 100."`
	Marker string `query:"marker" format:"uuid" doc:"ID of the last item of the previous page (use the answer's next link)."`
}

// namedPage pages a list that can be filtered by name.
type namedPage struct {
	page
	Name string `query:"name" doc:"Only items whose name contains this text (case-insensitive)."`
}

func (p namedPage) options() models.ListOptions {
	return models.ListOptions{Limit: p.Limit, Marker: p.Marker, Name: p.Name}
}

// seqPage pages a log keyed by increasing integers, newest first.
type seqPage struct {
	Limit  int   `query:"limit" min:"1" max:"1000" doc:"Page size: 1–1000, default 100."`
	Marker int64 `query:"marker" min:"1" doc:"ID of the last item of the previous page; the next page holds older items."`
}

// nextLink is the link to the page after marker, or nil when there is none.
func nextLink(r *http.Request, marker string) *string {
	if marker == "" || marker == "0" {
		return nil
	}
	q := r.URL.Query()
	q.Set("marker", marker)
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	s := u.String()
	return &s
}

func nextSeq(r *http.Request, marker int64) *string {
	return nextLink(r, strconv.FormatInt(marker, 10))
}

// nonNil makes an empty list render as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
