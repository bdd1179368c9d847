package remote

import (
	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of RW1's prometheus.WriteRequest and the messages in it.
const (
	v1Timeseries = 1 // WriteRequest.timeseries
	v1Metadata   = 3 // WriteRequest.metadata

	v1Labels     = 1 // TimeSeries.labels
	v1Samples    = 2 // TimeSeries.samples
	v1Exemplars  = 3 // TimeSeries.exemplars
	v1Histograms = 4 // TimeSeries.histograms

	v1MetaType   = 1 // MetricMetadata.type
	v1MetaFamily = 2 // MetricMetadata.metric_family_name
	v1MetaHelp   = 4 // MetricMetadata.help
	v1MetaUnit   = 5 // MetricMetadata.unit
)

// Field numbers shared by both protocols' Label, Sample and Exemplar.
const (
	labelName  = 1
	labelValue = 2

	sampleValue     = 1
	sampleTimestamp = 2
	sampleStart     = 3 // RW2 only

	exemplarLabels    = 1
	exemplarValue     = 2
	exemplarTimestamp = 3
)

// AppendV1 appends req encoded as an RW1 prometheus.WriteRequest to dst and
// returns the extended buffer. With a dst of sufficient capacity it does
// not allocate.
//
// RW1 cannot carry start timestamps or per-series metadata: AppendV1 drops
// Sample.StartTimestamp, Histogram.StartTimestamp and Series.Metadata, and
// writes req.FamilyMetadata instead. It does not validate req; labels are
// written in the order labels.Labels holds them.
func AppendV1(dst []byte, req *Request) []byte {
	for i := range req.Series {
		dst = appendTimeSeriesV1(dst, &req.Series[i])
	}
	return appendFamilyMetadataV1(dst, req.FamilyMetadata)
}

// AppendV1Series is AppendV1 for a request made of the series series point
// to, in that order, and no family metadata (see AppendV2Series).
func AppendV1Series(dst []byte, series []*Series) []byte {
	for _, s := range series {
		dst = appendTimeSeriesV1(dst, s)
	}
	return dst
}

func appendTimeSeriesV1(dst []byte, s *Series) []byte {
	var at int
	dst, at = beginMessage(dst, v1Timeseries)
	dst = appendSeriesV1(dst, s)
	return endMessage(dst, at)
}

func appendFamilyMetadataV1(dst []byte, fm []FamilyMetadata) []byte {
	for i := range fm {
		m := &fm[i]
		dst = appendBytesHeader(dst, v1Metadata, metadataSizeV1(m))
		dst = appendVarint(dst, v1MetaType, uint64(m.Type))
		dst = appendString(dst, v1MetaFamily, m.MetricFamilyName)
		dst = appendString(dst, v1MetaHelp, m.Help)
		dst = appendString(dst, v1MetaUnit, m.Unit)
	}
	return dst
}

func metadataSizeV1(m *FamilyMetadata) int {
	return sizeVarint(v1MetaType, uint64(m.Type)) +
		sizeString(v1MetaFamily, m.MetricFamilyName) +
		sizeString(v1MetaHelp, m.Help) +
		sizeString(v1MetaUnit, m.Unit)
}

func appendSeriesV1(b []byte, s *Series) []byte {
	b = appendSeriesLabelsV1(b, s)
	for i := range s.Samples {
		b = appendSample(b, v1Samples, &s.Samples[i], false)
	}
	for i := range s.Exemplars {
		e := &s.Exemplars[i]
		b = appendBytesHeader(b, v1Exemplars, exemplarSizeV1(e))
		b = appendLabelsV1(b, exemplarLabels, e.Labels)
		b = appendDouble(b, exemplarValue, e.Value)
		b = appendVarint(b, exemplarTimestamp, uint64(e.Timestamp))
	}
	for i := range s.Histograms {
		h := &s.Histograms[i]
		b = appendBytesHeader(b, v1Histograms, histogramSize(h, false))
		b = appendHistogram(b, h, false)
	}
	return b
}

func appendSeriesLabelsV1(b []byte, s *Series) []byte {
	s.rangeLabels(func(name, value string) {
		b = appendBytesHeader(b, v1Labels, sizeString(labelName, name)+sizeString(labelValue, value))
		b = appendString(b, labelName, name)
		b = appendString(b, labelValue, value)
	})
	return b
}

func labelSizeV1(l labels.Label) int {
	return sizeString(labelName, l.Name) + sizeString(labelValue, l.Value)
}

// labelsSizeV1 is the size of ls written as repeated Label field num.
func labelsSizeV1(num protowire.Number, ls labels.Labels) int {
	n := 0
	ls.Range(func(l labels.Label) {
		n += sizeBytesField(num, labelSizeV1(l))
	})
	return n
}

func appendLabelsV1(b []byte, num protowire.Number, ls labels.Labels) []byte {
	ls.Range(func(l labels.Label) {
		b = appendBytesHeader(b, num, labelSizeV1(l))
		b = appendString(b, labelName, l.Name)
		b = appendString(b, labelValue, l.Value)
	})
	return b
}

func exemplarSizeV1(e *Exemplar) int {
	return labelsSizeV1(exemplarLabels, e.Labels) +
		sizeDouble(exemplarValue, e.Value) +
		sizeVarint(exemplarTimestamp, uint64(e.Timestamp))
}

// sampleSize is the size of a Sample message; only RW2 has start_timestamp.
func sampleSize(s *Sample, v2 bool) int {
	n := sizeDouble(sampleValue, s.Value) + sizeVarint(sampleTimestamp, uint64(s.Timestamp))
	if v2 {
		n += sizeVarint(sampleStart, uint64(s.StartTimestamp))
	}
	return n
}

// appendSample appends s as Sample field num.
func appendSample(b []byte, num protowire.Number, s *Sample, v2 bool) []byte {
	b = appendBytesHeader(b, num, sampleSize(s, v2))
	b = appendDouble(b, sampleValue, s.Value)
	b = appendVarint(b, sampleTimestamp, uint64(s.Timestamp))
	if v2 {
		b = appendVarint(b, sampleStart, uint64(s.StartTimestamp))
	}
	return b
}
