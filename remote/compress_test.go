package remote

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

func TestCompressRoundTrip(t *testing.T) {
	body := AppendV2(nil, richRequest(), nil)
	for _, enc := range []Encoding{EncodingSnappy, EncodingZstd} {
		for _, in := range [][]byte{nil, []byte("x"), body, bytes.Repeat(body, 50)} {
			prefix := []byte("keep")
			c, err := Compress(append([]byte(nil), prefix...), in, enc)
			if err != nil {
				t.Fatalf("%s: Compress: %v", enc, err)
			}
			if !bytes.HasPrefix(c, prefix) {
				t.Fatalf("%s: Compress did not append to dst", enc)
			}
			d, err := Decompress(append([]byte(nil), prefix...), c[len(prefix):], enc, len(in))
			if err != nil {
				t.Fatalf("%s: Decompress of %d bytes: %v", enc, len(in), err)
			}
			if !bytes.Equal(d, append(prefix, in...)) {
				t.Fatalf("%s: round trip of %d bytes changed the data", enc, len(in))
			}
		}
	}
}

// TestSnappyIsTheBlockFormat: what we write decodes with a plain snappy
// block decoder, and a plain snappy block decodes with ours.
func TestSnappyIsTheBlockFormat(t *testing.T) {
	body := AppendV1(nil, richRequest())
	c, _ := Compress(nil, body, EncodingSnappy)
	if d, err := s2.Decode(nil, c); err != nil || !bytes.Equal(d, body) {
		t.Fatalf("s2.Decode of our snappy: %v", err)
	}
	d, err := Decompress(nil, s2.EncodeSnappyBetter(nil, body), EncodingSnappy, len(body))
	if err != nil || !bytes.Equal(d, body) {
		t.Fatalf("Decompress of reference snappy: %v", err)
	}
}

// totalAlloc runs f and returns how many bytes it allocated.
func totalAlloc(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestDecompressRefusesBombs(t *testing.T) {
	const maxSize = 1 << 20
	zeros := make([]byte, 16<<20)
	zstdWithSize, _ := Compress(nil, zeros, EncodingZstd)
	// A streamed zstd frame does not declare its content size.
	var streamed bytes.Buffer
	zw, _ := zstd.NewWriter(&streamed, zstd.WithEncoderLevel(zstd.SpeedFastest))
	zw.Write(zeros)
	zw.Close()
	// Frames of half the limit, concatenated until they exceed it.
	half, _ := Compress(nil, zeros[:maxSize/2+1], EncodingZstd)

	tests := []struct {
		name string
		enc  Encoding
		in   []byte
		kind error
		msg  string
	}{
		{"snappy header claiming 4 GiB", EncodingSnappy, []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, ErrTooLarge, "decoded length 4294967295 exceeds limit 1048576"},
		{"snappy header beyond 4 GiB", EncodingSnappy, []byte{0x80, 0x80, 0x80, 0x80, 0x10, 0x00}, ErrInvalid, "snappy: s2: corrupt input"},
		{"snappy header within the limit but impossible for the input", EncodingSnappy, []byte{0x80, 0x80, 0x40, 0x00, 0x00}, ErrInvalid, "impossible for 5 input bytes"},
		{"snappy block expanding beyond the limit", EncodingSnappy, s2.EncodeSnappy(nil, zeros), ErrTooLarge, "exceeds limit"},
		{"zstd frame declaring its size", EncodingZstd, zstdWithSize, ErrTooLarge, "exceeds limit"},
		{"zstd frame without declared size", EncodingZstd, streamed.Bytes(), ErrTooLarge, "exceeds limit"},
		{"zstd frames adding up beyond the limit", EncodingZstd, cat(half, half, half), ErrTooLarge, "exceeds limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			alloc := totalAlloc(func() { _, err = Decompress(nil, tt.in, tt.enc, maxSize) })
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got error %v, want %v saying %q", err, tt.kind, tt.msg)
			}
			// Output is never larger than the limit, plus the slack a
			// decoder keeps for one block.
			if alloc > 3*maxSize {
				t.Errorf("allocated %d bytes for a limit of %d", alloc, maxSize)
			}
		})
	}
}

func TestDecompressRefusesCorruptInput(t *testing.T) {
	good, _ := Compress(nil, []byte(strings.Repeat("remote write ", 100)), EncodingSnappy)
	goodZstd, _ := Compress(nil, []byte(strings.Repeat("remote write ", 100)), EncodingZstd)
	flipped := append([]byte(nil), goodZstd...)
	flipped[len(flipped)-2] ^= 0xff
	tests := []struct {
		name string
		enc  Encoding
		in   []byte
		kind error
	}{
		{"empty snappy body", EncodingSnappy, nil, ErrInvalid},
		{"truncated snappy", EncodingSnappy, good[:len(good)/2], ErrInvalid},
		{"not zstd", EncodingZstd, []byte("hello, world"), ErrInvalid},
		{"truncated zstd", EncodingZstd, goodZstd[:len(goodZstd)-5], ErrInvalid},
		{"zstd with a flipped byte", EncodingZstd, flipped, ErrInvalid},
		{"unknown encoding", Encoding("gzip"), good, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decompress(nil, tt.in, tt.enc, 1<<20)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("got %v, want %v", err, tt.kind)
			}
		})
	}
	if _, err := Compress(nil, good, Encoding("br")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Compress with unknown encoding: got %v, want ErrUnsupported", err)
	}
}
