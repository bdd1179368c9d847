package wal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// closedLog writes n records to a new log in dir, with a cursor "a" that
// delivered none of them so that every segment is kept, closes it, and
// returns the sequence number of its newest segment.
func closedLog(t *testing.T, dir string, opts Options, n int) (newest uint64) {
	t.Helper()
	l := openLog(t, dir, opts)
	r, err := l.OpenCursor("a")
	require.NoError(t, err)
	appendN(t, l, 0, n)
	require.NoError(t, r.Close())
	require.NoError(t, l.Close())
	return l.segs[len(l.segs)-1].seq
}

// TestSegmentTornAtCreationIsRemovedNotCountedAsCorrupt covers a kill
// between creating a segment file and completing its header: the file holds
// no record, so Open removes it and counts its bytes as a torn tail. Counted
// as a damaged segment instead, it would raise the corruption counter on
// every start.
func TestSegmentTornAtCreationIsRemovedNotCountedAsCorrupt(t *testing.T) {
	for _, torn := range [][]byte{{}, segmentHeader(9, 0)[:10], make([]byte, segmentHeaderSize)} {
		t.Run(fmt.Sprint("bytes=", len(torn)), func(t *testing.T) {
			dir := t.TempDir()
			opts := testOptions()
			next := closedLog(t, dir, opts, 20) + 1
			tornPath := filepath.Join(dir, "segments", segmentName(next))
			require.NoError(t, os.WriteFile(tornPath, torn, 0o644))

			reg := prometheus.NewRegistry()
			opts.Registerer = reg
			l2 := openLog(t, dir, opts)
			defer l2.Close()
			require.Zero(t, testutil.ToFloat64(l2.m.corrupt))
			require.Equal(t, float64(len(torn)), testutil.ToFloat64(l2.m.truncated))
			require.Equal(t, next, l2.ActiveSegment(), "the torn file's number is reused")
			r, err := l2.OpenCursor("a")
			require.NoError(t, err)
			appendN(t, l2, 100, 3)
			got, gaps := readAll(t, r, true)
			require.Equal(t, append(seq(0, 20), seq(100, 3)...), got)
			require.Zero(t, gaps)
		})
	}
}

// TestShortSegmentInTheMiddleStaysDamaged checks the removal above is only
// for the newest segment: an older one that lost its header is damage, kept
// and counted.
func TestShortSegmentInTheMiddleStaysDamaged(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	require.Greater(t, closedLog(t, dir, opts, 100), uint64(3))
	path := filepath.Join(dir, "segments", segmentName(2))
	require.NoError(t, os.Truncate(path, 7))

	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	l2 := openLog(t, dir, opts)
	defer l2.Close()
	require.Equal(t, 1.0, testutil.ToFloat64(l2.m.corrupt))
	_, err := os.Stat(path)
	require.NoError(t, err, "a damaged segment is kept for inspection")
}

// TestCrashBeforeCursorPersistResendsButNeverLoses covers a kill between a
// destination's acknowledgement and the next cursor persistence: after the
// restart the destination gets the acknowledged records again (at least
// once), and everything after them; nothing is skipped.
func TestCrashBeforeCursorPersistResendsButNeverLoses(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	// Nothing wakes the maintenance loop, which persists cursors: no
	// interval elapses and no segment is closed.
	opts.CursorSyncInterval, opts.FsyncInterval, opts.SegmentSize = time.Hour, time.Hour, 1<<20
	l := openLog(t, dir, opts)
	r, err := l.OpenCursor("a")
	require.NoError(t, err)
	appendN(t, l, 0, 50)
	got, _ := readAll(t, r, true) // acknowledged, committed in memory only
	require.Equal(t, seq(0, 50), got)
	appendN(t, l, 50, 30)
	crashed := crashCopy(t, dir)
	l.Close()

	l2 := openLog(t, crashed, testOptions())
	defer l2.Close()
	r2, err := l2.OpenCursor("a")
	require.NoError(t, err)
	got, _ = readAll(t, r2, true)
	require.Equal(t, seq(0, 80), got, "the unpersisted acknowledgements are sent again, then the rest")
}

// TestReopeningACleanlyClosedLogRewritesNothing checks that Open leaves a
// segment sealed by Close as it is: writing a second trailer into it would
// grow it on every restart and make a later cut of its tail find the
// older trailer instead of scanning.
func TestReopeningACleanlyClosedLogRewritesNothing(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	closedLog(t, dir, opts, 50)
	before := map[string][]byte{}
	entries, err := os.ReadDir(filepath.Join(dir, "segments"))
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "segments", e.Name()))
		require.NoError(t, err)
		before[e.Name()] = b
	}

	l2 := openLog(t, dir, opts)
	require.NoError(t, l2.Close())
	for name, b := range before {
		after, err := os.ReadFile(filepath.Join(dir, "segments", name))
		require.NoError(t, err)
		require.Equal(t, b, after, "segment %s was rewritten", name)
	}
}

// TestCursorFileWithNoValidSlotRestartsAtTheOldestData: when both slots of a
// cursor file are unreadable, the destination is sent everything the log
// still holds again rather than skipping anything.
func TestCursorFileWithNoValidSlotRestartsAtTheOldestData(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testOptions())
	r, err := l.OpenCursor("a")
	require.NoError(t, err)
	appendN(t, l, 0, 30)
	for i := 0; i < 10; i++ {
		rec, err := r.Next(context.Background())
		require.NoError(t, err)
		r.Commit(rec.End, rec.Time)
	}
	require.NoError(t, r.Close())
	require.NoError(t, l.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cursors", "a.cursor"), make([]byte, 2*cursorSlotSize), 0o644))

	l2 := openLog(t, dir, testOptions())
	defer l2.Close()
	r, err = l2.OpenCursor("a")
	require.NoError(t, err)
	got, _ := readAll(t, r, true)
	require.Equal(t, seq(0, 30), got)
}
