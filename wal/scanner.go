package wal

import (
	"errors"
	"fmt"
	"io"

	"github.com/ferrymetrics/ferry/wal/vfs"
)

const scanWindow = 1 << 20 // bytes read from the file at a time

var (
	// errBadFrame means the bytes at the scan position are not a valid frame.
	errBadFrame = errors.New("bad frame")
	// errShortFrame means a frame header claims more bytes than the
	// readable part of the file holds.
	errShortFrame = errors.New("frame extends past end of data")
)

// scanner reads frames sequentially from one segment file through a
// read-ahead window. Frames are read with ReadAt, so several scanners can
// share a file with a writer.
type scanner struct {
	f      vfs.File
	off    int64 // offset of the next frame
	win    []byte
	winOff int64 // file offset of win[0]
	big    []byte
}

func newScanner(f vfs.File, off int64) *scanner {
	return &scanner{f: f, off: off}
}

// bytesAt returns n bytes at file offset off, which must lie below limit. The
// slice is valid until the next call.
func (s *scanner) bytesAt(off int64, n int, limit int64) ([]byte, error) {
	if off+int64(n) > limit {
		return nil, io.ErrUnexpectedEOF
	}
	if off >= s.winOff && off+int64(n) <= s.winOff+int64(len(s.win)) {
		i := off - s.winOff
		return s.win[i : i+int64(n)], nil
	}
	if n > scanWindow {
		if cap(s.big) < n {
			s.big = make([]byte, n)
		}
		b := s.big[:n]
		if _, err := s.f.ReadAt(b, off); err != nil {
			return nil, fmt.Errorf("read %d bytes at %d: %w", n, off, err)
		}
		return b, nil
	}
	want := int64(scanWindow)
	if limit-off < want {
		want = limit - off
	}
	if cap(s.win) < scanWindow {
		s.win = make([]byte, 0, scanWindow)
	}
	s.win = s.win[:want]
	m, err := s.f.ReadAt(s.win, off)
	if err != nil && !(errors.Is(err, io.EOF) && m >= n) {
		s.win = s.win[:0]
		return nil, fmt.Errorf("read at %d: %w", off, err)
	}
	s.win, s.winOff = s.win[:m], off
	return s.win[:n], nil
}

// next returns the frame at the scan position and advances past it. It
// returns io.EOF when the position equals limit, errShortFrame when a frame
// starts but does not end before limit, and errBadFrame when the bytes at
// the position fail validation; in the last two cases the position is
// unchanged so the caller can resync or truncate.
func (s *scanner) next(limit int64) (frame []byte, h frameHeader, err error) {
	if s.off >= limit {
		return nil, h, io.EOF
	}
	hb, err := s.bytesAt(s.off, frameHeaderSize, limit)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, h, errShortFrame
		}
		return nil, h, err
	}
	h = parseFrameHeader(hb)
	if !h.plausible(hb) {
		return nil, h, errBadFrame
	}
	total := frameHeaderSize + int(h.size)
	frame, err = s.bytesAt(s.off, total, limit)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, h, errShortFrame
		}
		return nil, h, err
	}
	if !frameValid(frame) {
		return nil, h, errBadFrame
	}
	s.off += int64(total)
	return frame, h, nil
}

// resync moves the position to the next offset after the current one where a
// valid frame starts, and returns it. It returns io.EOF, leaving the position
// unchanged, when no valid frame follows before limit.
func (s *scanner) resync(limit int64) (int64, error) {
	for p := s.off + 1; p+frameHeaderSize <= limit; p++ {
		hb, err := s.bytesAt(p, frameHeaderSize, limit)
		if err != nil {
			return 0, err
		}
		h := parseFrameHeader(hb)
		if !h.plausible(hb) || p+frameHeaderSize+int64(h.size) > limit {
			continue
		}
		frame, err := s.bytesAt(p, frameHeaderSize+int(h.size), limit)
		if err != nil {
			return 0, err
		}
		if frameValid(frame) {
			s.off = p
			return p, nil
		}
	}
	return 0, io.EOF
}
