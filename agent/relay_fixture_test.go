package agent

import (
	"math"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// relayItem is one data point as Prometheus' queue manager holds it: a
// float sample, a histogram or an exemplar of one series. Prometheus puts
// each item in a TimeSeries of its own, so a request may hold the same
// series several times; the fixture does the same.
type relayItem struct {
	lset labels.Labels
	t    int64
	st   int64 // start timestamp, RW2 only; 0 = unset
	v    float64
	h    *histogram.Histogram
	fh   *histogram.FloatHistogram
	ex   *exemplar.Exemplar
}

// relayFixture is what an edge Prometheus sends through ferry: counters
// with exemplars and start timestamps, a gauge that ends in a stale
// marker, integer, float and custom-bucket native histograms, and the
// metadata of every family.
type relayFixture struct {
	requests [][]relayItem
	// families is the metadata per metric family, as RW1 sends it.
	families map[string]metadata.Metadata
}

const relayStart = 5_000 // ms before the first sample: the start timestamp

func newRelayFixture(requests int) *relayFixture {
	base := time.Now().Add(-time.Minute).UnixMilli()
	st := base - relayStart
	job := func(name string, extra ...string) labels.Labels {
		return labels.FromStrings(append([]string{"__name__", name, "job", "edge"}, extra...)...)
	}
	f := &relayFixture{families: map[string]metadata.Metadata{
		"http_requests":        {Type: model.MetricTypeCounter, Help: "Requests handled.", Unit: ""},
		"temperature_celsius":  {Type: model.MetricTypeGauge, Help: "Room temperature.", Unit: "celsius"},
		"latency_seconds":      {Type: model.MetricTypeHistogram, Help: "Request latency.", Unit: "seconds"},
		"size_bytes":           {Type: model.MetricTypeGaugeHistogram, Help: "Payload sizes.", Unit: "bytes"},
		"rpc_duration_seconds": {Type: model.MetricTypeHistogram, Help: "RPC latency, custom buckets.", Unit: "seconds"},
	}}
	for i := range requests {
		ts := base + int64(i)*1000
		n := float64(i)
		temp := 20 + n/10
		if i == requests-1 {
			temp = math.Float64frombits(value.StaleNaN)
		}
		req := []relayItem{
			{lset: job("http_requests_total", "path", "/a"), t: ts, st: st, v: 10 * (n + 1)},
			{lset: job("http_requests_total", "path", "/b"), t: ts, st: st, v: 20 * (n + 1)},
			{lset: job("temperature_celsius"), t: ts, v: temp},
			{lset: job("latency_seconds"), t: ts, st: st, h: intHistogram(i)},
			{lset: job("size_bytes"), t: ts, fh: floatHistogram(i)},
			{lset: job("rpc_duration_seconds"), t: ts, st: st, h: customBucketHistogram(i)},
			// Prometheus queues exemplars after the samples of a commit.
			{lset: job("http_requests_total", "path", "/a"), ex: &exemplar.Exemplar{
				Labels: labels.FromStrings("trace_id", "trace-"+string(rune('a'+i))), Value: 0.25 + n, Ts: ts, HasTs: true}},
		}
		f.requests = append(f.requests, req)
	}
	return f
}

func intHistogram(i int) *histogram.Histogram {
	k := int64(i)
	return &histogram.Histogram{
		Schema: 1, ZeroThreshold: 0.001, ZeroCount: 2, Count: 7 + 4*uint64(i), Sum: 18.5 + float64(i),
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 2}},
		PositiveBuckets: []int64{1 + k, 1, -1, 0},
	}
}

func floatHistogram(i int) *histogram.FloatHistogram {
	n := float64(i)
	return &histogram.FloatHistogram{
		CounterResetHint: histogram.GaugeType,
		Schema:           0, ZeroThreshold: 0.01, ZeroCount: 0.5, Count: 4.5 + n, Sum: 100.25 * (n + 1),
		PositiveSpans:   []histogram.Span{{Offset: -1, Length: 3}},
		PositiveBuckets: []float64{1.5 + n, 2, 0.5},
	}
}

func customBucketHistogram(i int) *histogram.Histogram {
	k := int64(i)
	return &histogram.Histogram{
		Schema: histogram.CustomBucketsSchema, Count: 7 + 4*uint64(i), Sum: 3.5 * float64(i+1),
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 4}},
		PositiveBuckets: []int64{2 + k, 0, -1, 1},
		CustomValues:    []float64{0.1, 0.5, 1},
	}
}

// familyOf returns the metric family of a series name, as a Prometheus
// exposition names it.
func (f *relayFixture) familyOf(name string) (string, metadata.Metadata) {
	for fam, m := range f.families {
		if name == fam || name == fam+"_total" {
			return fam, m
		}
	}
	return "", metadata.Metadata{}
}

// rw1 encodes request i as Prometheus' queue manager does for RW1: one
// TimeSeries per item and no metadata, which RW1 sends in requests of its
// own (rw1Metadata).
func (f *relayFixture) rw1(i int) *prompb.WriteRequest {
	req := &prompb.WriteRequest{}
	for _, it := range f.requests[i] {
		ts := prompb.TimeSeries{Labels: prompb.FromLabels(it.lset, nil)}
		switch {
		case it.ex != nil:
			ts.Exemplars = []prompb.Exemplar{{Labels: prompb.FromLabels(it.ex.Labels, nil), Value: it.ex.Value, Timestamp: it.ex.Ts}}
		case it.h != nil:
			ts.Histograms = []prompb.Histogram{prompb.FromIntHistogram(it.t, it.h)}
		case it.fh != nil:
			ts.Histograms = []prompb.Histogram{prompb.FromFloatHistogram(it.t, it.fh)}
		default:
			ts.Samples = []prompb.Sample{{Value: it.v, Timestamp: it.t}}
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	return req
}

// rw1Metadata is the metadata-only request Prometheus' metadata watcher
// sends every send_interval.
func (f *relayFixture) rw1Metadata() *prompb.WriteRequest {
	req := &prompb.WriteRequest{}
	for fam, m := range f.families {
		req.Metadata = append(req.Metadata, prompb.MetricMetadata{
			Type: prompb.FromMetadataType(m.Type), MetricFamilyName: fam, Help: m.Help, Unit: m.Unit,
		})
	}
	return req
}

// rw2 encodes request i as Prometheus' queue manager does for RW2: one
// TimeSeries per item, each with its series' metadata.
func (f *relayFixture) rw2(i int) *writev2.Request {
	st := writev2.NewSymbolTable()
	req := &writev2.Request{}
	for _, it := range f.requests[i] {
		_, m := f.familyOf(it.lset.Get("__name__"))
		ts := writev2.TimeSeries{
			LabelsRefs: st.SymbolizeLabels(it.lset, nil),
			Metadata: writev2.Metadata{
				Type: writev2.FromMetadataType(m.Type), HelpRef: st.Symbolize(m.Help), UnitRef: st.Symbolize(m.Unit),
			},
		}
		switch {
		case it.ex != nil:
			ts.Exemplars = []writev2.Exemplar{{LabelsRefs: st.SymbolizeLabels(it.ex.Labels, nil), Value: it.ex.Value, Timestamp: it.ex.Ts}}
		case it.h != nil:
			h := writev2.FromIntHistogram(it.t, it.h)
			h.StartTimestamp = it.st
			ts.Histograms = []writev2.Histogram{h}
		case it.fh != nil:
			h := writev2.FromFloatHistogram(it.t, it.fh)
			h.StartTimestamp = it.st
			ts.Histograms = []writev2.Histogram{h}
		default:
			ts.Samples = []writev2.Sample{{Value: it.v, Timestamp: it.t, StartTimestamp: it.st}}
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	req.Symbols = st.Symbols()
	return req
}

// counts returns the samples, histograms and exemplars of request i.
func (f *relayFixture) counts(i int) (samples, histograms, exemplars int) {
	for _, it := range f.requests[i] {
		switch {
		case it.ex != nil:
			exemplars++
		case it.h != nil || it.fh != nil:
			histograms++
		default:
			samples++
		}
	}
	return
}
