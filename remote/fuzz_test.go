package remote

import (
	"bytes"
	"errors"
	"testing"
)

// The fuzz targets check that decoding never panics, fails only with one
// of the package's error classes, and that whatever decodes re-encodes to
// something that decodes to the same request. `go test` runs them on the
// seed corpus and on testdata/fuzz/; `go test -fuzz=FuzzDecodeV2` explores.

func fuzzSeeds() []*Request {
	reqs := []*Request{richRequest(), nodeExporterRequest(4)}
	for _, c := range interopCases() {
		reqs = append(reqs, c.req)
	}
	return reqs
}

func requireErrorClass(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error of no known class: %v", err)
	}
}

// fuzzLimits keep the fuzzer's memory small while still exercising limits.
var fuzzLimits = Limits{MaxSeries: 1000, MaxLabels: 64, MaxSamples: 10_000}

func FuzzDecodeV1(f *testing.F) {
	for _, r := range fuzzSeeds() {
		f.Add(AppendV1(nil, r))
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		req, err := DecodeV1(buf, fuzzLimits)
		if err != nil {
			requireErrorClass(t, err)
			return
		}
		again, err := DecodeV1(AppendV1(nil, req), fuzzLimits)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v\n%s", err, dump(req))
		}
		requireSameRequest(t, req, again)
	})
}

func FuzzDecodeV2(f *testing.F) {
	for _, r := range fuzzSeeds() {
		f.Add(AppendV2(nil, r, nil))
	}
	var st SymbolTable
	f.Fuzz(func(t *testing.T, buf []byte) {
		req, err := DecodeV2(buf, fuzzLimits)
		if err != nil {
			requireErrorClass(t, err)
			return
		}
		again, err := DecodeV2(AppendV2(nil, req, &st), fuzzLimits)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v\n%s", err, dump(req))
		}
		requireSameRequest(t, req, again)
	})
}

func FuzzDecompress(f *testing.F) {
	for _, r := range fuzzSeeds()[:2] {
		body := AppendV1(nil, r)
		for _, enc := range []Encoding{EncodingSnappy, EncodingZstd} {
			c, err := Compress(nil, body, enc)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(c, enc == EncodingZstd, uint32(len(body)))
		}
	}
	for _, small := range []string{"", "a", "abcabcabcabcabcabcabcabc", "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"} {
		for _, enc := range []Encoding{EncodingSnappy, EncodingZstd} {
			c, _ := Compress(nil, []byte(small), enc)
			f.Add(c, enc == EncodingZstd, uint32(64))
		}
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, false, uint32(1<<20))
	f.Fuzz(func(t *testing.T, src []byte, zstd bool, maxSize uint32) {
		enc := EncodingSnappy
		if zstd {
			enc = EncodingZstd
		}
		limit := int(maxSize % (4 << 20))
		out, err := Decompress([]byte("pre"), src, enc, limit)
		if err != nil {
			requireErrorClass(t, err)
			return
		}
		if !bytes.HasPrefix(out, []byte("pre")) {
			t.Fatal("Decompress lost dst")
		}
		out = out[3:]
		if len(out) > limit {
			t.Fatalf("decoded %d bytes, limit %d", len(out), limit)
		}
		c, err := Compress(nil, out, enc)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Decompress(nil, c, enc, limit)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("round trip of decompressed data failed: %v", err)
		}
	})
}
