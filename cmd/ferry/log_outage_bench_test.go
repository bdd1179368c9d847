package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	outageDuration = flag.Duration("outage.duration", 2*time.Minute, "how long BenchmarkOutageMemory runs ferry with its destination down")
	outageSeries   = flag.Int("outage.series", 20_000, "series the load target of BenchmarkOutageMemory exposes")
	outageInterval = flag.Duration("outage.interval", 100*time.Millisecond, "scrape interval of BenchmarkOutageMemory")
	outageProfiles = flag.String("outage.profiles", "", "directory where BenchmarkOutageMemory saves ferry's heap profiles at the start and the end")
)

// loadTarget exposes a fixed set of series whose values change on every
// scrape: a third counters, a third gauges with random values, a third
// constants. The random gauges make the log grow quickly.
type loadTarget struct {
	mu     sync.Mutex
	names  []string
	values []float64
	rnd    *rand.Rand
	buf    bytes.Buffer
}

func newLoadTarget(series int) *loadTarget {
	lt := &loadTarget{rnd: rand.New(rand.NewPCG(7, 7))}
	for i := 0; i < series; i++ {
		lt.names = append(lt.names, fmt.Sprintf("load_series_%d{shard=\"%d\",kind=\"k%d\"} ", i/100, i%100, i%3))
		lt.values = append(lt.values, float64(i))
	}
	return lt
}

func (lt *loadTarget) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lt.buf.Reset()
	for i, name := range lt.names {
		switch i % 3 {
		case 0:
			lt.values[i] += float64(lt.rnd.IntN(100))
		case 1:
			lt.values[i] = lt.rnd.Float64() * 1000
		}
		lt.buf.WriteString(name)
		lt.buf.WriteString(strconv.FormatFloat(lt.values[i], 'g', -1, 64))
		lt.buf.WriteByte('\n')
	}
	w.Write(lt.buf.Bytes())
}

// memoryPoint is one observation of the ferry process.
type memoryPoint struct {
	at        time.Duration
	rssBytes  int64
	heapBytes int64 // Go heap in use
	logBytes  int64
}

// processRSS reads the resident set size of a process from /proc.
func processRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// dirSize sums the sizes of the files below dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// saveHeapProfile writes ferry's heap profile to -outage.profiles, if set.
func saveHeapProfile(b *testing.B, addr, name string) {
	if *outageProfiles == "" {
		return
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap")
	require.NoError(b, err)
	defer resp.Body.Close()
	prof, err := io.ReadAll(resp.Body)
	require.NoError(b, err)
	require.NoError(b, os.WriteFile(filepath.Join(*outageProfiles, name+".heap"), prof, 0o644))
}

// BenchmarkOutageMemory runs the ferry binary scraping a loopback target
// with many series while its only destination answers 503 for the whole
// run, and reports the process's resident memory as the log grows: memory
// must stay flat while the backlog grows on disk. It is a measurement, run
// by hand (it takes -outage.duration); see docs/benchmarks.md.
func BenchmarkOutageMemory(b *testing.B) {
	if b.N > 1 {
		b.Skip("run with -benchtime=1x")
	}
	target := httptest.NewServer(newLoadTarget(*outageSeries))
	defer target.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down for the whole run", http.StatusServiceUnavailable)
	}))
	defer down.Close()

	dir := b.TempDir()
	cfg := filepath.Join(dir, "ferry.yml")
	body := fmt.Sprintf(`
global:
  scrape_interval: %s
scrape_configs:
  - job_name: load
    static_configs:
      - targets: [%q]
remote_write:
  - name: down
    url: %s/api/v1/write
ferry:
  storage:
    max_size: 0
    max_age: 0
    segment_size: 64MiB
`, *outageInterval, strings.TrimPrefix(target.URL, "http://"), down.URL)
	require.NoError(b, os.WriteFile(cfg, []byte(body), 0o644))
	storage := filepath.Join(dir, "data")
	p := startKillable(b, "--config.file="+cfg, "--storage.agent.path="+storage, "--web.listen-address=127.0.0.1:0", "--web.enable-pprof")
	addr := p.waitReady(b, 30*time.Second)
	pid := p.cmd.Process.Pid

	start := time.Now()
	var points []memoryPoint
	for time.Since(start) < *outageDuration {
		time.Sleep(5 * time.Second)
		rss, err := processRSS(pid)
		require.NoError(b, err, p.output())
		heap := unlabelledMetric(b, addr, "go_memstats_heap_inuse_bytes")
		points = append(points, memoryPoint{at: time.Since(start), rssBytes: rss, heapBytes: int64(heap), logBytes: dirSize(storage)})
		if len(points) == 2 {
			saveHeapProfile(b, addr, "start")
		}
	}
	saveHeapProfile(b, addr, "end")
	require.NoError(b, p.cmd.Process.Signal(syscall.SIGTERM))
	<-p.exit

	b.Logf("%d series every %s, destination down (503) throughout", *outageSeries, *outageInterval)
	b.Logf("%8s %10s %10s %10s", "time", "RSS MiB", "heap MiB", "log MiB")
	for _, pt := range points {
		b.Logf("%8s %10.1f %10.1f %10.1f", pt.at.Round(time.Second), float64(pt.rssBytes)/(1<<20), float64(pt.heapBytes)/(1<<20), float64(pt.logBytes)/(1<<20))
	}
	require.NotEmpty(b, points)
	// The first points include start-up and the first keyframes; memory is
	// compared from the point where the log holds a tenth of its final size.
	first, mid, last := points[0], points[len(points)/2], points[len(points)-1]
	for _, pt := range points {
		if pt.logBytes >= last.logBytes/10 {
			first = pt
			break
		}
	}
	b.ReportMetric(float64(first.rssBytes)/(1<<20), "rss-start-MiB")
	b.ReportMetric(float64(mid.rssBytes)/(1<<20), "rss-mid-MiB")
	b.ReportMetric(float64(last.rssBytes)/(1<<20), "rss-end-MiB")
	b.ReportMetric(float64(last.logBytes)/(1<<20), "log-end-MiB")
	b.ReportMetric(float64(last.rssBytes-first.rssBytes)/(1<<20), "rss-growth-MiB")
}
