package wal

import (
	"errors"
	"io"
	"math"
	"os"
	"time"
)

const (
	reasonMaxSize = "max_size"
	reasonMaxAge  = "max_age"
)

// dropJob is data a limit removed before one cursor delivered it.
type dropJob struct {
	cursor string
	seg    *segment
	from   int64 // offset in seg of the first undelivered record
	reason string
}

// overLimit reports whether the log is above its size limit.
func (l *Log) overLimit() bool {
	if l.opts.MaxSize <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.totalSize() > l.opts.MaxSize
}

// totalSize returns the bytes of all segments. Callers hold l.mu.
func (l *Log) totalSize() int64 {
	var n int64
	for _, s := range l.segs {
		n += s.size.Load()
	}
	return n
}

// collect deletes the segments every cursor's persisted position has passed,
// then, oldest first, the segments a size or age limit forces out. Cursors
// inside a forced-out segment move to the next one, and what they lose is
// counted and logged.
func (l *Log) collect(now time.Time) {
	var victims []*segment
	var drops []dropJob

	l.mu.Lock()
	minSeg := uint64(math.MaxUint64)
	for _, c := range l.cursors {
		minSeg = min(minSeg, c.persisted.pos.Segment, c.committed.pos.Segment)
	}
	for len(l.segs) > 1 && l.segs[0].sealed && l.segs[0].seq < minSeg {
		victims = append(victims, l.segs[0])
		l.segs = l.segs[1:]
	}
	nowMs := now.UnixMilli()
	for {
		oldest := l.segs[0]
		reason := ""
		switch {
		case l.opts.MaxAge > 0 && oldest.sealed && time.Duration(nowMs-oldest.lastTime)*time.Millisecond > l.opts.MaxAge:
			reason = reasonMaxAge
		case l.opts.MaxSize > 0 && l.totalSize() > l.opts.MaxSize:
			if !oldest.sealed {
				// Only the active segment is left and it alone is too
				// big: close it so that it can go.
				if oldest.records == 0 {
					break
				}
				if err := l.roll(nowMs); err != nil {
					l.log.Error("Could not close the log segment to enforce the size limit", "err", err)
					break
				}
			}
			reason = reasonMaxSize
		}
		if reason == "" || len(l.segs) < 2 {
			break
		}
		next := l.segs[1]
		for _, c := range l.cursors {
			if c.committed.pos.Segment > oldest.seq {
				continue
			}
			from := c.committed.pos.Offset
			if c.committed.pos.Segment < oldest.seq {
				from = segmentHeaderSize
			}
			drops = append(drops, dropJob{cursor: c.name, seg: oldest, from: from, reason: reason})
			c.committed.pos = Pos{Segment: next.seq, Offset: segmentHeaderSize}
		}
		victims = append(victims, oldest)
		l.segs = l.segs[1:]
	}
	l.mu.Unlock()

	for _, d := range drops {
		l.countDrop(d)
	}
	if len(drops) > 0 {
		l.persistCursors()
	}
	for _, s := range victims {
		if err := l.fs.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.log.Error("Could not delete log segment", "segment", s.seq, "err", err)
			continue
		}
		l.m.segmentsDeleted.Inc()
	}
	if len(victims) > 0 {
		if err := l.fs.SyncDir(l.segDir); err != nil {
			l.log.Warn("Could not sync the segment directory", "err", err)
		}
	}
}

// countDrop counts and logs the records of d.seg from d.from on.
func (l *Log) countDrop(d dropJob) {
	var records, samples uint64
	var first, last int64
	if d.from <= segmentHeaderSize {
		records, samples, first, last = d.seg.records, d.seg.count, d.seg.firstTime, d.seg.lastTime
	} else if f, err := l.fs.OpenFile(d.seg.path, os.O_RDONLY, 0); err == nil {
		sc := newScanner(f, d.from)
		limit := d.seg.size.Load()
		for {
			_, h, err := sc.next(limit)
			if err == nil {
				if h.kind != KindTrailer {
					if records == 0 {
						first = h.time
					}
					records++
					samples += uint64(h.count)
					last = h.time
				}
				continue
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if _, rerr := sc.resync(limit); rerr != nil {
				break
			}
		}
		f.Close()
	} else {
		l.log.Error("Could not count dropped records", "segment", d.seg.seq, "err", err)
	}
	if records == 0 {
		return
	}
	l.m.dropped(d.cursor, d.reason, records, samples)
	l.log.Warn("Log limit deleted data the destination had not sent yet",
		"remote_name", d.cursor, "reason", d.reason, "records", records, "samples", samples,
		"from", time.UnixMilli(first).UTC(), "to", time.UnixMilli(last).UTC())
}
