package record

import (
	"encoding/binary"
	"errors"
	"unsafe"
)

var (
	errTruncated = errors.New("truncated")
	errOverflow  = errors.New("varint overflows")
	errTooMany   = errors.New("count exceeds remaining bytes")
)

// byteReader reads the primitive values of the record formats from a byte
// slice. The first error sticks: later reads return zero values, so a
// decoder checks err once after a group of reads.
type byteReader struct {
	b   []byte
	err error
}

func (r *byteReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *byteReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		if n == 0 {
			r.fail(errTruncated)
		} else {
			r.fail(errOverflow)
		}
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *byteReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		if n == 0 {
			r.fail(errTruncated)
		} else {
			r.fail(errOverflow)
		}
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *byteReader) byte() byte {
	if len(r.b) < 1 {
		r.fail(errTruncated)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *byteReader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.fail(errTruncated)
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

// string returns a copy: record payloads live in reused buffers.
func (r *byteReader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail(errTruncated)
		return ""
	}
	return string(r.bytes(int(n)))
}

// count reads a uvarint element count, rejecting counts that could not fit
// in the remaining bytes at minBytes bytes per element: a corrupt count must
// not make a decoder allocate or loop for elements that are not there.
func (r *byteReader) count(minBytes int) int {
	n := r.uvarint()
	if r.err != nil {
		return 0
	}
	if n > uint64(len(r.b)/minBytes) {
		r.fail(errTooMany)
		return 0
	}
	return int(n)
}

// stringBytes returns the bytes of a length-prefixed string, without
// copying them.
func (r *byteReader) stringBytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail(errTruncated)
		return nil
	}
	return r.bytes(int(n))
}

// unsafeString returns a length-prefixed string that shares the record's
// memory: it is only valid until the record buffer is reused, so callers
// must copy it (as labels.ScratchBuilder.Labels does) before keeping it.
func (r *byteReader) unsafeString() string {
	b := r.stringBytes()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
