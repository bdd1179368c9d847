package wal

import (
	"bytes"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// readSoonBody is record i's payload: big enough that a few hundred of
// them overflow what the log keeps in memory.
func readSoonBody(i int) []byte {
	return append(compressible(i), bytes.Repeat([]byte{byte(i)}, 16<<10)...)
}

// A reader right behind the writer takes ReadSoon records from memory; what
// it gets, positions included, is what the file holds, whether the record
// was kept, dropped from memory, or never kept, across segment rolls and a
// reopen.
func TestReadSoonRecordsReadTheSameFromMemoryAsFromTheFile(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	// testOptions' 4 KiB segments roll every few dozen of these records.
	opts.Registerer = prometheus.NewRegistry()
	l := openLog(t, dir, opts)
	r, err := l.OpenCursor("a")
	require.NoError(t, err)
	_, err = l.OpenCursor("b") // read after a reopen, from the files
	require.NoError(t, err)

	type appended struct {
		data     []byte
		end      Pos
		readSoon bool
	}
	var all []appended
	add := func(i int, readSoon bool) {
		data := readSoonBody(i)
		end, err := l.Append(Entry{Kind: 1 + uint8(i%3), Count: uint32(i), Data: data, Fast: i%2 == 0, ReadSoon: readSoon})
		require.NoError(t, err)
		all = append(all, appended{bytes.Clone(data), end, readSoon})
		clear(data) // the log keeps its own copy
	}
	check := func(rec Record, i int) {
		t.Helper()
		want := all[i]
		require.Equal(t, want.data, rec.Data, "record %d", i)
		require.Equal(t, want.end, rec.End, "record %d", i)
		require.Equal(t, uint8(1+i%3), rec.Kind)
		require.Equal(t, uint32(i), rec.Count)
		if i > 0 && all[i-1].end.Segment == want.end.Segment {
			require.Equal(t, all[i-1].end, rec.Pos, "record %d starts where the one before ends", i)
		}
	}

	// Read as they come: every ReadSoon record from memory.
	n := 0
	for i := range 200 {
		add(i, i%4 != 3)
		check(nextRecord(t, r), i)
		if i%4 != 3 {
			n++
		}
	}
	require.Equal(t, float64(n), testutil.ToFloat64(l.m.readFromMemory))
	require.Greater(t, all[len(all)-1].end.Segment, uint64(2), "the log rolled")

	// Far behind: the first records appended are no longer kept and come
	// from the file, the last ones from memory.
	for i := 200; i < 400; i++ {
		add(i, true)
	}
	for i := 200; i < 400; i++ {
		check(nextRecord(t, r), i)
	}
	fromMemory := testutil.ToFloat64(l.m.readFromMemory) - float64(n)
	require.Greater(t, fromMemory, 50.0)
	require.Less(t, fromMemory, 200.0)
	require.LessOrEqual(t, l.recent.bytes, recentBytes)
	require.NoError(t, l.Close())

	// Reopened: nothing is kept, everything reads from the files alike.
	opts.Registerer = prometheus.NewRegistry()
	l = openLog(t, dir, opts)
	defer l.Close()
	r, err = l.OpenCursor("b")
	require.NoError(t, err)
	for i := range all {
		check(nextRecord(t, r), i)
	}
	require.Zero(t, testutil.ToFloat64(l.m.readFromMemory))
}

// A record a reader holds keeps its content while newer records push it out
// of memory, and once warm, keeping records allocates nothing per record:
// buffers of dropped records that no reader holds serve the next ones.
func TestReadSoonBuffersAreReusedOnlyOnceReleased(t *testing.T) {
	opts := testOptions()
	opts.SegmentSize = 64 << 20
	l := openLog(t, t.TempDir(), opts)
	defer l.Close()
	r, err := l.OpenCursor("a")
	require.NoError(t, err)

	r2, err := l.OpenCursor("b")
	require.NoError(t, err)

	_, err = l.Append(Entry{Kind: 1, Count: 1, Data: readSoonBody(0), ReadSoon: true})
	require.NoError(t, err)
	held := nextRecord(t, r)
	held2 := nextRecord(t, r2)
	require.Equal(t, readSoonBody(0), held.Data)
	require.Same(t, &held.Data[0], &held2.Data[0], "both readers hold the one copy")
	require.Equal(t, len(held.Data), cap(held.Data), "no room to append into a shared buffer")
	_, err = l.Append(Entry{Kind: 1, Count: 1, Data: readSoonBody(1), ReadSoon: true})
	require.NoError(t, err)
	require.Equal(t, readSoonBody(1), nextRecord(t, r2).Data) // r2 lets go of record 0, r holds it
	for i := 2; i < 300; i++ {                                // 5 MiB: record 0 is dropped from memory
		_, err := l.Append(Entry{Kind: 1, Count: 1, Data: readSoonBody(i), ReadSoon: true})
		require.NoError(t, err)
		require.Equal(t, readSoonBody(i), nextRecord(t, r2).Data)
	}
	require.Equal(t, readSoonBody(0), held.Data, "a record one reader holds is not overwritten")
	for i := 1; i < 300; i++ {
		require.Equal(t, readSoonBody(i), nextRecord(t, r).Data)
	}
	require.NoError(t, r2.Close())

	appendAndRead := func(readSoon bool) float64 {
		body := readSoonBody(1)
		return testing.AllocsPerRun(200, func() {
			if _, err := l.Append(Entry{Kind: 1, Count: 1, Data: body, ReadSoon: readSoon}); err != nil {
				t.Fatal(err)
			}
			if rec := nextRecord(t, r); len(rec.Data) != len(body) {
				t.Fatalf("read %d bytes, appended %d", len(rec.Data), len(body))
			}
		})
	}
	appendAndRead(true) // warm: the spares fill
	kept, plain := appendAndRead(true), appendAndRead(false)
	require.LessOrEqual(t, kept, plain, "allocations per record kept in memory (%v) and read from the file (%v)", kept, plain)
}

// Keeping a record allocates nothing once buffers of dropped records are
// spare, and a flood of tiny records keeps at most maxRecent of them.
func TestRecentRecordsAreBounded(t *testing.T) {
	var r recentRecords
	body := readSoonBody(1)
	off := int64(0)
	add := func(data []byte) {
		r.add(recentRecord{pos: Pos{Segment: 1, Offset: off}, end: off + 1}, data)
		off++
	}
	for range 200 {
		add(body)
	}
	require.Zero(t, testing.AllocsPerRun(1000, func() { add(body) }))
	require.LessOrEqual(t, r.bytes, recentBytes)
	require.LessOrEqual(t, r.spareBytes, spareBytes)

	for range 10 * maxRecent {
		add([]byte("x"))
	}
	require.Len(t, r.recs, maxRecent)
	_, ok := r.at(Pos{Segment: 1, Offset: off - maxRecent - 1})
	require.False(t, ok, "dropped")
	for _, p := range []int64{off - maxRecent, off - 2, off - 1} {
		kept, ok := r.at(Pos{Segment: 1, Offset: p})
		require.True(t, ok)
		require.Equal(t, p+1, kept.end)
	}
	_, ok = r.at(Pos{Segment: 1, Offset: off})
	require.False(t, ok, "not yet appended")
}
