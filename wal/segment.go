package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/ferrymetrics/ferry/wal/vfs"
)

const (
	segmentHeaderSize = 32
	segmentMagic      = "FRYL"
	// FormatVersion is the segment format this ferry writes. Open reads
	// segments of this version and older ones, and refuses newer ones.
	// Version 2 frames may hold s2 payloads (flag bit 1), which a reader
	// of version 1 would take for corrupt records and skip: the version
	// makes it refuse the log instead.
	FormatVersion = 2
	segmentSuffix = ".seg"
)

// ErrNewerFormat is returned by Open for a log written by a newer ferry.
var ErrNewerFormat = errors.New("log was written in a newer format")

// segment is the in-memory state of one segment file.
type segment struct {
	seq  uint64
	path string
	// size is the number of bytes readers may read. For the active
	// segment it grows with every append, always at a frame boundary.
	size atomic.Int64
	// The fields below are guarded by Log.mu.
	records   uint64
	count     uint64
	firstTime int64
	lastTime  int64
	sealed    bool
	// damaged segments have an unreadable header; readers skip them.
	damaged bool
}

func segmentName(seq uint64) string { return fmt.Sprintf("%016x%s", seq, segmentSuffix) }

func parseSegmentName(name string) (uint64, bool) {
	if !strings.HasSuffix(name, segmentSuffix) || len(name) != 16+len(segmentSuffix) {
		return 0, false
	}
	seq, err := strconv.ParseUint(strings.TrimSuffix(name, segmentSuffix), 16, 64)
	return seq, err == nil
}

func segmentHeader(seq uint64, created int64) []byte {
	b := make([]byte, segmentHeaderSize)
	copy(b, segmentMagic)
	binary.LittleEndian.PutUint16(b[4:], FormatVersion)
	binary.LittleEndian.PutUint64(b[8:], seq)
	binary.LittleEndian.PutUint64(b[16:], uint64(created))
	binary.LittleEndian.PutUint32(b[28:], crc32.Checksum(b[:28], castagnoli))
	return b
}

// checkSegmentHeader validates a segment header. A newer format version is
// reported as ErrNewerFormat; any other problem as a plain error.
func checkSegmentHeader(b []byte, seq uint64) error {
	if len(b) < segmentHeaderSize {
		return fmt.Errorf("header truncated to %d bytes", len(b))
	}
	if string(b[:4]) != segmentMagic {
		return fmt.Errorf("bad magic %q", b[:4])
	}
	if binary.LittleEndian.Uint32(b[28:]) != crc32.Checksum(b[:28], castagnoli) {
		return errors.New("header checksum mismatch")
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v > FormatVersion {
		return fmt.Errorf("%w: version %d, this ferry reads up to %d", ErrNewerFormat, v, FormatVersion)
	}
	if got := binary.LittleEndian.Uint64(b[8:]); got != seq {
		return fmt.Errorf("header names segment %d, file name says %d", got, seq)
	}
	return nil
}

// createSegment creates a new segment file with its header written. With
// sync set the file and its directory entry are synced before it returns;
// otherwise the caller syncs them later.
func createSegment(fs vfs.FS, dir string, seq uint64, now int64, sync bool) (vfs.File, *segment, error) {
	path := filepath.Join(dir, segmentName(seq))
	f, err := fs.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("create segment %d: %w", seq, err)
	}
	fail := func(format string, err error) (vfs.File, *segment, error) {
		f.Close()
		fs.Remove(path)
		return nil, nil, fmt.Errorf(format, seq, err)
	}
	if _, err := f.Write(segmentHeader(seq, now)); err != nil {
		return fail("write header of segment %d: %w", err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			return fail("sync segment %d: %w", err)
		}
		if err := fs.SyncDir(dir); err != nil {
			return fail("sync directory of segment %d: %w", err)
		}
	}
	s := &segment{seq: seq, path: path}
	s.size.Store(segmentHeaderSize)
	return f, s, nil
}

// recovery reports what opening one segment found.
type recovery struct {
	truncatedBytes int64 // torn tail cut off
	corruptRegions int   // bad frames skipped in the middle
	damaged        bool  // header unreadable: whole segment skipped
}

// openSegment loads the state of an existing segment. A sealed segment with a
// valid trailer is not scanned. Otherwise the segment is scanned frame by
// frame; when truncateTail is set (the log's last segment), a torn tail is
// cut off the file.
func openSegment(fs vfs.FS, path string, seq uint64, truncateTail bool) (*segment, recovery, error) {
	var rec recovery
	s := &segment{seq: seq, path: path}
	f, err := fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, rec, fmt.Errorf("open segment %d: %w", seq, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, rec, fmt.Errorf("stat segment %d: %w", seq, err)
	}
	size := st.Size()
	hdr := make([]byte, segmentHeaderSize)
	n, _ := f.ReadAt(hdr, 0)
	if err := checkSegmentHeader(hdr[:n], seq); err != nil {
		if errors.Is(err, ErrNewerFormat) {
			return nil, rec, fmt.Errorf("segment %d: %w", seq, err)
		}
		s.damaged, s.sealed, rec.damaged = true, true, true
		s.size.Store(size)
		return s, rec, nil
	}
	if t, ok := readTrailer(f, size); ok {
		s.records, s.count = t.records, t.count
		s.firstTime, s.lastTime = t.firstTime, t.lastTime
		s.sealed = true
		s.size.Store(size)
		return s, rec, nil
	}
	scan, err := scanFrames(f, size, nil)
	if err != nil {
		return nil, rec, fmt.Errorf("scan segment %d: %w", seq, err)
	}
	s.records, s.count, s.firstTime, s.lastTime = scan.records, scan.count, scan.firstTime, scan.lastTime
	rec.corruptRegions = len(scan.corrupt)
	end := scan.end
	if end < size {
		if truncateTail {
			if err := f.Truncate(end); err != nil {
				return nil, rec, fmt.Errorf("cut torn tail of segment %d at %d: %w", seq, end, err)
			}
			if err := f.Sync(); err != nil {
				return nil, rec, fmt.Errorf("sync segment %d after cutting tail: %w", seq, err)
			}
			rec.truncatedBytes = size - end
			size = end
		} else {
			// A sealed segment's bad tail stays on disk for inspection;
			// readers stop at the last good frame.
			rec.corruptRegions++
			size = end
		}
	}
	s.size.Store(size)
	s.sealed = !truncateTail
	return s, rec, nil
}

// readTrailer returns the seal trailer at the end of a segment file of the
// given size, if there is a valid one.
func readTrailer(f vfs.File, size int64) (trailer, bool) {
	if size < segmentHeaderSize+trailerSize {
		return trailer{}, false
	}
	tb := make([]byte, trailerSize)
	if _, err := f.ReadAt(tb, size-trailerSize); err != nil {
		return trailer{}, false
	}
	t, err := parseTrailer(tb, size)
	return t, err == nil
}

// Region is a range of bytes in a segment file.
type Region struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

// segmentScan is what reading all of a segment's frames found.
type segmentScan struct {
	records, count      uint64 // valid records (the trailer excluded) and their counts
	firstTime, lastTime int64
	end                 int64    // end of the last valid frame
	corrupt             []Region // invalid bytes followed by a valid frame
	trailer             bool     // the last valid frame is a seal trailer
}

// scanFrames reads the frames of a segment file of the given size from
// after the header to the end, skipping invalid bytes up to the next valid
// frame. It only reads. fn, when not nil, is called for every valid record
// other than a trailer, with the offset the record starts at.
func scanFrames(f vfs.File, size int64, fn func(off int64, h frameHeader)) (segmentScan, error) {
	sc := newScanner(f, segmentHeaderSize)
	res := segmentScan{end: segmentHeaderSize}
	for {
		off := sc.off
		_, h, err := sc.next(size)
		if err == nil {
			res.trailer = h.kind == KindTrailer
			if !res.trailer {
				if res.records == 0 {
					res.firstTime = h.time
				}
				res.records++
				res.count += uint64(h.count)
				res.lastTime = max(res.lastTime, h.time)
				if fn != nil {
					fn(off, h)
				}
			}
			res.end = sc.off
			continue
		}
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if !errors.Is(err, errBadFrame) && !errors.Is(err, errShortFrame) {
			return res, err
		}
		p, rerr := sc.resync(size)
		if errors.Is(rerr, io.EOF) {
			// Nothing valid follows: the rest is the segment's tail.
			return res, nil
		}
		if rerr != nil {
			return res, rerr
		}
		res.corrupt = append(res.corrupt, Region{Offset: off, Length: p - off})
	}
}

// note accounts for one appended record in the segment's statistics.
func (s *segment) note(time int64, count uint32) {
	if s.records == 0 {
		s.firstTime = time
	}
	s.records++
	s.count += uint64(count)
	if time > s.lastTime {
		s.lastTime = time
	}
}
