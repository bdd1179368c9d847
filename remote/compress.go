package remote

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Encoding is a Content-Encoding of a remote-write body.
type Encoding string

const (
	// EncodingSnappy is the snappy block format (not the framed format),
	// which every remote-write receiver must accept.
	EncodingSnappy Encoding = "snappy"
	// EncodingZstd is a zstd frame, an optional RW2 extension.
	EncodingZstd Encoding = "zstd"
)

// ParseContentEncoding returns the Encoding named by a Content-Encoding
// header value. An empty value means snappy, which RW1 senders that omit
// the header use. Anything else is refused with an error wrapping
// ErrUnsupported (HTTP 415).
func ParseContentEncoding(ce string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(ce)) {
	case "", string(EncodingSnappy):
		return EncodingSnappy, nil
	case string(EncodingZstd):
		return EncodingZstd, nil
	}
	return "", unsupportedf("content encoding %s is not supported (want snappy or zstd)", quote(ce))
}

// Compress appends src compressed with enc to dst and returns the extended
// buffer. With a dst of sufficient capacity it does not allocate.
func Compress(dst, src []byte, enc Encoding) ([]byte, error) {
	switch enc {
	case EncodingSnappy:
		n := s2.MaxEncodedLen(len(src))
		if n < 0 {
			return dst, tooLargef("snappy: cannot compress %d bytes in one block", len(src))
		}
		dst = slices.Grow(dst, n)
		// s2's "better" snappy-compatible mode: 12% fewer bytes than
		// its fastest on RW2 requests (BenchmarkEncodeRequest) for about
		// 15 ns more per sample, still cheaper than zstd.
		out := s2.EncodeSnappyBetter(dst[len(dst):len(dst)+n], src)
		return dst[:len(dst)+len(out)], nil
	case EncodingZstd:
		e, err := zstdEncoder()
		if err != nil {
			return dst, err
		}
		return e.EncodeAll(src, dst), nil
	}
	return dst, unsupportedf("content encoding %s is not supported", quote(string(enc)))
}

// snappyMaxRatio bounds how much a snappy block can expand: no element of
// the format produces more than 64 bytes from 3 bytes of input (a copy with
// a 2-byte offset). A declared length beyond that is a lie, refused before
// anything is allocated for it.
const snappyMaxRatio = 64.0 / 3

// Decompress appends src decompressed with enc to dst and returns the
// extended buffer. Output longer than maxSize bytes is refused with an
// error wrapping ErrTooLarge, and no more than about maxSize bytes are
// allocated for it, whatever src claims:
//
//   - a snappy block declares its decoded length up front; a length over
//     maxSize, or one that no snappy block of len(src) bytes can reach, is
//     refused before anything is allocated;
//   - zstd is decoded with a memory limit of maxSize and stopped once its
//     output exceeds it; a frame whose window exceeds maxSize is refused.
//
// Corrupt input yields an error wrapping ErrInvalid, an unknown encoding
// one wrapping ErrUnsupported.
func Decompress(dst, src []byte, enc Encoding, maxSize int) ([]byte, error) {
	maxSize = max(maxSize, 0)
	switch enc {
	case EncodingSnappy:
		n, err := s2.DecodedLen(src)
		if err != nil {
			return dst, invalidf("snappy: %v", err)
		}
		if n > maxSize {
			return dst, tooLargef("snappy: decoded length %d exceeds limit %d", n, maxSize)
		}
		if float64(n) > snappyMaxRatio*float64(len(src))+1 {
			return dst, invalidf("snappy: decoded length %d is impossible for %d input bytes", n, len(src))
		}
		dst = slices.Grow(dst, n)
		out, err := s2.Decode(dst[len(dst):len(dst)+n], src)
		if err != nil {
			return dst, invalidf("snappy: %v", err)
		}
		return dst[:len(dst)+len(out)], nil
	case EncodingZstd:
		return decompressZstd(dst, src, maxSize)
	}
	return dst, unsupportedf("content encoding %s is not supported", quote(string(enc)))
}

// zstdEncoder is shared: zstd.Encoder.EncodeAll is safe for concurrent use
// and keeps one encoder state per CPU internally. With WithLowerEncoderMem
// each state's history buffer is the window plus 128 KiB (without it, at
// least 1 MiB).
//
// The window is small on purpose, and it sets the block size too (a block
// is never larger than the window). An RW2 request of ten 1000-series
// scrapes is about 0.45 MB before compression; the lane orders it so
// that the same series of different targets are next to each other, and
// what repeats in it repeats within a kilobyte or two. With 8 KiB blocks
// the entropy tables follow the metric families along the request, and
// the fast match finder cannot take distant chance matches, whose offsets
// cost more than the literals they replace and push the useful repeat
// offsets out of zstd's short list. Against the 512 KiB window (and its
// 64 KiB blocks) used before, a request of the end-to-end benchmark's
// load is 11% smaller in BenchmarkInterleavedRequest (7.42 -> 6.62
// B/sample) and 7-8% end to end (7.11 -> 6.57), and a state's history is
// 136 KiB instead of 640; compressing takes about 28% longer (166 instead
// of 130 ns/sample), which the end-to-end CPU figures did not show beyond
// their spread. Where the values of every target differ (nodeLikeBatch)
// the request is 4% larger (9.10 against 8.75 B/sample). The reference
// zstd tool compresses the benchmark's request better with an 8 KiB
// window too (docs/benchmarks.md, "Where the wire bytes go").
var zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithWindowSize(zstdWindow),
		zstd.WithLowerEncoderMem(true),
		zstd.WithZeroFrames(true),
	)
})

const zstdWindow = 8 << 10

// zstdDecoders holds a pool of decoders per output limit: a decoder's
// memory limit is fixed when it is made, and callers use one or two limits.
var zstdDecoders sync.Map // int -> *sync.Pool of *zstd.Decoder

func decompressZstd(dst, src []byte, maxSize int) ([]byte, error) {
	// zstd needs a window of at least 1 KiB even for tiny frames; the
	// output length is checked against maxSize itself below.
	limit := max(maxSize, zstd.MinWindowSize)
	p, ok := zstdDecoders.Load(limit)
	if !ok {
		p, _ = zstdDecoders.LoadOrStore(limit, &sync.Pool{})
	}
	pool := p.(*sync.Pool)
	d, _ := pool.Get().(*zstd.Decoder)
	if d == nil {
		var err error
		// One goroutine-free decoder per pool entry; DecodeAll runs
		// synchronously in the caller's goroutine.
		d, err = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(uint64(limit)),
		)
		if err != nil {
			return dst, err
		}
	}
	// Decode into the spare capacity after dst: DecodeAll counts bytes
	// already in dst against its memory limit.
	tail := dst[len(dst):]
	out, err := d.DecodeAll(src, tail)
	pool.Put(d)
	switch {
	case errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded):
		return dst, tooLargef("zstd: decoded size exceeds limit %d", maxSize)
	case err != nil:
		return dst, invalidf("zstd: %v", err)
	case len(out) > maxSize:
		return dst, tooLargef("zstd: decoded size %d exceeds limit %d", len(out), maxSize)
	case len(out) == 0:
		return dst, nil
	case len(out) <= cap(tail) && &out[0] == &tail[:1][0]:
		return dst[:len(dst)+len(out)], nil // decoded in place
	}
	return append(dst, out...), nil
}
