package record

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/histogram"
)

// Histogram flags byte, first byte of an encoded histogram.
const (
	histFloat    = 1 << 0 // FloatHistogram (else integer Histogram)
	histHasStart = 1 << 1 // a start timestamp follows
	histHintMask = 3 << 2 // counter reset hint, bits 2-3
	histHintBit  = 2
)

// appendHistogram encodes one native histogram sample:
//
//	byte    flags: bit 0 float, bit 1 start timestamp present, bits 2-3 reset hint
//	zigzag  timestamp - record timestamp
//	zigzag  timestamp - start timestamp        (only with bit 1)
//	zigzag  schema
//	f64     zero threshold (8 bytes, little endian, as are all f64 below)
//	count, zero count: uvarint each (integer) or f64 each (float)
//	f64     sum
//	spans   positive then negative: uvarint n, then n x (zigzag offset, uvarint length)
//	buckets positive then negative: uvarint n, then n x zigzag delta (integer) or f64 (float)
//	custom  uvarint n, then n x f64 (custom bucket bounds, schema -53)
func appendHistogram(b []byte, recTS, ts, st int64, h *histogram.Histogram, fh *histogram.FloatHistogram) []byte {
	var flags byte
	var hint histogram.CounterResetHint
	if fh != nil {
		flags |= histFloat
		hint = fh.CounterResetHint
	} else {
		hint = h.CounterResetHint
	}
	if st != 0 {
		flags |= histHasStart
	}
	flags |= byte(hint) << histHintBit & histHintMask
	b = append(b, flags)
	b = binary.AppendVarint(b, ts-recTS)
	if st != 0 {
		b = binary.AppendVarint(b, ts-st)
	}
	if fh != nil {
		b = binary.AppendVarint(b, int64(fh.Schema))
		b = appendF64(b, fh.ZeroThreshold)
		b = appendF64(b, fh.Count)
		b = appendF64(b, fh.ZeroCount)
		b = appendF64(b, fh.Sum)
		b = appendSpans(b, fh.PositiveSpans)
		b = appendSpans(b, fh.NegativeSpans)
		b = appendFloats(b, fh.PositiveBuckets)
		b = appendFloats(b, fh.NegativeBuckets)
		return appendFloats(b, fh.CustomValues)
	}
	b = binary.AppendVarint(b, int64(h.Schema))
	b = appendF64(b, h.ZeroThreshold)
	b = binary.AppendUvarint(b, h.Count)
	b = binary.AppendUvarint(b, h.ZeroCount)
	b = appendF64(b, h.Sum)
	b = appendSpans(b, h.PositiveSpans)
	b = appendSpans(b, h.NegativeSpans)
	b = appendInts(b, h.PositiveBuckets)
	b = appendInts(b, h.NegativeBuckets)
	return appendFloats(b, h.CustomValues)
}

func appendF64(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

func appendSpans(b []byte, spans []histogram.Span) []byte {
	b = binary.AppendUvarint(b, uint64(len(spans)))
	for _, s := range spans {
		b = binary.AppendVarint(b, int64(s.Offset))
		b = binary.AppendUvarint(b, uint64(s.Length))
	}
	return b
}

func appendInts(b []byte, vs []int64) []byte {
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = binary.AppendVarint(b, v)
	}
	return b
}

func appendFloats(b []byte, vs []float64) []byte {
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = appendF64(b, v)
	}
	return b
}

// readHistogram decodes what appendHistogram wrote. The returned histogram
// owns its memory.
func readHistogram(r *byteReader, recTS int64) (ts, st int64, h *histogram.Histogram, fh *histogram.FloatHistogram, err error) {
	flags := r.byte()
	if flags&^(histFloat|histHasStart|histHintMask) != 0 {
		return 0, 0, nil, nil, fmt.Errorf("%w: unknown histogram flags %#x", ErrMalformed, flags)
	}
	ts = recTS + r.varint()
	if flags&histHasStart != 0 {
		st = ts - r.varint()
	}
	hint := histogram.CounterResetHint(flags & histHintMask >> histHintBit)
	schema := r.varint()
	if schema < math.MinInt32 || schema > math.MaxInt32 {
		return 0, 0, nil, nil, fmt.Errorf("%w: histogram schema %d out of range", ErrMalformed, schema)
	}
	if flags&histFloat != 0 {
		fh = &histogram.FloatHistogram{CounterResetHint: hint, Schema: int32(schema)}
		fh.ZeroThreshold = r.f64()
		fh.Count = r.f64()
		fh.ZeroCount = r.f64()
		fh.Sum = r.f64()
		fh.PositiveSpans = r.spans()
		fh.NegativeSpans = r.spans()
		fh.PositiveBuckets = r.floats()
		fh.NegativeBuckets = r.floats()
		fh.CustomValues = r.floats()
	} else {
		h = &histogram.Histogram{CounterResetHint: hint, Schema: int32(schema)}
		h.ZeroThreshold = r.f64()
		h.Count = r.uvarint()
		h.ZeroCount = r.uvarint()
		h.Sum = r.f64()
		h.PositiveSpans = r.spans()
		h.NegativeSpans = r.spans()
		h.PositiveBuckets = r.ints()
		h.NegativeBuckets = r.ints()
		h.CustomValues = r.floats()
	}
	if r.err != nil {
		return 0, 0, nil, nil, fmt.Errorf("%w: histogram: %v", ErrMalformed, r.err)
	}
	return ts, st, h, fh, nil
}

func (r *byteReader) f64() float64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

func (r *byteReader) spans() []histogram.Span {
	n := r.count(2)
	if n == 0 {
		return nil
	}
	out := make([]histogram.Span, n)
	for i := range out {
		off := r.varint()
		length := r.uvarint()
		if off < math.MinInt32 || off > math.MaxInt32 || length > math.MaxUint32 {
			r.fail(errOverflow)
			return nil
		}
		out[i] = histogram.Span{Offset: int32(off), Length: uint32(length)}
	}
	return out
}

func (r *byteReader) ints() []int64 {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = r.varint()
	}
	return out
}

func (r *byteReader) floats() []float64 {
	n := r.count(8)
	if n == 0 {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = r.f64()
	}
	return out
}
