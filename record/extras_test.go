package record

import (
	"context"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

func testHistograms() (*histogram.Histogram, *histogram.FloatHistogram, *histogram.FloatHistogram) {
	h := &histogram.Histogram{
		CounterResetHint: histogram.NotCounterReset, Schema: 3, ZeroThreshold: 1e-128, ZeroCount: 2, Count: 17, Sum: 123.5,
		PositiveSpans: []histogram.Span{{Offset: -2, Length: 2}, {Offset: 3, Length: 1}}, PositiveBuckets: []int64{3, -1, 4},
		NegativeSpans: []histogram.Span{{Offset: 0, Length: 1}}, NegativeBuckets: []int64{6},
	}
	fh := &histogram.FloatHistogram{
		CounterResetHint: histogram.GaugeType, Schema: -1, ZeroThreshold: 0.001, ZeroCount: 0.5, Count: 9.5, Sum: -3,
		PositiveSpans: []histogram.Span{{Offset: 1, Length: 2}}, PositiveBuckets: []float64{4, 5},
	}
	nhcb := &histogram.FloatHistogram{
		Schema: histogram.CustomBucketsSchema, Count: 10, Sum: 55,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 3}}, PositiveBuckets: []float64{1, 2, 7},
		CustomValues: []float64{0.1, 1, 10},
	}
	return h, fh, nhcb
}

func TestHistogramsExemplarsAndStartTimestampsRoundTrip(t *testing.T) {
	l := openTestLog(t, 1<<20)
	r, err := l.OpenCursor("a")
	require.NoError(t, err)
	enc := NewStreamEncoder(3)
	lsets := []labels.Labels{
		labels.FromStrings("__name__", "requests_total", "job", "a"),
		labels.FromStrings("__name__", "latency_seconds", "job", "a"),
		labels.FromStrings("__name__", "queue_depth", "job", "a"),
		labels.FromStrings("__name__", "size_bytes", "job", "a"),
	}
	h, fh, nhcb := testHistograms()
	write := func(ts int64, withStart bool) {
		enc.Begin(ts, l.ActiveSegment())
		refs := make([]Ref, len(lsets))
		for i, ls := range lsets {
			refs[i] = enc.Define(ls, ls.Get("__name__"), remote.Metadata{Type: remote.MetricTypeCounter})
		}
		enc.Add(refs[0], 42)
		if withStart {
			enc.SetStart(ts - 60_000)
		}
		enc.AddExemplar(refs[0], exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "abc"), Value: 1.5, Ts: ts - 5, HasTs: true})
		enc.AddHistogram(refs[1], ts, h, nil, ts-3_600_000)
		enc.AddExemplar(refs[1], exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "def"), Value: 0.2})
		enc.AddHistogram(refs[2], ts, nil, fh, 0)
		enc.AddHistogram(refs[3], ts-1, nil, nhcb, 0)
		data, n := enc.Finish()
		require.Equal(t, uint32(4), n)
		_, err := l.Append(wal.Entry{Kind: KindStream, Count: n, Data: data, Segment: enc.Segment()})
		require.NoError(t, err)
		enc.Done(true)
	}
	write(10_000, true)
	write(20_000, false) // the start timestamp column is absent: unset again

	d := NewDecoder(nil)
	var b Batch
	for i, ts := range []int64{10_000, 20_000} {
		rec, err := r.Next(context.Background())
		require.NoError(t, err)
		b.Reset()
		require.NoError(t, d.Decode(rec, &b))
		require.Len(t, b.Series, 4)
		require.Equal(t, []string{"requests_total", "latency_seconds", "queue_depth", "size_bytes"}, b.Families)

		c := b.Series[0]
		require.Equal(t, []remote.Sample{{Value: 42, Timestamp: ts, StartTimestamp: map[int]int64{0: ts - 60_000, 1: 0}[i]}}, c.Samples)
		require.Equal(t, []remote.Exemplar{{Labels: labels.FromStrings("trace_id", "abc"), Value: 1.5, Timestamp: ts - 5}}, c.Exemplars)

		hs := b.Series[1]
		require.Empty(t, hs.Samples)
		require.Len(t, hs.Histograms, 1)
		require.Equal(t, ts, hs.Histograms[0].Timestamp)
		require.Equal(t, ts-3_600_000, hs.Histograms[0].StartTimestamp)
		require.Equal(t, h, hs.Histograms[0].H)
		require.Equal(t, []remote.Exemplar{{Labels: labels.FromStrings("trace_id", "def"), Value: 0.2, Timestamp: ts}}, hs.Exemplars, "exemplar without timestamp gets the scrape's")

		require.Equal(t, fh, b.Series[2].Histograms[0].FH)
		require.Zero(t, b.Series[2].Histograms[0].StartTimestamp)
		require.Equal(t, nhcb, b.Series[3].Histograms[0].FH)
		require.Equal(t, ts-1, b.Series[3].Histograms[0].Timestamp)
	}
}

func TestStartTimestampsAreDeltaCodedPerSeries(t *testing.T) {
	enc := NewStreamEncoder(1)
	ls := labels.FromStrings("__name__", "c_total")
	var sizes []int
	var ref Ref
	for i := 0; i < 3; i++ {
		enc.Begin(int64(i)*1000, 1)
		if !enc.Valid(ref) {
			ref = enc.Define(ls, "c", remote.Metadata{})
		}
		enc.Add(ref, float64(i))
		enc.SetStart(1_700_000_000_000)
		data, _ := enc.Finish()
		sizes = append(sizes, len(data))
		enc.Done(true)
	}
	// After the first record, an unchanged start timestamp costs one byte.
	require.Less(t, sizes[1], sizes[0]-10)
	require.Equal(t, sizes[1], sizes[2])
}

func TestNaNAndInfValuesKeepTheirBits(t *testing.T) {
	l := openTestLog(t, 1<<20)
	r, err := l.OpenCursor("a")
	require.NoError(t, err)
	enc := NewStreamEncoder(1)
	vals := []float64{math.NaN(), math.Float64frombits(0x7ff0000000000002), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), math.SmallestNonzeroFloat64}
	enc.Begin(0, l.ActiveSegment())
	var refs []Ref
	for i := range vals {
		refs = append(refs, enc.Define(labels.FromStrings("__name__", "m", "i", string(rune('a'+i))), "", remote.Metadata{}))
		enc.Add(refs[i], vals[i])
	}
	data, n := enc.Finish()
	_, err = l.Append(wal.Entry{Kind: KindStream, Count: n, Data: data, Segment: enc.Segment()})
	require.NoError(t, err)
	rec, err := r.Next(context.Background())
	require.NoError(t, err)
	var b Batch
	require.NoError(t, NewDecoder(nil).Decode(rec, &b))
	for i, v := range vals {
		require.Equal(t, math.Float64bits(v), math.Float64bits(b.Series[i].Samples[0].Value), "value %d", i)
	}
}

// The encoder keeps previous start timestamps only once a record carries
// some: series defined before, or defined later in records without any,
// then start from 0 on both sides, and every start decodes as written.
func TestStartTimestampsArriveAfterRecordsWithoutThem(t *testing.T) {
	enc := NewStreamEncoder(1)
	d := NewDecoder(nil)
	a := labels.FromStrings("__name__", "a_total")
	b := labels.FromStrings("__name__", "b_total")
	c := labels.FromStrings("__name__", "c_total")
	dl := labels.FromStrings("__name__", "d_total")
	var ra, rb, rc, rd Ref
	type want struct {
		ls    labels.Labels
		start int64
	}
	steps := []struct {
		define func()
		starts map[string]int64
	}{
		{func() { ra = enc.Define(a, "a", remote.Metadata{}) }, nil},
		{func() { rb = enc.Define(b, "b", remote.Metadata{}) }, nil},
		{func() { rc = enc.Define(c, "c", remote.Metadata{}) }, map[string]int64{"a_total": 5000, "c_total": 7000}},
		{func() {}, map[string]int64{"a_total": 5000, "b_total": 6000, "c_total": 9000}},
		// Defined once the encoder keeps start timestamps, in a record
		// without any, then given one.
		{func() { rd = enc.Define(dl, "d", remote.Metadata{}) }, nil},
		{func() {}, map[string]int64{"d_total": 3000}},
	}
	for i, st := range steps {
		enc.Begin(int64(i+1)*10_000, 1)
		st.define()
		refs := []Ref{ra, rb, rc, rd}
		var wants []want
		for j, ls := range []labels.Labels{a, b, c, dl} {
			if !enc.Valid(refs[j]) {
				continue
			}
			enc.Add(refs[j], float64(i))
			start := st.starts[ls.Get("__name__")]
			if start != 0 {
				enc.SetStart(start)
			}
			wants = append(wants, want{ls, start})
		}
		data, _ := enc.Finish()
		var out Batch
		require.NoError(t, d.Decode(wal.Record{Kind: KindStream, Data: append([]byte(nil), data...), Pos: wal.Pos{Segment: 1}}, &out))
		enc.Done(true)
		require.Len(t, out.Series, len(wants), "record %d", i)
		for j, w := range wants {
			require.Equal(t, w.ls, out.Series[j].LabelSet(), "record %d", i)
			require.Equal(t, w.start, out.Series[j].Samples[0].StartTimestamp, "record %d series %d", i, j)
		}
		if i < 2 {
			require.Empty(t, enc.prevStart, "no start timestamps yet, none kept")
		}
	}
}
