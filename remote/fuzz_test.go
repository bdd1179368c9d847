package remote

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// The fuzz targets check that decoding never panics, fails only with one
// of the package's error classes, and that whatever decodes re-encodes to
// something that decodes to the same request. `go test` runs them on the
// seed corpus and on testdata/fuzz/; `go test -fuzz=FuzzDecodeV2` explores.

func fuzzSeeds() []*Request {
	long := &Request{Series: []Series{{
		// Strings of 255 bytes and more are sized differently in a
		// labels.Labels.
		Labels:  labels.FromStrings("__name__", "long", "a", strings.Repeat("x", 254), "b", strings.Repeat("y", 255), "c", strings.Repeat("z", 70_000)),
		Samples: []Sample{{Value: 1, Timestamp: 2}},
	}}}
	reqs := []*Request{richRequest(), nodeExporterRequest(4), long}
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
	// A series whose metadata field has the bytes of another series'
	// second, merged one (the memo must not hand out the merged value).
	f.Add(cat(testSymbols,
		fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 2),
			fMsg(v2Metadata, fVarint(v2MetaType, 2), fVarint(v2MetaHelpRef, 3)), fMsg(v2Metadata, fVarint(v2MetaUnitRef, 4))),
		fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 5), fMsg(v2Metadata, fVarint(v2MetaUnitRef, 4)))))
	var (
		st              SymbolTable
		scratch, checks DictScratch
	)
	f.Fuzz(func(t *testing.T, buf []byte) {
		req, err := DecodeV2(buf, fuzzLimits)
		requireSameWithoutShortcuts(t, buf, req, err)
		requireSameStored(t, buf, req, err, &scratch)
		requireSameCheck(t, buf, req, err, &checks)
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

// requireSameStored checks DecodeStoredV2 against DecodeV2 (req, err):
// what DecodeV2 accepts, it decodes to the same series, with labels
// resolved through the dictionary and hashes equal to LabelsHash of the
// labels. What DecodeV2 refuses it may accept, since it trusts what a
// stored request was checked for, but without a panic, with an error of
// the package's classes when it refuses, and into series that resolve.
//
// scratch carries the memory of earlier inputs, which must not show.
func requireSameStored(t *testing.T, buf []byte, req *Request, err error, scratch *DictScratch) {
	t.Helper()
	d := NewDict()
	d.Intern("already here") // ids need not start at 0
	// Appended after what the slices hold already.
	before := []Series{{Samples: []Sample{{Value: 1}}}}
	series, hashes, derr := DecodeStoredV2(buf, d, before, []uint64{7}, scratch)
	if err == nil && derr != nil {
		t.Fatalf("DecodeV2 accepts, DecodeStoredV2: %v", derr)
	}
	if len(series) == 0 || series[0].Samples[0].Value != 1 || hashes[0] != 7 {
		t.Fatal("DecodeStoredV2 lost what series and hashes held")
	}
	if derr != nil {
		requireErrorClass(t, derr)
		return
	}
	series, hashes = series[1:], hashes[1:]
	if len(hashes) != len(series) {
		t.Fatalf("%d hashes for %d series", len(hashes), len(series))
	}
	resolved := &Request{}
	for i, s := range series {
		if !s.Labels.IsEmpty() || s.Dict != d || len(s.Names) != len(s.Values)+2 {
			t.Fatalf("series %d: labels %v, dict %p, %d names and %d values", i, s.Labels, s.Dict, len(s.Names), len(s.Values))
		}
		if s.Dict.String(s.Names[len(s.Names)-2]) != s.Metadata.Help || s.Dict.String(s.Names[len(s.Names)-1]) != s.Metadata.Unit {
			t.Fatalf("series %d: help/unit ids do not name %q/%q", i, s.Metadata.Help, s.Metadata.Unit)
		}
		ls := s.LabelSet() // what DecodeV2 refused must resolve too
		if err != nil {
			continue
		}
		if want := LabelsHash(req.Series[i].Labels); hashes[i] != want {
			t.Fatalf("series %d: hash %x, LabelsHash %x", i, hashes[i], want)
		}
		s.Labels, s.Dict, s.Names, s.Values = ls, nil, nil, nil
		resolved.Series = append(resolved.Series, s)
	}
	if err == nil {
		requireSameRequest(t, req, resolved)
	}
}

// requireSameWithoutShortcuts checks that decoding without the decoder's
// shortcuts (the memos of the last series' label names and metadata, the
// fast path for samples) gives the same result and error.
func requireSameWithoutShortcuts(t *testing.T, buf []byte, req *Request, err error) {
	t.Helper()
	shortcuts = false
	plain, perr := DecodeV2(buf, fuzzLimits)
	shortcuts = true
	if (err == nil) != (perr == nil) || err != nil && err.Error() != perr.Error() {
		t.Fatalf("with the shortcuts: %v, without: %v", err, perr)
	}
	if err == nil {
		requireSameRequest(t, plain, req)
	}
}

// requireSameCheck checks that CheckV2 refuses exactly what DecodeV2
// refuses, with the same error, and counts what it decodes.
func requireSameCheck(t *testing.T, buf []byte, req *Request, err error, scratch *DictScratch) {
	t.Helper()
	c, n, cerr := CheckV2(buf, fuzzLimits, scratch)
	if (err == nil) != (cerr == nil) || err != nil && err.Error() != cerr.Error() {
		t.Fatalf("DecodeV2: %v, CheckV2: %v", err, cerr)
	}
	if err == nil && (c != req.Count() || n != len(req.Series)) {
		t.Fatalf("CheckV2 counted %+v in %d series, DecodeV2 decoded %+v in %d", c, n, req.Count(), len(req.Series))
	}
}
