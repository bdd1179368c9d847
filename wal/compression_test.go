package wal

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// compressible is a record body both codecs shrink.
func compressible(i int) []byte {
	return []byte(fmt.Sprintf("record-%06d:%s", i, bytes.Repeat([]byte("node_cpu_seconds_total{cpu=\"0\"} "), 20)))
}

// frameFlags returns the flags byte of every frame of a segment file, in
// order, up to the seal trailer.
func frameFlags(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var flags []byte
	for off := segmentHeaderSize; off+frameHeaderSize <= len(b); {
		h := parseFrameHeader(b[off:])
		if h.kind == 0 || h.kind == KindTrailer {
			break
		}
		flags = append(flags, h.flags)
		off += frameHeaderSize + int(h.size)
	}
	return flags
}

func TestFastRecordsAreS2AndReadBackAlongsideZstd(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.SegmentSize = 1 << 20
	l := openLog(t, dir, opts)
	_, err := l.OpenCursor("a")
	require.NoError(t, err)
	for i := range 10 {
		_, err := l.Append(Entry{Kind: 1, Count: 1, Data: compressible(i), Fast: i%2 == 1})
		require.NoError(t, err)
	}
	require.NoError(t, l.Close())
	require.Equal(t, []byte{flagZstd, flagS2, flagZstd, flagS2, flagZstd, flagS2, flagZstd, flagS2, flagZstd, flagS2},
		frameFlags(t, filepath.Join(dir, "segments", segmentName(1))))

	l = openLog(t, dir, opts)
	defer l.Close()
	r, err := l.OpenCursor("a")
	require.NoError(t, err)
	for i := range 10 {
		rec := nextRecord(t, r)
		require.Equal(t, compressible(i), rec.Data)
	}
}

// A frame whose CRC holds but whose s2 block does not decode, or claims
// more than a record may hold, is skipped and counted like any corrupt
// record, without allocating what it claims.
func TestUndecodableS2PayloadIsSkippedAndCounted(t *testing.T) {
	for name, block := range map[string][]byte{
		"claims 4 GiB":     binary.AppendUvarint(nil, 1<<32-1),
		"truncated":        {0x40, 0x00, 'a'},
		"not a length":     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"literal too long": {0x05, 0xf0, 'a'},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOptions()
			opts.SegmentSize = 1 << 20
			writeRecords(t, dir, opts, 3)

			// Replace record 1's frame by one with the same length
			// whose payload is the broken block, flagged s2.
			seg := filepath.Join(dir, "segments", segmentName(1))
			b, err := os.ReadFile(seg)
			require.NoError(t, err)
			off := segmentHeaderSize
			off += frameHeaderSize + int(parseFrameHeader(b[off:]).size)
			h := parseFrameHeader(b[off:])
			payload := b[off+frameHeaderSize : off+frameHeaderSize+int(h.size)]
			clear(payload)
			copy(payload, block)
			putFrameHeader(b[off:], h.size, h.time, h.count, h.kind, flagS2)
			sealFrame(b[off : off+frameHeaderSize+int(h.size)])
			require.NoError(t, os.WriteFile(seg, b, 0o644))

			got, gaps, corrupt := readBackCounting(t, dir, opts)
			require.Equal(t, []int{0, 2}, got)
			require.Equal(t, 1, gaps)
			require.Equal(t, 1.0, corrupt)
		})
	}
}

// nextRecord returns the next record, which must come within a second.
func nextRecord(t *testing.T, r *Reader) Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rec, err := r.Next(ctx)
	require.NoError(t, err)
	return rec
}

// writeRecords writes records 0..n-1 to a new log with one cursor.
func writeRecords(t *testing.T, dir string, opts Options, n int) {
	t.Helper()
	l := openLog(t, dir, opts)
	_, err := l.OpenCursor("a")
	require.NoError(t, err)
	appendN(t, l, 0, n)
	require.NoError(t, l.Close())
}

// readBackCounting reopens the log, reads everything through its cursor
// and returns what readAll does and the count of corrupt records.
func readBackCounting(t *testing.T, dir string, opts Options) (got []int, gaps int, corrupt float64) {
	t.Helper()
	opts.Registerer = prometheus.NewRegistry()
	l := openLog(t, dir, opts)
	defer l.Close()
	r, err := l.OpenCursor("a")
	require.NoError(t, err)
	got, gaps = readAll(t, r, true)
	return got, gaps, testutil.ToFloat64(l.m.corrupt)
}

// Logs written before s2 payloads existed (format version 1) are read as
// they were.
func TestVersionOneLogIsRead(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.SegmentSize = 1 << 20
	writeRecords(t, dir, opts, 5)
	seg := filepath.Join(dir, "segments", segmentName(1))
	b, err := os.ReadFile(seg)
	require.NoError(t, err)
	require.Equal(t, byte(FormatVersion), b[4])
	b[4] = 1
	copy(b[:segmentHeaderSize], fixHeaderCRC(b[:segmentHeaderSize]))
	require.NoError(t, os.WriteFile(seg, b, 0o644))

	got, gaps, corrupt := readBackCounting(t, dir, opts)
	require.Equal(t, seq(0, 5), got)
	require.Zero(t, gaps)
	require.Zero(t, corrupt)
}
