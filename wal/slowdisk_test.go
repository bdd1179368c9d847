package wal

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/wal/vfs"
)

// TestSlowSyncNeverBlocksAppendsOrReaders holds every fsync and proves by
// ordering, not by timing, that a sync in progress serialises neither
// appends (including those that close a segment and start the next) nor
// readers: all of them complete while the sync has still not returned. The
// appends use the scrape path's cycle: ActiveSegment, then Append bound to
// that segment.
func TestSlowSyncNeverBlocksAppendsOrReaders(t *testing.T) {
	dir := t.TempDir()
	fs := vfs.NewFaulty(vfs.OS)
	opts := testOptions()
	opts.FS = fs
	opts.FsyncInterval = 20 * time.Millisecond // the maintenance loop syncs too, and is held as well
	l := openLog(t, dir, opts)
	r, err := l.OpenCursor("a")
	require.NoError(t, err)

	release := fs.HoldSyncs()
	defer release()
	first, err := l.Append(Entry{Kind: 1, Count: 1, Data: payload(0)})
	require.NoError(t, err)
	syncDone := make(chan error, 1)
	go func() { syncDone <- l.Sync(first) }()
	require.Eventually(t, func() bool { return fs.SyncsWaiting() >= 1 }, 10*time.Second, time.Millisecond, "the sync reached the disk")
	startSeg := l.ActiveSegment()

	const n = 300 // many times a 4 KiB segment: the appends roll segments
	appended := make(chan error, 1)
	go func() {
		for i := 1; i <= n; i++ {
			seg := l.ActiveSegment()
			_, err := l.Append(Entry{Kind: 1, Count: uint32(i%7 + 1), Data: payload(i), Segment: seg})
			if err == ErrSegmentChanged {
				_, err = l.Append(Entry{Kind: 1, Count: uint32(i%7 + 1), Data: payload(i), Segment: l.ActiveSegment()})
			}
			if err != nil {
				appended <- err
				return
			}
		}
		appended <- nil
	}()
	select {
	case err := <-appended:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("appends are blocked behind a sync in progress")
	}
	require.Greater(t, l.ActiveSegment(), startSeg+5, "the appends closed and started segments")

	read := make(chan []int, 1)
	go func() {
		var got []int
		for len(got) < n+1 {
			rec, err := r.Next(context.Background())
			if err != nil {
				break
			}
			got = append(got, len(got))
			r.Commit(rec.End, rec.Time)
		}
		read <- got
	}()
	select {
	case got := <-read:
		require.Len(t, got, n+1)
	case <-time.After(10 * time.Second):
		t.Fatal("readers are blocked behind a sync in progress")
	}

	select {
	case err := <-syncDone:
		t.Fatalf("the sync returned (%v) although the disk never completed it", err)
	default:
	}
	release()
	require.NoError(t, <-syncDone)
	last, err := l.Append(Entry{Kind: 1, Count: 1, Data: payload(n + 1)})
	require.NoError(t, err)
	require.NoError(t, l.Sync(last))
	require.NoError(t, l.Close())
}
