package models

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strings"
)

// Static large objects: a manifest names segments (objects of the same
// account, in any container) with their sizes and ETags; a GET returns
// their concatenation. This is how objects beyond the single-object limit
// are stored (`swift upload --use-slo`).

// ManifestSegment is one entry of a manifest PUT (?multipart-manifest=put).
// ETag and SizeBytes may be null: the segment is then taken as it is.
type ManifestSegment struct {
	Path      string  `json:"path"`
	ETag      *string `json:"etag"`
	SizeBytes *int64  `json:"size_bytes"`
}

// ParseManifest reads a manifest PUT's JSON body.
func ParseManifest(r io.Reader) ([]ManifestSegment, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	if len(data) > MaxManifestBytes {
		return nil, errorf(ErrTooLarge, "the manifest is larger than %d bytes", MaxManifestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var segs []ManifestSegment
	if err := dec.Decode(&segs); err != nil {
		return nil, Invalidf("manifest", "the manifest must be a JSON list of {\"path\", \"etag\", \"size_bytes\"}: %s", err.Error())
	}
	switch {
	case len(segs) == 0:
		return nil, Invalid("manifest", "the manifest has no segments")
	case len(segs) > MaxManifestSegments:
		return nil, Invalidf("manifest", "the manifest has %d segments; the limit is %d", len(segs), MaxManifestSegments)
	}
	for i, seg := range segs {
		c, o, ok := strings.Cut(strings.TrimPrefix(seg.Path, "/"), "/")
		if !ok || c == "" || o == "" {
			return nil, Invalidf("manifest", "segment %d: path %q is not /<container>/<object>", i, seg.Path)
		}
	}
	return segs, nil
}

// PutManifest stores a static large object's manifest after checking
// every segment: it must exist in the account, be at least a byte, and
// match the size and ETag given for it. The object's size is the sum of
// its segments', its ETag the MD5 of their ETags (which a client's ETag
// header, if any, must match).
func (s *Store) PutManifest(ctx context.Context, project, container, name string, w ObjectWrite, segs []ManifestSegment) (Object, error) {
	if err := CheckObjectName(name); err != nil {
		return Object{}, err
	}
	if err := w.check(s.now()); err != nil {
		return Object{}, err
	}
	if _, err := s.GetContainer(ctx, project, container); err != nil {
		return Object{}, err
	}
	stored := make([]sloSegment, len(segs))
	for i, seg := range segs {
		stored[i].Name = "/" + strings.TrimPrefix(seg.Path, "/")
	}
	rows, err := s.segmentRows(ctx, project, stored)
	if err != nil {
		return Object{}, err
	}
	var problems ProblemList
	var total int64
	etags := md5.New()
	self := "/" + container + "/" + name
	for i, seg := range segs {
		row, ok := rows[i]
		path := stored[i].Name
		// Each problem in Swift's words (swiftclient users know them),
		// kept as a format for the web console's translation.
		switch {
		case path == self:
			problems = append(problems, problemf("%s, a manifest cannot contain itself", path))
			continue
		case !ok:
			problems = append(problems, problemf("%s, 404 Not Found", path))
			continue
		case row.Size() < 1:
			problems = append(problems, problemf("%s, Too small; each segment must be at least 1 byte", path))
			continue
		case row.Large == LargeDLO:
			problems = append(problems, problemf("%s, a dynamic large object cannot be a segment", path))
			continue
		case seg.SizeBytes != nil && *seg.SizeBytes != row.Size():
			problems = append(problems, problemf("%s, Size Mismatch (%d given, %d stored)", path, *seg.SizeBytes, row.Size()))
			continue
		case seg.ETag != nil && *seg.ETag != "" && !strings.EqualFold(strings.Trim(*seg.ETag, `"`), strings.Trim(row.ETagHeader(), `"`)):
			problems = append(problems, problemf("%s, Etag Mismatch", path))
			continue
		}
		hash := strings.Trim(row.ETagHeader(), `"`)
		stored[i] = sloSegment{Name: path, Bytes: row.Size(), Hash: hash, ContentType: row.ContentType,
			LastModified: ListingTime(row.CreatedAt), SubSLO: row.Large == LargeSLO}
		total += row.Size()
		_, _ = io.WriteString(etags, hash)
	}
	if len(problems) > 0 {
		return Object{}, Invalidf("manifest", "Errors: %s", problems)
	}
	sloETag := hex.EncodeToString(etags.Sum(nil))
	if w.ETag != "" && !strings.EqualFold(strings.Trim(w.ETag, `"`), sloETag) {
		return Object{}, errorf(ErrInvalid, "ETag mismatch: the large object's ETag is %s, not %s; nothing was stored", sloETag, strings.Trim(w.ETag, `"`))
	}
	manifest, err := json.Marshal(stored)
	if err != nil {
		return Object{}, fmt.Errorf("encode manifest: %w", err)
	}
	if err := s.precheckObjectQuota(ctx, project, int64(len(manifest))); err != nil {
		return Object{}, err
	}
	b, err := s.putBlob(ctx, bytes.NewReader(manifest), int64(len(manifest)), "", MaxManifestBytes)
	if err != nil {
		return Object{}, err
	}
	o := Object{Name: name, BlobKey: b.key, SizeBytes: b.size, ETag: b.md5, ContentType: w.contentType(name),
		Large: LargeSLO, LargeSize: total, LargeETag: sloETag, Metadata: w.Metadata, DeleteAt: w.DeleteAt}
	return s.commitObject(ctx, project, container, o, w.IfNoneMatch)
}

// decodeManifest reads a stored manifest.
func decodeManifest(r io.Reader) ([]sloSegment, error) {
	var segs []sloSegment
	if err := json.NewDecoder(r).Decode(&segs); err != nil {
		return nil, fmt.Errorf("decode stored manifest: %w", err)
	}
	return segs, nil
}

// RawManifest renders a stored manifest in the form a manifest PUT takes
// (multipart-manifest=get&format=raw), so it can be uploaded again.
func RawManifest(stored io.Reader) ([]byte, error) {
	segs, err := decodeManifest(stored)
	if err != nil {
		return nil, err
	}
	out := make([]ManifestSegment, len(segs))
	for i, seg := range segs {
		etag, size := seg.Hash, seg.Bytes
		out[i] = ManifestSegment{Path: seg.Name, ETag: &etag, SizeBytes: &size}
	}
	return json.Marshal(out)
}

// ManifestSegmentPaths lists the segments of a static large object as
// "/container/object" paths, those of nested manifests first, each nested
// manifest after its own segments — the order in which
// multipart-manifest=delete removes them.
func (s *Store) ManifestSegmentPaths(ctx context.Context, project, container, name string) ([]string, error) {
	o, err := s.GetObject(ctx, project, container, name)
	if err != nil {
		return nil, err
	}
	if o.Large != LargeSLO {
		return nil, Invalidf("multipart-manifest", "object %q is not a static large object", name)
	}
	return s.manifestPaths(ctx, project, o, 1)
}

// DeleteLargeObject deletes a static large object as `swift delete` and
// multipart-manifest=delete do: its segments in ManifestSegmentPaths'
// order, then the manifest itself, whose path comes last. The deletes
// happen as the caller ranges over them, each yielding its
// "/container/object" path and outcome, so a caller that stops the loop
// stops them there (and may keep the manifest while a segment remains).
// An object that is not a static large object is refused with ErrInvalid
// on "multipart-manifest", before anything is deleted.
func (s *Store) DeleteLargeObject(ctx context.Context, project, container, name string) (iter.Seq2[string, error], error) {
	paths, err := s.ManifestSegmentPaths(ctx, project, container, name)
	if err != nil {
		return nil, err
	}
	paths = append(paths, "/"+container+"/"+name)
	return func(yield func(string, error) bool) {
		for _, p := range paths {
			c, o, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
			if _, err := s.DeleteObject(ctx, project, c, o); !yield(p, err) {
				return
			}
		}
	}, nil
}

func (s *Store) manifestPaths(ctx context.Context, project string, o Object, depth int) ([]string, error) {
	if depth > maxSLODepth {
		return nil, conflict("large object %q nests manifests more than %d deep", o.Name, maxSLODepth)
	}
	be, err := s.objects()
	if err != nil {
		return nil, err
	}
	segs, err := s.loadManifest(ctx, be, o)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, seg := range segs {
		if seg.SubSLO {
			c, n, _ := strings.Cut(strings.TrimPrefix(seg.Name, "/"), "/")
			if sub, err := s.GetObject(ctx, project, c, n); err == nil && sub.Large == LargeSLO {
				more, err := s.manifestPaths(ctx, project, sub, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, more...)
			}
		}
		out = append(out, seg.Name)
	}
	return out, nil
}
