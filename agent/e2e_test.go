package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// countingTarget is an exporter whose counters count its scrapes, so the
// receiving side can tell exactly which scrapes arrived: requests_total
// {path="/a"} is n on the n-th scrape. The series "temporary" is exposed
// only while n < vanishAt.
type countingTarget struct {
	mu       sync.Mutex
	n        int
	vanishAt int
	srv      *httptest.Server
}

func newCountingTarget(t *testing.T, vanishAt int) *countingTarget {
	ct := &countingTarget{vanishAt: vanishAt}
	ct.srv = httptest.NewServer(ct)
	t.Cleanup(ct.srv.Close)
	return ct
}

func (ct *countingTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ct.mu.Lock()
	ct.n++
	n := ct.n
	ct.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# HELP requests_total Requests handled.\n# TYPE requests_total counter\n")
	fmt.Fprintf(w, "requests_total{path=\"/a\"} %d\nrequests_total{path=\"/b\"} %d\n", n, 2*n)
	fmt.Fprintf(w, "# TYPE temperature_celsius gauge\ntemperature_celsius %g\n", 20+float64(n)/10)
	if n < ct.vanishAt {
		fmt.Fprintf(w, "temporary 1\n")
	}
}

func (ct *countingTarget) scrapes() int {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return ct.n
}

func (ct *countingTarget) addr() string { return strings.TrimPrefix(ct.srv.URL, "http://") }

// countingReceiver is a remote-write endpoint that keeps every sample and
// can be switched off (503).
type countingReceiver struct {
	delay   time.Duration // before each request is handled, outside mu
	mu      sync.Mutex
	down    bool
	samples map[string][]remote.Sample
	srv     *httptest.Server
}

func newCountingReceiver(t *testing.T) *countingReceiver {
	rc := &countingReceiver{samples: map[string][]remote.Sample{}}
	rc.srv = httptest.NewServer(rc)
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *countingReceiver) setDown(d bool) { rc.mu.Lock(); rc.down = d; rc.mu.Unlock() }

func (rc *countingReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(rc.delay)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.down {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	msg, err := remote.ParseContentType(r.Header.Get("Content-Type"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
		return
	}
	raw, err := remote.Decompress(nil, body, remote.EncodingSnappy, 64<<20)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req *remote.Request
	if msg == remote.MessageV2 {
		req, err = remote.DecodeV2(raw, remote.Limits{})
	} else {
		req, err = remote.DecodeV1(raw, remote.Limits{})
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, s := range req.Series {
		k := s.Labels.String()
		rc.samples[k] = append(rc.samples[k], s.Samples...)
	}
	if msg == remote.MessageV2 {
		remote.SetWrittenHeaders(w.Header(), req.Count())
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *countingReceiver) series(name string) map[string][]remote.Sample {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string][]remote.Sample{}
	for k, v := range rc.samples {
		if strings.HasPrefix(k, `{__name__="`+name+`"`) {
			out[k] = append([]remote.Sample(nil), v...)
		}
	}
	return out
}

func writeConfig(t *testing.T, dir, body string) string {
	p := filepath.Join(dir, "ferry.yml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

func testConfig(target, receiverURL, msg string) string {
	return fmt.Sprintf(`
global:
  scrape_interval: 250ms
  external_labels:
    site: test
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [%q]
remote_write:
  - name: central
    url: %s
    protobuf_message: %s
    queue_config:
      batch_send_deadline: 50ms
      min_backoff: 10ms
      max_backoff: 100ms
ferry:
  storage:
    fsync_interval: 100ms
`, target, receiverURL, msg)
}

// startAgent runs an agent until the returned stop function is called.
func startAgent(t *testing.T, cfgFile, storage string) (stop func()) {
	a, err := New(Options{
		ConfigFile: cfgFile, StoragePath: storage, ListenAddress: "127.0.0.1:0",
		DiscoveryInterval: 20 * time.Millisecond, ShutdownTimeout: 2 * time.Second, Logger: quiet(),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	require.Eventually(t, a.ready.Load, 5*time.Second, 5*time.Millisecond)
	return func() {
		cancel()
		require.NoError(t, <-done)
	}
}

// requireContiguous checks that a counter series holds exactly the values
// 1..n, each once, in timestamp order, and returns n.
func requireContiguous(t *testing.T, ss []remote.Sample, step float64) int {
	t.Helper()
	for i, s := range ss {
		require.Equal(t, step*float64(i+1), s.Value, "sample %d of %v", i, ss)
		if i > 0 {
			require.Greater(t, s.Timestamp, ss[i-1].Timestamp, "timestamps strictly increase")
		}
	}
	return len(ss)
}

func TestEndToEndEveryScrapedSampleArrivesOnceInOrder(t *testing.T) {
	for _, msg := range []string{"prometheus.WriteRequest", "io.prometheus.write.v2.Request"} {
		t.Run(msg, func(t *testing.T) {
			target := newCountingTarget(t, 4)
			rc := newCountingReceiver(t)
			dir := t.TempDir()
			stop := startAgent(t, writeConfig(t, dir, testConfig(target.addr(), rc.srv.URL, msg)), filepath.Join(dir, "data"))
			require.Eventually(t, func() bool { return target.scrapes() >= 8 }, 20*time.Second, 10*time.Millisecond)
			stop()

			served := target.scrapes()
			reqs := rc.series("requests_total")
			require.Len(t, reqs, 2)
			a := reqs[labels.FromStrings("__name__", "requests_total", "instance", target.addr(), "job", "app", "path", "/a", "site", "test").String()]
			n := requireContiguous(t, a, 1)
			require.GreaterOrEqual(t, n, served-1, "every scrape but possibly one cut short by shutdown arrived")
			b := reqs[labels.FromStrings("__name__", "requests_total", "instance", target.addr(), "job", "app", "path", "/b", "site", "test").String()]
			require.Equal(t, n, requireContiguous(t, b, 2))

			for _, name := range []string{"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"} {
				require.Len(t, rc.series(name), 1, "report series %s", name)
			}
			for _, s := range rc.series("up") {
				for _, x := range s {
					require.Equal(t, 1.0, x.Value)
				}
			}
			tmp := rc.series("temporary")
			require.Len(t, tmp, 1)
			for _, ss := range tmp {
				require.Len(t, ss, 4, "3 samples, then one stale marker")
				require.True(t, value.IsStaleNaN(ss[3].Value))
				require.Equal(t, a[3].Timestamp, ss[3].Timestamp, "stale marker at the first scrape without the series")
			}
		})
	}
}

func TestRestartDuringOutageLosesNothing(t *testing.T) {
	target := newCountingTarget(t, math.MaxInt)
	rc := newCountingReceiver(t)
	rc.setDown(true)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, testConfig(target.addr(), rc.srv.URL, "prometheus.WriteRequest"))
	storage := filepath.Join(dir, "data")

	stop := startAgent(t, cfg, storage)
	require.Eventually(t, func() bool { return target.scrapes() >= 6 }, 20*time.Second, 10*time.Millisecond)
	stop()
	require.Empty(t, rc.series("requests_total"), "the receiver was down: nothing delivered yet")

	stop = startAgent(t, cfg, storage)
	before := target.scrapes()
	require.Eventually(t, func() bool { return target.scrapes() >= before+4 }, 20*time.Second, 10*time.Millisecond)
	rc.setDown(false)
	require.Eventually(t, func() bool {
		for _, ss := range rc.series("requests_total") {
			return len(ss) >= before+3
		}
		return false
	}, 20*time.Second, 10*time.Millisecond)
	stop()

	served := target.scrapes()
	for k, ss := range rc.series("requests_total") {
		step := 1.0
		if strings.Contains(k, `"/b"`) {
			step = 2
		}
		// A scrape in flight at each of the two shutdowns may be lost;
		// nothing that was appended is.
		n := requireContiguousAllowingShutdownGaps(t, ss, step, 2)
		require.GreaterOrEqual(t, n, served-2)
	}
}

// requireContiguousAllowingShutdownGaps is requireContiguous for a run
// across restarts: values must increase, never repeat, and skip at most
// maxGaps scrapes (those cut short by a shutdown, never appended).
func requireContiguousAllowingShutdownGaps(t *testing.T, ss []remote.Sample, step float64, maxGaps int) int {
	t.Helper()
	gaps := 0
	prev := 0.0
	for i, s := range ss {
		require.Greater(t, s.Value, prev, "sample %d: no duplicates, in order: %v", i, ss)
		skipped := int((s.Value-prev)/step) - 1
		gaps += skipped
		prev = s.Value
		if i > 0 {
			require.Greater(t, s.Timestamp, ss[i-1].Timestamp)
		}
	}
	require.LessOrEqual(t, gaps, maxGaps, "values %v", ss)
	return int(prev / step)
}

func TestConfigReloadKeepsDeliveringWithoutLossOrRepeat(t *testing.T) {
	target := newCountingTarget(t, math.MaxInt)
	rc := newCountingReceiver(t)
	dir := t.TempDir()
	cfgBody := testConfig(target.addr(), rc.srv.URL, "prometheus.WriteRequest")
	cfg := writeConfig(t, dir, cfgBody)
	a, err := New(Options{ConfigFile: cfg, StoragePath: filepath.Join(dir, "data"), ListenAddress: "127.0.0.1:0",
		DiscoveryInterval: 20 * time.Millisecond, Logger: quiet()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	require.Eventually(t, func() bool { return target.scrapes() >= 4 }, 20*time.Second, 10*time.Millisecond)

	// Change the destination's queue settings: the sender restarts from
	// its cursor.
	writeConfig(t, dir, strings.Replace(cfgBody, "batch_send_deadline: 50ms", "batch_send_deadline: 80ms\n      max_samples_per_send: 500", 1))
	require.NoError(t, a.Reload())
	// An invalid file is rejected and the running configuration stays.
	writeConfig(t, dir, cfgBody+"\nbogus_field: 1\n")
	require.Error(t, a.Reload())
	before := target.scrapes()
	require.Eventually(t, func() bool { return target.scrapes() >= before+4 }, 20*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	for k, ss := range rc.series("requests_total") {
		step := 1.0
		if strings.Contains(k, `"/b"`) {
			step = 2
		}
		requireContiguousAllowingShutdownGaps(t, ss, step, 1)
	}
}

func TestQuickstartConfigIsValidAndSelfContained(t *testing.T) {
	root, err := filepath.Abs("../examples/quickstart.yml")
	require.NoError(t, err)
	b, err := os.ReadFile(root)
	require.NoError(t, err)
	// Run it on a free port instead of 9090.
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	body := strings.ReplaceAll(string(b), "localhost:9090", addr)
	a, err := New(Options{ConfigFile: writeConfig(t, dir, body), StoragePath: filepath.Join(dir, "data"), ListenAddress: addr,
		DiscoveryInterval: 20 * time.Millisecond, Logger: quiet()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/received")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(page), `__name__="up"`) && strings.Contains(string(page), `site="quickstart"`)
	}, 30*time.Second, 100*time.Millisecond, "ferry's own samples show up on the received page")
}

// After a reload a target's scrapes go to the log under a new stream. With
// several lanes catching up on a backlog, its old and new records must
// still leave in order: a receiver never sees one of its series go back.
func TestReloadDuringBacklogKeepsEverySeriesInOrderAcrossLanes(t *testing.T) {
	// Three targets over four lanes: numbered one after the other, a
	// target's new stream would land on another lane than its old one.
	var targets []string
	var cts []*countingTarget
	for range 3 {
		ct := newCountingTarget(t, math.MaxInt)
		cts = append(cts, ct)
		targets = append(targets, fmt.Sprintf("%q", ct.addr()))
	}
	rc := newCountingReceiver(t)
	rc.delay = 10 * time.Millisecond // lanes hold queued pieces while catching up
	dir := t.TempDir()
	body := func(timeout string) string {
		return fmt.Sprintf(`
global:
  scrape_interval: 100ms
  scrape_timeout: %s
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [%s]
remote_write:
  - name: central
    url: %s
    queue_config:
      min_shards: 4
      max_shards: 4
      max_samples_per_send: 3
      batch_send_deadline: 10ms
      min_backoff: 10ms
      max_backoff: 50ms
`, timeout, strings.Join(targets, ", "), rc.srv.URL)
	}
	a, stop := runAgent(t, writeConfig(t, dir, body("90ms")), filepath.Join(dir, "data"))
	waitScrapes := func(n int) {
		before := cts[0].scrapes()
		require.Eventually(t, func() bool { return cts[0].scrapes() >= before+n }, 20*time.Second, 5*time.Millisecond)
	}
	waitScrapes(3)
	rc.setDown(true)
	waitScrapes(10)
	writeConfig(t, dir, body("80ms")) // a new scrape pool: every target gets a new stream
	require.NoError(t, a.Reload())
	waitScrapes(10)
	// Wait for the whole backlog: every target's scrapes up to now, and a
	// few more, arrive.
	var backlog []int
	for _, ct := range cts {
		backlog = append(backlog, ct.scrapes())
	}
	rc.setDown(false)
	require.Eventually(t, func() bool {
		got := rc.series("requests_total")
		for i, ct := range cts {
			ss := got[labels.FromStrings("__name__", "requests_total", "instance", ct.addr(), "job", "app", "path", "/a").String()]
			if len(ss) == 0 || ss[len(ss)-1].Value < float64(backlog[i]+3) {
				return false
			}
		}
		return true
	}, 30*time.Second, 10*time.Millisecond, "the backlog is delivered")
	stop()

	series := rc.series("requests_total")
	require.Len(t, series, 6, "two series on each of three targets")
	for k, ss := range series {
		for i := 1; i < len(ss); i++ {
			require.Greater(t, ss[i].Timestamp, ss[i-1].Timestamp, "%s arrived out of order at %d: %v", k, i, ss)
		}
	}
}
