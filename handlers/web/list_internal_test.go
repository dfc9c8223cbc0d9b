package web

import (
	"net/http/httptest"
	"testing"

	"stratus/views/ui"
)

// TestListQuery: a list page's links keep its filters and limit, drop empty
// filters, and link the first page only away from it and the next page only
// when there is one.
func TestListQuery(t *testing.T) {
	tests := []struct {
		name      string
		url       string
		next      string
		wantHere  string
		wantPager ui.PagerLinks
	}{
		{"first page, no more", "/x", "", "/x", ui.PagerLinks{}},
		{"first page, more", "/x?name=+web+&status=", "m2", "/x?name=web",
			ui.PagerLinks{Next: "/x?marker=m2&name=web"}},
		{"middle page", "/x?name=web&marker=m2&limit=5", "m3", "/x?limit=5&marker=m2&name=web",
			ui.PagerLinks{First: "/x?limit=5&name=web", Next: "/x?limit=5&marker=m3&name=web"}},
		{"last page of a log", "/x?marker=40", "0", "/x?marker=40", ui.PagerLinks{First: "/x"}},
		{"limit capped", "/x?limit=100000", "", "/x?limit=200", ui.PagerLinks{}},
		{"bad limit ignored", "/x?limit=-3", "", "/x", ui.PagerLinks{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lq := readList(httptest.NewRequest("GET", tt.url, nil), "/x", 25, "name", "status")
			if got := lq.here(); got != tt.wantHere {
				t.Errorf("here = %q, want %q", got, tt.wantHere)
			}
			if got := lq.pager(tt.next); got != tt.wantPager {
				t.Errorf("pager = %+v, want %+v", got, tt.wantPager)
			}
		})
	}
	lq := readList(httptest.NewRequest("GET", "/x?marker=abc&state=failed", nil), "/x", 50, "state")
	if lq.seqMarker() != 0 || lq.with("state", "running") != "/x?state=running" || lq.get("state") != "failed" {
		t.Errorf("seqMarker %d, with %q, state %q", lq.seqMarker(), lq.with("state", "running"), lq.get("state"))
	}
}
