package sender

import (
	"context"
	"sync"
	"time"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
)

// piece is the part of one record that goes to one lane: at most
// max_samples_per_send samples, owned by the piece.
type piece struct {
	f      *inflight
	lane   int
	tenant string   // all series of a piece share a tenant
	slots  []uint16 // routing slots held in flight by the piece
	series []remote.Series
	// hashes holds the series' hashes in a received batch's piece; a
	// scrape record's piece has none (see hash).
	hashes  []uint64
	samples []remote.Sample // arena of the series' samples
	refs    []uint32        // arena of copied dictionary ids: label values, and a received batch's names
	// mem is the decoded batch's memory when the piece took the batch
	// over whole (Sender.whole): its series point into it, not into
	// samples and refs.
	mem record.Arena
	n   int
}

// pieces are recycled once their lane has sent them: a piece of a scrape
// holds a series entry and a sample per exposed series, which allocated
// anew per record was most of the agent's garbage.
var piecePool = sync.Pool{New: func() any { return new(piece) }}

// hash returns the hash of series i. A scrape's pieces carry no hashes: a
// lane needs them only for the pieces of a routing slot that two pieces of
// its batch share (a later scrape of the same target, as after a restart
// or a reload or while the lane catches up with a backlog, or another
// target in the same slot), and folding one from the
// series' dictionary ids then costs about 16 ns for five labels, where
// keeping it cost the decoder eight bytes per series.
func (p *piece) hash(i int) uint64 {
	if i < len(p.hashes) {
		return p.hashes[i]
	}
	return remote.SeriesHash(&p.series[i])
}

func newPiece(lane int, tenant string) *piece {
	p := piecePool.Get().(*piece)
	p.lane, p.tenant = lane, tenant
	return p
}

// recycle returns a piece whose lane is done with it to the pool.
func (p *piece) recycle() {
	clear(p.series) // drop references to labels and dictionaries
	p.f, p.tenant, p.n = nil, "", 0
	p.slots, p.series, p.hashes, p.samples, p.refs = p.slots[:0], p.series[:0], p.hashes[:0], p.samples[:0], p.refs[:0]
	piecePool.Put(p)
}

// lane sends the pieces it is given, in order, one request at a time.
type lane struct {
	s  *Sender
	in chan *piece

	// series is the request: the batch's series, in the order they are
	// sent, where their pieces hold them. The pieces are recycled only
	// once the batch is done (reset).
	series []*remote.Series
	index  seriesIndex // series hash -> index in series, once indexed
	// gathered says the batch's series are in series, piece after piece
	// (ends). Until a piece arrives whose slot the batch
	// already has, the batch's pieces come from distinct targets and
	// cannot share a series: they stay in their pieces, and nothing is
	// looked up (see add).
	gathered bool
	// indexedSlots are the slots whose pieces' series are in index;
	// allIndexed says every piece's are.
	indexedSlots [numSlots / 64]uint64
	allIndexed   bool
	slots        [numSlots / 64]uint64 // routing slots of the batch's pieces
	pieces       []*piece              // the pieces merged into the batch
	ends         []int                 // once gathered, per piece, the end of its new series in series
	spare        []*remote.Series
	// interleave's scratch, for batches not gathered and gathered.
	runs         [][]remote.Series
	gatheredRuns [][]*remote.Series
	tenant       string // the tenant of every piece in the batch
	n            int    // samples in the batch
	pb           []byte
	comp         []byte
	st           remote.SymbolTable
	bo           backoff
}

func newLane(s *Sender) *lane {
	return &lane{
		s: s, in: make(chan *piece, 4),
		bo: backoff{min: s.cfg.minBackoff, max: s.cfg.maxBackoff},
	}
}

// run batches pieces until in is closed, then sends what is left. Sends
// give up when ctx ends, leaving their records uncommitted.
func (l *lane) run(ctx context.Context) {
	deadline := time.NewTimer(time.Hour)
	deadline.Stop()
	for {
		select {
		case p, ok := <-l.in:
			if !ok {
				l.flush(ctx)
				return
			}
			// A flush that gives up (ctx ended) leaves its batch
			// interleaved and unsent: nothing may be added to it, and
			// nothing more can be sent.
			if len(l.pieces) > 0 && (l.n+p.n > l.s.cfg.maxSamplesPerSend || p.tenant != l.tenant) && !l.flush(ctx) {
				return
			}
			l.tenant = p.tenant
			if l.n == 0 {
				deadline.Reset(l.s.cfg.batchDeadline)
			}
			l.add(p)
			if l.n >= l.s.cfg.maxSamplesPerSend && !l.flush(ctx) {
				return
			}
		case <-deadline.C:
			if !l.flush(ctx) {
				return
			}
		case <-ctx.Done():
			return
		}
		if l.n == 0 {
			deadline.Stop()
		}
	}
}

// add merges a piece into the batch, grouping the samples of a series that
// appears in several records into one TimeSeries: one series must never
// appear twice in a request, where its samples could be reordered.
//
// A series can only come back in another piece of its own routing slot: a
// later scrape of its target, the same target under a new stream after a
// reload or a restart (stream ids keep their target's slot), or a received
// series (routed by its hash). So while every piece of the batch is a
// scrape of a slot the batch has not seen, series are appended without
// lookups. The first piece that shares a slot with the batch gathers the
// batch's series into the request (gathered) and indexes the pieces of that
// slot only; from then on the series of a piece are looked up if its slot
// is indexed, and just appended if the slot is new to the batch, so two
// targets that happen to share a slot do not make the lane hash every
// series of the request (a scrape's series carry no hash: see piece.hash).
// A piece that spans several slots, as a received batch's can, has every
// series indexed and looked up from then on. (Two targets, or a target and
// a remote-write client, that produce the same labels are a configuration
// fault no ordering can repair: their samples interleave arbitrarily.
// Their series may then be two TimeSeries of a request.)
func (l *lane) add(p *piece) {
	single := len(p.slots) == 1
	if !l.gathered {
		if single && !l.hasSlot(p.slots[0]) {
			// The series stay in the piece until interleave
			// gathers every piece's into the request.
			l.setSlot(p.slots[0])
			l.pieces = append(l.pieces, p)
			l.n += p.n
			return
		}
		l.gather()
	}
	lookup := l.allIndexed
	switch {
	case lookup:
	case !single:
		l.indexPieces(func(q *piece) bool { return !l.isIndexed(q) })
		l.allIndexed, lookup = true, true
	case l.hasSlot(p.slots[0]):
		if s := p.slots[0]; !l.slotIndexed(s) {
			l.indexPieces(func(q *piece) bool { return len(q.slots) == 1 && q.slots[0] == s })
			l.setSlotIndexed(s)
		}
		lookup = true
	default:
		l.setSlot(p.slots[0])
	}
	for i := range p.series {
		s := &p.series[i]
		if !lookup {
			l.series = append(l.series, s)
			continue
		}
		h := p.hash(i)
		j, ok := l.index.get(h)
		if ok && remote.SameSeries(l.series[j], s) {
			// d is the series of an earlier piece of the batch. Its
			// arrays are capped in their piece's arena or its own, so
			// appending never writes into another series'.
			d := l.series[j]
			d.Samples = append(d.Samples, s.Samples...)
			d.Histograms = append(d.Histograms, s.Histograms...)
			d.Exemplars = append(d.Exemplars, s.Exemplars...)
			if d.Metadata.IsZero() {
				d.Metadata = s.Metadata
			}
			continue
		}
		if !ok {
			l.index.put(h, len(l.series))
		}
		l.series = append(l.series, s)
	}
	l.pieces = append(l.pieces, p)
	l.ends = append(l.ends, len(l.series))
	l.n += p.n
}

// gather moves the batch's series, which until now stayed in their pieces,
// into the request piece after piece, without indexing them.
func (l *lane) gather() {
	for _, q := range l.pieces {
		for i := range q.series {
			l.series = append(l.series, &q.series[i])
		}
		l.ends = append(l.ends, len(l.series))
	}
	l.gathered = true
}

// indexPieces indexes the series of the batch's pieces that match.
func (l *lane) indexPieces(match func(*piece) bool) {
	start := 0
	for k, q := range l.pieces {
		end := l.ends[k]
		if match(q) {
			// A piece not yet indexed was added without lookups, so
			// all its series are in the request, in order.
			for j := start; j < end; j++ {
				h := q.hash(j - start)
				if _, ok := l.index.get(h); !ok {
					l.index.put(h, j)
				}
			}
		}
		start = end
	}
}

// isIndexed reports whether the series of piece q are in the index.
func (l *lane) isIndexed(q *piece) bool {
	return l.allIndexed || len(q.slots) == 1 && l.slotIndexed(q.slots[0])
}

func (l *lane) slotIndexed(s uint16) bool { return l.indexedSlots[s/64]&(1<<(s%64)) != 0 }
func (l *lane) setSlotIndexed(s uint16)   { l.indexedSlots[s/64] |= 1 << (s % 64) }

func (l *lane) hasSlot(s uint16) bool { return l.slots[s/64]&(1<<(s%64)) != 0 }
func (l *lane) setSlot(s uint16)      { l.slots[s/64] |= 1 << (s % 64) }

// flush sends the batch until it is acknowledged or rejected for good, then
// marks its records' pieces done. It returns false if ctx ended first: the
// batch is then left as it is, and its records uncommitted, to be sent
// again after a restart.
func (l *lane) flush(ctx context.Context) bool {
	if len(l.pieces) == 0 {
		return true
	}
	l.interleave()
	if l.n > 0 && !l.sendBatch(ctx) {
		return false
	}
	for _, p := range l.pieces {
		l.s.router.release(p.slots)
		l.s.tracker.done(p.f)
	}
	l.reset()
	return true
}

// reset empties the batch and recycles its pieces.
func (l *lane) reset() {
	clear(l.series)
	for _, p := range l.pieces {
		p.recycle()
	}
	clear(l.pieces)
	l.index.reset()
	l.gathered, l.slots = false, [numSlots / 64]uint64{}
	l.indexedSlots, l.allIndexed = [numSlots / 64]uint64{}, false
	l.series, l.pieces, l.ends, l.n = l.series[:0], l.pieces[:0], l.ends[:0], 0
}

// sendBatch encodes and sends the batch, retrying as the protocol allows.
// It returns false only if ctx ended first.
func (l *lane) sendBatch(ctx context.Context) bool {
	s := l.s
	l.bo.reset()
	for {
		msg, enc := s.protocol()
		// The lane is busy from here until the answer: the concurrency
		// controller counts encoding and compressing too, or a lane
		// flushing back to back would look idle.
		busyFrom := time.Now()
		if !l.prepare(msg) {
			return true // nothing left to send
		}
		if msg == remote.MessageV2 {
			l.pb = remote.AppendV2Series(l.pb[:0], l.series, &l.st)
		} else {
			l.pb = remote.AppendV1Series(l.pb[:0], l.series)
		}
		var err error
		if l.comp, err = remote.Compress(l.comp[:0], l.pb, enc); err != nil {
			s.rejected(l.n, err)
			return true
		}
		start := time.Now()
		a := s.client.send(ctx, l.comp, msg, enc, l.tenant)
		s.load.sendNanos.Add(int64(time.Since(busyFrom)))
		s.m.batchDuration.Observe(time.Since(start).Seconds())
		s.m.bytesTotal.Add(float64(len(l.comp)))
		switch a.result {
		case resultOK:
			s.delivered(countRequest(l.series), a, msg)
			return true
		case resultUnsupported:
			if s.fallBack(msg, enc, a.err) {
				continue // resend the same data in the older format at once
			}
			s.rejected(l.n, a.err)
			return true
		case resultRejected:
			s.rejected(l.n, a.err)
			return true
		case resultRetry:
			if ctx.Err() != nil {
				return false
			}
			s.retrying(l.n, a.err)
			wait := l.bo.next()
			if a.retryAfter > wait {
				wait = a.retryAfter
			}
			if sleep(ctx, wait) != nil {
				return false
			}
		}
	}
}

// prepare drops from the batch what cannot or must not be sent in msg right
// now: data older than sample_age_limit (checked before every attempt, so a
// long outage ages data out as configured), custom-bucket histograms over
// Remote-Write 1.0, and per-series metadata when metadata_config.send is
// off. Everything dropped is counted. It reports whether anything is left.
func (l *lane) prepare(msg remote.Message) bool {
	s := l.s
	if lim := s.cfg.sampleAgeLimit; lim > 0 {
		if d := filterTooOld(l.series, time.Now().Add(-lim).UnixMilli()); d.any() {
			s.m.dropped(d, "too_old")
		}
	}
	if msg == remote.MessageV1 {
		if n := filterCustomBuckets(l.series); n > 0 {
			s.m.dropped(dropCounts{histograms: n}, "nhcb_unsupported_by_rw1")
		}
	} else if n := filterExemplarOnly(l.series); n > 0 {
		s.m.dropped(dropCounts{exemplars: n}, "exemplar_without_sample")
	}
	if !s.cfg.sendMetadata {
		stripMetadata(l.series)
	}
	// A series the filters emptied must not be sent: receivers refuse a
	// time series without data.
	kept := l.series[:0]
	for _, ser := range l.series {
		if len(ser.Samples)+len(ser.Histograms)+len(ser.Exemplars) > 0 {
			kept = append(kept, ser)
		}
	}
	clear(l.series[len(kept):])
	l.series = kept
	return len(kept) > 0
}
