package scrape

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/wal"
)

// nodeExposition renders a node_exporter-like text exposition of about n
// series: counters per cpu and mode, per device, filesystem gauges, a
// classic histogram, with HELP and TYPE lines.
func nodeExposition(n int, step int) []byte {
	rng := rand.New(rand.NewPCG(uint64(step), 7))
	var b bytes.Buffer
	modes := []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"}
	written := 0
	fam := 0
	for written < n {
		name := fmt.Sprintf("node_family_%d", fam)
		switch fam % 4 {
		case 0:
			fmt.Fprintf(&b, "# HELP %s_seconds_total Seconds the CPUs spent in each mode.\n# TYPE %s_seconds_total counter\n", name, name)
			for cpu := 0; cpu < 8 && written < n; cpu++ {
				for _, m := range modes {
					fmt.Fprintf(&b, "%s_seconds_total{cpu=\"%d\",mode=\"%s\"} %.2f\n", name, cpu, m, float64(step*100+cpu)+rng.Float64())
					written++
				}
			}
		case 1:
			fmt.Fprintf(&b, "# HELP %s_bytes_total Bytes by device.\n# TYPE %s_bytes_total counter\n", name, name)
			for d := 0; d < 16 && written < n; d++ {
				fmt.Fprintf(&b, "%s_bytes_total{device=\"sd%c\"} %d\n", name, 'a'+d, step*4096+d*17)
				written++
			}
		case 2:
			fmt.Fprintf(&b, "# HELP %s_avail_bytes Filesystem space.\n# TYPE %s_avail_bytes gauge\n", name, name)
			for d := 0; d < 8 && written < n; d++ {
				fmt.Fprintf(&b, "%s_avail_bytes{device=\"/dev/sd%c1\",fstype=\"ext4\",mountpoint=\"/data%d\"} %d\n", name, 'a'+d, d, 1<<30+rng.IntN(1<<20)*4096)
				written++
			}
		case 3:
			fmt.Fprintf(&b, "# HELP %s_duration_seconds A latency.\n# TYPE %s_duration_seconds histogram\n", name, name)
			cum := 0
			for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"} {
				cum += step
				fmt.Fprintf(&b, "%s_duration_seconds_bucket{le=\"%s\"} %d\n", name, le, cum)
				written++
			}
			fmt.Fprintf(&b, "%s_duration_seconds_sum %.3f\n%s_duration_seconds_count %d\n", name, float64(cum)*0.1, name, cum)
			written += 2
		}
		fam++
	}
	return b.Bytes()
}

// BenchmarkScrapeParseAppend measures a steady-state scrape of a 1000-series
// exposition from parsing to the log: parse, cache lookup (no relabeling:
// every series is cached), staleness bookkeeping, stream encoding, zstd and
// the write. The HTTP fetch is not included.
func BenchmarkScrapeParseAppend(b *testing.B) {
	bodies := make([][]byte, 8)
	for i := range bodies {
		bodies[i] = nodeExposition(1000, i+1)
	}
	l, err := wal.Open(b.TempDir(), wal.Options{FsyncInterval: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	cfg := scrapeConfig("node")
	tg := nodeTarget(cfg, "10.0.0.1:9100", "10s")
	lp := newLoop(tg, cfg, fetcher{}, l, 1, 0, quiet(), newMetrics(nil), nil)
	scrape := func(i int) int {
		ts := int64(i) * 10_000
		lp.cache.begin()
		lp.samples, lp.created, lp.exemplars = lp.samples[:0], lp.created[:0], lp.exemplars[:0]
		if _, err := lp.parse(bodies[i%len(bodies)], "text/plain; version=0.0.4", ts); err != nil {
			b.Fatal(err)
		}
		lp.cache.endScrape()
		lp.stale = lp.cache.stale(lp.stale[:0])
		lp.report.set(1, 0.01, 1000, 1000, 0)
		if _, err := lp.commit(ts); err != nil {
			b.Fatal(err)
		}
		lp.cache.forget(lp.stale)
		lp.cache.close()
		return len(lp.samples)
	}
	n := scrape(0) // warm the cache
	b.ReportAllocs()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		scrape(i)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
}

// BenchmarkSeriesCacheMemory reports the heap a target's series cache
// keeps per series once scrapes are steady: 20 targets of 1000 series,
// each scraped 5 times with the same exposition order.
func BenchmarkSeriesCacheMemory(b *testing.B) {
	const targets, series = 20, 1000
	bodies := make([][]byte, indexIdleScrapes+2)
	for i := range bodies {
		bodies[i] = nodeExposition(series, i+1)
	}
	cfg := scrapeConfig("node")
	for b.Loop() {
		b.StopTimer()
		l, err := wal.Open(b.TempDir(), wal.Options{FsyncInterval: time.Hour, Logger: quiet()})
		if err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		caches := make([]*seriesCache, targets)
		for t := range caches {
			addr := fmt.Sprintf("10.0.0.%d:9100", t+1)
			tg := nodeTarget(cfg, addr, "10s")
			lp := newLoop(tg, cfg, fetcher{}, l, 1, 0, quiet(), newMetrics(nil), nil)
			for i, body := range bodies {
				lp.cache.begin()
				lp.samples, lp.created = lp.samples[:0], lp.created[:0]
				if _, err := lp.parse(body, "text/plain; version=0.0.4", int64(i)*10_000); err != nil {
					b.Fatal(err)
				}
				lp.cache.endScrape()
				lp.cache.close()
			}
			caches[t] = lp.cache
		}
		b.StopTimer()
		// Twice: the first collection only moves the pools' buffers
		// (shared by all targets, one per scrape in progress) to the
		// pools' victim caches.
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(targets*series), "heap-B/series")
		// How much the exposed texts shrink between scrapes.
		var packed, texts int
		for _, c := range caches {
			packed += len(c.packed)
			c.open()
			texts += len(c.keys)
			c.close()
		}
		b.ReportMetric(float64(texts)/float64(packed), "text/packed")
		l.Close()
		b.StartTimer()
	}
}

// BenchmarkScrapeNewTarget measures the first scrape of a 1000-series
// target: every series is parsed, relabeled, cached and defined in the log.
// This is what a fleet costs when ferry starts, and what churn costs.
func BenchmarkScrapeNewTarget(b *testing.B) {
	body := nodeExposition(1000, 1)
	l, err := wal.Open(b.TempDir(), wal.Options{FsyncInterval: time.Hour, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	cfg := scrapeConfig("node")
	tg := nodeTarget(cfg, "10.0.0.1:9100", "10s")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		lp := newLoop(tg, cfg, fetcher{}, l, 1, 0, quiet(), newMetrics(nil), nil)
		lp.cache.begin()
		if _, err := lp.parse(body, "text/plain; version=0.0.4", 10_000); err != nil {
			b.Fatal(err)
		}
		lp.cache.endScrape()
		lp.report.set(1, 0.01, 1000, 1000, 1000)
		if _, err := lp.commit(10_000); err != nil {
			b.Fatal(err)
		}
		n = len(lp.samples)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/series")
}

// nodeTarget is a target of job "node" at addr, scraped every interval.
func nodeTarget(cfg *promconfig.ScrapeConfig, addr, interval string) *Target {
	return newTarget(labels.FromStrings("__address__", addr, "__scheme__", "http", "__metrics_path__", "/metrics",
		"__scrape_interval__", interval, "__scrape_timeout__", "10s", "instance", addr, "job", "node"), labels.EmptyLabels(), cfg)
}
