package wal

import "sort"

const (
	// recentBytes bounds the buffers of the records the log keeps in
	// memory for readers (Entry.ReadSoon), by capacity. A relay's sender
	// reads a received request back within milliseconds of its append;
	// 2 MiB holds about fifty 1000-sample requests, seconds of traffic at
	// the rates a relay sees, whatever the rate. A reader further behind
	// reads the file, as it would without.
	recentBytes = 2 << 20
	// maxRecent bounds the number of kept records, so that a client
	// sending tiny requests cannot make the list long.
	maxRecent = 256
	// spareBytes bounds the capacity of the buffers kept for reuse.
	spareBytes = 1 << 20
)

// recentRecord is the uncompressed payload of a record appended with
// Entry.ReadSoon, and where its frame lies.
type recentRecord struct {
	pos   Pos   // where the frame starts
	end   int64 // the offset just after the frame
	kind  uint8
	count uint32
	time  int64
	buf   *keptBuf
}

// keptBuf holds a kept record's payload. Readers that returned it hold it
// until their next Next or Close (Record.Data is valid until then); a
// buffer is reused only once it is no longer kept and no reader holds it,
// so that relaying allocates nothing per request. Guarded by the log's mu.
type keptBuf struct {
	data    []byte
	holders int
	dropped bool
}

// recentRecords are the last ReadSoon records appended, oldest first, so
// that a reader right behind the writer takes the payload from memory
// instead of reading the file and decompressing what Append just
// compressed. Guarded by the log's mu.
//
// Memory: at most recentBytes of kept buffers and spareBytes of spare
// ones, plus one buffer per reader that holds a record no longer kept.
type recentRecords struct {
	recs       []recentRecord
	bytes      int // capacity of the kept records' buffers
	spare      []*keptBuf
	spareBytes int
}

// add keeps a copy of data, dropping the oldest records beyond the bounds.
func (r *recentRecords) add(rec recentRecord, data []byte) {
	if len(data) > recentBytes/4 {
		return // a few of these would be all the memory
	}
	rec.buf = r.buffer(len(data))
	rec.buf.data = append(rec.buf.data[:0], data...)
	r.recs = append(r.recs, rec)
	r.bytes += cap(rec.buf.data)
	drop := 0
	for r.bytes > recentBytes || len(r.recs)-drop > maxRecent {
		b := r.recs[drop].buf
		r.bytes -= cap(b.data)
		b.dropped = true
		r.recycle(b)
		drop++
	}
	if drop > 0 {
		clear(r.recs[:drop])
		r.recs = r.recs[drop:] // append moves the rest when it grows
	}
}

// buffer returns the smallest spare buffer with room for n bytes and no
// more than twice that, or a new one.
func (r *recentRecords) buffer(n int) *keptBuf {
	best := -1
	for i, b := range r.spare {
		if c := cap(b.data); c >= n && c <= 2*n && (best < 0 || c < cap(r.spare[best].data)) {
			best = i
		}
	}
	if best < 0 {
		return &keptBuf{data: make([]byte, 0, n)}
	}
	b := r.spare[best]
	last := len(r.spare) - 1
	r.spare[best], r.spare[last] = r.spare[last], nil
	r.spare = r.spare[:last]
	r.spareBytes -= cap(b.data)
	b.dropped = false
	return b
}

// recycle makes b a spare once it is dropped and no reader holds it, if
// the spares have room; else it is left to the collector.
func (r *recentRecords) recycle(b *keptBuf) {
	if !b.dropped || b.holders > 0 || r.spareBytes+cap(b.data) > spareBytes {
		return
	}
	r.spare = append(r.spare, b)
	r.spareBytes += cap(b.data)
}

// release ends a reader's hold on b.
func (r *recentRecords) release(b *keptBuf) {
	b.holders--
	r.recycle(b)
}

// at returns the kept record whose frame starts at p.
func (r *recentRecords) at(p Pos) (recentRecord, bool) {
	n := len(r.recs)
	if n == 0 || p.Less(r.recs[0].pos) || r.recs[n-1].pos.Less(p) {
		return recentRecord{}, false
	}
	if r.recs[n-1].pos == p { // a reader that keeps up
		return r.recs[n-1], true
	}
	i := sort.Search(n, func(i int) bool { return !r.recs[i].pos.Less(p) })
	if i < n && r.recs[i].pos == p {
		return r.recs[i], true
	}
	return recentRecord{}, false
}
