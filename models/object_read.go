package models

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"gorm.io/gorm"

	"stratus/models/objectstore"
)

// ReadOptions say what a read of an object needs.
type ReadOptions struct {
	Body bool // open the bytes (GET); HEAD needs only the headers
	// Manifest reads a static large object's manifest itself
	// (multipart-manifest=get) instead of its segments.
	Manifest bool
}

// ObjectRead is an object ready to serve: its row, its size and ETag as
// the headers show them, and — when asked for — its bytes, seekable for
// ranges. The caller closes Content.
type ObjectRead struct {
	Object  Object
	Size    int64
	ETag    string
	Content io.ReadSeekCloser
	// Segments counts the parts of a large object (0 for a plain one).
	Segments int
}

// GetObject reads an object's row: not found when it does not exist or has
// expired.
func (s *Store) GetObject(ctx context.Context, project, container, name string) (Object, error) {
	return s.objectRow(s.db.WithContext(ctx), project, container, name)
}

func (s *Store) objectRow(db *gorm.DB, project, container, name string) (Object, error) {
	var o Object
	err := db.Table("objects").Select("objects.*").
		Joins("JOIN object_containers ON object_containers.id = objects.container_id").
		Where("object_containers.project_id = ? AND object_containers.name = ? AND objects.name = ?",
			project, s.nameArg(container), s.nameArg(name)).
		Take(&o).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && o.Expired(s.now())) {
		return Object{}, notFound("object %q not found", name)
	}
	if err != nil {
		return Object{}, fmt.Errorf("get object: %w", err)
	}
	return o, nil
}

// ReadObject reads an object for GET or HEAD. A plain object's bytes come
// from its blob; a static large object's from its manifest's segments,
// checked against the sizes and ETags the manifest recorded; a dynamic
// large object's from the objects under its prefix, in name order.
func (s *Store) ReadObject(ctx context.Context, project, container, name string, opt ReadOptions) (ObjectRead, error) {
	be, err := s.objects()
	if err != nil {
		return ObjectRead{}, err
	}
	// The blob a row names can be replaced between reading the row and
	// opening the blob (an overwrite commits, then removes the old blob):
	// read the row again and open the new one.
	for attempt := 0; ; attempt++ {
		o, err := s.GetObject(ctx, project, container, name)
		if err != nil {
			return ObjectRead{}, err
		}
		switch {
		case o.Large == LargeSLO && !opt.Manifest:
			return s.readSLO(ctx, be, project, o, opt.Body)
		case o.Large == LargeDLO:
			return s.readDLO(ctx, be, project, o, opt.Body)
		}
		rd := ObjectRead{Object: o, Size: o.SizeBytes, ETag: o.ETag}
		if !opt.Body {
			return rd, nil
		}
		blob, err := be.Open(ctx, o.BlobKey)
		if errors.Is(err, objectstore.ErrNotFound) && attempt < 3 {
			continue
		}
		if err != nil {
			return ObjectRead{}, fmt.Errorf("open object %q: %w", name, err)
		}
		rd.Content = blob
		return rd, nil
	}
}

// sloSegment is one entry of a stored manifest, in Swift's own format
// (what multipart-manifest=get returns).
type sloSegment struct {
	Name         string `json:"name"` // "/container/object"
	Bytes        int64  `json:"bytes"`
	Hash         string `json:"hash"`
	ContentType  string `json:"content_type"`
	LastModified string `json:"last_modified"`
	SubSLO       bool   `json:"sub_slo,omitempty"`
}

// maxSLODepth bounds manifests of manifests (Swift's limit).
const maxSLODepth = 10

// readSLO serves a static large object.
func (s *Store) readSLO(ctx context.Context, be objectstore.Backend, project string, o Object, body bool) (ObjectRead, error) {
	rd := ObjectRead{Object: o, Size: o.LargeSize, ETag: o.ETagHeader()}
	if !body {
		return rd, nil
	}
	parts, err := s.sloParts(ctx, be, project, o, 1)
	if err != nil {
		return ObjectRead{}, err
	}
	rd.Content, rd.Segments = objectstore.NewConcat(ctx, be, parts), len(parts)
	return rd, nil
}

// sloParts resolves a manifest to the blobs of its segments, refusing
// (409) one whose segment changed since the manifest was written.
func (s *Store) sloParts(ctx context.Context, be objectstore.Backend, project string, o Object, depth int) ([]objectstore.Part, error) {
	if depth > maxSLODepth {
		return nil, conflict("large object %q nests manifests more than %d deep", o.Name, maxSLODepth)
	}
	segs, err := s.loadManifest(ctx, be, o)
	if err != nil {
		return nil, err
	}
	rows, err := s.segmentRows(ctx, project, segs)
	if err != nil {
		return nil, err
	}
	var parts []objectstore.Part
	for i, seg := range segs {
		row, ok := rows[i]
		if !ok {
			return nil, conflict("segment %s of large object %q is missing", seg.Name, o.Name)
		}
		if row.Size() != seg.Bytes || strings.Trim(row.ETagHeader(), `"`) != seg.Hash {
			return nil, conflict("segment %s of large object %q changed since the manifest was written", seg.Name, o.Name)
		}
		if row.Large == LargeSLO {
			sub, err := s.sloParts(ctx, be, project, row, depth+1)
			if err != nil {
				return nil, err
			}
			parts = append(parts, sub...)
			continue
		}
		parts = append(parts, objectstore.Part{Key: row.BlobKey, Length: row.SizeBytes})
	}
	return parts, nil
}

// loadManifest reads and decodes a static large object's manifest blob.
func (s *Store) loadManifest(ctx context.Context, be objectstore.Backend, o Object) ([]sloSegment, error) {
	b, err := be.Open(ctx, o.BlobKey)
	if err != nil {
		return nil, fmt.Errorf("open manifest of %q: %w", o.Name, err)
	}
	defer b.Close()
	return decodeManifest(io.LimitReader(b, MaxManifestBytes+1))
}

// segmentRows finds each segment's current row (in the same account),
// with one query per container the segments are in.
func (s *Store) segmentRows(ctx context.Context, project string, segs []sloSegment) (map[int]Object, error) {
	byContainer := map[string][]int{}
	for i, seg := range segs {
		c, _, _ := strings.Cut(strings.TrimPrefix(seg.Name, "/"), "/")
		byContainer[c] = append(byContainer[c], i)
	}
	out := make(map[int]Object, len(segs))
	now := s.now()
	for c, idx := range byContainer {
		names := map[string][]int{}
		var args []any
		for _, i := range idx {
			_, n, _ := strings.Cut(strings.TrimPrefix(segs[i].Name, "/"), "/")
			if _, seen := names[n]; !seen {
				args = append(args, s.nameArg(n))
			}
			names[n] = append(names[n], i)
		}
		for start := 0; start < len(args); start += 500 {
			var rows []Object
			err := s.db.WithContext(ctx).Table("objects").Select("objects.*").
				Joins("JOIN object_containers ON object_containers.id = objects.container_id").
				Where("object_containers.project_id = ? AND object_containers.name = ?", project, s.nameArg(c)).
				Where("objects.name IN ?", args[start:min(start+500, len(args))]).
				Find(&rows).Error
			if err != nil {
				return nil, fmt.Errorf("find segments: %w", err)
			}
			for _, r := range rows {
				if r.Expired(now) {
					continue
				}
				for _, i := range names[r.Name] {
					out[i] = r
				}
			}
		}
	}
	return out, nil
}

// readDLO serves a dynamic large object: the concatenation of the objects
// whose names start with the manifest's prefix, in the manifest's
// container, as listed now.
func (s *Store) readDLO(ctx context.Context, be objectstore.Backend, project string, o Object, body bool) (ObjectRead, error) {
	rawC, rawPrefix, _ := strings.Cut(strings.TrimPrefix(o.Manifest, "/"), "/")
	c, err1 := url.PathUnescape(rawC)
	prefix, err2 := url.PathUnescape(rawPrefix)
	if err1 != nil || err2 != nil {
		return ObjectRead{}, conflict("large object %q has a malformed manifest %q", o.Name, o.Manifest)
	}
	rd := ObjectRead{Object: o}
	ct, err := s.GetContainer(ctx, project, c)
	if errors.Is(err, ErrNotFound) {
		// Swift serves a manifest without segments as an empty object.
		rd.ETag = `"` + hex.EncodeToString(md5.New().Sum(nil)) + `"`
		if body {
			rd.Content = objectstore.NewConcat(ctx, be, nil)
		}
		return rd, nil
	} else if err != nil {
		return ObjectRead{}, err
	}
	var rows []Object
	err = s.db.WithContext(ctx).Where("container_id = ? AND name >= ?", ct.ID, s.nameArg(prefix)).
		Where("(delete_at IS NULL OR delete_at > ?)", s.now()).
		Scopes(func(q *gorm.DB) *gorm.DB {
			if end := prefixEnd(prefix); end != "" {
				return q.Where("name < ?", s.nameArg(end))
			}
			return q
		}).Order("name").Limit(MaxListingLimit).Find(&rows).Error
	if err != nil {
		return ObjectRead{}, fmt.Errorf("list segments: %w", err)
	}
	h := md5.New()
	parts := make([]objectstore.Part, 0, len(rows))
	for _, r := range rows {
		if r.ID == o.ID || r.Large != "" {
			continue // the manifest itself, or a nested large object
		}
		_, _ = io.WriteString(h, r.ETag)
		parts = append(parts, objectstore.Part{Key: r.BlobKey, Length: r.SizeBytes})
		rd.Size += r.SizeBytes
	}
	rd.ETag, rd.Segments = `"`+hex.EncodeToString(h.Sum(nil))+`"`, len(parts)
	if body {
		rd.Content = objectstore.NewConcat(ctx, be, parts)
	}
	return rd, nil
}
