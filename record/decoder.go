package record

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

var (
	// ErrBrokenChain is returned for a stream record whose predecessors in
	// the segment were lost (skipped as corrupt): its values and series
	// cannot be known until the stream's next keyframe.
	ErrBrokenChain = errors.New("stream record depends on a lost record")
	// ErrMalformed is returned for a record that cannot be parsed.
	ErrMalformed = errors.New("malformed record")
	// ErrUnknownKind is returned for a record kind this ferry does not know.
	ErrUnknownKind = errors.New("unknown record kind")
)

// Transform rewrites a series' labels on its way out of the log, once per
// series definition rather than once per sample. Returning false drops the
// series. Senders use it for external labels and write relabeling.
type Transform func(labels.Labels) (labels.Labels, bool)

// Batch is the decoded content of one record.
type Batch struct {
	// Stream is the record's stream id; 0 for received batches, whose
	// series are ordered per series rather than per stream.
	Stream uint64
	// Series holds one entry per series with data in the record and
	// Families[i] the name of Series[i]'s metric family as exposed (the
	// metric name when the exposition named none; "" for received
	// batches). Hashes[i] is the hash of Series[i]'s labels for a received
	// batch, whose series are routed by it; a scrape stream's record,
	// routed by its stream, leaves Hashes empty, and remote.SeriesHash
	// gives a series' hash from its ids when a sender needs it.
	Series   []remote.Series
	Hashes   []uint64
	Families []string
	// Dropped counts the samples whose series the Transform dropped.
	Dropped int
	// Tenant is the tenant a received batch arrived for ("" for scrapes
	// and for data received without one).
	Tenant string

	// The series' samples and label value ids (and a received batch's
	// histograms, exemplars and label name ids) live in this memory, which the next record
	// decoded into b reuses: a Batch's contents last until then, unless
	// Take hands them over.
	mem Arena
}

// Arena is the memory a decoded batch's series point into: a scrape
// record's samples and label value ids, a received batch's samples,
// histograms, exemplars and dictionary ids. The zero value is ready to use.
type Arena struct {
	samples []remote.Sample
	ids     []uint32 // a scrape record's series' label value ids
	scratch remote.DictScratch
}

// Reset empties b, keeping its memory.
func (b *Batch) Reset() {
	clear(b.Series)
	clear(b.Families)
	b.Stream, b.Series, b.Hashes, b.Families, b.Dropped, b.Tenant = 0, b.Series[:0], b.Hashes[:0], b.Families[:0], 0, ""
	b.mem.samples, b.mem.ids = b.mem.samples[:0], b.mem.ids[:0]
}

// Take hands the batch's series, their hashes and the arena they point
// into to the caller, who owns them from then on, and gives the batch the
// slices and the arena passed in (whose series the caller is done with)
// to decode the next record into: a record that goes on whole is not
// copied. A scrape record's histograms and exemplars are not in the
// arena, as the decoder allocates them for each record, nor are its
// series' label name ids, which stay with the decoder's shapes: a segment
// replaces those rather than rewrites them.
func (b *Batch) Take(series []remote.Series, hashes []uint64, mem *Arena) ([]remote.Series, []uint64) {
	outSeries, outHashes := b.Series, b.Hashes
	clear(series)
	b.Series, b.Hashes = series[:0], hashes[:0]
	b.mem, *mem = *mem, b.mem
	b.mem.samples, b.mem.ids = b.mem.samples[:0], b.mem.ids[:0]
	clear(b.Families)
	b.Families = b.Families[:0]
	return outSeries, outHashes
}

// Decoder decodes the records one wal Reader returns, in order. It keeps the
// state of every stream of the current segment. It is not safe for
// concurrent use.
type Decoder struct {
	transform Transform
	// OnMetadata, when set, is called with the metadata of every series
	// definition that carries some: once per definition for scrape
	// streams, once per series for received batches. family is the
	// metric family name as exposed, or the metric name when unknown.
	OnMetadata func(family string, m remote.Metadata)
	seg        uint64
	streams    map[uint64]*streamState
	// dict holds the strings of the current segment's series definitions;
	// decoded series carry ids into it so senders need not hash strings.
	// A new segment starts a new Dict, since batches of the previous one
	// may still be waiting to be sent.
	dict *remote.Dict
	// shapes are the segment's label name sets and metadata.
	shapes shapes
	names  []uint32 // scratch: a definition's name ids, help and unit
	ids    []uint32 // scratch: a definition's label value ids
	// keyIDs holds a keyframe's label value ids in full form until
	// streamState.compact stores them; layouts is compact's memory.
	keyIDs  []uint32
	layouts compactScratch
	lb      labels.ScratchBuilder
	idx     []uint32
	tss     []int64
	// entry maps a series index to its entry in the Batch being built, +1
	// (0 = none yet); reset per record.
	entry []int32
}

type streamState struct {
	next   uint64 // expected sequence number of the next record
	broken bool
	series []seriesState
	// values is the arena of the series' label value ids: all of them
	// for a series in full form, the varying ones for a series in
	// compact form, whose layout has the others (see layouts.go).
	values  []uint32
	layouts []layout
	fixed   []uint32 // the layouts' ids, an id per label position
	vary    []uint16 // the layouts' varying positions
	// prevStart holds each series' previous start timestamp; it is
	// allocated only once the stream carries start timestamps.
	prevStart []int64
}

// seriesState is what a decoder keeps per series of a stream: no label
// strings (they live in the segment's dictionary), no names (its shape
// has them), no hash (remote.SeriesHash folds it from the ids when asked)
// and no pointers, so a sender's memory per series is 16 bytes and an id
// per label value its stream's other series of the shape do not share.
type seriesState struct {
	prev      uint64 // bits of the previous value
	valuesOff uint32 // streamState.values[valuesOff:]: its label value ids, all or the varying ones
	form      uint32 // its shape's index in Decoder.shapes (full form), compactForm|layout, or shapeDropped
}

func (s *seriesState) kept() bool { return s.form != shapeDropped }

// series returns a Batch entry for s, with its ids and metadata; the
// strings live in dict, and the label value ids are put back together in
// out's arena.
func (d *Decoder) series(st *streamState, s *seriesState, out *Batch) remote.Series {
	sh := &d.shapes.list[st.shapeOf(s)]
	n := uint32(len(sh.names) - 2)
	// Earlier series of the record keep their Values if the append moves
	// the arena: what they point to is never written again.
	from := len(out.mem.ids)
	out.mem.ids = st.appendValues(out.mem.ids, s, n)
	return remote.Series{
		Metadata: remote.Metadata{Type: sh.mtype, Help: sh.help, Unit: sh.unit},
		Dict:     d.dict,
		Names:    sh.names,
		Values:   out.mem.ids[from:len(out.mem.ids):len(out.mem.ids)],
	}
}

// NewDecoder returns a Decoder applying t (which may be nil) to every series.
func NewDecoder(t Transform) *Decoder {
	return &Decoder{transform: t, streams: map[uint64]*streamState{}}
}

// Decode decodes rec, appending its data to out. With out == nil it only
// updates the decoder's state, which is what replayed records need.
func (d *Decoder) Decode(rec wal.Record, out *Batch) error {
	if rec.Pos.Segment != d.seg || d.dict == nil {
		// Every stream starts with a keyframe in a new segment.
		clear(d.streams)
		d.seg = rec.Pos.Segment
		d.dict = remote.NewDict()
		d.shapes.reset()
	}
	switch rec.Kind {
	case KindStream:
		return d.decodeStream(rec.Data, out)
	case KindBatch:
		return d.decodeBatch(rec.Data, out)
	default:
		return fmt.Errorf("%w %d", ErrUnknownKind, rec.Kind)
	}
}

func (d *Decoder) decodeStream(data []byte, out *Batch) error {
	r := byteReader{b: data}
	id := r.uvarint()
	seq := r.uvarint()
	flags := r.byte()
	ts := r.varint()
	if r.err != nil {
		return fmt.Errorf("%w: stream header: %v", ErrMalformed, r.err)
	}
	if flags&^knownFlags != 0 {
		return fmt.Errorf("%w: unknown stream flags %#x", ErrMalformed, flags)
	}
	st := d.streams[id]
	if flags&flagKeyframe != 0 {
		if st == nil {
			st = &streamState{}
			d.streams[id] = st
		}
		st.series = st.series[:0]
		st.prevStart = st.prevStart[:0]
		st.broken = false
	} else if st == nil || st.broken || seq != st.next {
		if st != nil {
			st.broken = true
		}
		return fmt.Errorf("%w: stream %d record %d", ErrBrokenChain, id, seq)
	}
	st.next = seq + 1
	if err := d.decodeStreamBody(&r, st, flags, ts, id, out); err != nil {
		st.broken = true
		return err
	}
	if flags&flagKeyframe != 0 {
		st.fit()
	}
	return nil
}

// fit trims the stream's per-series array to what its keyframe defined.
// It grew by doubling while the first keyframe was read, and a sender
// keeps it, for every stream it reads, until the stream's next keyframe:
// up to half of it would be spare room held for an hour. compact trims
// the label value ids.
func (st *streamState) fit() {
	st.series = trimmed(st.series)
}

// trimmed returns s, or a copy of it without its spare room when that is
// more than an eighth: a new array, so slices of the old one stay valid.
func trimmed[T any](s []T) []T {
	if n := len(s); cap(s)-n > n/8 {
		return slices.Clip(append([]T(nil), s...))
	}
	return s
}

func (d *Decoder) decodeStreamBody(r *byteReader, st *streamState, flags byte, ts int64, id uint64, out *Batch) error {
	keyframe := flags&flagKeyframe != 0
	d.keyIDs = d.keyIDs[:0]
	ndefs := r.count(2)
	for i := 0; i < ndefs && r.err == nil; i++ {
		d.lb.Reset()
		nl := r.count(2)
		for j := 0; j < nl && r.err == nil; j++ {
			name := r.unsafeString()
			value := r.unsafeString()
			d.lb.Add(name, value)
		}
		mtype := remote.MetricType(r.byte())
		help, unit, family := r.stringBytes(), r.stringBytes(), r.stringBytes()
		if r.err != nil {
			break
		}
		d.lb.Sort()
		lset := d.lb.Labels() // copies the strings out of the record
		keep := true
		if d.transform != nil {
			lset, keep = d.transform(lset)
		}
		s := seriesState{form: shapeDropped}
		if keep {
			d.names, d.ids = d.names[:0], d.ids[:0]
			lset.Range(func(l labels.Label) {
				d.names = append(d.names, d.dict.Intern(l.Name))
				d.ids = append(d.ids, d.dict.Intern(l.Value))
			})
			d.names = append(d.names, d.dict.InternBytes(help), d.dict.InternBytes(unit))
			var fam uint32
			if len(family) > 0 {
				fam = d.dict.InternBytes(family)
			} else {
				fam = d.dict.Intern(lset.Get(model.MetricNameLabel))
			}
			shape := d.shapes.intern(d.names, fam, mtype, d.dict)
			if keyframe {
				s.form, s.valuesOff = shape, uint32(len(d.keyIDs))
				d.keyIDs = append(d.keyIDs, d.ids...)
			} else {
				st.define(&s, shape, d.ids)
			}
			if d.OnMetadata != nil && (mtype != 0 || len(help) > 0 || len(unit) > 0) {
				d.OnMetadata(d.dict.String(fam), remote.Metadata{Type: mtype, Help: d.dict.String(d.names[len(d.names)-2]), Unit: d.dict.String(d.names[len(d.names)-1])})
			}
		}
		st.series = append(st.series, s)
	}
	n := r.count(1)
	if r.err != nil {
		return fmt.Errorf("%w: definitions: %v", ErrMalformed, r.err)
	}
	if keyframe {
		st.compact(&d.layouts, &d.shapes, d.keyIDs)
	}
	d.idx = d.idx[:0]
	nruns := r.count(2)
	end := int64(0)
	for i := 0; i < nruns && r.err == nil; i++ {
		start := end + r.varint()
		length := r.uvarint()
		if start < 0 || length == 0 || uint64(len(d.idx))+length > uint64(n) || uint64(start)+length > uint64(len(st.series)) {
			return fmt.Errorf("%w: series run [%d,+%d) outside %d series or %d samples", ErrMalformed, start, length, len(st.series), n)
		}
		for k := uint64(0); k < length; k++ {
			d.idx = append(d.idx, uint32(uint64(start)+k))
		}
		end = start + int64(length)
	}
	if r.err == nil && len(d.idx) != n {
		return fmt.Errorf("%w: runs cover %d of %d samples", ErrMalformed, len(d.idx), n)
	}
	if out != nil && n <= len(st.series) {
		// Sized once for the series the record keeps: grown by
		// appending, a scrape's 1005 series would leave a quarter of the
		// array unused, and every piece waiting in the sender's lanes
		// keeps one. A record cannot make it larger than its stream's
		// series would.
		kept := 0
		for _, i := range d.idx {
			if st.series[i].kept() {
				kept++
			}
		}
		out.Series = slices.Grow(out.Series, kept)
		out.Families = slices.Grow(out.Families, kept)
	}
	controls := r.bytes(n)
	total := 0
	for _, c := range controls {
		m, err := midLen(c)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		total += m
	}
	mids := r.bytes(total)
	if r.err != nil {
		return fmt.Errorf("%w: values: %v", ErrMalformed, r.err)
	}
	// Per-sample timestamps, then start timestamps, follow the values.
	tss := d.tss[:0]
	if flags&flagTimestamps != 0 {
		for range d.idx {
			tss = append(tss, ts+r.varint())
		}
	}
	d.tss = tss
	starts := r.b
	if flags&flagStarts != 0 {
		// Parsed in the loop below, where the per-series base is known.
		for range d.idx {
			r.varint()
		}
		starts = starts[:len(starts)-len(r.b)]
	}
	if r.err != nil {
		return fmt.Errorf("%w: timestamps: %v", ErrMalformed, r.err)
	}
	var firstSeries, firstSample int
	if out != nil {
		out.Stream = id
		firstSeries, firstSample = len(out.Series), len(out.mem.samples)
		d.entry = d.entry[:0]
		for range st.series {
			d.entry = append(d.entry, 0)
		}
	}
	sr := byteReader{b: starts}
	for i, idx := range d.idx {
		c := controls[i]
		m := 8 - int(c>>4) - int(c&0x0f)
		s := &st.series[idx]
		s.prev ^= readXOR(c, mids[:m])
		mids = mids[m:]
		t := ts
		if flags&flagTimestamps != 0 {
			t = tss[i]
		}
		var start int64
		if flags&flagStarts != 0 {
			for int(idx) >= len(st.prevStart) {
				st.prevStart = append(st.prevStart, 0)
			}
			st.prevStart[idx] += sr.varint()
			start = st.prevStart[idx]
		}
		if out == nil {
			continue
		}
		if !s.kept() {
			out.Dropped++
			continue
		}
		out.mem.samples = append(out.mem.samples, remote.Sample{Value: math.Float64frombits(s.prev), Timestamp: t, StartTimestamp: start})
		d.addEntry(out, st, s, idx)
	}
	if out != nil {
		// Point each new series at its sample only now: appending to
		// out.mem.samples may have moved it.
		for i := firstSeries; i < len(out.Series); i++ {
			k := firstSample + i - firstSeries
			out.Series[i].Samples = out.mem.samples[k : k+1 : k+1]
		}
	}
	if flags&flagHistograms != 0 {
		if err := d.decodeHistograms(r, st, ts, out); err != nil {
			return err
		}
	}
	if flags&flagExemplars != 0 {
		if err := d.decodeExemplars(r, st, ts, out); err != nil {
			return err
		}
	}
	return nil
}

// addEntry appends a Batch entry for series idx and remembers where it is,
// so that exemplars of the same record can find it.
func (d *Decoder) addEntry(out *Batch, st *streamState, s *seriesState, idx uint32) *remote.Series {
	out.Series = append(out.Series, d.series(st, s, out))
	out.Families = append(out.Families, d.dict.String(d.shapes.list[st.shapeOf(s)].family))
	d.entry[idx] = int32(len(out.Series))
	return &out.Series[len(out.Series)-1]
}

func (d *Decoder) decodeHistograms(r *byteReader, st *streamState, recTS int64, out *Batch) error {
	n := r.count(4)
	for i := 0; i < n; i++ {
		idx := r.uvarint()
		if r.err == nil && idx >= uint64(len(st.series)) {
			return fmt.Errorf("%w: histogram of undefined series %d", ErrMalformed, idx)
		}
		ts, start, h, fh, err := readHistogram(r, recTS)
		if err != nil {
			return err
		}
		if out == nil {
			continue
		}
		s := &st.series[idx]
		if !s.kept() {
			out.Dropped++
			continue
		}
		e := d.addEntry(out, st, s, uint32(idx))
		e.Histograms = []remote.Histogram{{Timestamp: ts, StartTimestamp: start, H: h, FH: fh}}
	}
	if r.err != nil {
		return fmt.Errorf("%w: histograms: %v", ErrMalformed, r.err)
	}
	return nil
}

func (d *Decoder) decodeExemplars(r *byteReader, st *streamState, recTS int64, out *Batch) error {
	n := r.count(4)
	for i := 0; i < n && r.err == nil; i++ {
		idx := r.uvarint()
		d.lb.Reset()
		nl := r.count(2)
		for j := 0; j < nl && r.err == nil; j++ {
			d.lb.Add(r.string(), r.string())
		}
		v := r.f64()
		ts := recTS + r.varint()
		if r.err != nil {
			break
		}
		if idx >= uint64(len(st.series)) {
			return fmt.Errorf("%w: exemplar of undefined series %d", ErrMalformed, idx)
		}
		if out == nil || !st.series[idx].kept() {
			continue
		}
		d.lb.Sort()
		ex := remote.Exemplar{Labels: d.lb.Labels(), Value: v, Timestamp: ts}
		var e *remote.Series
		if k := d.entry[idx]; k > 0 {
			e = &out.Series[k-1]
		} else {
			e = d.addEntry(out, st, &st.series[idx], uint32(idx))
		}
		e.Exemplars = append(e.Exemplars, ex)
	}
	if r.err != nil {
		return fmt.Errorf("%w: exemplars: %v", ErrMalformed, r.err)
	}
	return nil
}
