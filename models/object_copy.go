package models

import (
	"context"
	"errors"
	"fmt"

	"stratus/models/objectstore"
)

// CopySource names the object a server-side copy reads (COPY, or PUT with
// X-Copy-From), possibly in another account the caller may read.
type CopySource struct {
	Project   string
	Container string
	Name      string
	// Manifest copies a large object's manifest instead of its contents
	// (?multipart-manifest=get).
	Manifest bool
}

// CopyObject copies an object server-side. The copy takes the source's
// content type and metadata, updated by w's (replaced by them when fresh,
// X-Fresh-Metadata), but not its expiry. A plain object's blob is copied in
// the backend (a hard link for Dir); a large object is copied as one object
// of its concatenated bytes, so it must fit the single-object limit.
func (s *Store) CopyObject(ctx context.Context, src CopySource, project, container, name string, w ObjectWrite, fresh bool) (Object, Object, error) {
	if err := CheckObjectName(name); err != nil {
		return Object{}, Object{}, err
	}
	if err := w.check(s.now()); err != nil {
		return Object{}, Object{}, err
	}
	if _, err := s.GetContainer(ctx, project, container); err != nil {
		return Object{}, Object{}, err
	}
	be, err := s.objects()
	if err != nil {
		return Object{}, Object{}, err
	}
	for attempt := 0; ; attempt++ {
		from, err := s.GetObject(ctx, src.Project, src.Container, src.Name)
		if err != nil {
			return Object{}, Object{}, err
		}
		meta := w.Metadata
		if !fresh {
			meta = mergeMetadata(from.Metadata, w.Metadata, nil)
			if err := checkMetadata("object", meta); err != nil {
				return Object{}, from, err
			}
		}
		ctype := w.ContentType
		if ctype == "" {
			ctype = from.ContentType
		}
		o := Object{Name: name, ContentType: ctype, Metadata: meta, DeleteAt: w.DeleteAt}
		if from.Large != "" && !src.Manifest {
			// The whole large object becomes one plain object.
			rd, err := s.ReadObject(ctx, src.Project, src.Container, src.Name, ReadOptions{Body: true})
			if err != nil {
				return Object{}, from, err
			}
			defer rd.Content.Close()
			if err := s.precheckObjectQuota(ctx, project, rd.Size); err != nil {
				return Object{}, from, err
			}
			b, err := s.putBlob(ctx, rd.Content, rd.Size, "", s.opts.MaxObjectBytes)
			if err != nil {
				return Object{}, from, err
			}
			o.BlobKey, o.SizeBytes, o.ETag = b.key, b.size, b.md5
			o, err = s.commitObject(ctx, project, container, o, w.IfNoneMatch)
			return o, from, err
		}
		if err := s.precheckObjectQuota(ctx, project, from.SizeBytes); err != nil {
			return Object{}, from, err
		}
		o.BlobKey = newBlobKey()
		err = be.Copy(ctx, from.BlobKey, o.BlobKey)
		if errors.Is(err, objectstore.ErrNotFound) && attempt < 3 {
			continue // the source was replaced meanwhile: copy the new one
		}
		if err != nil {
			return Object{}, from, fmt.Errorf("copy object bytes: %w", err)
		}
		o.SizeBytes, o.ETag = from.SizeBytes, from.ETag
		o.Large, o.LargeSize, o.LargeETag, o.Manifest = from.Large, from.LargeSize, from.LargeETag, from.Manifest
		o, err = s.commitObject(ctx, project, container, o, w.IfNoneMatch)
		return o, from, err
	}
}
