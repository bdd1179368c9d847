package remote

import (
	"bytes"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"
)

// TestRoundTripKeepsEveryBit covers values the reference encoder cannot
// carry (it drops -0) and start timestamps through our own codecs.
func TestRoundTripKeepsEveryBit(t *testing.T) {
	negZero := math.Copysign(0, -1)
	req := richRequest()
	req.Series = append(req.Series, Series{
		Labels: labels.FromStrings("__name__", "odd_values"),
		Samples: []Sample{
			{Value: negZero, Timestamp: 1},
			{Value: math.Float64frombits(0x7ff4000000000000), Timestamp: 2}, // signalling NaN
			{Value: math.Float64frombits(0xfff8000000000000), Timestamp: 3}, // negative NaN
		},
	}, Series{
		Labels:     labels.FromStrings("__name__", "odd_histogram"),
		Histograms: []Histogram{{Timestamp: 4, FH: &histogram.FloatHistogram{Sum: negZero, Count: negZero, ZeroCount: negZero}}},
	})

	got, err := DecodeV1(AppendV1(nil, req), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	requireSameRequest(t, asV1(req), got)

	got, err = DecodeV2(AppendV2(nil, req, nil), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	requireSameRequest(t, asV2(req), got)
	if bits := math.Float64bits(got.Series[2].Samples[0].Value); bits != staleNaNBits {
		t.Errorf("stale marker came back as %#x", bits)
	}
}

// TestV1DropsWhatItCannotCarry: start timestamps and per-series metadata
// are lost in RW1; family metadata is lost in RW2.
func TestV1DropsWhatItCannotCarry(t *testing.T) {
	req := &Request{
		Series: []Series{{
			Labels:   labels.FromStrings("__name__", "x"),
			Samples:  []Sample{{Value: 1, Timestamp: 2, StartTimestamp: 1}},
			Metadata: Metadata{Type: MetricTypeCounter, Help: "h"},
		}, {
			Labels:     labels.FromStrings("__name__", "y"),
			Histograms: []Histogram{{Timestamp: 2, StartTimestamp: 1, H: intHistogram()}},
		}},
		FamilyMetadata: []FamilyMetadata{{MetricFamilyName: "x", Metadata: Metadata{Type: MetricTypeCounter}}},
	}
	got, err := DecodeV1(AppendV1(nil, req), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	s, h := got.Series[0], got.Series[1]
	if s.Samples[0].StartTimestamp != 0 || h.Histograms[0].StartTimestamp != 0 || !s.Metadata.IsZero() {
		t.Errorf("RW1 carried RW2-only data: %s", dump(got))
	}
	if len(got.FamilyMetadata) != 1 {
		t.Errorf("RW1 lost family metadata")
	}
	got, err = DecodeV2(AppendV2(nil, req, nil), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.FamilyMetadata) != 0 || got.Series[0].Samples[0].StartTimestamp != 1 ||
		got.Series[1].Histograms[0].StartTimestamp != 1 || got.Series[0].Metadata.Help != "h" {
		t.Errorf("RW2 round trip: %s", dump(got))
	}
}

func TestDecodedRequestDoesNotAliasInput(t *testing.T) {
	req := richRequest()
	for _, v := range []struct {
		name   string
		encode func() []byte
		decode func([]byte, Limits) (*Request, error)
	}{
		{"RW1", func() []byte { return AppendV1(nil, req) }, DecodeV1},
		{"RW2", func() []byte { return AppendV2(nil, req, nil) }, DecodeV2},
	} {
		buf := v.encode()
		got, err := v.decode(buf, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		before := dump(got)
		for i := range buf {
			buf[i] = 'X'
		}
		if after := dump(got); after != before {
			t.Errorf("%s: overwriting the input changed the decoded request", v.name)
		}
	}
}

// TestDecodedSeriesDoNotShareCapacity: appending to one series' samples
// must not overwrite the next series', although they share an array.
func TestDecodedSeriesDoNotShareCapacity(t *testing.T) {
	req := interopCases()[1].req // "samples": two series
	got, err := DecodeV2(AppendV2(nil, req, nil), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	before := dump(got)
	s0 := got.Series[0].Samples
	_ = append(s0, Sample{Value: 99})
	if dump(got) != before {
		t.Error("append to series 0 changed series 1")
	}
}

func TestSymbolTable(t *testing.T) {
	var st SymbolTable
	if got := st.Symbols(); len(got) != 1 || got[0] != "" {
		t.Fatalf("zero table symbols = %q", got)
	}
	a, b := st.Ref("a"), st.Ref("b")
	if st.Ref("a") != a || a == b || st.Ref("") != 0 {
		t.Fatalf("refs: a=%d b=%d", a, b)
	}
	st.Reset()
	if got := st.Symbols(); len(got) != 1 || st.Ref("b") != 1 {
		t.Fatalf("after Reset: %q", st.Symbols())
	}

	// AppendV2 resets the table: a stale table changes nothing.
	req := richRequest()
	want := AppendV2(nil, req, nil)
	st.Ref("left over from another request")
	if got := AppendV2(nil, req, &st); string(got) != string(want) {
		t.Error("AppendV2 output depends on the table's previous contents")
	}
}

func TestAppendDoesNotAllocateInSteadyState(t *testing.T) {
	req := nodeExporterRequest(200)
	buf := AppendV1(nil, req)
	if n := testing.AllocsPerRun(20, func() { buf = AppendV1(buf[:0], req) }); n != 0 {
		t.Errorf("AppendV1: %v allocations", n)
	}
	var st SymbolTable
	buf = AppendV2(buf[:0], req, &st)
	if n := testing.AllocsPerRun(20, func() { buf = AppendV2(buf[:0], req, &st) }); n != 0 {
		t.Errorf("AppendV2: %v allocations", n)
	}
	var c []byte
	for _, enc := range []Encoding{EncodingSnappy, EncodingZstd} {
		c, _ = Compress(c[:0], buf, enc)
		if n := testing.AllocsPerRun(20, func() { c, _ = Compress(c[:0], buf, enc) }); n != 0 {
			t.Errorf("Compress %s: %v allocations", enc, n)
		}
	}
}

// A request given as pointers to its series encodes to the same bytes as
// the request itself, in both protocols, and allocates nothing either.
func TestSeriesPointersEncodeLikeTheRequest(t *testing.T) {
	req := richRequest()
	req.Series = append(req.Series, nodeExporterRequest(3).Series...)
	req.FamilyMetadata = nil // the pointer form carries none
	ptrs := make([]*Series, len(req.Series))
	for i := range req.Series {
		ptrs[i] = &req.Series[i]
	}
	var st1, st2 SymbolTable
	if want, got := AppendV2(nil, req, &st1), AppendV2Series(nil, ptrs, &st2); !bytes.Equal(want, got) {
		t.Error("AppendV2Series differs from AppendV2")
	}
	if want, got := AppendV1(nil, req), AppendV1Series(nil, ptrs); !bytes.Equal(want, got) {
		t.Error("AppendV1Series differs from AppendV1")
	}
	buf := AppendV2Series(nil, ptrs, &st2)
	if n := testing.AllocsPerRun(20, func() { buf = AppendV2Series(buf[:0], ptrs, &st2) }); n != 0 {
		t.Errorf("AppendV2Series: %v allocations", n)
	}
	if n := testing.AllocsPerRun(20, func() { buf = AppendV1Series(buf[:0], ptrs) }); n != 0 {
		t.Errorf("AppendV1Series: %v allocations", n)
	}
}

func TestMessageLengthWrittenAfterTheMessage(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 1 << 21} {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i * 7)
		}
		b := []byte{0xAA} // something before, which must stay
		b, at := beginMessage(b, v2Timeseries)
		b = append(b, body...)
		b = endMessage(b, at)
		num, typ, k := protowire.ConsumeTag(b[1:])
		if num != v2Timeseries || typ != protowire.BytesType || b[0] != 0xAA {
			t.Fatalf("size %d: tag %d/%d, first byte %x", n, num, typ, b[0])
		}
		got, m := protowire.ConsumeBytes(b[1+k:])
		if m < 0 || 1+k+m != len(b) || !bytes.Equal(got, body) {
			t.Fatalf("size %d: message read back wrong (consumed %d of %d)", n, m, len(b)-1-k)
		}
	}
}

// The symbol table remembers the last string at each label position; a
// second request through the same table, whose series differ at the same
// positions, must still decode to exactly what was encoded.
func TestSymbolTableMemoAcrossRequests(t *testing.T) {
	var st SymbolTable
	mk := func(pairs ...string) *Request {
		return &Request{Series: []Series{{Labels: labels.FromStrings(pairs...), Samples: []Sample{{Value: 1, Timestamp: 1}}}}}
	}
	for _, req := range []*Request{
		mk("__name__", "a", "job", "x"),
		mk("__name__", "a", "job", "y"),
		mk("__name__", "b", "instance", "x", "job", "x"),
		mk("__name__", "a", "job", "x"),
	} {
		got, err := DecodeV2(AppendV2(nil, req, &st), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !labels.Equal(got.Series[0].Labels, req.Series[0].Labels) {
			t.Fatalf("decoded %v, encoded %v", got.Series[0].Labels, req.Series[0].Labels)
		}
	}
}

// RW2 forbids float samples and histograms in one TimeSeries: AppendV2
// writes such a series as two with the same labels and metadata, the
// exemplars with the samples.
func TestAppendV2SplitsASeriesWithSamplesAndHistograms(t *testing.T) {
	ls := labels.FromStrings("__name__", "mixed", "job", "j")
	meta := Metadata{Type: MetricTypeCounter, Help: "h"}
	req := &Request{Series: []Series{{
		Labels:     ls,
		Samples:    []Sample{{Value: 1, Timestamp: 1000}},
		Histograms: []Histogram{{Timestamp: 2000, H: &histogram.Histogram{Count: 3, Sum: 4, ZeroCount: 3, ZeroThreshold: 0.001}}},
		Exemplars:  []Exemplar{{Labels: labels.FromStrings("trace_id", "t"), Value: 1, Timestamp: 1000}},
		Metadata:   meta,
	}}}
	got, err := DecodeV2(AppendV2(nil, req, nil), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Series) != 2 {
		t.Fatalf("%d series, want 2", len(got.Series))
	}
	floats, hists := got.Series[0], got.Series[1]
	for _, s := range got.Series {
		if !labels.Equal(s.Labels, ls) || s.Metadata != meta {
			t.Fatalf("series %s with %+v, want %s with %+v", s.Labels, s.Metadata, ls, meta)
		}
	}
	if len(floats.Samples) != 1 || len(floats.Exemplars) != 1 || len(floats.Histograms) != 0 ||
		len(hists.Samples) != 0 || len(hists.Exemplars) != 0 || len(hists.Histograms) != 1 {
		t.Fatalf("split wrongly: %+v / %+v", floats, hists)
	}
}
