package wal

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/ferrymetrics/ferry/wal/vfs"
)

// compressBufs holds buffers for compressed payloads between Append calls.
var compressBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// ErrSegmentChanged is returned by Append when Entry.Segment is set and the
// record would land in another segment. The caller re-encodes the record so
// that it does not depend on earlier records and appends again.
var ErrSegmentChanged = errors.New("active segment changed")

// Entry is a record to append.
type Entry struct {
	// Kind is the codec's record kind, 1..254.
	Kind uint8
	// Count is the number of samples the record carries; the log reports
	// drops in these units.
	Count uint32
	// Data is the payload. Append does not retain it.
	Data []byte
	// Fast trades space for CPU: the payload is compressed with s2 instead
	// of zstd, which appends a received node_exporter-like request in
	// less than half the time for 60% more bytes (BenchmarkAppendReceived;
	// the relay benchmark wrote a third more bytes per sample). It suits
	// records a client waits for and that are read again soon, such as
	// received requests; records the log keeps long compress better
	// without it.
	Fast bool
	// ReadSoon says a reader will want the record right away: the log
	// keeps its uncompressed payload in memory (the last 2 MiB of such
	// records, at most 256 of them; records over 512 KiB are not kept),
	// and a reader that reaches the record while it is kept takes it
	// from there, without reading the file, checking its checksum and
	// decompressing. A relay sets it for received requests, which its
	// senders read back within milliseconds.
	ReadSoon bool
	// Segment, when non-zero, makes Append fail with ErrSegmentChanged
	// instead of writing the record to any other segment. Codecs whose
	// records refer to earlier records of the same segment set it.
	Segment uint64
}

// ActiveSegment returns the sequence number of the segment appends go to now.
// A codec uses it to decide whether its next record must be self-contained.
func (l *Log) ActiveSegment() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.activeSegment().seq
}

// Append writes a record and returns the position just after it: a cursor
// must reach that position for the record to count as delivered. When
// Append returns without error the record is visible to readers; it is on
// stable storage after the next sync (see Sync and Options.FsyncInterval).
//
// A failed write (a full disk, an I/O error) is undone, counted with the
// record's samples as lost, and returned; the log stays usable and later
// appends succeed once the cause is gone.
func (l *Log) Append(e Entry) (Pos, error) {
	if e.Kind == 0 || e.Kind == KindTrailer {
		return Pos{}, fmt.Errorf("append: invalid record kind %d", e.Kind)
	}
	payload, flags, release := l.compress(e.Data, e.Fast)
	defer release()
	if len(payload) > MaxRecordSize {
		l.m.lost(reasonTooLarge, e.Count)
		return Pos{}, fmt.Errorf("append: record of %d bytes exceeds the %d byte limit", len(payload), MaxRecordSize)
	}
	now := l.opts.Now().UnixMilli()

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return Pos{}, ErrClosed
	}
	if l.needRoll(int64(frameHeaderSize+len(payload)), now) {
		if err := l.roll(now); err != nil {
			l.log.Warn("Could not start a new log segment; appending to the current one", "err", err)
		}
	}
	s := l.activeSegment()
	if e.Segment != 0 && e.Segment != s.seq {
		l.mu.Unlock()
		return Pos{}, ErrSegmentChanged
	}
	n := frameHeaderSize + len(payload)
	if cap(l.wbuf) < n {
		l.wbuf = make([]byte, n)
	}
	frame := l.wbuf[:n]
	putFrameHeader(frame, uint32(len(payload)), now, e.Count, e.Kind, flags)
	copy(frame[frameHeaderSize:], payload)
	sealFrame(frame)
	off := s.size.Load()
	if _, err := l.active.WriteAt(frame, off); err != nil {
		l.undoWrite(s, off)
		l.mu.Unlock()
		reason := reasonIOError
		if errors.Is(err, syscall.ENOSPC) {
			reason = reasonDiskFull
		}
		l.m.lost(reason, e.Count)
		return Pos{}, fmt.Errorf("append to segment %d: %w", s.seq, err)
	}
	end := off + int64(n)
	s.size.Store(end)
	s.note(now, e.Count)
	if e.ReadSoon {
		l.recent.add(recentRecord{pos: Pos{Segment: s.seq, Offset: off}, end: end, kind: e.Kind, count: e.Count, time: now}, e.Data)
	}
	close(l.notify)
	l.notify = make(chan struct{})
	l.mu.Unlock()

	l.m.appendedRecords.Inc()
	l.m.appendedSamples.Add(float64(e.Count))
	l.m.appendedBytes.Add(float64(n))
	pos := Pos{Segment: s.seq, Offset: end}
	if l.opts.FsyncInterval == 0 {
		if err := l.Sync(pos); err != nil {
			l.log.Error("Sync after append failed", "err", err)
		}
	}
	return pos, nil
}

// undoWrite removes the partial frame a failed write may have left. If that
// fails too, the segment is closed before the next append so that nothing is
// ever written after garbage. Callers hold l.mu.
func (l *Log) undoWrite(s *segment, off int64) {
	if err := l.active.Truncate(off); err != nil {
		l.activeBroken = true
		l.log.Error("Could not undo a failed log write; the segment will be closed", "segment", s.seq, "err", err)
	}
}

// needRoll reports whether the next frame must go to a new segment. Callers
// hold l.mu.
func (l *Log) needRoll(frameSize int64, now int64) bool {
	s := l.activeSegment()
	if l.activeBroken {
		return true
	}
	if s.records == 0 {
		return false
	}
	if s.size.Load()+frameSize+trailerSize > l.opts.SegmentSize {
		return true
	}
	return time.Duration(now-s.firstTime)*time.Millisecond >= l.opts.SegmentMaxAge
}

// roll seals the active segment and starts the next one. If the new segment
// cannot be created the active one stays in use. Nothing here waits for the
// disk: the closed segment's file is synced by the next Sync, which also
// makes the new segment's directory entry durable. Callers hold l.mu.
func (l *Log) roll(now int64) error {
	old := l.activeSegment()
	f, s, err := createSegment(l.fs, l.segDir, old.seq+1, now, false)
	if err != nil {
		return err
	}
	if !l.activeBroken {
		if err := l.writeTrailer(l.active, old); err != nil {
			l.log.Warn("Could not seal log segment; it will be scanned on the next start", "segment", old.seq, "err", err)
		}
	}
	l.rolled = append(l.rolled, rolledSegment{seq: old.seq, f: l.active})
	l.dirDirty = true
	old.sealed = true
	l.segs = append(l.segs, s)
	l.active = f
	l.activeBroken = false
	close(l.notify)
	l.notify = make(chan struct{})
	l.wakeMaintenance()
	return nil
}

// rolledSegment is a closed segment whose file waits for its final sync.
type rolledSegment struct {
	seq uint64
	f   vfs.File
}

// Sync returns once everything up to pos is on stable storage. Concurrent
// callers share one fsync: whoever syncs covers all data written so far
// (group commit). Appends and readers never wait for a sync in progress.
func (l *Log) Sync(pos Pos) error {
	if pos.Segment <= l.rolledSynced.Load() {
		return nil
	}
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if !l.synced.Less(pos) || pos.Segment <= l.rolledSynced.Load() {
		return nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	rolled, dirDirty := l.rolled, l.dirDirty
	l.rolled, l.dirDirty = nil, false
	f, s := l.active, l.activeSegment()
	target := Pos{Segment: s.seq, Offset: s.size.Load()}
	l.mu.Unlock()

	if err := l.syncRolled(rolled, dirDirty); err != nil {
		return err
	}
	// f may be closed as a segment meanwhile; it is then in l.rolled and
	// stays open until a later sync has synced it again.
	if err := l.timedSync(f); err != nil {
		return fmt.Errorf("sync segment %d: %w", target.Segment, err)
	}
	l.synced = target
	return nil
}

// syncRolled syncs closed segments in order, then the segment directory,
// and closes the synced files. What could not be synced is put back for the
// next Sync. Callers hold l.syncMu.
func (l *Log) syncRolled(rolled []rolledSegment, dirDirty bool) error {
	for i, r := range rolled {
		if err := l.timedSync(r.f); err != nil {
			l.mu.Lock()
			l.rolled = append(append([]rolledSegment(nil), rolled[i:]...), l.rolled...)
			l.dirDirty = l.dirDirty || dirDirty
			l.mu.Unlock()
			return fmt.Errorf("sync segment %d: %w", r.seq, err)
		}
		r.f.Close()
	}
	if dirDirty {
		start := time.Now()
		err := l.fs.SyncDir(l.segDir)
		l.m.fsyncDuration.Observe(time.Since(start).Seconds())
		if err != nil {
			l.m.fsyncFailures.Inc()
			l.mu.Lock()
			l.dirDirty = true
			l.mu.Unlock()
			return fmt.Errorf("sync segment directory: %w", err)
		}
	}
	if n := len(rolled); n > 0 {
		l.rolledSynced.Store(rolled[n-1].seq)
	}
	return nil
}

// timedSync syncs f, observing the fsync's duration and counting failures.
func (l *Log) timedSync(f vfs.File) error {
	start := time.Now()
	err := f.Sync()
	l.m.fsyncDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		l.m.fsyncFailures.Inc()
	}
	return err
}

// compress returns the payload to store, its flags, and a function that
// releases the buffer.
func (l *Log) compress(data []byte, fast bool) ([]byte, uint8, func()) {
	if l.opts.DisableCompression || len(data) < 128 {
		return data, 0, func() {}
	}
	bp := compressBufs.Get().(*[]byte)
	var out []byte
	flag := uint8(flagZstd)
	if fast {
		n := s2.MaxEncodedLen(len(data))
		if n < 0 { // beyond what s2 encodes; Append refuses it anyway
			compressBufs.Put(bp)
			return data, 0, func() {}
		}
		out = slices.Grow((*bp)[:0], n)
		out, flag = s2.Encode(out[:cap(out)], data), flagS2
	} else {
		out = l.zenc.EncodeAll(data, (*bp)[:0])
	}
	*bp = out
	if len(out) >= len(data) {
		compressBufs.Put(bp)
		return data, 0, func() {}
	}
	return out, flag, func() { compressBufs.Put(bp) }
}
