package object

import (
	"fmt"
	"math"
	"net/http"
	"net/textproto"
	"sort"
	"strconv"
	"strings"
	"time"

	"stratus/models"
)

// keptHeaders are the headers besides X-Object-Meta-* that Swift stores
// with an object and returns on GET and HEAD (its allowed_headers).
var keptHeaders = []string{"content-disposition", "content-encoding", "content-language", "cache-control", "expires", "x-robots-tag"}

// metaChange reads X-<Kind>-Meta-* (set; an empty value removes) and
// X-Remove-<Kind>-Meta-* (remove) from a request, by lower-case name.
func metaChange(h http.Header, kind string) (set map[string]string, remove []string) {
	prefix := "x-" + kind + "-meta-"
	removePrefix := "x-remove-" + kind + "-meta-"
	set = map[string]string{}
	for k, vs := range h {
		lk := strings.ToLower(k)
		switch {
		case strings.HasPrefix(lk, prefix):
			set[lk] = strings.TrimSpace(strings.Join(vs, ","))
		case strings.HasPrefix(lk, removePrefix):
			remove = append(remove, prefix+strings.TrimPrefix(lk, removePrefix))
		}
	}
	return set, remove
}

// objectMeta reads the metadata a PUT or POST gives an object: its
// X-Object-Meta-* (empty values dropped) and kept headers.
func objectMeta(h http.Header) map[string]string {
	set, _ := metaChange(h, "object")
	for k, v := range set {
		if v == "" {
			delete(set, k)
		}
	}
	for _, k := range keptHeaders {
		if v := h.Get(k); v != "" {
			set[k] = v
		}
	}
	return set
}

// deleteAt reads X-Delete-At (a Unix time) or X-Delete-After (seconds from
// now); nil when neither is given.
func deleteAt(h http.Header, now time.Time) (*time.Time, error) {
	if v := h.Get("X-Delete-At"); v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < 0 || math.IsInf(n, 0) || n > 1e11 {
			return nil, badRequest("X-Delete-At must be a Unix time (seconds)")
		}
		t := time.Unix(int64(n), 0).UTC()
		if !t.After(now) {
			return nil, badRequest("X-Delete-At is in the past")
		}
		return &t, nil
	}
	if v := h.Get("X-Delete-After"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > 1e10 {
			return nil, badRequest("X-Delete-After must be a whole number of seconds")
		}
		if n == 0 {
			return nil, badRequest("X-Delete-After must be at least 1 second")
		}
		t := now.Add(time.Duration(n) * time.Second).UTC().Truncate(time.Second)
		return &t, nil
	}
	return nil, nil
}

// writeMeta sets metadata headers from a stored map, in canonical form.
// Temporary URL keys are shown only to whom may write (reveal): a reader
// who saw one could sign URLs that write.
func writeMeta(h http.Header, meta map[string]string, reveal bool) {
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !reveal && strings.Contains(k, "-meta-temp-url-key") {
			continue
		}
		h[textproto.CanonicalMIMEHeaderKey(k)] = []string{meta[k]}
	}
}

// lastModified is Swift's Last-Modified: the time rounded up to a second.
func lastModified(t time.Time) time.Time {
	if t.Nanosecond() != 0 {
		t = t.Truncate(time.Second).Add(time.Second)
	}
	return t.UTC()
}

// objectHeaders sets the headers of a GET or HEAD of an object.
func objectHeaders(h http.Header, rd models.ObjectRead, manifest bool) {
	o := rd.Object
	h.Set("Content-Type", o.ContentType)
	h.Set("ETag", rd.ETag)
	h.Set("Last-Modified", lastModified(o.LastModified()).Format(http.TimeFormat))
	h.Set("X-Timestamp", models.SwiftTimestamp(o.LastModified()))
	h.Set("Accept-Ranges", "bytes")
	writeMeta(h, o.Metadata, true)
	if o.DeleteAt != nil {
		h.Set("X-Delete-At", strconv.FormatInt(o.DeleteAt.Unix(), 10))
	}
	switch o.Large {
	case models.LargeSLO:
		h.Set("X-Static-Large-Object", "True")
		if manifest {
			h.Set("Content-Type", "application/json; charset=utf-8")
		} else {
			h.Set("X-Manifest-Etag", o.ETag)
		}
	case models.LargeDLO:
		h.Set("X-Object-Manifest", o.Manifest)
	}
}

// containerHeaders sets the headers of a HEAD or GET of a container.
// ACLs and temporary URL keys are for the project's own members.
func containerHeaders(h http.Header, c models.Container, q *request, canWrite bool) {
	h.Set("X-Container-Object-Count", fmt.Sprint(c.ObjectCount))
	h.Set("X-Container-Bytes-Used", fmt.Sprint(c.BytesUsed))
	h.Set("X-Timestamp", models.SwiftTimestamp(c.CreatedAt))
	h.Set("Last-Modified", lastModified(c.UpdatedAt).Format(http.TimeFormat))
	h.Set("X-Storage-Policy", storagePolicy)
	writeMeta(h, c.Metadata, q.owner && canWrite)
	if q.owner {
		if c.ReadACL != "" {
			h.Set("X-Container-Read", c.ReadACL)
		}
		if c.WriteACL != "" {
			h.Set("X-Container-Write", c.WriteACL)
		}
	}
}

// storagePolicy is the one storage policy: the object backend.
const storagePolicy = "Policy-0"
