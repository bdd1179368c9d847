package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/ferrymetrics/ferry/wal/vfs"
)

// Report is what Inspect found in a log directory.
type Report struct {
	Dir      string          `json:"dir"`
	Segments []SegmentReport `json:"segments"`
	Cursors  []CursorReport  `json:"cursors"`
	// Totals over every segment file.
	Bytes   int64  `json:"size_bytes"`
	Records uint64 `json:"records"`
	Samples uint64 `json:"samples"`
	// OldestTime and NewestTime are the append times of the oldest and
	// newest valid record, Unix milliseconds; 0 when there is none.
	OldestTime int64 `json:"oldest_append_ms"`
	NewestTime int64 `json:"newest_append_ms"`
	// Damaged counts segments with an unreadable header, corrupt regions
	// or an unreadable tail.
	Damaged int `json:"damaged_segments"`
}

// SegmentReport describes one segment file.
type SegmentReport struct {
	Seq  uint64 `json:"seq"`
	File string `json:"file"`
	Size int64  `json:"size_bytes"`
	// Version is the format version in the header; 0 when unreadable.
	Version uint16 `json:"format_version"`
	// Created is the creation time in the header, Unix milliseconds.
	Created int64 `json:"created_ms"`
	// Records and Samples count the valid records (the trailer excluded)
	// and the samples they carry.
	Records uint64 `json:"records"`
	Samples uint64 `json:"samples"`
	// FirstTime and LastTime are append times, Unix milliseconds; 0 when
	// the segment holds no valid record.
	FirstTime int64 `json:"first_append_ms"`
	LastTime  int64 `json:"last_append_ms"`
	// Sealed is set when the segment ends with a valid seal trailer: it was
	// closed in good order.
	Sealed bool `json:"sealed"`
	// Damaged says why the header is unreadable. Such a segment is skipped
	// whole by ferry; nothing else is reported for it.
	Damaged string `json:"damaged,omitempty"`
	// Corrupt lists invalid bytes that readers skip: bad frames followed by
	// a valid one, and the unreadable tail of any segment but the newest.
	Corrupt []Region `json:"corrupt,omitempty"`
	// TornTail is the newest segment's bytes after its last valid frame:
	// a write cut short by a crash, which the next Open cuts off. At offset
	// 0 it is a segment whose creation a crash interrupted before its
	// header was complete; Open removes that file.
	TornTail *Region `json:"torn_tail,omitempty"`
}

// CursorReport describes one cursor file and how far behind it is.
type CursorReport struct {
	Name string `json:"name"`
	File string `json:"file"`
	// Position is the committed position: everything before it has been
	// delivered.
	Position      Pos    `json:"position"`
	Generation    uint64 `json:"generation"`
	CommittedTime int64  `json:"committed_append_ms"`
	// Note says how ferry will treat a position that does not point at
	// data, or a cursor file it cannot read.
	Note string `json:"note,omitempty"`
	// The lag is counted exactly from the position on, over valid records.
	LagBytes   int64   `json:"lag_bytes"`
	LagRecords uint64  `json:"lag_records"`
	LagSamples uint64  `json:"lag_samples"`
	LagSeconds float64 `json:"lag_seconds"`
}

// Inspect reads the log in dir without modifying anything: every file is
// opened read-only and nothing is created, truncated or removed, so it is
// safe on a damaged log, on a copy kept for analysis, and on a log a running
// ferry is writing. Unlike Open it verifies every frame of every segment,
// sealed ones included. It fails only when dir is not a log.
func Inspect(dir string, fs vfs.FS) (Report, error) {
	if fs == nil {
		fs = vfs.OS
	}
	rep := Report{Dir: dir}
	segDir, curDir := filepath.Join(dir, "segments"), filepath.Join(dir, "cursors")
	entries, err := fs.ReadDir(segDir)
	if err != nil {
		return rep, fmt.Errorf("%s is not a ferry log: %w", dir, err)
	}
	var seqs []uint64
	for _, e := range entries {
		if seq, ok := parseSegmentName(e.Name()); ok && !e.IsDir() {
			seqs = append(seqs, seq)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })

	cursors, err := inspectCursorFiles(fs, curDir)
	if err != nil {
		return rep, err
	}
	for i, seq := range seqs {
		sr, err := inspectSegment(fs, filepath.Join(segDir, segmentName(seq)), seq, i == len(seqs)-1, cursors)
		if err != nil {
			return rep, err
		}
		rep.Segments = append(rep.Segments, sr)
		rep.Bytes += sr.Size
		rep.Records += sr.Records
		rep.Samples += sr.Samples
		widenSpan(&rep.OldestTime, &rep.NewestTime, sr.Records, sr.FirstTime, sr.LastTime)
		if sr.Damaged != "" || len(sr.Corrupt) > 0 {
			rep.Damaged++
		}
	}
	for _, c := range cursors {
		c.note(rep.Segments)
		if c.LagRecords > 0 && rep.NewestTime > c.CommittedTime && c.CommittedTime > 0 {
			c.LagSeconds = float64(rep.NewestTime-c.CommittedTime) / 1000
		}
		rep.Cursors = append(rep.Cursors, c.CursorReport)
	}
	return rep, nil
}

// inspectedCursor accumulates a cursor's lag while segments are scanned.
type inspectedCursor struct {
	CursorReport
	// from is where its undelivered data starts: the position, or the
	// oldest data when the file has no valid slot.
	from Pos
}

// inspectCursorFiles reads every cursor file, sorted by name.
func inspectCursorFiles(fs vfs.FS, curDir string) ([]*inspectedCursor, error) {
	entries, err := fs.ReadDir(curDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // a log that never had a cursor
	}
	if err != nil {
		return nil, fmt.Errorf("list cursors: %w", err)
	}
	var out []*inspectedCursor
	for _, e := range entries {
		name, ok := parseCursorFileName(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		c := &inspectedCursor{CursorReport: CursorReport{Name: name, File: e.Name()}}
		st, err := readCursorFile(fs, filepath.Join(curDir, e.Name()))
		if err != nil {
			c.Note = fmt.Sprintf("unreadable (%v): ferry restarts this cursor at the oldest data", err)
		} else {
			c.Position, c.Generation, c.CommittedTime = st.pos, st.gen, st.time
			c.from = st.pos
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// note explains a position that is not inside a readable segment, as Open
// would resolve it.
func (c *inspectedCursor) note(segs []SegmentReport) {
	if c.Note != "" || c.Position == (Pos{}) {
		return
	}
	for _, s := range segs {
		if s.Seq == c.Position.Segment {
			if s.Damaged != "" {
				c.Note = fmt.Sprintf("segment %d is damaged: resumes at the next segment", s.Seq)
			} else if c.Position.Offset > s.Size {
				c.Note = fmt.Sprintf("offset is past the end of segment %d (%d bytes): resumes at its end", s.Seq, s.Size)
			}
			return
		}
		if s.Seq > c.Position.Segment {
			c.Note = fmt.Sprintf("segment %d no longer exists: resumes at segment %d", c.Position.Segment, s.Seq)
			return
		}
	}
	c.Note = fmt.Sprintf("segment %d no longer exists: resumes with the next segment written", c.Position.Segment)
}

// inspectSegment reads one segment file and adds what follows each
// cursor's position to its lag.
func inspectSegment(fs vfs.FS, path string, seq uint64, newest bool, cursors []*inspectedCursor) (SegmentReport, error) {
	sr := SegmentReport{Seq: seq, File: filepath.Base(path)}
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return sr, fmt.Errorf("open segment %d: %w", seq, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return sr, fmt.Errorf("stat segment %d: %w", seq, err)
	}
	sr.Size = st.Size()
	hdr := make([]byte, segmentHeaderSize)
	n, _ := f.ReadAt(hdr, 0)
	if err := checkSegmentHeader(hdr[:n], seq); err != nil {
		if newest && sr.Size <= segmentHeaderSize && !errors.Is(err, ErrNewerFormat) {
			// A crash interrupted the file's creation; Open removes it
			// (see dropTornCreation).
			sr.TornTail = &Region{Offset: 0, Length: sr.Size}
			return sr, nil
		}
		sr.Damaged = "header: " + err.Error()
		if n == segmentHeaderSize && string(hdr[:4]) == segmentMagic {
			sr.Version = binary.LittleEndian.Uint16(hdr[4:])
		}
		return sr, nil
	}
	sr.Version = binary.LittleEndian.Uint16(hdr[4:])
	sr.Created = int64(binary.LittleEndian.Uint64(hdr[16:]))
	_, sr.Sealed = readTrailer(f, sr.Size)

	for _, c := range cursors {
		switch {
		case c.from.Segment < seq:
			c.LagBytes += sr.Size - segmentHeaderSize
		case c.from.Segment == seq:
			c.LagBytes += max(sr.Size-max(c.from.Offset, segmentHeaderSize), 0)
		}
	}
	scan, err := scanFrames(f, sr.Size, func(off int64, h frameHeader) {
		for _, c := range cursors {
			if c.from.Segment < seq || c.from.Segment == seq && off >= c.from.Offset {
				c.LagRecords++
				c.LagSamples += uint64(h.count)
			}
		}
	})
	if err != nil {
		return sr, fmt.Errorf("scan segment %d: %w", seq, err)
	}
	sr.Records, sr.Samples, sr.FirstTime, sr.LastTime = scan.records, scan.count, scan.firstTime, scan.lastTime
	sr.Corrupt = scan.corrupt
	if tail := (Region{Offset: scan.end, Length: sr.Size - scan.end}); tail.Length > 0 {
		if newest {
			sr.TornTail = &tail
		} else {
			sr.Corrupt = append(sr.Corrupt, tail)
		}
	}
	return sr, nil
}
