package record

import (
	"encoding/binary"
	"math"
	"sync"
	"unsafe"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/remote"
)

// Record kinds, as stored in the wal frame.
const (
	KindStream uint8 = 1
	KindBatch  uint8 = 2
)

// KeyframeInterval is the largest number of records of a stream between two
// keyframes.
const KeyframeInterval = 120

// StreamSlotBits is how many low bits of a stream id the scraper derives
// from its target's identity (job and labels) rather than from a counter.
// A reload or a restart gives a target a new stream, and a sender routes a
// stream by these bits: the old and the new stream of one target then
// share a routing slot, and so a lane, and the target's series stay in
// order while both have data in flight.
const StreamSlotBits = 10

const (
	flagKeyframe   = 1 << 0
	flagTimestamps = 1 << 1
	flagStarts     = 1 << 2
	flagHistograms = 1 << 3
	flagExemplars  = 1 << 4
	knownFlags     = flagKeyframe | flagTimestamps | flagStarts | flagHistograms | flagExemplars
)

// Ref identifies a series defined in a StreamEncoder. It is valid until the
// encoder starts its next keyframe; callers keep it with their own state for
// the series and ask Valid before reusing it. The zero Ref is never valid.
type Ref uint64

func makeRef(epoch, idx uint32) Ref { return Ref(uint64(epoch)<<32 | uint64(idx)) }
func (r Ref) epoch() uint32         { return uint32(r >> 32) }
func (r Ref) index() uint32         { return uint32(r) }

// StreamEncoder encodes successive scrapes of one target as KindStream
// records. Use it in a cycle:
//
//	enc.Begin(timestamp, log.ActiveSegment())
//	for each sample: if !enc.Valid(ref) { ref = enc.Define(lset, family, meta) }; enc.Add(ref, v)
//	data, n := enc.Finish()
//	_, err := log.Append(wal.Entry{Kind: KindStream, Count: n, Data: data, Segment: enc.Segment()})
//	enc.Done(err == nil)
//
// If the append fails, Done(false) makes the next record a keyframe, which
// invalidates every Ref; a caller retrying after wal.ErrSegmentChanged
// simply runs the cycle again. A StreamEncoder is not safe for concurrent use.
type StreamEncoder struct {
	id       uint64
	seg      uint64 // segment the stream's state lives in
	seq      uint64 // sequence number of the next record
	epoch    uint32 // incremented by every keyframe
	needKey  bool   // the next record must be a keyframe
	keyframe bool
	// Per series index: bits of the previous value and the previous
	// start timestamp, the bases of the XOR and delta codings. prevStart
	// is grown only by records that carry start timestamps: most targets
	// expose none.
	prev      []uint64
	prevStart []int64

	// The record being built.
	ts        int64
	ndefs     int
	hasTs     bool
	hasStart  bool
	nhist     int
	nexemplar int
	// The record's buffers, from Begin to Done only: a target is between
	// scrapes nearly all the time, so its encoder keeps no buffers, and
	// the few scrapes encoding at once share a pool of them.
	*recordBuffers
}

type recordBuffers struct {
	defs      []byte
	refs      []uint32
	controls  []byte
	mids      []byte
	tss       []int64 // per-sample timestamps, kept only when hasTs
	starts    []int64 // per-sample start timestamps, kept only when hasStart
	hists     []byte
	exemplars []byte
	buf       []byte
}

var recordBuffersPool = sync.Pool{New: func() any { return new(recordBuffers) }}

// pooledBufferBytes is the size above which a buffer is not kept for the
// next record: a keyframe of a very large target would otherwise keep its
// definitions' size in the pool. The records of a target of a hundred
// thousand series still fit.
const pooledBufferBytes = 4 << 20

// releaseBuffers gives the record's buffers back to the pool.
func (e *StreamEncoder) releaseBuffers() {
	r := e.recordBuffers
	if r == nil {
		return
	}
	e.recordBuffers = nil
	r.defs, r.controls, r.mids, r.hists, r.exemplars, r.buf = capped(r.defs), capped(r.controls), capped(r.mids), capped(r.hists), capped(r.exemplars), capped(r.buf)
	r.refs, r.tss, r.starts = capped(r.refs), capped(r.tss), capped(r.starts)
	recordBuffersPool.Put(r)
}

// capped returns s, or nil if it takes more than pooledBufferBytes.
func capped[T any](s []T) []T {
	var zero T
	if uintptr(cap(s))*unsafe.Sizeof(zero) > pooledBufferBytes {
		return nil
	}
	return s
}

// NewStreamEncoder returns an encoder for the stream with the given id.
func NewStreamEncoder(id uint64) *StreamEncoder {
	return &StreamEncoder{id: id, needKey: true}
}

// Begin starts a record whose samples default to timestamp ts. seg is the
// log's active segment; a change of segment starts a keyframe.
func (e *StreamEncoder) Begin(ts int64, seg uint64) {
	if e.recordBuffers == nil {
		e.recordBuffers = recordBuffersPool.Get().(*recordBuffers)
	}
	e.ts = ts
	e.ndefs = 0
	e.defs = e.defs[:0]
	e.refs = e.refs[:0]
	e.controls = e.controls[:0]
	e.mids = e.mids[:0]
	e.tss, e.hasTs = e.tss[:0], false
	e.starts, e.hasStart = e.starts[:0], false
	e.nhist, e.hists = 0, e.hists[:0]
	e.nexemplar, e.exemplars = 0, e.exemplars[:0]
	e.keyframe = e.needKey || seg != e.seg || e.seq >= KeyframeInterval
	if e.keyframe {
		e.epoch++
		e.seq = 0
		e.prev = e.prev[:0]
		e.prevStart = e.prevStart[:0]
		e.seg = seg
	}
}

// Segment returns the segment the record being built must be appended to.
func (e *StreamEncoder) Segment() uint64 { return e.seg }

// Valid reports whether ref can be used in the current record.
func (e *StreamEncoder) Valid(ref Ref) bool { return ref != 0 && ref.epoch() == e.epoch }

// Define adds a series definition to the record and returns its Ref. lset
// must be sorted and free of duplicate names, as labels.Labels are. family
// is the name of the metric family the series belongs to, as exposed in
// its TYPE or HELP line ("" if unknown); meta is the family's metadata.
func (e *StreamEncoder) Define(lset labels.Labels, family string, meta remote.Metadata) Ref {
	idx := uint32(len(e.prev))
	e.prev = append(e.prev, 0)
	e.ndefs++
	b := e.defs
	b = binary.AppendUvarint(b, uint64(lset.Len()))
	lset.Range(func(l labels.Label) {
		b = appendString(b, l.Name)
		b = appendString(b, l.Value)
	})
	b = append(b, byte(meta.Type))
	b = appendString(b, meta.Help)
	b = appendString(b, meta.Unit)
	b = appendString(b, family)
	e.defs = b
	return makeRef(e.epoch, idx)
}

// Add appends a float sample at the record's timestamp.
func (e *StreamEncoder) Add(ref Ref, v float64) {
	if e.hasTs {
		e.tss = append(e.tss, e.ts)
	}
	e.add(ref, v)
}

// AddAt appends a float sample with its own timestamp.
func (e *StreamEncoder) AddAt(ref Ref, ts int64, v float64) {
	if !e.hasTs {
		e.hasTs = true
		for range e.refs {
			e.tss = append(e.tss, e.ts)
		}
	}
	e.tss = append(e.tss, ts)
	e.add(ref, v)
}

func (e *StreamEncoder) add(ref Ref, v float64) {
	idx := ref.index()
	bits := math.Float64bits(v)
	x := bits ^ e.prev[idx]
	e.prev[idx] = bits
	e.refs = append(e.refs, idx)
	e.controls, e.mids = appendXOR(e.controls, e.mids, x)
	if e.hasStart {
		e.starts = append(e.starts, 0)
	}
}

// SetStart sets the start (created) timestamp of the float sample added
// last; samples without one have none.
func (e *StreamEncoder) SetStart(st int64) {
	if len(e.refs) == 0 {
		return
	}
	if !e.hasStart {
		e.hasStart = true
		for range e.refs {
			e.starts = append(e.starts, 0)
		}
	}
	e.starts[len(e.starts)-1] = st
}

// AddHistogram appends a native histogram sample; exactly one of h and fh
// is set. st is its start timestamp, 0 if unknown.
func (e *StreamEncoder) AddHistogram(ref Ref, ts int64, h *histogram.Histogram, fh *histogram.FloatHistogram, st int64) {
	e.nhist++
	e.hists = binary.AppendUvarint(e.hists, uint64(ref.index()))
	e.hists = appendHistogram(e.hists, e.ts, ts, st, h, fh)
}

// AddExemplar attaches an exemplar to the series ref in this record.
func (e *StreamEncoder) AddExemplar(ref Ref, ex exemplar.Exemplar) {
	e.nexemplar++
	b := binary.AppendUvarint(e.exemplars, uint64(ref.index()))
	b = binary.AppendUvarint(b, uint64(ex.Labels.Len()))
	ex.Labels.Range(func(l labels.Label) {
		b = appendString(b, l.Name)
		b = appendString(b, l.Value)
	})
	b = appendF64(b, ex.Value)
	ts := e.ts
	if ex.HasTs {
		ts = ex.Ts
	}
	e.exemplars = binary.AppendVarint(b, ts-e.ts)
}

// Finish returns the encoded record and the number of samples (float and
// histogram) it holds. The slice is valid until Done.
func (e *StreamEncoder) Finish() ([]byte, uint32) {
	b := e.buf[:0]
	b = binary.AppendUvarint(b, e.id)
	b = binary.AppendUvarint(b, e.seq)
	var flags byte
	if e.keyframe {
		flags |= flagKeyframe
	}
	if e.hasTs {
		flags |= flagTimestamps
	}
	if e.hasStart {
		flags |= flagStarts
	}
	if e.nhist > 0 {
		flags |= flagHistograms
	}
	if e.nexemplar > 0 {
		flags |= flagExemplars
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, e.ts)
	b = binary.AppendUvarint(b, uint64(e.ndefs))
	b = append(b, e.defs...)
	b = binary.AppendUvarint(b, uint64(len(e.refs)))
	b = appendRuns(b, e.refs)
	b = append(b, e.controls...)
	b = append(b, e.mids...)
	if e.hasTs {
		for _, t := range e.tss {
			b = binary.AppendVarint(b, t-e.ts)
		}
	}
	if e.hasStart {
		// Series defined since the last start timestamps start from 0.
		e.prevStart = append(e.prevStart, make([]int64, len(e.prev)-len(e.prevStart))...)
		for i, st := range e.starts {
			idx := e.refs[i]
			b = binary.AppendVarint(b, st-e.prevStart[idx])
			e.prevStart[idx] = st
		}
	}
	if e.nhist > 0 {
		b = binary.AppendUvarint(b, uint64(e.nhist))
		b = append(b, e.hists...)
	}
	if e.nexemplar > 0 {
		b = binary.AppendUvarint(b, uint64(e.nexemplar))
		b = append(b, e.exemplars...)
	}
	e.buf = b
	return b, uint32(len(e.refs) + e.nhist)
}

// Done reports whether the record returned by Finish was appended. After a
// failure the next record is a keyframe.
func (e *StreamEncoder) Done(appended bool) {
	e.releaseBuffers()
	if e.keyframe {
		e.fitKeyframe()
	}
	if appended {
		e.seq++
		e.needKey = false
		return
	}
	e.needKey = true
}

// fitKeyframe trims the per-series arrays, which grew by doubling while the
// keyframe defined the target's series; the next keyframe refills them to
// about the same length, so they are kept at that size.
func (e *StreamEncoder) fitKeyframe() {
	e.prev, e.prevStart = trimmed(e.prev), trimmed(e.prevStart)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendRuns encodes the index sequence as runs of consecutive indexes.
func appendRuns(b []byte, refs []uint32) []byte {
	// Count runs first so the count can precede them.
	n := 0
	for i := range refs {
		if i == 0 || refs[i] != refs[i-1]+1 {
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	end := int64(0)
	for i := 0; i < len(refs); {
		j := i + 1
		for j < len(refs) && refs[j] == refs[j-1]+1 {
			j++
		}
		b = binary.AppendVarint(b, int64(refs[i])-end)
		b = binary.AppendUvarint(b, uint64(j-i))
		end = int64(refs[j-1]) + 1
		i = j
	}
	return b
}
