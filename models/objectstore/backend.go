// Package objectstore holds the bytes of Swift objects behind one small
// interface, Backend; everything else about an object (name, size, MD5,
// metadata, ACLs) is in the database.
//
// It sits under models/, not workers/, because an object write is one
// operation on both: the intents in models/object_*.go stream a request
// into a new blob and then, in a transaction, point the object's row at
// it. Handlers reach the bytes only through those intents.
//
// What every backend promises:
//
//   - Blobs are immutable. Put stores a new blob under a key the caller
//     chose and never used before; a Put that fails or is cancelled leaves
//     nothing under the key.
//   - A blob that is opened stays readable to the end even if it is
//     deleted meanwhile (a reader of the old version of an overwritten
//     object finishes it).
//   - Delete of a key that does not exist succeeds: reapers are idempotent.
//   - Walk lists every stored key with the time its bytes were written, so
//     that blobs a crash left without a row can be found and removed.
//
// Dir, a directory under --data-dir, is the embedded default. The next
// step for clouds that outgrow one disk is an S3-compatible cluster (Ceph
// RGW, MinIO, Garage) or Ceph RADOS: Put maps to PutObject (a multipart
// upload for large bodies) or a striped RADOS write, Open to ranged
// GetObject or rados read, Copy to CopyObject, Delete to DeleteObject,
// Walk to ListObjectsV2 or a pool listing. Nothing above this package
// changes.
package objectstore

import (
	"context"
	"errors"
	"io"
	"regexp"
	"time"
)

// Backend stores blobs: immutable byte strings named by keys.
type Backend interface {
	// Name says which backend this is, for logs and /info.
	Name() string
	// Put streams r into a new blob under key and returns how many bytes
	// it stored. It does not return before the bytes are durable.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open opens a blob for reading; ErrNotFound when there is none.
	Open(ctx context.Context, key string) (Blob, error)
	// Copy makes dst a blob with src's bytes (cheaply where it can).
	Copy(ctx context.Context, src, dst string) error
	// Delete removes a blob; a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// Walk calls fn for every blob with the time its bytes were written.
	Walk(ctx context.Context, fn func(key string, written time.Time) error) error
}

// Blob is an open blob. Read and Seek serve a whole object or a range of
// it; a Blob from Dir is backed by an *os.File, so the HTTP server sends
// it with sendfile.
type Blob interface {
	io.ReadSeekCloser
	Size() int64
}

// ErrNotFound is a blob that is not there.
var ErrNotFound = errors.New("objectstore: no such blob")

// keyRE is what a key may look like: models make keys from random UUIDs,
// and a backend refuses anything that could name a path outside its own.
var keyRE = regexp.MustCompile(`^[0-9a-f]{8,64}$`)

// ValidKey reports whether key is a well-formed blob key.
func ValidKey(key string) bool { return keyRE.MatchString(key) }
