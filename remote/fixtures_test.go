package remote

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
)

// Requests and helpers shared by the tests.

const (
	staleNaNBits  = 0x7ff0000000000002 // Prometheus' stale marker
	normalNaNBits = 0x7ff8000000000001 // the NaN math.NaN returns
)

var (
	staleNaN  = math.Float64frombits(staleNaNBits)
	normalNaN = math.Float64frombits(normalNaNBits)
)

func intHistogram() *histogram.Histogram {
	return &histogram.Histogram{
		CounterResetHint: histogram.NotCounterReset,
		Schema:           3,
		ZeroThreshold:    1e-128,
		ZeroCount:        2,
		Count:            15,
		Sum:              42.5,
		PositiveSpans:    []histogram.Span{{Offset: -2, Length: 2}, {Offset: 3, Length: 1}},
		PositiveBuckets:  []int64{3, -1, 4},
		NegativeSpans:    []histogram.Span{{Offset: 1, Length: 2}},
		NegativeBuckets:  []int64{1, 2},
	}
}

func floatHistogram() *histogram.FloatHistogram {
	return &histogram.FloatHistogram{
		CounterResetHint: histogram.GaugeType,
		Schema:           -2,
		ZeroThreshold:    0.001,
		ZeroCount:        0.5,
		Count:            10.25,
		Sum:              -3.75,
		PositiveSpans:    []histogram.Span{{Offset: 0, Length: 3}},
		PositiveBuckets:  []float64{1.5, 0, 7.25},
		NegativeSpans:    []histogram.Span{{Offset: 5, Length: 1}},
		NegativeBuckets:  []float64{1},
	}
}

// nhcbHistogram is a native histogram with custom buckets (schema -53), as
// Prometheus makes from a classic histogram.
func nhcbHistogram() *histogram.Histogram {
	return &histogram.Histogram{
		CounterResetHint: histogram.CounterReset,
		Schema:           histogram.CustomBucketsSchema,
		Count:            9,
		Sum:              12.5,
		PositiveSpans:    []histogram.Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 1}},
		PositiveBuckets:  []int64{2, 3, -1},
		CustomValues:     []float64{0.1, 0.5, 1, 5},
	}
}

func nhcbFloatHistogram() *histogram.FloatHistogram {
	return &histogram.FloatHistogram{
		Schema:          histogram.CustomBucketsSchema,
		Count:           4,
		Sum:             2,
		PositiveSpans:   []histogram.Span{{Offset: 1, Length: 1}},
		PositiveBuckets: []float64{4},
		CustomValues:    []float64{-1, 1},
	}
}

// interopCases are small requests, one per feature the interoperability
// tests prove. They avoid -0, which the reference encoder drops like 0.
func interopCases() []struct {
	name string
	req  *Request
} {
	return []struct {
		name string
		req  *Request
	}{
		{"empty request", &Request{}},
		{"samples", &Request{Series: []Series{
			{
				Labels: labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", "0", "instance", "host:9100", "job", "node", "mode", "idle"),
				Samples: []Sample{
					{Value: 1234.5, Timestamp: 1_700_000_000_000},
					{Value: 1235.5, Timestamp: 1_700_000_015_000},
					{Value: math.Inf(1), Timestamp: 1_700_000_030_000},
					{Value: math.Inf(-1), Timestamp: -1},
					{Value: 0, Timestamp: 0},
					{Value: math.MaxFloat64, Timestamp: math.MaxInt64},
					{Value: math.SmallestNonzeroFloat64, Timestamp: math.MinInt64},
				},
			},
			{
				Labels:  labels.FromStrings("__name__", "up", "instance", "host:9100", "job", "node"),
				Samples: []Sample{{Value: 1, Timestamp: 1_700_000_000_000}},
			},
		}}},
		{"stale NaN and ordinary NaN keep their bits", &Request{Series: []Series{{
			Labels: labels.FromStrings("__name__", "up", "job", "gone"),
			Samples: []Sample{
				{Value: staleNaN, Timestamp: 1000},
				{Value: normalNaN, Timestamp: 2000},
			},
		}}}},
		{"exemplars", &Request{Series: []Series{{
			Labels:  labels.FromStrings("__name__", "http_request_duration_seconds_bucket", "le", "0.5"),
			Samples: []Sample{{Value: 17, Timestamp: 5000}},
			Exemplars: []Exemplar{
				{Labels: labels.FromStrings("span_id", "00f067aa0ba902b7", "trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"), Value: 0.31, Timestamp: 4900},
				{Labels: labels.EmptyLabels(), Value: 0.12, Timestamp: 4950},
			},
		}}}},
		{"metadata", &Request{
			Series: []Series{{
				Labels:   labels.FromStrings("__name__", "process_cpu_seconds_total", "job", "api"),
				Samples:  []Sample{{Value: 3.5, Timestamp: 10}},
				Metadata: Metadata{Type: MetricTypeCounter, Help: "Total user and system CPU time spent in seconds.", Unit: "seconds"},
			}, {
				Labels:   labels.FromStrings("__name__", "info_thing", "job", "api"),
				Samples:  []Sample{{Value: 1, Timestamp: 10}},
				Metadata: Metadata{Type: MetricTypeStateset},
			}},
			FamilyMetadata: []FamilyMetadata{
				{MetricFamilyName: "process_cpu_seconds_total", Metadata: Metadata{Type: MetricTypeCounter, Help: "Total user and system CPU time spent in seconds.", Unit: "seconds"}},
				{MetricFamilyName: "info_thing", Metadata: Metadata{Type: MetricTypeStateset}},
				{MetricFamilyName: "untyped"},
			},
		}},
		{"integer and float histograms", &Request{Series: []Series{
			{
				Labels: labels.FromStrings("__name__", "rpc_latency_seconds", "job", "api"),
				Histograms: []Histogram{
					{Timestamp: 1000, H: intHistogram()},
					{Timestamp: 2000, H: &histogram.Histogram{}},
				},
			},
			{
				Labels: labels.FromStrings("__name__", "queue_depth", "job", "api"),
				Histograms: []Histogram{
					{Timestamp: 1000, FH: floatHistogram()},
					{Timestamp: 2000, FH: &histogram.FloatHistogram{Sum: staleNaN}},
				},
			},
		}}},
		{"custom-bucket histograms (NHCB)", &Request{Series: []Series{{
			Labels: labels.FromStrings("__name__", "request_size_bytes", "job", "api"),
			Histograms: []Histogram{
				{Timestamp: 1000, H: nhcbHistogram()},
				{Timestamp: 2000, FH: nhcbFloatHistogram()},
			},
		}}}},
		{"start timestamps", &Request{Series: []Series{
			{
				Labels:  labels.FromStrings("__name__", "requests_total", "job", "api"),
				Samples: []Sample{{Value: 10, Timestamp: 60_000, StartTimestamp: 1_000}},
			},
			{
				Labels:     labels.FromStrings("__name__", "latency_seconds", "job", "api"),
				Histograms: []Histogram{{Timestamp: 60_000, StartTimestamp: 2_000, H: intHistogram()}},
			},
		}}},
		{"UTF-8 label names and values", &Request{Series: []Series{{
			Labels:  labels.FromStrings("__name__", "http.server.duration", "läbel.名前", "välue 🚀", "service.name", "checkout"),
			Samples: []Sample{{Value: 1, Timestamp: 1}},
			Exemplars: []Exemplar{{
				Labels: labels.FromStrings("trace.id", "ünïcode"), Value: 1, Timestamp: 1,
			}},
			Metadata: Metadata{Type: MetricTypeGauge, Help: "Hilfe – ヘルプ", Unit: "µs"},
		}}}},
	}
}

// richRequest combines every interop case into one request.
func richRequest() *Request {
	r := &Request{}
	for _, c := range interopCases() {
		r.Series = append(r.Series, c.req.Series...)
		r.FamilyMetadata = append(r.FamilyMetadata, c.req.FamilyMetadata...)
	}
	return r
}

// asV1 returns what an RW1 round trip keeps of r: no start timestamps and
// no per-series metadata.
func asV1(r *Request) *Request {
	out := &Request{FamilyMetadata: r.FamilyMetadata}
	for _, s := range r.Series {
		s.Metadata = Metadata{}
		s.Samples = append([]Sample(nil), s.Samples...)
		for i := range s.Samples {
			s.Samples[i].StartTimestamp = 0
		}
		s.Histograms = append([]Histogram(nil), s.Histograms...)
		for i := range s.Histograms {
			s.Histograms[i].StartTimestamp = 0
		}
		out.Series = append(out.Series, s)
	}
	return out
}

// asV2 returns what an RW2 round trip keeps of r: no family metadata.
func asV2(r *Request) *Request {
	return &Request{Series: r.Series}
}

// dump renders r as text in which floats appear as their bits, so that two
// requests are equal exactly when their dumps are (NaN payloads included,
// nil and empty slices alike).
func dump(r *Request) string {
	var b strings.Builder
	for i, s := range r.Series {
		fmt.Fprintf(&b, "series %d:%s\n", i, dumpLabels(s.Labels))
		if !s.Metadata.IsZero() {
			fmt.Fprintf(&b, "  metadata type=%d help=%q unit=%q\n", s.Metadata.Type, s.Metadata.Help, s.Metadata.Unit)
		}
		for _, x := range s.Samples {
			fmt.Fprintf(&b, "  sample v=%#016x t=%d st=%d\n", math.Float64bits(x.Value), x.Timestamp, x.StartTimestamp)
		}
		for _, h := range s.Histograms {
			fmt.Fprintf(&b, "  histogram t=%d st=%d %s\n", h.Timestamp, h.StartTimestamp, dumpHistogram(h))
		}
		for _, e := range s.Exemplars {
			fmt.Fprintf(&b, "  exemplar v=%#016x t=%d%s\n", math.Float64bits(e.Value), e.Timestamp, dumpLabels(e.Labels))
		}
	}
	for _, m := range r.FamilyMetadata {
		fmt.Fprintf(&b, "family %q type=%d help=%q unit=%q\n", m.MetricFamilyName, m.Type, m.Help, m.Unit)
	}
	return b.String()
}

func dumpLabels(ls labels.Labels) string {
	var b strings.Builder
	ls.Range(func(l labels.Label) { fmt.Fprintf(&b, " %q=%q", l.Name, l.Value) })
	return b.String()
}

func floatBits(fs []float64) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprintf("%#x", math.Float64bits(f))
	}
	return out
}

func dumpHistogram(h Histogram) string {
	switch {
	case h.H != nil && h.FH != nil:
		return "BOTH H AND FH"
	case h.H != nil:
		x := h.H
		return fmt.Sprintf("int hint=%d schema=%d zt=%#x zc=%d c=%d sum=%#x pos=%v%v neg=%v%v cv=%v",
			x.CounterResetHint, x.Schema, math.Float64bits(x.ZeroThreshold), x.ZeroCount, x.Count,
			math.Float64bits(x.Sum), x.PositiveSpans, x.PositiveBuckets, x.NegativeSpans, x.NegativeBuckets, floatBits(x.CustomValues))
	case h.FH != nil:
		x := h.FH
		return fmt.Sprintf("float hint=%d schema=%d zt=%#x zc=%#x c=%#x sum=%#x pos=%v%v neg=%v%v cv=%v",
			x.CounterResetHint, x.Schema, math.Float64bits(x.ZeroThreshold), math.Float64bits(x.ZeroCount),
			math.Float64bits(x.Count), math.Float64bits(x.Sum), x.PositiveSpans, floatBits(x.PositiveBuckets),
			x.NegativeSpans, floatBits(x.NegativeBuckets), floatBits(x.CustomValues))
	}
	return "EMPTY"
}

// requireSameRequest fails t unless got and want carry the same data.
func requireSameRequest(t testing.TB, want, got *Request) {
	t.Helper()
	if w, g := dump(want), dump(got); w != g {
		t.Fatalf("requests differ\n--- want\n%s--- got\n%s", w, g)
	}
}
