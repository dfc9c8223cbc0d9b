package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Part is a range of one blob: Length bytes from Offset.
type Part struct {
	Key    string
	Offset int64
	Length int64
}

// Concat is the bytes of several blobs read one after the other, as one
// seekable stream: a large object made of segments. Blobs are opened only
// when the read reaches them, and closed as it leaves them, so a range of
// a large object touches only the segments it covers.
type Concat struct {
	ctx     context.Context
	backend Backend
	parts   []Part
	starts  []int64 // starts[i] is the offset of parts[i] in the whole
	size    int64
	pos     int64
	cur     int // index of the open part, -1 when none
	blob    Blob
}

// NewConcat joins parts of blobs of backend into one stream.
func NewConcat(ctx context.Context, backend Backend, parts []Part) *Concat {
	c := &Concat{ctx: ctx, backend: backend, parts: parts, starts: make([]int64, len(parts)), cur: -1}
	for i, p := range parts {
		c.starts[i] = c.size
		c.size += p.Length
	}
	return c
}

// Size is the length of the whole stream.
func (c *Concat) Size() int64 { return c.size }

// Read implements io.Reader. A blob that has gone (its segment was deleted
// or replaced) is an error: the stream cannot be completed.
func (c *Concat) Read(p []byte) (int, error) {
	for {
		if c.pos >= c.size {
			return 0, io.EOF
		}
		i := c.partAt(c.pos)
		part := c.parts[i]
		within := c.pos - c.starts[i]
		if i != c.cur {
			if err := c.open(i, within); err != nil {
				return 0, err
			}
		}
		want := min(int64(len(p)), part.Length-within)
		n, err := c.blob.Read(p[:want])
		c.pos += int64(n)
		if n > 0 {
			return n, nil
		}
		if errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("segment %s ended %d bytes early", part.Key, part.Length-within)
		}
		if err != nil {
			return 0, err
		}
	}
}

// open switches to part i, positioned within bytes into it.
func (c *Concat) open(i int, within int64) error {
	c.closeBlob()
	b, err := c.backend.Open(c.ctx, c.parts[i].Key)
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	if _, err := b.Seek(c.parts[i].Offset+within, io.SeekStart); err != nil {
		_ = b.Close()
		return fmt.Errorf("seek segment: %w", err)
	}
	c.blob, c.cur = b, i
	return nil
}

func (c *Concat) closeBlob() {
	if c.blob != nil {
		_ = c.blob.Close()
		c.blob, c.cur = nil, -1
	}
}

// partAt finds the part holding byte off (binary search).
func (c *Concat) partAt(off int64) int {
	lo, hi := 0, len(c.parts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if c.starts[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	// Skip empty parts that start at the same offset.
	for lo < len(c.parts)-1 && c.parts[lo].Length == 0 {
		lo++
	}
	return lo
}

// Seek implements io.Seeker.
func (c *Concat) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = c.pos + offset
	case io.SeekEnd:
		abs = c.size + offset
	default:
		return 0, errors.New("objectstore: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("objectstore: negative position")
	}
	if abs != c.pos && c.blob != nil {
		// Keep the open blob when the new position is inside it.
		i := c.partAt(min(abs, max(c.size-1, 0)))
		if i == c.cur && abs < c.size {
			if _, err := c.blob.Seek(c.parts[i].Offset+abs-c.starts[i], io.SeekStart); err != nil {
				return 0, err
			}
		} else {
			c.closeBlob()
		}
	}
	c.pos = abs
	return abs, nil
}

// Close implements io.Closer.
func (c *Concat) Close() error {
	c.closeBlob()
	return nil
}
