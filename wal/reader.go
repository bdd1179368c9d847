package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/klauspost/compress/s2"

	"github.com/ferrymetrics/ferry/wal/vfs"
)

// Record is one record as a Reader returns it.
type Record struct {
	Kind  uint8
	Count uint32
	// Time is the append time, Unix milliseconds.
	Time int64
	// Data is the payload, decompressed. It is valid until the next call
	// to Next or Close and must not be changed: it may be the log's own
	// copy, shared with other readers (Entry.ReadSoon).
	Data []byte
	// Pos is where the record starts; End is the position just after it,
	// the position to commit once the record is delivered.
	Pos, End Pos
	// Replay is set on records the cursor had already committed when the
	// Reader was opened. They are returned only so that a decoder that
	// depends on earlier records of the segment can rebuild its state;
	// they must not be delivered again.
	Replay bool
	// Gap is set when records were skipped right before this one, because
	// they were corrupt or a size or age limit deleted them.
	Gap bool
}

// Reader reads the log from one cursor's position onwards. It is not safe for
// concurrent use, except that Commit may be called from any goroutine.
type Reader struct {
	l   *Log
	c   *cursor
	pos Pos // next frame to read

	f       vfs.File
	fseq    uint64
	sc      *scanner
	gap     bool
	payload []byte
	closed  bool
	// held is the log's buffer of the record Next returned last, when it
	// came from memory: held until the next Next or Close (Entry.ReadSoon).
	held *keptBuf
}

// Name returns the cursor's name.
func (r *Reader) Name() string { return r.c.name }

// Next returns the next record, waiting for one to be appended if the reader
// is at the end of the log. It returns ctx.Err() when ctx ends first and
// ErrClosed when the log closes.
func (r *Reader) Next(ctx context.Context) (Record, error) {
	for {
		l := r.l
		l.mu.Lock()
		r.release()
		if l.closed || r.closed {
			l.mu.Unlock()
			return Record{}, ErrClosed
		}
		s := l.segment(r.pos.Segment)
		if s == nil {
			// The segment was deleted under us by a size or age limit
			// (the drop was counted then), or never existed.
			next := l.segmentAfter(r.pos.Segment)
			if next == nil {
				next = l.activeSegment()
			}
			r.gap = true
			r.pos = Pos{Segment: next.seq, Offset: segmentHeaderSize}
			s = next
		}
		if s.damaged {
			r.skipTo(l, s.seq)
			l.mu.Unlock()
			continue
		}
		limit, sealed, notify := s.size.Load(), s.sealed, l.notify
		committed := r.c.committed.pos
		kept, inMemory := l.recent.at(r.pos)
		if inMemory {
			kept.buf.holders++
			r.held = kept.buf
		}
		l.mu.Unlock()

		if inMemory {
			return r.fromMemory(kept, committed), nil
		}
		if err := r.openSegment(s); err != nil {
			return Record{}, err
		}
		start := r.pos
		frame, h, err := r.sc.next(limit)
		switch {
		case err == nil:
			r.pos.Offset = r.sc.off
			if h.kind == KindTrailer {
				continue
			}
			rec := Record{
				Kind: h.kind, Count: h.count, Time: h.time,
				Pos: start, End: r.pos, Gap: r.gap,
				Replay: !committed.Less(r.pos),
			}
			r.gap = false
			if rec.Data, err = r.decode(frame, h); err != nil {
				r.l.noteCorrupt(start)
				r.gap = true
				continue
			}
			return rec, nil
		case errors.Is(err, io.EOF):
			if sealed {
				l.mu.Lock()
				r.skipTo(l, s.seq)
				l.mu.Unlock()
				continue
			}
			select {
			case <-notify:
			case <-ctx.Done():
				return Record{}, ctx.Err()
			case <-l.done:
				return Record{}, ErrClosed
			}
		case errors.Is(err, errBadFrame), errors.Is(err, errShortFrame):
			r.l.noteCorrupt(start)
			r.gap = true
			p, rerr := r.sc.resync(limit)
			switch {
			case rerr == nil:
				r.pos.Offset = p
			case errors.Is(rerr, io.EOF):
				// Nothing valid follows in this segment's readable part.
				r.pos.Offset = limit
				r.sc.off = limit
			default:
				return Record{}, fmt.Errorf("read segment %d: %w", s.seq, rerr)
			}
		default:
			return Record{}, fmt.Errorf("read segment %d: %w", s.seq, err)
		}
	}
}

// fromMemory returns a record the log kept in memory (Entry.ReadSoon) and
// moves the reader past its frame, as if it had read it from the file.
func (r *Reader) fromMemory(kept recentRecord, committed Pos) Record {
	start := r.pos
	r.pos.Offset = kept.end
	if r.sc != nil && r.fseq == start.Segment {
		r.sc.off = kept.end
	}
	rec := Record{
		Kind: kept.kind, Count: kept.count, Time: kept.time,
		Data: kept.buf.data[:len(kept.buf.data):len(kept.buf.data)], // shared: no room to append into
		Pos:  start, End: r.pos, Gap: r.gap,
		Replay: !committed.Less(r.pos),
	}
	r.gap = false
	r.l.m.readFromMemory.Inc()
	return rec
}

// release ends the reader's hold on the buffer of the record it returned
// last. Callers hold l.mu.
func (r *Reader) release() {
	if r.held != nil {
		r.l.recent.release(r.held)
		r.held = nil
	}
}

// skipTo moves the reader to the start of the segment after seq. Callers
// hold l.mu.
func (r *Reader) skipTo(l *Log, seq uint64) {
	next := l.segmentAfter(seq)
	if next == nil {
		return
	}
	r.pos = Pos{Segment: next.seq, Offset: segmentHeaderSize}
}

func (r *Reader) openSegment(s *segment) error {
	if r.f != nil && r.fseq == s.seq {
		return nil
	}
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	f, err := r.l.fs.OpenFile(s.path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("open segment %d for reading: %w", s.seq, err)
	}
	r.f, r.fseq = f, s.seq
	r.sc = newScanner(f, r.pos.Offset)
	return nil
}

func (r *Reader) decode(frame []byte, h frameHeader) ([]byte, error) {
	p := frame[frameHeaderSize:]
	var (
		out []byte
		err error
	)
	switch h.flags & (flagZstd | flagS2) {
	case 0:
		return p, nil
	case flagZstd:
		out, err = r.l.zdec.DecodeAll(p, r.payload[:0])
	case flagS2:
		out, err = decodeS2(p, r.payload)
	default:
		err = errors.New("payload flagged as both zstd and s2")
	}
	if err != nil {
		return nil, err
	}
	r.payload = out
	return out, nil
}

// Commit records that everything before pos has been delivered. Positions
// only move forward; an older position is ignored. The position reaches
// disk within Options.CursorSyncInterval. time is the append time of the
// record that ends at pos.
func (r *Reader) Commit(pos Pos, time int64) {
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.c.committed.pos.Less(pos) {
		r.c.committed.pos = pos
		r.c.committed.time = time
	}
}

// Committed returns the cursor's committed position.
func (r *Reader) Committed() Pos {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	return r.c.committed.pos
}

// Close releases the reader and writes its committed position to disk.
// The cursor stays in the log, holding its data, until RemoveCursor.
func (r *Reader) Close() error {
	l := r.l
	l.mu.Lock()
	if r.closed {
		l.mu.Unlock()
		return nil
	}
	r.closed = true
	r.c.open = false
	r.release()
	l.mu.Unlock()
	if r.f != nil {
		r.f.Close()
	}
	l.persistCursors()
	return nil
}

// noteCorrupt counts a bad frame once, however many readers meet it.
func (l *Log) noteCorrupt(p Pos) {
	l.mu.Lock()
	_, seen := l.corrupt[p]
	if !seen {
		l.corrupt[p] = struct{}{}
	}
	l.mu.Unlock()
	if !seen {
		l.m.corrupt.Inc()
		l.log.Warn("Skipping corrupt log record", "segment", p.Segment, "offset", p.Offset)
	}
}

// decodeS2 decodes an s2 block into buf's memory, refusing one that claims
// more than MaxRecordSize bytes before allocating for it.
func decodeS2(p, buf []byte) ([]byte, error) {
	n, err := s2.DecodedLen(p)
	if err != nil {
		return nil, err
	}
	if n > MaxRecordSize {
		return nil, fmt.Errorf("s2 payload claims %d bytes, more than the %d byte limit", n, MaxRecordSize)
	}
	return s2.Decode(slices.Grow(buf[:0], n)[:n], p)
}
