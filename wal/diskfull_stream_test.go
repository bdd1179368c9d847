package wal_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/wal"
	"github.com/ferrymetrics/ferry/wal/vfs"
)

// TestDiskFullDuringScrapingLosesOnlyTheFailedScrapes runs the scrape
// loop's cycle (stream encoder, Append bound to the segment) against a disk
// that fills up and then frees space. The scrapes that could not be written
// are lost and reported as errors; every scrape after the disk recovers
// decodes to exactly its values, because the first record after a failure
// is a keyframe rather than a delta against a record that is not there.
func TestDiskFullDuringScrapingLosesOnlyTheFailedScrapes(t *testing.T) {
	fs := vfs.NewFaulty(vfs.OS)
	l, err := wal.Open(t.TempDir(), wal.Options{FS: fs, FsyncInterval: 10 * time.Millisecond, Logger: benchLogger()})
	require.NoError(t, err)
	defer l.Close()
	r, err := l.OpenCursor("a")
	require.NoError(t, err)

	src := newScrapeSource(1, 50)
	var want [][]float64 // the values of every scrape that was written
	scrape := func() error {
		err := appendScrape(l, src)
		if err == nil {
			want = append(want, slices.Clone(src.values))
		}
		return err
	}
	for i := 0; i < 5; i++ {
		require.NoError(t, scrape())
	}
	fs.SetSpace(0)
	for i := 0; i < 3; i++ {
		require.ErrorContains(t, scrape(), "no space left on device")
	}
	fs.SetSpace(-1)
	for i := 0; i < 5; i++ {
		require.NoError(t, scrape())
	}

	dec := record.NewDecoder(nil)
	for k, values := range want {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rec, err := r.Next(ctx)
		cancel()
		require.NoError(t, err)
		var b record.Batch
		require.NoError(t, dec.Decode(rec, &b), "scrape %d", k)
		require.Len(t, b.Series, len(values))
		for i, s := range b.Series {
			require.Equal(t, values[i], s.Samples[0].Value, "scrape %d, series %d", k, i)
		}
	}
}
