package wal

// recentBytes bounds the payloads the log keeps in memory for readers
// (Entry.ReadSoon). A relay's sender reads a received request back within
// milliseconds of its append; 2 MiB holds about fifty 1000-sample requests,
// seconds of traffic at the rates a relay sees, and stays fixed whatever the
// rate. A reader further behind reads the file, as it would without.
const recentBytes = 2 << 20

// maxSpare bounds the buffers of dropped records kept for the next ones.
const maxSpare = 8

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
// until their next Next (Record.Data is valid until then); a buffer is
// reused only once it is no longer kept and no reader holds it, so that
// relaying allocates nothing per request. Guarded by the log's mu.
type keptBuf struct {
	data    []byte
	holders int
	dropped bool
}

// recentRecords are the last ReadSoon records appended, oldest first, so
// that a reader right behind the writer takes the payload from memory
// instead of reading the file and decompressing what Append just
// compressed. Guarded by the log's mu.
type recentRecords struct {
	recs  []recentRecord
	bytes int
	spare []*keptBuf
}

// add keeps a copy of data, dropping the oldest records beyond the bound.
func (r *recentRecords) add(rec recentRecord, data []byte) {
	if len(data) > recentBytes {
		return
	}
	rec.buf = r.buffer(len(data))
	rec.buf.data = append(rec.buf.data[:0], data...)
	r.recs = append(r.recs, rec)
	r.bytes += len(data)
	drop := 0
	for r.bytes > recentBytes {
		b := r.recs[drop].buf
		r.bytes -= len(b.data)
		b.dropped = true
		r.recycle(b)
		drop++
	}
	if drop > 0 {
		clear(r.recs[:drop])
		r.recs = append(r.recs[:0], r.recs[drop:]...)
	}
}

// buffer returns a spare buffer with room for n bytes, or a new one.
func (r *recentRecords) buffer(n int) *keptBuf {
	for i, b := range r.spare {
		if cap(b.data) >= n {
			last := len(r.spare) - 1
			r.spare[i], r.spare[last] = r.spare[last], nil
			r.spare = r.spare[:last]
			b.dropped = false
			return b
		}
	}
	return &keptBuf{data: make([]byte, 0, n)}
}

// recycle makes b a spare once it is dropped and no reader holds it.
func (r *recentRecords) recycle(b *keptBuf) {
	if !b.dropped || b.holders > 0 {
		return
	}
	if len(r.spare) < maxSpare {
		r.spare = append(r.spare, b)
		return
	}
	// Replace the smallest spare: records of a relay are of similar
	// sizes, and the largest buffers fit the most.
	small := 0
	for i, s := range r.spare {
		if cap(s.data) < cap(r.spare[small].data) {
			small = i
		}
	}
	if cap(b.data) > cap(r.spare[small].data) {
		r.spare[small] = b
	}
}

// release ends a reader's hold on b.
func (r *recentRecords) release(b *keptBuf) {
	b.holders--
	r.recycle(b)
}

// at returns the kept record whose frame starts at p.
func (r *recentRecords) at(p Pos) (recentRecord, bool) {
	// A reader is usually at the oldest kept record or near the newest:
	// scanning from the newest finds a reader that keeps up first.
	for i := len(r.recs) - 1; i >= 0; i-- {
		if r.recs[i].pos == p {
			return r.recs[i], true
		}
		if r.recs[i].pos.Less(p) {
			break // older than p: p is not kept
		}
	}
	return recentRecord{}, false
}
