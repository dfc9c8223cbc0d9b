package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"stratus/models/objectstore"
)

// ObjectWrite is an object PUT, apart from its bytes.
type ObjectWrite struct {
	// ContentType is the object's type; "" guesses it from the name's
	// extension (as Swift does), else application/octet-stream.
	ContentType string
	// ETag is the MD5 (hex) the client says the body has; "" for none.
	// A body with another MD5 is refused and nothing is stored.
	ETag string
	// ContentLength is the body's declared length, -1 when unknown
	// (chunked): a known one is checked against limits before reading.
	ContentLength int64
	// Metadata holds X-Object-Meta-* and the other headers kept with the
	// object, by lower-case name.
	Metadata map[string]string
	DeleteAt *time.Time
	// Manifest ("container/prefix") makes a dynamic large object.
	Manifest string
	// IfNoneMatch (If-None-Match: *) creates only: an existing object is
	// ErrPreconditionFailed.
	IfNoneMatch bool
}

func (w ObjectWrite) check(now time.Time) error {
	if err := checkMetadata("object", w.Metadata); err != nil {
		return err
	}
	if w.DeleteAt != nil && !w.DeleteAt.After(now) {
		return Invalid("X-Delete-At", "is in the past")
	}
	if w.Manifest != "" {
		if c, _, ok := strings.Cut(strings.TrimPrefix(w.Manifest, "/"), "/"); !ok || c == "" {
			return Invalid("X-Object-Manifest", "must be <container>/<prefix>")
		}
	}
	if len(w.ContentType) > 256 {
		return Invalid("Content-Type", "must be at most 256 characters")
	}
	return nil
}

func (w ObjectWrite) contentType(name string) string {
	if w.ContentType != "" {
		return w.ContentType
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// precheckBytes is the body size from which a PUT checks its container and
// quota before reading the body.
const precheckBytes = 1 << 20

// newBlobKey names a new blob: never reused, so a blob, once written,
// holds the same bytes for as long as it exists.
func newBlobKey() string { return strings.ReplaceAll(uuid.NewString(), "-", "") }

func (s *Store) objects() (objectstore.Backend, error) {
	if s.opts.ObjectBackend == nil {
		return nil, errors.New("object storage is not configured (no object backend)")
	}
	return s.opts.ObjectBackend, nil
}

// PutObject stores an object: the body is streamed into a new blob
// (hashed as it goes, never held in memory), checked against the size
// limit, the client's ETag and the project's quotas, and only then does the
// object's row point at it — in one transaction with the container's
// counters. A reader sees the old object or the new one; a failed, refused
// or cancelled upload leaves nothing behind.
func (s *Store) PutObject(ctx context.Context, project, container, name string, w ObjectWrite, body io.Reader) (Object, error) {
	if err := CheckObjectName(name); err != nil {
		return Object{}, err
	}
	if err := w.check(s.now()); err != nil {
		return Object{}, err
	}
	if w.ContentLength > s.opts.MaxObjectBytes {
		return Object{}, s.tooLarge()
	}
	// Before reading a big (or unknown) body, make sure it has somewhere
	// to go; a small one is cheaper to read than to ask twice (the commit
	// checks the container and the quotas anyway).
	if w.ContentLength < 0 || w.ContentLength >= precheckBytes {
		if _, err := s.GetContainer(ctx, project, container); err != nil {
			return Object{}, err
		}
		if err := s.precheckObjectQuota(ctx, project, w.ContentLength); err != nil {
			return Object{}, err
		}
	}
	b, err := s.putBlob(ctx, body, w.ContentLength, w.ETag, s.opts.MaxObjectBytes)
	if err != nil {
		return Object{}, err
	}
	o := Object{Name: name, BlobKey: b.key, SizeBytes: b.size, ETag: b.md5, ContentType: w.contentType(name),
		Metadata: w.Metadata, DeleteAt: w.DeleteAt}
	if w.Manifest != "" {
		o.Large, o.Manifest = LargeDLO, w.Manifest
	}
	return s.commitObject(ctx, project, container, o, w.IfNoneMatch)
}

// writtenBlob is a blob just stored and not yet pointed at by a row.
type writtenBlob struct {
	key  string
	size int64
	md5  string
}

func (s *Store) tooLarge() *Error {
	return errorf(ErrTooLarge, "the object is larger than the %d-byte limit: upload it in segments (a static large object)", s.opts.MaxObjectBytes)
}

// putBlob streams body into a new blob. It refuses a body over limit
// bytes (ErrTooLarge) or whose MD5 is not the one the client declared,
// and then removes what it wrote.
func (s *Store) putBlob(ctx context.Context, body io.Reader, declared int64, etag string, limit int64) (writtenBlob, error) {
	be, err := s.objects()
	if err != nil {
		return writtenBlob{}, err
	}
	tooLarge := errorf(ErrTooLarge, "the body is larger than the %d-byte limit", limit)
	if limit == s.opts.MaxObjectBytes {
		tooLarge = s.tooLarge()
	}
	if declared > limit {
		return writtenBlob{}, tooLarge
	}
	key := newBlobKey()
	h := newMD5Reader(io.LimitReader(body, limit+1))
	n, err := be.Put(ctx, key, h)
	sum := h.sum()
	if err != nil {
		return writtenBlob{}, fmt.Errorf("store object bytes: %w", err)
	}
	switch {
	case n > limit:
		err = tooLarge
	case declared >= 0 && n != declared:
		err = Invalidf("Content-Length", "the body has %d bytes, not the %d declared", n, declared)
	case etag != "" && !strings.EqualFold(strings.Trim(etag, `"`), sum):
		err = errorf(ErrInvalid, "ETag mismatch: the body's MD5 is %s, not %s; nothing was stored", sum, strings.Trim(etag, `"`))
	}
	if err != nil {
		s.dropBlob(ctx, key)
		return writtenBlob{}, err
	}
	return writtenBlob{key: key, size: n, md5: sum}, nil
}

// dropBlob removes a blob no row points at (any more). A failure is only
// logged: the orphan sweep finds what is left.
func (s *Store) dropBlob(ctx context.Context, key string) {
	if key == "" || s.opts.ObjectBackend == nil {
		return
	}
	if err := s.opts.ObjectBackend.Delete(context.WithoutCancel(ctx), key); err != nil {
		s.log.Warn("remove an object blob (the orphan sweep will retry)", "blob", key, "err", err)
	}
}

// commitObject points the object's row at its new blob — creating the row
// or replacing the one that was there — and updates the container's
// counters, in one transaction; then it removes the blob it replaced. On
// any failure the new blob is removed instead.
func (s *Store) commitObject(ctx context.Context, project, container string, o Object, ifNoneMatch bool) (Object, error) {
	var replaced string
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		replaced, err = s.commitObjectTx(ctx, project, container, &o, ifNoneMatch)
		if !errors.Is(err, gorm.ErrDuplicatedKey) {
			break // on MySQL, two creators can race to insert: retry to replace
		}
	}
	if err != nil {
		s.dropBlob(ctx, o.BlobKey)
		return Object{}, err
	}
	s.dropBlob(ctx, replaced)
	return o, nil
}

func (s *Store) commitObjectTx(ctx context.Context, project, container string, o *Object, ifNoneMatch bool) (replaced string, err error) {
	err = s.tx(ctx, func(tx *gorm.DB) error {
		lockedQuota, err := s.lockObjectQuota(tx, project)
		if err != nil {
			return err
		}
		c, err := s.lockContainer(tx, project, container)
		if err != nil {
			return err
		}
		now := s.now()
		var old Object
		err = s.forUpdate(tx.Where("container_id = ? AND name = ?", c.ID, s.nameArg(o.Name))).Take(&old).Error
		found := err == nil
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("find object: %w", err)
		}
		if found && ifNoneMatch && !old.Expired(now) {
			return errorf(ErrPreconditionFailed, "object %q exists (If-None-Match: *)", o.Name)
		}
		addObjects, addBytes := int64(1), o.SizeBytes
		if found {
			addObjects, addBytes = 0, o.SizeBytes-old.SizeBytes
		}
		if lockedQuota != nil {
			if err := lockedQuota.check(addObjects, addBytes); err != nil {
				return err
			}
		}
		if err := c.checkQuota(addObjects, addBytes); err != nil {
			return err
		}
		o.ContainerID, o.CreatedAt, o.UpdatedAt = c.ID, now, now
		if o.Metadata == nil {
			o.Metadata = map[string]string{}
		}
		if found {
			o.ID, replaced = old.ID, old.BlobKey
			if err := tx.Select("*").Omit("id").Where("id = ?", old.ID).Updates(o).Error; err != nil {
				return fmt.Errorf("replace object: %w", err)
			}
		} else if err := tx.Create(o).Error; err != nil {
			return fmt.Errorf("create object: %w", err)
		}
		return s.countObjects(tx, c.ID, addObjects, addBytes, now)
	})
	return replaced, err
}

// countObjects moves a container's counters.
func (s *Store) countObjects(tx *gorm.DB, containerID, objects, bytes int64, now time.Time) error {
	err := tx.Exec("UPDATE object_containers SET object_count = object_count + ?, bytes_used = bytes_used + ?, updated_at = ? WHERE id = ?",
		objects, bytes, now, containerID).Error
	if err != nil {
		return fmt.Errorf("count objects: %w", err)
	}
	return nil
}

// objectQuota is a project's object quotas and use, read under the
// project's lock.
type objectQuota struct {
	limitBytes, limitCount int64
	usedBytes, usedCount   int64
}

func (q *objectQuota) check(addObjects, addBytes int64) error {
	switch {
	case q.limitBytes != Unlimited && addBytes > 0 && q.usedBytes+addBytes > q.limitBytes:
		return errorf(ErrQuotaExceeded, "Upload exceeds quota: the project stores %d of its %d bytes, and this adds %d", q.usedBytes, q.limitBytes, addBytes)
	case q.limitCount != Unlimited && addObjects > 0 && q.usedCount+addObjects > q.limitCount:
		return errorf(ErrQuotaExceeded, "Upload exceeds quota: the project has %d of its %d objects", q.usedCount, q.limitCount)
	}
	return nil
}

// checkQuota applies a container's own quotas (Swift's container_quotas:
// X-Container-Meta-Quota-Bytes and -Count, set by its project) to a
// change; the caller holds the container's lock.
func (c Container) checkQuota(addObjects, addBytes int64) error {
	if v, err := strconv.ParseInt(c.Metadata["x-container-meta-quota-bytes"], 10, 64); err == nil && addBytes > 0 && c.BytesUsed+addBytes > v {
		return errorf(ErrQuotaExceeded, "Upload exceeds quota: container %q holds %d of its %d bytes", c.Name, c.BytesUsed, v)
	}
	if v, err := strconv.ParseInt(c.Metadata["x-container-meta-quota-count"], 10, 64); err == nil && addObjects > 0 && c.ObjectCount+addObjects > v {
		return errorf(ErrQuotaExceeded, "Upload exceeds quota: container %q holds %d of its %d objects", c.Name, c.ObjectCount, v)
	}
	return nil
}

// lockObjectQuota reads the project's object quotas; when one is finite it
// takes the project's lock (serialising the project's object writes, so
// that concurrent uploads cannot overshoot together) and reads the use.
// It returns nil when nothing is limited.
func (s *Store) lockObjectQuota(tx *gorm.DB, project string) (*objectQuota, error) {
	limits, err := s.quotaLimits(tx, project)
	if err != nil {
		return nil, err
	}
	q := &objectQuota{limitBytes: limits[QuotaObjectBytes], limitCount: limits[QuotaObjects]}
	if q.limitBytes == Unlimited && q.limitCount == Unlimited {
		return nil, nil
	}
	if err := s.lockProject(tx, project); errors.Is(err, ErrForbidden) {
		return nil, notFound("account not found") // no such project
	} else if err != nil {
		return nil, err
	}
	if _, q.usedCount, q.usedBytes, err = objectTotals(tx, project); err != nil {
		return nil, err
	}
	return q, nil
}

// precheckObjectQuota refuses, before a byte is read, an upload whose
// declared length cannot fit (the commit checks again with the real size).
func (s *Store) precheckObjectQuota(ctx context.Context, project string, declared int64) error {
	db := s.db.WithContext(ctx)
	limits, err := s.quotaLimits(db, project)
	if err != nil {
		return err
	}
	if limits[QuotaObjectBytes] == Unlimited && limits[QuotaObjects] == Unlimited {
		return nil
	}
	_, count, bytes, err := objectTotals(db, project)
	if err != nil {
		return err
	}
	q := objectQuota{limitBytes: limits[QuotaObjectBytes], limitCount: limits[QuotaObjects], usedBytes: bytes, usedCount: count}
	// Only the bytes: a full object count may still take a replacement,
	// which the commit tells apart.
	return q.check(0, max(declared, 0))
}
