package wal

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/wal/vfs"
)

// readOnlyFS fails every call that could change the file system, so a test
// proves Inspect never tries.
type readOnlyFS struct{ vfs.FS }

var errWriteAttempt = errors.New("read-only file system: write attempted")

func (r readOnlyFS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return nil, errWriteAttempt
	}
	return r.FS.OpenFile(name, flag, perm)
}
func (readOnlyFS) Remove(string) error                { return errWriteAttempt }
func (readOnlyFS) Rename(string, string) error        { return errWriteAttempt }
func (readOnlyFS) MkdirAll(string, os.FileMode) error { return errWriteAttempt }
func (readOnlyFS) SyncDir(string) error               { return errWriteAttempt }

// snapshot maps every file below dir to its bytes.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel+"/"] = nil
			return nil
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out[rel] = b
		return nil
	}))
	return out
}

func TestInspectCountsSegmentsRecordsAndExactCursorLag(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	l := openLog(t, dir, opts)
	done, err := l.OpenCursor("done")
	require.NoError(t, err)
	half, err := l.OpenCursor("half")
	require.NoError(t, err)
	appendN(t, l, 0, 200)
	readAll(t, done, true)
	var wantLagSamples uint64
	for i := 0; i < 200; i++ {
		rec, err := half.Next(context.Background())
		require.NoError(t, err)
		if i < 77 {
			half.Commit(rec.End, rec.Time)
		} else {
			wantLagSamples += uint64(rec.Count)
		}
	}
	require.NoError(t, l.Close())
	st := l.Stats()

	rep, err := Inspect(dir, readOnlyFS{vfs.OS})
	require.NoError(t, err)
	require.Equal(t, st.Segments, len(rep.Segments))
	require.Equal(t, st.Records, rep.Records)
	require.Equal(t, st.Samples, rep.Samples)
	require.Equal(t, st.Bytes, rep.Bytes)
	require.Zero(t, rep.Damaged)
	for _, s := range rep.Segments {
		require.True(t, s.Sealed, "segment %d was closed in good order", s.Seq)
		require.Equal(t, uint16(FormatVersion), s.Version)
		require.Nil(t, s.TornTail)
		require.Empty(t, s.Corrupt)
	}
	require.Len(t, rep.Cursors, 2)
	d, h := rep.Cursors[0], rep.Cursors[1]
	require.Equal(t, "done", d.Name)
	require.Zero(t, d.LagRecords)
	require.Zero(t, d.LagSamples)
	require.Equal(t, "half", h.Name)
	require.Equal(t, uint64(200-77), h.LagRecords, "lag is exact, not estimated")
	require.Equal(t, wantLagSamples, h.LagSamples)
	require.Positive(t, h.LagBytes)
	require.Empty(t, h.Note)
}

func TestInspectReportsDamageAndModifiesNothing(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.DisableCompression = true
	l := openLog(t, dir, opts)
	_, err := l.OpenCursor("stuck")
	require.NoError(t, err)
	appendN(t, l, 0, 200)
	crashed := crashCopy(t, dir) // as after kill -9: the newest segment is not sealed
	require.NoError(t, l.Close())

	segs, err := os.ReadDir(filepath.Join(crashed, "segments"))
	require.NoError(t, err)
	require.Greater(t, len(segs), 5)
	path := func(i int) string { return filepath.Join(crashed, "segments", segs[i].Name()) }
	// A flipped byte inside a record of a sealed segment.
	b, err := os.ReadFile(path(1))
	require.NoError(t, err)
	i := bytes.Index(b, []byte("record-"))
	b[i+30] ^= 0xff
	require.NoError(t, os.WriteFile(path(1), b, 0o644))
	// An overwritten header.
	b, err = os.ReadFile(path(3))
	require.NoError(t, err)
	copy(b, "JUNK")
	require.NoError(t, os.WriteFile(path(3), b, 0o644))
	// The newest segment cut inside its last record.
	last := path(len(segs) - 1)
	st, err := os.Stat(last)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(last, st.Size()-9))
	// A cursor file with both slots destroyed.
	require.NoError(t, os.WriteFile(filepath.Join(crashed, "cursors", "broken.cursor"), make([]byte, 128), 0o644))

	before := snapshot(t, crashed)
	rep, err := Inspect(crashed, readOnlyFS{vfs.OS})
	require.NoError(t, err)
	require.Equal(t, before, snapshot(t, crashed), "inspect changed the log")

	require.Equal(t, 2, rep.Damaged, "a torn tail is what a crash leaves, not damage")
	require.Len(t, rep.Segments[1].Corrupt, 1)
	require.Less(t, rep.Segments[1].Corrupt[0].Offset, int64(i+30))
	require.Contains(t, rep.Segments[3].Damaged, "bad magic")
	newest := rep.Segments[len(rep.Segments)-1]
	require.NotNil(t, newest.TornTail)
	require.False(t, newest.Sealed)
	require.Equal(t, newest.Size, newest.TornTail.Offset+newest.TornTail.Length)
	require.Len(t, rep.Cursors, 2)
	require.Contains(t, rep.Cursors[0].Note, "unreadable")
	require.Equal(t, rep.Records, rep.Cursors[0].LagRecords, "an unreadable cursor restarts at the oldest data")

	// What Inspect counts is what a reader of the log then gets.
	l2 := openLog(t, crashed, opts)
	defer l2.Close()
	r, err := l2.OpenCursor("stuck")
	require.NoError(t, err)
	got, _ := readAll(t, r, false)
	require.Equal(t, rep.Records, uint64(len(got)))
}

// TestInspectReportsAnInterruptedSegmentCreationAsATornTail mirrors what
// Open does with such a file (TestSegmentTornAtCreationIsRemovedNotCountedAsCorrupt):
// it is what a kill leaves, not damage.
func TestInspectReportsAnInterruptedSegmentCreationAsATornTail(t *testing.T) {
	dir := t.TempDir()
	next := closedLog(t, dir, testOptions(), 10) + 1
	require.NoError(t, os.WriteFile(filepath.Join(dir, "segments", segmentName(next)), segmentHeader(next, 0)[:5], 0o644))

	rep, err := Inspect(dir, readOnlyFS{vfs.OS})
	require.NoError(t, err)
	require.Zero(t, rep.Damaged)
	newest := rep.Segments[len(rep.Segments)-1]
	require.Equal(t, next, newest.Seq)
	require.Equal(t, &Region{Offset: 0, Length: 5}, newest.TornTail)
	require.Empty(t, newest.Damaged)
}

func TestInspectRefusesADirectoryThatIsNotALog(t *testing.T) {
	dir := t.TempDir()
	_, err := Inspect(dir, readOnlyFS{vfs.OS})
	require.ErrorContains(t, err, "is not a ferry log")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing was created")
}
