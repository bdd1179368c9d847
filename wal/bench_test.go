package wal_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

func benchLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// scrapeSource produces successive scrapes of one exporter-like target as
// stream records: per series of five, one constant, one integer counter
// moving by small steps, one float counter with two decimals, one gauge
// moving by a random walk and one gauge that flips between a few values.
type scrapeSource struct {
	enc    *record.StreamEncoder
	series []labels.Labels
	refs   []record.Ref
	values []float64
	rnd    *rand.Rand
	ts     int64
}

func newScrapeSource(id uint64, series int) *scrapeSource {
	s := &scrapeSource{enc: record.NewStreamEncoder(id), rnd: rand.New(rand.NewPCG(id, 42)), ts: 1_700_000_000_000}
	for i := 0; i < series; i++ {
		s.series = append(s.series, labels.FromStrings(
			"__name__", fmt.Sprintf("exporter_family_%03d", i/8),
			"instance", fmt.Sprintf("host-%d:9100", id),
			"job", "bench",
			"mode", fmt.Sprintf("m%d", i%8)))
		s.values = append(s.values, float64(s.rnd.IntN(100_000)))
	}
	s.refs = make([]record.Ref, series)
	return s
}

// next encodes the next scrape for the given segment and returns the record.
func (s *scrapeSource) next(seg uint64) ([]byte, uint32) {
	s.ts += 15_000
	s.enc.Begin(s.ts, seg)
	for i := range s.values {
		switch i % 5 {
		case 1:
			s.values[i] += float64(s.rnd.IntN(20))
		case 2:
			s.values[i] = math.Round((s.values[i]+s.rnd.Float64()*5)*100) / 100
		case 3:
			s.values[i] += s.rnd.NormFloat64() * 50
		case 4:
			s.values[i] = float64(s.rnd.IntN(4))
		}
		if !s.enc.Valid(s.refs[i]) {
			s.refs[i] = s.enc.Define(s.series[i], "", remote.Metadata{Type: remote.MetricTypeGauge, Help: "A benchmark series."})
		}
		s.enc.Add(s.refs[i], s.values[i])
	}
	return s.enc.Finish()
}

// appendScrape appends the next scrape of s, re-encoding it as a keyframe if
// the segment changed, as the scrape loop does.
func appendScrape(l *wal.Log, s *scrapeSource) error {
	for attempt := 0; ; attempt++ {
		data, n := s.next(l.ActiveSegment())
		_, err := l.Append(wal.Entry{Kind: record.KindStream, Count: n, Data: data, Segment: s.enc.Segment()})
		s.enc.Done(err == nil)
		if err != wal.ErrSegmentChanged || attempt > 2 {
			return err
		}
		s.ts -= 15_000
	}
}

// BenchmarkAppend measures Log.Append (zstd compression and the write, no
// fsync) of one scrape record, for targets of different sizes. ns/sample is
// the log's share of the cost of a scraped sample.
func BenchmarkAppend(b *testing.B) {
	for _, series := range []int{10, 100, 1000, 10_000} {
		b.Run(fmt.Sprintf("series=%d", series), func(b *testing.B) {
			l, err := wal.Open(b.TempDir(), wal.Options{FsyncInterval: time.Hour, Logger: benchLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			src := newScrapeSource(1, series)
			seg := l.ActiveSegment()
			key, _ := src.next(seg)
			if _, err := l.Append(wal.Entry{Kind: record.KindStream, Count: uint32(series), Data: key, Segment: seg}); err != nil {
				b.Fatal(err)
			}
			src.enc.Done(true)
			data, n := src.next(seg) // a typical record: values only
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := l.Append(wal.Entry{Kind: record.KindStream, Count: n, Data: data}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/sample")
		})
	}
}

// BenchmarkAppendParallel measures appends from many goroutines at once, as
// many scrape loops do.
func BenchmarkAppendParallel(b *testing.B) {
	l, err := wal.Open(b.TempDir(), wal.Options{FsyncInterval: time.Hour, Logger: benchLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	src := newScrapeSource(1, 1000)
	src.next(l.ActiveSegment())
	src.enc.Done(true)
	data, n := src.next(l.ActiveSegment())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(wal.Entry{Kind: record.KindStream, Count: n, Data: data}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/sample")
}

// buildScrapeLog writes a log in dir of exactly `segments` full segments of
// about segmentSize bytes each, holding scrapes of targets x series, with a
// cursor "start" at the beginning that commits nothing. It returns the
// number of records and samples in the log.
func buildScrapeLog(tb testing.TB, dir string, segmentSize int64, segments, targets, series int) (records, samples uint64) {
	tb.Helper()
	l, err := wal.Open(dir, wal.Options{SegmentSize: segmentSize, FsyncInterval: time.Hour, Logger: benchLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	r, err := l.OpenCursor("start")
	if err != nil {
		tb.Fatal(err)
	}
	r.Close()
	first := l.ActiveSegment()
	srcs := make([]*scrapeSource, targets)
	for i := range srcs {
		srcs[i] = newScrapeSource(uint64(i+1), series)
	}
	for l.ActiveSegment() < first+uint64(segments) {
		for _, s := range srcs {
			if err := appendScrape(l, s); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := l.Close(); err != nil {
		tb.Fatal(err)
	}
	// Drop the segment the last appends started, so that the newest
	// segment is a full one: the worst case for recovery after a crash.
	for seq := first + uint64(segments); ; seq++ {
		err := os.Remove(filepath.Join(dir, "segments", fmt.Sprintf("%016x.seg", seq)))
		if os.IsNotExist(err) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	rep, err := wal.Inspect(dir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if len(rep.Segments) != segments || rep.Damaged != 0 {
		tb.Fatalf("built %d segments (%d damaged), want %d", len(rep.Segments), rep.Damaged, segments)
	}
	return rep.Records, rep.Samples
}

// readAll reads every record through the cursor "start", decoding each one
// with a record.Decoder when decode is set, and returns the records and
// samples read.
func readAll(tb testing.TB, l *wal.Log, want uint64, decode bool) (records, samples uint64) {
	r, err := l.OpenCursor("start")
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	dec := record.NewDecoder(nil)
	var batch record.Batch
	// A bound in case the log holds fewer records than expected.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for records < want {
		rec, err := r.Next(ctx)
		if err != nil {
			tb.Fatalf("after %d of %d records: %v", records, want, err)
		}
		records++
		samples += uint64(rec.Count)
		if decode {
			batch.Reset()
			if err := dec.Decode(rec, &batch); err != nil {
				tb.Fatalf("decode record at %v: %v", rec.Pos, err)
			}
		}
	}
	return records, samples
}

// openForReading opens the log in dir for a read benchmark, which
// processes the log's size in bytes per iteration.
func openForReading(b *testing.B, dir string) *wal.Log {
	l, err := wal.Open(dir, wal.Options{FsyncInterval: time.Hour, Logger: benchLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(l.Stats().Bytes)
	b.ReportAllocs()
	return l
}

// heapPeak samples the live heap while fn runs and returns its highest value.
func heapPeak(fn func()) uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peak.Load() {
			peak.Store(ms.HeapInuse)
		}
	}
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	fn()
	close(stop)
	<-done
	sample()
	return peak.Load()
}

// BenchmarkReadSequential reads a 64 MiB log of scrape records from its start
// through a Reader (decompression and CRC checks included), with and without
// decoding the records as a sender does.
func BenchmarkReadSequential(b *testing.B) {
	dir := b.TempDir()
	records, samples := buildScrapeLog(b, dir, 16<<20, 4, 20, 1000)
	for _, decode := range []bool{false, true} {
		b.Run(fmt.Sprintf("decode=%v", decode), func(b *testing.B) {
			l := openForReading(b, dir)
			defer l.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, got := readAll(b, l, records, decode); got != samples {
					b.Fatalf("read %d samples, want %d", got, samples)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(samples), "ns/sample")
		})
	}
}

// largeLog is a log of 1 GiB of scrape records in eight full 128 MiB
// segments, built once per test binary (a few minutes) unless
// FERRY_BENCH_LOG names a directory that already holds one, which is then
// reused.
var largeLog struct {
	once             sync.Once
	dir              string
	records, samples uint64
	err              error
}

const (
	largeLogSegmentSize = 128 << 20
	largeLogSegments    = 8
)

func openLargeLog(b *testing.B) (dir string, records, samples uint64) {
	largeLog.once.Do(func() {
		dir := os.Getenv("FERRY_BENCH_LOG")
		if dir == "" {
			dir, largeLog.err = os.MkdirTemp("", "ferry-bench-log")
			if largeLog.err != nil {
				return
			}
			tempDirs = append(tempDirs, dir)
		}
		largeLog.dir = dir
		if rep, err := wal.Inspect(dir, nil); err == nil && rep.Bytes >= largeLogSegments*largeLogSegmentSize*9/10 {
			largeLog.records, largeLog.samples = rep.Records, rep.Samples
			return
		}
		start := time.Now()
		largeLog.records, largeLog.samples = buildScrapeLog(b, dir, largeLogSegmentSize, largeLogSegments, 100, 1000)
		b.Logf("built a %d-record, %d-sample log in %s", largeLog.records, largeLog.samples, time.Since(start))
	})
	if largeLog.err != nil {
		b.Fatal(largeLog.err)
	}
	return largeLog.dir, largeLog.records, largeLog.samples
}

// tempDirs are removed after the benchmarks ran.
var tempDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// emptySegmentSize is the size of a sealed segment without records: the
// header and the trailer.
const emptySegmentSize = 32 + 64

// removeEmptySegments deletes the empty segments that Open then Close add,
// so that every iteration of a benchmark opens the same log, and returns the
// path of the newest segment left.
func removeEmptySegments(b *testing.B, dir string) (newest string) {
	entries, err := os.ReadDir(filepath.Join(dir, "segments"))
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, "segments", e.Name())
		info, err := e.Info()
		if err != nil {
			b.Fatal(err)
		}
		if info.Size() <= emptySegmentSize {
			if err := os.Remove(p); err != nil {
				b.Fatal(err)
			}
			continue
		}
		newest = p // ReadDir sorts by name, and names sort by sequence
	}
	return newest
}

// BenchmarkOpenLargeLog measures Open of a 1 GiB log: after a clean
// shutdown (every segment sealed: only trailers are read) and after a crash
// (the newest data segment has no trailer and is scanned frame by frame).
func BenchmarkOpenLargeLog(b *testing.B) {
	dir, _, _ := openLargeLog(b)
	for _, crashed := range []bool{false, true} {
		b.Run(fmt.Sprintf("crashed=%v", crashed), func(b *testing.B) {
			b.ReportAllocs()
			var heap uint64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				newest := removeEmptySegments(b, dir)
				if crashed {
					// Cut the trailer that the previous Open or Close wrote.
					info, err := os.Stat(newest)
					if err != nil {
						b.Fatal(err)
					}
					if err := os.Truncate(newest, info.Size()-64); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				b.StartTimer()
				heap = max(heap, heapPeak(func() {
					l, err := wal.Open(dir, wal.Options{Logger: benchLogger()})
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if err := l.Close(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}))
			}
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
		})
	}
}

// BenchmarkReplayLargeLog reads the whole 1 GiB log through a Reader from
// its start, as a destination does after a long outage, with and without
// decoding, and reports the peak live heap while doing it.
func BenchmarkReplayLargeLog(b *testing.B) {
	dir, records, samples := openLargeLog(b)
	for _, decode := range []bool{false, true} {
		b.Run(fmt.Sprintf("decode=%v", decode), func(b *testing.B) {
			removeEmptySegments(b, dir)
			l := openForReading(b, dir)
			defer l.Close()
			runtime.GC()
			b.ResetTimer()
			var heap uint64
			for i := 0; i < b.N; i++ {
				heap = max(heap, heapPeak(func() {
					if _, got := readAll(b, l, records, decode); got != samples {
						b.Fatalf("read %d samples, want %d", got, samples)
					}
				}))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(samples), "ns/sample")
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
		})
	}
}

// receivedBatch is a received request as the relay stores it: RW2 of n
// node_exporter-like series, one sample each, with help texts.
func receivedBatch(n int) []byte {
	rnd := rand.New(rand.NewPCG(1, 2))
	modes := []string{"idle", "system", "user", "iowait"}
	req := &remote.Request{}
	for i := range n {
		req.Series = append(req.Series, remote.Series{
			Labels: labels.FromStrings("__name__", fmt.Sprintf("node_metric_%d_total", i%40), "cpu", fmt.Sprint(i%8),
				"instance", "edge-17:9100", "job", "node", "mode", modes[i%4]),
			Samples:  []remote.Sample{{Value: math.Round(rnd.Float64()*1e8) / 100, Timestamp: 1_700_000_000_000}},
			Metadata: remote.Metadata{Type: remote.MetricTypeCounter, Help: fmt.Sprintf("Help text of metric %d.", i%40)},
		})
	}
	return remote.AppendV2(nil, req, nil)
}

// BenchmarkAppendReceived measures Log.Append (compression and the write,
// no fsync) of a received 1000-series request, compressed with zstd
// (default) or s2 (Entry.Fast, what the relay uses), and the bytes it
// takes in the log per sample.
func BenchmarkAppendReceived(b *testing.B) {
	const series = 1000
	data := receivedBatch(series)
	for _, fast := range []bool{false, true} {
		b.Run(fmt.Sprintf("fast=%v", fast), func(b *testing.B) {
			l, err := wal.Open(b.TempDir(), wal.Options{FsyncInterval: time.Hour, Logger: benchLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			// One record's size, before segments roll and go.
			before := l.Stats().Bytes
			if _, err := l.Append(wal.Entry{Kind: record.KindBatch, Count: series, Data: data, Fast: fast}); err != nil {
				b.Fatal(err)
			}
			stored := l.Stats().Bytes - before
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Append(wal.Entry{Kind: record.KindBatch, Count: series, Data: data, Fast: fast}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/series, "ns/sample")
			b.ReportMetric(float64(stored)/series, "log-B/sample")
		})
	}
}
