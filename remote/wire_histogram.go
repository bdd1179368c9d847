package remote

import (
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"google.golang.org/protobuf/encoding/protowire"
)

// The Histogram message has the same fields 1..16 in RW1 (prompb) and RW2;
// RW2 adds start_timestamp=17. This file encodes and decodes it for both,
// and the BucketSpan message inside it.

// Field numbers of Histogram.
const (
	hCountInt       = 1
	hCountFloat     = 2
	hSum            = 3
	hSchema         = 4
	hZeroThreshold  = 5
	hZeroCountInt   = 6
	hZeroCountFloat = 7
	hNegSpans       = 8
	hNegDeltas      = 9
	hNegCounts      = 10
	hPosSpans       = 11
	hPosDeltas      = 12
	hPosCounts      = 13
	hResetHint      = 14
	hTimestamp      = 15
	hCustomValues   = 16
	hStartTimestamp = 17 // RW2 only
)

// maxResetHint is the largest known Histogram.ResetHint (GAUGE); the enum
// values are those of histogram.CounterResetHint.
const maxResetHint = uint64(histogram.GaugeType)

// histogramSize returns the encoded size of h's Histogram message.
func histogramSize(h *Histogram, v2 bool) int {
	n := sizeVarint(hTimestamp, uint64(h.Timestamp))
	if v2 {
		n += sizeVarint(hStartTimestamp, uint64(h.StartTimestamp))
	}
	if fh := h.FH; fh != nil && h.H == nil {
		// The count oneofs are always written, even when zero: their
		// presence is what tells an integer histogram from a float one.
		n += 2 * (1 + 8)
		n += sizeDouble(hSum, fh.Sum)
		n += sizeVarint(hSchema, protowire.EncodeZigZag(int64(fh.Schema)))
		n += sizeDouble(hZeroThreshold, fh.ZeroThreshold)
		n += spansSize(hNegSpans, fh.NegativeSpans) + doublesSize(hNegCounts, fh.NegativeBuckets)
		n += spansSize(hPosSpans, fh.PositiveSpans) + doublesSize(hPosCounts, fh.PositiveBuckets)
		n += sizeVarint(hResetHint, uint64(fh.CounterResetHint))
		n += doublesSize(hCustomValues, fh.CustomValues)
		return n
	}
	ih := h.H
	if ih == nil {
		ih = &histogram.Histogram{}
	}
	n += 1 + sizeUvarint(ih.Count) + 1 + sizeUvarint(ih.ZeroCount)
	n += sizeDouble(hSum, ih.Sum)
	n += sizeVarint(hSchema, protowire.EncodeZigZag(int64(ih.Schema)))
	n += sizeDouble(hZeroThreshold, ih.ZeroThreshold)
	n += spansSize(hNegSpans, ih.NegativeSpans) + deltasSize(hNegDeltas, ih.NegativeBuckets)
	n += spansSize(hPosSpans, ih.PositiveSpans) + deltasSize(hPosDeltas, ih.PositiveBuckets)
	n += sizeVarint(hResetHint, uint64(ih.CounterResetHint))
	n += doublesSize(hCustomValues, ih.CustomValues)
	return n
}

// appendHistogram appends the content of h's Histogram message, whose size
// histogramSize returned. If both H and FH are set, H is written; if
// neither is, an empty integer histogram is.
func appendHistogram(b []byte, h *Histogram, v2 bool) []byte {
	if fh := h.FH; fh != nil && h.H == nil {
		b = appendTag(b, hCountFloat, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(fh.Count))
		b = appendDouble(b, hSum, fh.Sum)
		b = appendVarint(b, hSchema, protowire.EncodeZigZag(int64(fh.Schema)))
		b = appendDouble(b, hZeroThreshold, fh.ZeroThreshold)
		b = appendTag(b, hZeroCountFloat, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(fh.ZeroCount))
		b = appendSpans(b, hNegSpans, fh.NegativeSpans)
		b = appendDoubles(b, hNegCounts, fh.NegativeBuckets)
		b = appendSpans(b, hPosSpans, fh.PositiveSpans)
		b = appendDoubles(b, hPosCounts, fh.PositiveBuckets)
		b = appendVarint(b, hResetHint, uint64(fh.CounterResetHint))
	} else {
		ih := h.H
		if ih == nil {
			ih = &histogram.Histogram{}
		}
		b = appendTag(b, hCountInt, protowire.VarintType)
		b = appendUvarint(b, ih.Count)
		b = appendDouble(b, hSum, ih.Sum)
		b = appendVarint(b, hSchema, protowire.EncodeZigZag(int64(ih.Schema)))
		b = appendDouble(b, hZeroThreshold, ih.ZeroThreshold)
		b = appendTag(b, hZeroCountInt, protowire.VarintType)
		b = appendUvarint(b, ih.ZeroCount)
		b = appendSpans(b, hNegSpans, ih.NegativeSpans)
		b = appendDeltas(b, hNegDeltas, ih.NegativeBuckets)
		b = appendSpans(b, hPosSpans, ih.PositiveSpans)
		b = appendDeltas(b, hPosDeltas, ih.PositiveBuckets)
		b = appendVarint(b, hResetHint, uint64(ih.CounterResetHint))
	}
	b = appendVarint(b, hTimestamp, uint64(h.Timestamp))
	if fh := h.FH; fh != nil && h.H == nil {
		b = appendDoubles(b, hCustomValues, fh.CustomValues)
	} else if h.H != nil {
		b = appendDoubles(b, hCustomValues, h.H.CustomValues)
	}
	if v2 {
		b = appendVarint(b, hStartTimestamp, uint64(h.StartTimestamp))
	}
	return b
}

func spanSize(s histogram.Span) int {
	return sizeVarint(1, protowire.EncodeZigZag(int64(s.Offset))) + sizeVarint(2, uint64(s.Length))
}

func spansSize(num protowire.Number, spans []histogram.Span) int {
	n := 0
	for _, s := range spans {
		n += sizeBytesField(num, spanSize(s))
	}
	return n
}

func appendSpans(b []byte, num protowire.Number, spans []histogram.Span) []byte {
	for _, s := range spans {
		b = appendBytesHeader(b, num, spanSize(s))
		b = appendVarint(b, 1, protowire.EncodeZigZag(int64(s.Offset)))
		b = appendVarint(b, 2, uint64(s.Length))
	}
	return b
}

// deltasSize and appendDeltas handle a packed repeated sint64 field.
func deltasSize(num protowire.Number, v []int64) int {
	if len(v) == 0 {
		return 0
	}
	n := 0
	for _, d := range v {
		n += sizeUvarint(protowire.EncodeZigZag(d))
	}
	return sizeBytesField(num, n)
}

func appendDeltas(b []byte, num protowire.Number, v []int64) []byte {
	if len(v) == 0 {
		return b
	}
	n := 0
	for _, d := range v {
		n += sizeUvarint(protowire.EncodeZigZag(d))
	}
	b = appendBytesHeader(b, num, n)
	for _, d := range v {
		b = appendUvarint(b, protowire.EncodeZigZag(d))
	}
	return b
}

// doublesSize and appendDoubles handle a packed repeated double field.
func doublesSize(num protowire.Number, v []float64) int {
	if len(v) == 0 {
		return 0
	}
	return sizeBytesField(num, 8*len(v))
}

func appendDoubles(b []byte, num protowire.Number, v []float64) []byte {
	if len(v) == 0 {
		return b
	}
	b = appendBytesHeader(b, num, 8*len(v))
	for _, d := range v {
		b = protowire.AppendFixed64(b, math.Float64bits(d))
	}
	return b
}

// Which oneof member of count or zero_count a decoded histogram carried.
const (
	kindNone = iota
	kindInt
	kindFloat
)

// wireHistogram collects the fields of one Histogram message while it is
// read, before it is known whether it is an integer or a float histogram.
type wireHistogram struct {
	countKind, zeroKind  int
	count, zeroCount     uint64
	countF, zeroCountF   float64
	sum, zeroThreshold   float64
	schema               int32
	resetHint            uint8
	timestamp, startTime int64
	negSpans, posSpans   []histogram.Span
	negDeltas, posDeltas []int64
	negCounts, posCounts []float64
	customValues         []float64
}

// decodeHistogram decodes a Histogram message. It checks what the wire
// format can get wrong (mixed integer and float fields, spans that do not
// match the number of buckets) and leaves semantic checks, such as counts
// adding up, to histogram.Histogram.Validate.
func decodeHistogram(b []byte, v2 bool) (Histogram, error) {
	var w wireHistogram
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return Histogram{}, err
		}
		b = b[n:]
		if err := w.read(f, v2); err != nil {
			return Histogram{}, err
		}
	}
	return w.histogram()
}

func (w *wireHistogram) read(f field, v2 bool) (err error) {
	switch f.num {
	case hCountInt:
		if err = f.want(protowire.VarintType, "count_int"); err == nil {
			w.count, w.countKind = f.u, kindInt
		}
	case hCountFloat:
		w.countF, err = f.double("count_float")
		w.countKind = kindFloat
	case hSum:
		w.sum, err = f.double("sum")
	case hSchema:
		w.schema, err = f.sint32("schema")
	case hZeroThreshold:
		w.zeroThreshold, err = f.double("zero_threshold")
	case hZeroCountInt:
		if err = f.want(protowire.VarintType, "zero_count_int"); err == nil {
			w.zeroCount, w.zeroKind = f.u, kindInt
		}
	case hZeroCountFloat:
		w.zeroCountF, err = f.double("zero_count_float")
		w.zeroKind = kindFloat
	case hNegSpans:
		w.negSpans, err = appendSpan(w.negSpans, f, "negative_spans")
	case hNegDeltas:
		w.negDeltas, err = readSint64s(w.negDeltas, f, "negative_deltas")
	case hNegCounts:
		w.negCounts, err = readDoubles(w.negCounts, f, "negative_counts")
	case hPosSpans:
		w.posSpans, err = appendSpan(w.posSpans, f, "positive_spans")
	case hPosDeltas:
		w.posDeltas, err = readSint64s(w.posDeltas, f, "positive_deltas")
	case hPosCounts:
		w.posCounts, err = readDoubles(w.posCounts, f, "positive_counts")
	case hResetHint:
		w.resetHint, err = f.enum("reset_hint", maxResetHint)
	case hTimestamp:
		w.timestamp, err = f.int64("timestamp")
	case hCustomValues:
		w.customValues, err = readDoubles(w.customValues, f, "custom_values")
	case hStartTimestamp:
		if v2 {
			w.startTime, err = f.int64("start_timestamp")
		}
	}
	return err
}

func appendSpan(dst []histogram.Span, f field, name string) ([]histogram.Span, error) {
	if err := f.want(protowire.BytesType, name); err != nil {
		return dst, err
	}
	var s histogram.Span
	for b := f.b; len(b) > 0; {
		g, n, err := nextField(b)
		if err != nil {
			return dst, errAt(name, err)
		}
		b = b[n:]
		switch g.num {
		case 1:
			s.Offset, err = g.sint32("offset")
		case 2:
			s.Length, err = g.uint32("length")
		}
		if err != nil {
			return dst, errAt(name, err)
		}
	}
	return append(dst, s), nil
}

// histogram builds the decoded histogram from the collected fields.
func (w *wireHistogram) histogram() (Histogram, error) {
	out := Histogram{Timestamp: w.timestamp, StartTimestamp: w.startTime}
	isFloat := w.countKind == kindFloat ||
		w.countKind == kindNone && (w.zeroKind == kindFloat || len(w.posCounts)+len(w.negCounts) > 0)
	if isFloat {
		if w.zeroKind == kindInt || len(w.posDeltas)+len(w.negDeltas) > 0 {
			return out, invalidf("float histogram has integer fields (zero_count_int or *_deltas)")
		}
		if err := checkSpans(w.posSpans, len(w.posCounts), "positive"); err != nil {
			return out, err
		}
		if err := checkSpans(w.negSpans, len(w.negCounts), "negative"); err != nil {
			return out, err
		}
		out.FH = &histogram.FloatHistogram{
			CounterResetHint: histogram.CounterResetHint(w.resetHint),
			Schema:           w.schema,
			ZeroThreshold:    w.zeroThreshold,
			ZeroCount:        w.zeroCountF,
			Count:            w.countF,
			Sum:              w.sum,
			PositiveSpans:    w.posSpans,
			NegativeSpans:    w.negSpans,
			PositiveBuckets:  w.posCounts,
			NegativeBuckets:  w.negCounts,
			CustomValues:     w.customValues,
		}
		return out, nil
	}
	if w.zeroKind == kindFloat || len(w.posCounts)+len(w.negCounts) > 0 {
		return out, invalidf("integer histogram has float fields (zero_count_float or *_counts)")
	}
	if err := checkSpans(w.posSpans, len(w.posDeltas), "positive"); err != nil {
		return out, err
	}
	if err := checkSpans(w.negSpans, len(w.negDeltas), "negative"); err != nil {
		return out, err
	}
	out.H = &histogram.Histogram{
		CounterResetHint: histogram.CounterResetHint(w.resetHint),
		Schema:           w.schema,
		ZeroThreshold:    w.zeroThreshold,
		ZeroCount:        w.zeroCount,
		Count:            w.count,
		Sum:              w.sum,
		PositiveSpans:    w.posSpans,
		NegativeSpans:    w.negSpans,
		PositiveBuckets:  w.posDeltas,
		NegativeBuckets:  w.negDeltas,
		CustomValues:     w.customValues,
	}
	return out, nil
}

// checkSpans checks that spans cover exactly n buckets. Code that walks a
// histogram's buckets relies on it.
func checkSpans(spans []histogram.Span, n int, side string) error {
	var total uint64
	for _, s := range spans {
		total += uint64(s.Length)
	}
	if total != uint64(n) {
		return invalidf("%s spans cover %d buckets, but %d bucket values are given", side, total, n)
	}
	return nil
}
