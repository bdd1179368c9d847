package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferrymetrics/ferry/wal/vfs"
)

const (
	cursorMagic    = "FRYC"
	cursorSlotSize = 64
	cursorSuffix   = ".cursor"
)

// Pos is a position in the log: a segment and a byte offset within it.
type Pos struct {
	Segment uint64 `json:"segment"`
	Offset  int64  `json:"offset"`
}

// Less reports whether p comes before q.
func (p Pos) Less(q Pos) bool {
	if p.Segment != q.Segment {
		return p.Segment < q.Segment
	}
	return p.Offset < q.Offset
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Segment, p.Offset) }

// cursorState is what a cursor file stores.
type cursorState struct {
	gen  uint64
	pos  Pos
	time int64 // append time of the last committed record
}

func cursorFileName(name string) string { return url.PathEscape(name) + cursorSuffix }

func parseCursorFileName(file string) (string, bool) {
	if !strings.HasSuffix(file, cursorSuffix) {
		return "", false
	}
	name, err := url.PathUnescape(strings.TrimSuffix(file, cursorSuffix))
	return name, err == nil && name != ""
}

func encodeCursorSlot(st cursorState) []byte {
	b := make([]byte, cursorSlotSize)
	copy(b, cursorMagic)
	binary.LittleEndian.PutUint16(b[4:], FormatVersion)
	binary.LittleEndian.PutUint64(b[8:], st.gen)
	binary.LittleEndian.PutUint64(b[16:], st.pos.Segment)
	binary.LittleEndian.PutUint64(b[24:], uint64(st.pos.Offset))
	binary.LittleEndian.PutUint64(b[32:], uint64(st.time))
	binary.LittleEndian.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
	return b
}

func decodeCursorSlot(b []byte) (cursorState, bool) {
	if len(b) < cursorSlotSize || string(b[:4]) != cursorMagic {
		return cursorState{}, false
	}
	if binary.LittleEndian.Uint32(b[60:]) != crc32.Checksum(b[:60], castagnoli) {
		return cursorState{}, false
	}
	if binary.LittleEndian.Uint16(b[4:]) > FormatVersion {
		return cursorState{}, false
	}
	return cursorState{
		gen:  binary.LittleEndian.Uint64(b[8:]),
		pos:  Pos{Segment: binary.LittleEndian.Uint64(b[16:]), Offset: int64(binary.LittleEndian.Uint64(b[24:]))},
		time: int64(binary.LittleEndian.Uint64(b[32:])),
	}, true
}

var errNoValidSlot = errors.New("no valid slot")

// readCursorFile returns the newest valid state of a cursor file.
func readCursorFile(fs vfs.FS, path string) (cursorState, error) {
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return cursorState{}, err
	}
	defer f.Close()
	b := make([]byte, 2*cursorSlotSize)
	n, _ := f.ReadAt(b, 0)
	b = b[:n]
	var best cursorState
	found := false
	for i := 0; i+cursorSlotSize <= len(b); i += cursorSlotSize {
		if st, ok := decodeCursorSlot(b[i : i+cursorSlotSize]); ok && (!found || st.gen > best.gen) {
			best, found = st, true
		}
	}
	if !found {
		return cursorState{}, errNoValidSlot
	}
	return best, nil
}

// cursorFile writes a cursor's state, alternating between two slots.
type cursorFile struct {
	f   vfs.File
	gen uint64
}

func openCursorFile(fs vfs.FS, dir, name string, gen uint64) (*cursorFile, error) {
	path := filepath.Join(dir, cursorFileName(name))
	f, err := fs.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open cursor %q: %w", name, err)
	}
	return &cursorFile{f: f, gen: gen}, nil
}

// write stores st durably in the slot the previous write did not use.
func (c *cursorFile) write(st cursorState) error {
	c.gen++
	st.gen = c.gen
	off := int64(c.gen%2) * cursorSlotSize
	if _, err := c.f.WriteAt(encodeCursorSlot(st), off); err != nil {
		return err
	}
	return c.f.Sync()
}

func (c *cursorFile) close() error { return c.f.Close() }
