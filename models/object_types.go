package models

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Object storage follows Swift: a project is an account (AUTH_<project
// id>), an account holds containers, a container holds objects. Metadata
// lives here; bytes live in the object backend (models/objectstore) under a
// blob key that an object's row points at.

// Swift's limits (its constraints module), published by /info.
const (
	MaxContainerNameBytes = 256
	MaxObjectNameBytes    = 1024
	MaxMetaNameLength     = 128
	MaxMetaValueLength    = 256
	MaxMetaCount          = 90
	MaxMetaOverallSize    = 4096
	MaxListingLimit       = 10000
	MaxManifestSegments   = 1000
	MaxManifestBytes      = 8 << 20
	MaxBulkDeletes        = 10000
	// DefaultMaxObjectBytes is Swift's max_file_size (5 GiB + 2 bytes);
	// larger objects are uploaded in segments (static large objects).
	DefaultMaxObjectBytes = 5<<30 + 2
)

// Large object kinds.
const (
	LargeSLO = "slo" // static large object: the blob is a manifest listing the segments
	LargeDLO = "dlo" // dynamic large object: the segments are the objects under a prefix
)

// Container is a Swift container with its counters, ACLs and metadata
// (lower-case header names, e.g. "x-container-meta-color").
type Container struct {
	ID          int64
	ProjectID   string
	Name        string
	ObjectCount int64
	BytesUsed   int64
	ReadACL     string            `gorm:"column:read_acl"`
	WriteACL    string            `gorm:"column:write_acl"`
	Metadata    map[string]string `gorm:"serializer:json"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (Container) TableName() string { return "object_containers" }

// Public reports whether anyone may read the container's objects
// (X-Container-Read grants every referrer).
func (c Container) Public() bool {
	acl, err := ParseACL(c.ReadACL, false)
	return err == nil && acl.referrerAllowed("")
}

// Object is one object's row. SizeBytes and ETag describe the stored blob;
// for a static large object that blob is the manifest, and LargeSize and
// LargeETag describe the whole object.
type Object struct {
	ID          int64
	ContainerID int64
	Name        string
	BlobKey     string
	SizeBytes   int64
	ETag        string `gorm:"column:etag"`
	ContentType string
	Large       string
	LargeSize   int64
	LargeETag   string `gorm:"column:large_etag"`
	// Manifest is a dynamic large object's "container/prefix".
	Manifest string
	// Metadata holds X-Object-Meta-* and the other headers Swift keeps
	// with an object (Content-Disposition, Content-Encoding …), by
	// lower-case name.
	Metadata  map[string]string `gorm:"serializer:json"`
	DeleteAt  *time.Time
	CreatedAt time.Time // when its bytes were written: Last-Modified
	UpdatedAt time.Time // when its metadata last changed
}

func (Object) TableName() string { return "objects" }

// Size is what a GET of the object returns: the whole large object for a
// static large object, the blob otherwise (a dynamic large object's size is
// known only when its segments are listed).
func (o Object) Size() int64 {
	if o.Large == LargeSLO {
		return o.LargeSize
	}
	return o.SizeBytes
}

// ETagHeader is the object's ETag as Swift sends it: the MD5 of the bytes,
// or for a large object the MD5 of its segments' ETags, in quotes.
func (o Object) ETagHeader() string {
	if o.Large == LargeSLO {
		return `"` + o.LargeETag + `"`
	}
	return o.ETag
}

// LastModified is when the object's bytes were written.
func (o Object) LastModified() time.Time { return o.CreatedAt }

// Expired reports whether the object's X-Delete-At has passed: it is gone
// for readers, and the expirer will remove it.
func (o Object) Expired(now time.Time) bool { return o.DeleteAt != nil && !o.DeleteAt.After(now) }

// SwiftTimestamp renders a time as Swift's X-Timestamp (seconds with five
// decimals).
func SwiftTimestamp(t time.Time) string {
	return fmt.Sprintf("%d.%05d", t.Unix(), t.Nanosecond()/10000)
}

// ListingTime renders a time as Swift's listings do: UTC, microseconds,
// no zone ("2024-01-15T16:41:49.390270").
func ListingTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// AccountName is a project's Swift account.
func AccountName(projectID string) string { return "AUTH_" + projectID }

// ProjectOfAccount is the project ID in an account name ("" if it is not
// one of ours).
func ProjectOfAccount(account string) string {
	id, ok := strings.CutPrefix(account, "AUTH_")
	if !ok || !IsUUID(id) {
		return ""
	}
	return id
}

// jsonText encodes a metadata map for a column that gorm's JSON serializer
// reads back (Updates with a map skips the serializer).
func jsonText(m map[string]string) string {
	if m == nil {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map of strings always encodes
	return string(b)
}
