package record

import (
	"encoding/binary"
	"math"

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

const (
	flagKeyframe   = 1 << 0
	flagTimestamps = 1 << 1
	knownFlags     = flagKeyframe | flagTimestamps
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
//	for each sample: if !enc.Valid(ref) { ref = enc.Define(lset, meta) }; enc.Add(ref, v)
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
	prev     []uint64
	keyframe bool

	// The record being built.
	ts       int64
	ndefs    int
	defs     []byte
	refs     []uint32
	controls []byte
	mids     []byte
	tss      []int64 // per-sample timestamps, kept only when hasTs
	hasTs    bool    // a sample of this record has its own timestamp
	buf      []byte
}

// NewStreamEncoder returns an encoder for the stream with the given id.
func NewStreamEncoder(id uint64) *StreamEncoder {
	return &StreamEncoder{id: id, needKey: true}
}

// Begin starts a record whose samples default to timestamp ts. seg is the
// log's active segment; a change of segment starts a keyframe.
func (e *StreamEncoder) Begin(ts int64, seg uint64) {
	e.ts = ts
	e.ndefs = 0
	e.defs = e.defs[:0]
	e.refs = e.refs[:0]
	e.controls = e.controls[:0]
	e.mids = e.mids[:0]
	e.tss = e.tss[:0]
	e.hasTs = false
	e.keyframe = e.needKey || seg != e.seg || e.seq >= KeyframeInterval
	if e.keyframe {
		e.epoch++
		e.seq = 0
		e.prev = e.prev[:0]
		e.seg = seg
	}
}

// Segment returns the segment the record being built must be appended to.
func (e *StreamEncoder) Segment() uint64 { return e.seg }

// Valid reports whether ref can be passed to Add in the current record.
func (e *StreamEncoder) Valid(ref Ref) bool { return ref != 0 && ref.epoch() == e.epoch }

// Define adds a series definition to the record and returns its Ref. lset
// must be sorted and free of duplicate names, as labels.Labels are.
func (e *StreamEncoder) Define(lset labels.Labels, meta remote.Metadata) Ref {
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
	e.defs = b
	return makeRef(e.epoch, idx)
}

// Add appends a sample at the record's timestamp.
func (e *StreamEncoder) Add(ref Ref, v float64) {
	if e.hasTs {
		e.tss = append(e.tss, e.ts)
	}
	e.add(ref, v)
}

// AddAt appends a sample with its own timestamp.
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
}

// Finish returns the encoded record and its sample count. The slice is
// valid until the next Begin.
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
	e.buf = b
	return b, uint32(len(e.refs))
}

// Done reports whether the record returned by Finish was appended. After a
// failure the next record is a keyframe.
func (e *StreamEncoder) Done(appended bool) {
	if appended {
		e.seq++
		e.needKey = false
		return
	}
	e.needKey = true
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
