package remote

import (
	"bytes"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// These tests prove that our codecs and Prometheus' generated ones
// (prompb, writev2) agree byte-for-meaning in both directions.

func TestV1EncodingUnmarshalsWithReference(t *testing.T) {
	for _, c := range interopCases() {
		t.Run(c.name, func(t *testing.T) {
			var wr prompb.WriteRequest
			if err := wr.Unmarshal(AppendV1(nil, c.req)); err != nil {
				t.Fatalf("reference Unmarshal: %v", err)
			}
			requireSameRequest(t, asV1(c.req), fromPromV1(t, &wr))
		})
	}
}

func TestV1ReferenceEncodingDecodes(t *testing.T) {
	for _, c := range interopCases() {
		t.Run(c.name, func(t *testing.T) {
			wr := toPromV1(c.req)
			buf, err := wr.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeV1(buf, Limits{})
			if err != nil {
				t.Fatalf("DecodeV1: %v", err)
			}
			requireSameRequest(t, asV1(c.req), got)
		})
	}
}

func TestV2EncodingUnmarshalsWithReference(t *testing.T) {
	var st SymbolTable
	for _, c := range interopCases() {
		t.Run(c.name, func(t *testing.T) {
			var wr writev2.Request
			if err := wr.Unmarshal(AppendV2(nil, c.req, &st)); err != nil {
				t.Fatalf("reference Unmarshal: %v", err)
			}
			requireSameRequest(t, asV2(c.req), fromPromV2(t, &wr))
		})
	}
}

func TestV2ReferenceEncodingDecodes(t *testing.T) {
	for _, c := range interopCases() {
		t.Run(c.name, func(t *testing.T) {
			wr := toPromV2(c.req)
			buf, err := wr.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeV2(buf, Limits{})
			if err != nil {
				t.Fatalf("DecodeV2: %v", err)
			}
			requireSameRequest(t, asV2(c.req), got)
		})
	}
}

// TestV2OptimizedMarshalDecodes covers the reference sender's other
// encoder, the one Prometheus' queue manager actually uses.
func TestV2OptimizedMarshalDecodes(t *testing.T) {
	req := richRequest()
	wr := toPromV2(req)
	buf, err := wr.OptimizedMarshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeV2(buf, Limits{})
	if err != nil {
		t.Fatalf("DecodeV2: %v", err)
	}
	requireSameRequest(t, asV2(req), got)
}

// TestV1EncodingIsByteIdenticalToReference: for RW1 we write the same
// fields in the same order as the reference, so the bytes are equal.
func TestV1EncodingIsByteIdenticalToReference(t *testing.T) {
	req := richRequest()
	want, err := toPromV1(req).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendV1(nil, req); !bytes.Equal(got, want) {
		t.Errorf("RW1 encoding differs from reference:\n ours %x\n ref  %x", got, want)
	}
}

// TestV2EncodingIsNoLargerThanReference: RW2 writes the same fields, except
// that the reference always writes a series' metadata, even when it is
// empty (2 bytes), and we leave it out.
func TestV2EncodingIsNoLargerThanReference(t *testing.T) {
	req := richRequest()
	emptyMeta := 0
	for _, s := range req.Series {
		if s.Metadata.IsZero() {
			emptyMeta += 2
		}
	}
	if got, want := len(AppendV2(nil, req, nil)), toPromV2(req).Size()-emptyMeta; got != want {
		t.Errorf("RW2: we write %d bytes, reference %d without empty metadata", got, want)
	}
}

func toPromV1(r *Request) *prompb.WriteRequest {
	wr := &prompb.WriteRequest{}
	for _, s := range r.Series {
		ts := prompb.TimeSeries{Labels: prompb.FromLabels(s.Labels, nil)}
		for _, x := range s.Samples {
			ts.Samples = append(ts.Samples, prompb.Sample{Value: x.Value, Timestamp: x.Timestamp})
		}
		for _, e := range s.Exemplars {
			ts.Exemplars = append(ts.Exemplars, prompb.Exemplar{Labels: prompb.FromLabels(e.Labels, nil), Value: e.Value, Timestamp: e.Timestamp})
		}
		for _, h := range s.Histograms {
			if h.FH != nil {
				ts.Histograms = append(ts.Histograms, prompb.FromFloatHistogram(h.Timestamp, h.FH))
			} else {
				ts.Histograms = append(ts.Histograms, prompb.FromIntHistogram(h.Timestamp, h.H))
			}
		}
		wr.Timeseries = append(wr.Timeseries, ts)
	}
	for _, m := range r.FamilyMetadata {
		wr.Metadata = append(wr.Metadata, prompb.MetricMetadata{
			Type:             prompb.MetricMetadata_MetricType(m.Type),
			MetricFamilyName: m.MetricFamilyName,
			Help:             m.Help,
			Unit:             m.Unit,
		})
	}
	return wr
}

func fromPromV1(t *testing.T, wr *prompb.WriteRequest) *Request {
	t.Helper()
	r := &Request{}
	sb := labels.NewScratchBuilder(0)
	for _, ts := range wr.Timeseries {
		s := Series{Labels: ts.ToLabels(&sb, nil)}
		for _, x := range ts.Samples {
			s.Samples = append(s.Samples, Sample{Value: x.Value, Timestamp: x.Timestamp})
		}
		for _, e := range ts.Exemplars {
			ex := e.ToExemplar(&sb, nil)
			s.Exemplars = append(s.Exemplars, Exemplar{Labels: ex.Labels, Value: ex.Value, Timestamp: ex.Ts})
		}
		for _, h := range ts.Histograms {
			if h.IsFloatHistogram() {
				s.Histograms = append(s.Histograms, Histogram{Timestamp: h.Timestamp, FH: h.ToFloatHistogram()})
			} else {
				s.Histograms = append(s.Histograms, Histogram{Timestamp: h.Timestamp, H: h.ToIntHistogram()})
			}
		}
		r.Series = append(r.Series, s)
	}
	for _, m := range wr.Metadata {
		r.FamilyMetadata = append(r.FamilyMetadata, FamilyMetadata{
			MetricFamilyName: m.MetricFamilyName,
			Metadata:         Metadata{Type: MetricType(m.Type), Help: m.Help, Unit: m.Unit},
		})
	}
	return r
}

func toPromV2(r *Request) *writev2.Request {
	st := writev2.NewSymbolTable()
	wr := &writev2.Request{}
	for _, s := range r.Series {
		ts := writev2.TimeSeries{
			LabelsRefs: st.SymbolizeLabels(s.Labels, nil),
			Metadata: writev2.Metadata{
				Type:    writev2.Metadata_MetricType(s.Metadata.Type),
				HelpRef: st.Symbolize(s.Metadata.Help),
				UnitRef: st.Symbolize(s.Metadata.Unit),
			},
		}
		for _, x := range s.Samples {
			ts.Samples = append(ts.Samples, writev2.Sample{Value: x.Value, Timestamp: x.Timestamp, StartTimestamp: x.StartTimestamp})
		}
		for _, e := range s.Exemplars {
			ts.Exemplars = append(ts.Exemplars, writev2.Exemplar{LabelsRefs: st.SymbolizeLabels(e.Labels, nil), Value: e.Value, Timestamp: e.Timestamp})
		}
		for _, h := range s.Histograms {
			var wh writev2.Histogram
			if h.FH != nil {
				wh = writev2.FromFloatHistogram(h.Timestamp, h.FH)
			} else {
				wh = writev2.FromIntHistogram(h.Timestamp, h.H)
			}
			wh.StartTimestamp = h.StartTimestamp
			ts.Histograms = append(ts.Histograms, wh)
		}
		wr.Timeseries = append(wr.Timeseries, ts)
	}
	wr.Symbols = st.Symbols()
	return wr
}

func fromPromV2(t *testing.T, wr *writev2.Request) *Request {
	t.Helper()
	r := &Request{}
	sb := labels.NewScratchBuilder(0)
	for _, ts := range wr.Timeseries {
		ls, err := ts.ToLabels(&sb, wr.Symbols)
		if err != nil {
			t.Fatalf("reference ToLabels: %v", err)
		}
		s := Series{Labels: ls}
		s.Metadata = Metadata{
			Type: MetricType(ts.Metadata.Type),
			Help: wr.Symbols[ts.Metadata.HelpRef],
			Unit: wr.Symbols[ts.Metadata.UnitRef],
		}
		for _, x := range ts.Samples {
			s.Samples = append(s.Samples, Sample{Value: x.Value, Timestamp: x.Timestamp, StartTimestamp: x.StartTimestamp})
		}
		for _, e := range ts.Exemplars {
			ex, err := e.ToExemplar(&sb, wr.Symbols)
			if err != nil {
				t.Fatalf("reference ToExemplar: %v", err)
			}
			s.Exemplars = append(s.Exemplars, Exemplar{Labels: ex.Labels, Value: ex.Value, Timestamp: ex.Ts})
		}
		for _, h := range ts.Histograms {
			x := Histogram{Timestamp: h.Timestamp, StartTimestamp: h.StartTimestamp}
			if h.IsFloatHistogram() {
				x.FH = h.ToFloatHistogram()
			} else {
				x.H = h.ToIntHistogram()
			}
			s.Histograms = append(s.Histograms, x)
		}
		r.Series = append(r.Series, s)
	}
	return r
}
