package receiver

import (
	"errors"
	"io"
	"slices"
)

// errOverLimit is readLimited's report of a reader with more than limit
// bytes.
var errOverLimit = errors.New("over the limit")

// readLimited appends what r holds to dst[:0] and returns it, refusing
// with errOverLimit as soon as more than limit bytes arrive. hint, when
// positive (a Content-Length), sizes the buffer at once. The buffer grows
// by doubling but never past limit+1 bytes, so that a body at the limit
// costs about twice the limit at most, whatever it claims.
func readLimited(dst []byte, r io.Reader, limit int64, hint int64) ([]byte, error) {
	dst = dst[:0]
	if hint > 0 {
		dst = slices.Grow(dst, int(min(hint, limit)+1))
	}
	for {
		if len(dst) == cap(dst) {
			want := min(max(2*int64(cap(dst)), 4096), limit+1)
			if int64(cap(dst)) >= want {
				return dst, errOverLimit
			}
			dst = slices.Grow(dst, int(want)-len(dst))
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if int64(len(dst)) > limit {
			return dst, errOverLimit
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}
