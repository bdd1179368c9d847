package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// cursor is the log's record of one named reader's progress.
type cursor struct {
	name      string
	file      *cursorFile
	committed cursorState // in memory; guarded by Log.mu
	persisted cursorState // on disk; guarded by Log.mu
	open      bool        // a Reader holds the cursor
}

// loadCursors reads every cursor file and moves positions that point at
// data that no longer exists (a deleted or cut segment) to the next data
// that does. Nothing is lost by the move: a cursor only points past data its
// destination acknowledged.
func (l *Log) loadCursors() error {
	entries, err := l.fs.ReadDir(l.curDir)
	if err != nil {
		return fmt.Errorf("list cursors: %w", err)
	}
	for _, e := range entries {
		name, ok := parseCursorFileName(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		path := filepath.Join(l.curDir, e.Name())
		st, err := readCursorFile(l.fs, path)
		if err != nil {
			// A cursor file with no valid slot was torn while being
			// created: its destination never committed anything.
			// Restart it at the oldest data so nothing is skipped.
			l.log.Warn("Cursor file unreadable; restarting the cursor at the oldest data", "cursor", name, "err", err)
			st = cursorState{}
		}
		f, err := openCursorFile(l.fs, l.curDir, name, st.gen)
		if err != nil {
			return err
		}
		st.pos = l.normalize(st.pos)
		l.cursors[name] = &cursor{name: name, file: f, committed: st, persisted: st}
	}
	return nil
}

// normalize returns pos, or the first existing position at or after it.
// Callers hold l.mu or run before the log is shared.
func (l *Log) normalize(pos Pos) Pos {
	if s := l.segment(pos.Segment); s != nil {
		if pos.Offset < segmentHeaderSize {
			pos.Offset = segmentHeaderSize
		}
		if size := s.size.Load(); pos.Offset > size {
			pos.Offset = size
		}
		return pos
	}
	if s := l.segmentAfter(pos.Segment); s != nil {
		return Pos{Segment: s.seq, Offset: segmentHeaderSize}
	}
	// Past every segment: the next segment to be created.
	return Pos{Segment: pos.Segment, Offset: segmentHeaderSize}
}

// OpenCursor returns a Reader for the named cursor. A cursor that does not
// exist yet is created at the end of the log: a new destination receives
// data appended from now on. One Reader at a time may hold a cursor.
func (l *Log) OpenCursor(name string) (*Reader, error) {
	if name == "" {
		return nil, errors.New("open cursor: empty name")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	c, ok := l.cursors[name]
	if !ok {
		f, err := openCursorFile(l.fs, l.curDir, name, 0)
		if err != nil {
			return nil, err
		}
		s := l.activeSegment()
		st := cursorState{pos: Pos{Segment: s.seq, Offset: s.size.Load()}, time: s.lastTime}
		if err := f.write(st); err != nil {
			f.close()
			return nil, fmt.Errorf("create cursor %q: %w", name, err)
		}
		if err := l.fs.SyncDir(l.curDir); err != nil {
			f.close()
			return nil, fmt.Errorf("create cursor %q: %w", name, err)
		}
		st.gen = f.gen
		c = &cursor{name: name, file: f, committed: st, persisted: st}
		l.cursors[name] = c
	}
	if c.open {
		return nil, fmt.Errorf("cursor %q is already open", name)
	}
	c.open = true
	// Start at the beginning of the committed segment: records before the
	// committed position come back marked Replay, so a stateful decoder
	// can rebuild what it needs.
	start := Pos{Segment: c.committed.pos.Segment, Offset: segmentHeaderSize}
	return &Reader{l: l, c: c, pos: start}, nil
}

// RemoveCursor deletes a cursor so that its position no longer holds data in
// the log. It fails if a Reader holds the cursor.
func (l *Log) RemoveCursor(name string) error {
	l.persistMu.Lock()
	defer l.persistMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.cursors[name]
	if !ok {
		return nil
	}
	if c.open {
		return fmt.Errorf("remove cursor %q: it is open", name)
	}
	delete(l.cursors, name)
	c.file.close()
	if err := l.fs.Remove(filepath.Join(l.curDir, cursorFileName(name))); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove cursor %q: %w", name, err)
	}
	l.m.forgetCursor(name)
	l.wakeMaintenance()
	return nil
}

// CursorNames lists the log's cursors, sorted.
func (l *Log) CursorNames() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := make([]string, 0, len(l.cursors))
	for n := range l.cursors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// persistCursors writes every cursor whose committed position moved.
func (l *Log) persistCursors() {
	l.persistMu.Lock()
	defer l.persistMu.Unlock()
	type job struct {
		c  *cursor
		st cursorState
	}
	l.mu.Lock()
	var jobs []job
	for _, c := range l.cursors {
		if c.committed.pos != c.persisted.pos {
			jobs = append(jobs, job{c, c.committed})
		}
	}
	l.mu.Unlock()
	for _, j := range jobs {
		if err := j.c.file.write(j.st); err != nil {
			l.log.Error("Could not persist cursor position", "cursor", j.c.name, "err", err)
			continue
		}
		l.mu.Lock()
		if j.c.persisted.pos.Less(j.st.pos) {
			j.c.persisted = j.st
		}
		l.mu.Unlock()
	}
}
