package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/wal"
)

// buildLog writes a real log in dir: records in several segments, a cursor
// "central" that delivered the first 40 records and a cursor "backup" that
// delivered nothing. The newest segment is left as a kill -9 leaves it:
// not sealed.
func buildLog(t *testing.T, dir string) {
	t.Helper()
	l, err := wal.Open(dir, wal.Options{
		SegmentSize: 4 << 10, FsyncInterval: time.Millisecond, CursorSyncInterval: time.Millisecond,
		DisableCompression: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	central, err := l.OpenCursor("central")
	require.NoError(t, err)
	_, err = l.OpenCursor("backup")
	require.NoError(t, err)
	for i := 0; i < 100; i++ {
		body := fmt.Sprintf("record-%04d:%s", i, strings.Repeat("x", 200))
		_, err := l.Append(wal.Entry{Kind: 1, Count: 10, Data: []byte(body)})
		require.NoError(t, err)
	}
	for i := 0; i < 40; i++ {
		rec, err := central.Next(context.Background())
		require.NoError(t, err)
		central.Commit(rec.End, rec.Time)
	}
	require.NoError(t, central.Close()) // persists the position
	// Copy the files while the log is open: the newest segment has no
	// trailer, as after a crash.
	copyDir(t, dir, dir+".crashed")
	require.NoError(t, l.Close())
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.Rename(dir+".crashed", dir))
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	}))
}

// fileStates maps every path below dir to its bytes and modification time.
func fileStates(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		info, err := d.Info()
		require.NoError(t, err)
		content := ""
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			content = string(b)
		}
		out[p] = fmt.Sprint(info.ModTime().UnixNano(), info.Mode(), content)
		return nil
	}))
	return out
}

func TestLogInspectPrintsSegmentsCursorsAndLag(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	buildLog(t, dir)

	stdout, stderr, code := ferry(t, "log", "inspect", dir)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "100 records, 1000 samples, 0 damaged segments")
	require.Contains(t, stdout, "SEGMENT")
	require.Contains(t, stdout, "sealed")
	require.Contains(t, stdout, "open (not sealed)", "the newest segment of a crashed log")
	lines := strings.Split(stdout, "\n")
	var central, backup string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "central "):
			central = l
		case strings.HasPrefix(l, "backup "):
			backup = l
		}
	}
	require.Regexp(t, `^central\s+\d+:\d+\s+\S+\s+\d+\s+60\s+600\s`, central, "central lags by exactly 60 records")
	require.Regexp(t, `^backup\s+\d+:\d+\s+\S+\s+\d+\s+100\s+1000\s`, backup)

	stdout, stderr, code = ferry(t, "log", "inspect", "--format=json", dir)
	require.Equal(t, 0, code, stderr)
	var rep wal.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	require.Equal(t, uint64(100), rep.Records)
	require.Greater(t, len(rep.Segments), 2)
	require.Len(t, rep.Cursors, 2)
	require.Equal(t, "backup", rep.Cursors[0].Name)
	require.Equal(t, uint64(100), rep.Cursors[0].LagRecords)
	require.Equal(t, "central", rep.Cursors[1].Name)
	require.Equal(t, uint64(60), rep.Cursors[1].LagRecords)
	require.Equal(t, uint64(600), rep.Cursors[1].LagSamples)
}

func TestLogInspectReportsDamageAndLeavesTheFilesUntouched(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	buildLog(t, dir)
	segs, err := filepath.Glob(filepath.Join(dir, "segments", "*.seg"))
	require.NoError(t, err)
	require.Greater(t, len(segs), 3)
	// Corrupt a record in the middle of the second segment.
	b, err := os.ReadFile(segs[1])
	require.NoError(t, err)
	b[len(b)/2] ^= 0x55
	require.NoError(t, os.WriteFile(segs[1], b, 0o644))
	// Cut the newest segment inside its last record.
	st, err := os.Stat(segs[len(segs)-1])
	require.NoError(t, err)
	require.NoError(t, os.Truncate(segs[len(segs)-1], st.Size()-50))
	before := fileStates(t, dir)

	for _, format := range []string{"table", "json"} {
		stdout, stderr, code := ferry(t, "log", "inspect", "--format="+format, dir)
		require.Equal(t, 0, code, stderr)
		require.Equal(t, before, fileStates(t, dir), "inspect changed the log's files")
		if format == "table" {
			require.Contains(t, stdout, "1 damaged segments")
			require.Contains(t, stdout, "CORRUPT 1 region(s)")
			require.Contains(t, stdout, "torn tail: ")
			continue
		}
		var rep wal.Report
		require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
		require.Equal(t, 1, rep.Damaged)
		require.Len(t, rep.Segments[1].Corrupt, 1)
		require.NotNil(t, rep.Segments[len(rep.Segments)-1].TornTail)
	}
}

func TestLogInspectOfADirectoryThatIsNotALogFailsClearly(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := ferry(t, "log", "inspect", dir)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "is not a ferry log")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}
