package wal

// recentBytes bounds the payloads the log keeps in memory for readers
// (Entry.ReadSoon). A relay's sender reads a received request back within
// milliseconds of its append; 2 MiB holds about fifty 1000-sample requests,
// seconds of traffic at the rates a relay sees, and stays fixed whatever the
// rate. A reader further behind reads the file, as it would without.
const recentBytes = 2 << 20

// recentRecord is the uncompressed payload of a record appended with
// Entry.ReadSoon, and where its frame lies.
type recentRecord struct {
	pos   Pos   // where the frame starts
	end   int64 // the offset just after the frame
	kind  uint8
	count uint32
	time  int64
	data  []byte // never changed once kept: readers may hold it
}

// recentRecords are the last ReadSoon records appended, oldest first, so
// that a reader right behind the writer takes the payload from memory
// instead of reading the file and decompressing what Append just
// compressed. Guarded by the log's mu.
type recentRecords struct {
	recs  []recentRecord
	bytes int
}

// add keeps a copy of data, dropping the oldest records beyond the bound.
func (r *recentRecords) add(rec recentRecord, data []byte) {
	if len(data) > recentBytes {
		return
	}
	rec.data = append([]byte(nil), data...)
	r.recs = append(r.recs, rec)
	r.bytes += len(data)
	drop := 0
	for r.bytes > recentBytes {
		r.bytes -= len(r.recs[drop].data)
		drop++
	}
	if drop > 0 {
		clear(r.recs[:drop]) // let the payloads go
		r.recs = append(r.recs[:0], r.recs[drop:]...)
	}
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
