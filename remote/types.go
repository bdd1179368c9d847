package remote

import (
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
)

// Message names the protobuf message a remote-write request carries. The
// values are the ones Prometheus uses in `protobuf_message` and in the
// Content-Type `proto=` parameter.
type Message string

const (
	// MessageV1 is Remote-Write 1.0's prometheus.WriteRequest.
	MessageV1 Message = "prometheus.WriteRequest"
	// MessageV2 is Remote-Write 2.0's io.prometheus.write.v2.Request.
	MessageV2 Message = "io.prometheus.write.v2.Request"
)

// Request is one remote-write request in a protocol-neutral form: a superset
// of what RW1 and RW2 can carry. Decoders fill it, encoders read it.
type Request struct {
	// Series holds every time series of the request, each with a complete,
	// sorted label set.
	Series []Series
	// FamilyMetadata is RW1's separate per-family metadata
	// (WriteRequest.metadata). RW2 carries metadata per series instead, so
	// the RW2 encoder ignores this field and the RW2 decoder leaves it empty.
	FamilyMetadata []FamilyMetadata
}

// Series is one time series with its data points. A series carries float
// samples or histograms; RW2 forbids both in one TimeSeries message.
type Series struct {
	// Labels is the series' complete, sorted label set. It may be empty
	// when Dict, Names and Values are set: the labels are then the
	// dictionary strings they name (see LabelSet).
	Labels     labels.Labels
	Samples    []Sample
	Histograms []Histogram
	Exemplars  []Exemplar
	// Metadata is RW2's per-series metadata. Zero value means "unspecified".
	Metadata Metadata

	// Dict, Names and Values optionally give the ids of the series'
	// strings in a dictionary, so encoders need not hash them: Names holds
	// the ids of the label names, in label order, then of Metadata.Help
	// and Metadata.Unit; Values the ids of the label values, in label
	// order. Series of one metric family mostly have the same names, so
	// the log's stream decoder keeps one Names array for all of them and
	// only Values per series (a decoded batch gives each series its own).
	// When Labels is set too, the ids must match it.
	Dict   *Dict
	Names  []uint32
	Values []uint32
}

// hasIDs reports whether the series carries dictionary ids.
func (s *Series) hasIDs() bool {
	return s.Dict != nil && len(s.Names) == len(s.Values)+2
}

// Sample is one float data point.
type Sample struct {
	Value float64
	// Timestamp is milliseconds since the Unix epoch.
	Timestamp int64
	// StartTimestamp is the RW2 start (created) timestamp in milliseconds;
	// 0 means unset. RW1 cannot carry it.
	StartTimestamp int64
}

// Histogram is one native histogram data point. Exactly one of H and FH is
// set. Custom-bucket histograms (NHCB, schema -53) carry their bounds in
// CustomValues of H or FH.
type Histogram struct {
	Timestamp      int64
	StartTimestamp int64
	H              *histogram.Histogram
	FH             *histogram.FloatHistogram
}

// Exemplar is one exemplar attached to a series.
type Exemplar struct {
	Labels    labels.Labels
	Value     float64
	Timestamp int64
}

// MetricType is the metric type of a family. The numbering is the same in
// RW1's MetricMetadata.MetricType and RW2's Metadata.MetricType.
type MetricType uint8

const (
	MetricTypeUnknown        MetricType = 0
	MetricTypeCounter        MetricType = 1
	MetricTypeGauge          MetricType = 2
	MetricTypeHistogram      MetricType = 3
	MetricTypeGaugeHistogram MetricType = 4
	MetricTypeSummary        MetricType = 5
	MetricTypeInfo           MetricType = 6
	MetricTypeStateset       MetricType = 7
)

// Metadata describes the metric family a series belongs to.
type Metadata struct {
	Type MetricType
	Help string
	Unit string
}

// IsZero reports whether no metadata is set.
func (m Metadata) IsZero() bool { return m == Metadata{} }

// FamilyMetadata is RW1's per-family metadata entry.
type FamilyMetadata struct {
	MetricFamilyName string
	Metadata
}

// Sample counts of a request, as reported by RW2's
// X-Prometheus-Remote-Write-*-Written response headers.
type Counts struct {
	Samples    int
	Histograms int
	Exemplars  int
}

// Count returns how many samples, histograms and exemplars r carries.
func (r *Request) Count() Counts {
	var c Counts
	for i := range r.Series {
		s := &r.Series[i]
		c.Samples += len(s.Samples)
		c.Histograms += len(s.Histograms)
		c.Exemplars += len(s.Exemplars)
	}
	return c
}
