package models

import (
	"crypto/md5"
	"encoding/hex"
	"hash"
	"io"
)

// md5Reader passes a body through while an MD5 of it is computed on
// another goroutine, so that hashing — the slowest part of storing a large
// object — overlaps reading the socket and writing the disk instead of
// adding to them.
type md5Reader struct {
	r     io.Reader
	queue chan []byte // chunks to hash
	free  chan []byte // chunks hashed, to reuse
	done  chan struct{}
	h     hash.Hash
}

// md5Chunks bounds how far reading may run ahead of hashing.
const md5Chunks = 16

func newMD5Reader(r io.Reader) *md5Reader {
	m := &md5Reader{r: r, queue: make(chan []byte, md5Chunks), free: make(chan []byte, md5Chunks+1),
		done: make(chan struct{}), h: md5.New()}
	go func() {
		defer close(m.done)
		for b := range m.queue {
			m.h.Write(b)
			select {
			case m.free <- b:
			default:
			}
		}
	}()
	return m
}

func (m *md5Reader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if n > 0 {
		var b []byte
		select {
		case b = <-m.free:
		default:
		}
		if cap(b) < n {
			b = make([]byte, 0, max(n, 256<<10))
		}
		m.queue <- append(b[:0], p[:n]...)
	}
	return n, err
}

// sum waits for the hasher and returns the MD5 (hex) of what was read. It
// must be called exactly once, after the last Read.
func (m *md5Reader) sum() string {
	close(m.queue)
	<-m.done
	return hex.EncodeToString(m.h.Sum(nil))
}
