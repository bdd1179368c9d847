package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/value"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// countingExporter is a target whose counter is n on its n-th scrape, so the
// receiving side can tell exactly which scrapes arrived. It also exposes 500
// gauges that change on every scrape.
type countingExporter struct {
	mu  sync.Mutex
	n   int
	srv *httptest.Server
}

func newCountingExporter(t *testing.T) *countingExporter {
	sc := &countingExporter{}
	sc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		sc.mu.Lock()
		sc.n++
		n := sc.n
		sc.mu.Unlock()
		fmt.Fprintf(w, "# TYPE scrapes_total counter\nscrapes_total{half=\"a\"} %d\nscrapes_total{half=\"b\"} %d\n", n, 2*n)
		// Filler series make each record a few kilobytes, so that kills
		// also land while records are being written.
		fmt.Fprintf(w, "# TYPE filler gauge\n")
		for i := 0; i < 500; i++ {
			fmt.Fprintf(w, "filler{i=\"%d\"} %d\n", i, (n*7919+i*104729)%100003)
		}
	}))
	t.Cleanup(sc.srv.Close)
	return sc
}

func (sc *countingExporter) served() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.n
}

// crashSink is a remote-write endpoint that records every sample it
// accepts, by series, and answers 503 while down.
type crashSink struct {
	mu     sync.Mutex
	down   bool
	series map[string][]remote.Sample
	srv    *httptest.Server
}

func newCrashSink(t *testing.T) *crashSink {
	s := &crashSink{series: map[string][]remote.Sample{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.write))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *crashSink) setDown(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

func (s *crashSink) write(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		http.Error(w, "receiver down", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err == nil {
		body, err = remote.Decompress(nil, body, remote.EncodingSnappy, 64<<20)
	}
	var req *remote.Request
	if err == nil {
		req, err = remote.DecodeV1(body, remote.Limits{})
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, ser := range req.Series {
		k := ser.Labels.String()
		s.series[k] = append(s.series[k], ser.Samples...)
	}
	w.WriteHeader(http.StatusNoContent)
}

// samplesOf returns the samples of the series whose label string contains
// every one of parts.
func (s *crashSink) samplesOf(parts ...string) []remote.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.series {
		match := true
		for _, p := range parts {
			match = match && strings.Contains(k, p)
		}
		if match {
			return append([]remote.Sample(nil), v...)
		}
	}
	return nil
}

// killableFerry is a ferry binary running as a subprocess.
type killableFerry struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	ready chan string // receives the listen address once ferry is ready
	exit  chan error
}

var readyLogLine = regexp.MustCompile(`msg="ferry is ready".* listen=(\S+)`)

func startKillable(t testing.TB, args ...string) *killableFerry {
	t.Helper()
	p := &killableFerry{cmd: exec.Command(binary, args...), ready: make(chan string, 1), exit: make(chan error, 1)}
	stderr, err := p.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			if m := readyLogLine.FindStringSubmatch(sc.Text()); m != nil {
				p.ready <- m[1]
			}
		}
		p.exit <- p.cmd.Wait()
	}()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

func (p *killableFerry) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitReady returns the listen address, failing the test if ferry exits or
// is not ready within the timeout.
func (p *killableFerry) waitReady(t testing.TB, timeout time.Duration) string {
	t.Helper()
	select {
	case addr := <-p.ready:
		return addr
	case err := <-p.exit:
		t.Fatalf("ferry exited before it was ready (%v):\n%s", err, p.output())
	case <-time.After(timeout):
		t.Fatalf("ferry not ready after %s:\n%s", timeout, p.output())
	}
	return ""
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *killableFerry) kill(t testing.TB) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case <-p.exit:
	case <-time.After(10 * time.Second):
		t.Fatal("ferry did not die after SIGKILL")
	}
}

// metric returns the value of an unlabelled metric on ferry's /metrics.
func unlabelledMetric(t testing.TB, addr, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	t.Fatalf("metric %s not found on /metrics", name)
	return 0
}

func crashConfig(target, sink string) string {
	return fmt.Sprintf(`
global:
  scrape_interval: 100ms
scrape_configs:
  - job_name: counter
    static_configs:
      - targets: [%q]
remote_write:
  - name: central
    url: %s/api/v1/write
    queue_config:
      batch_send_deadline: 50ms
      min_backoff: 10ms
      max_backoff: 100ms
ferry:
  storage:
    fsync_interval: 100ms
    segment_size: 1MiB
`, strings.TrimPrefix(target, "http://"), sink)
}

// TestKillNineUnderLoadLosesNoAppendedScrape runs ferry as a subprocess
// scraping a target every 100ms while its only destination is down, and
// SIGKILLs it at random moments many times, some of them during startup
// while the log is being recovered. Every start must open the log and
// become ready, never counting corruption. Then the destination comes back:
// it must receive every scrape appended before each kill, in order, once;
// only the scrape in flight at each kill (and any scrape that failed) may be
// missing.
func TestKillNineUnderLoadLosesNoAppendedScrape(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ferry for about 20 seconds")
	}
	target := newCountingExporter(t)
	sink := newCrashSink(t)
	sink.setDown(true)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ferry.yml")
	require.NoError(t, os.WriteFile(cfg, []byte(crashConfig(target.srv.URL, sink.srv.URL)), 0o644))
	storage := filepath.Join(dir, "data")
	args := []string{"--config.file=" + cfg, "--storage.agent.path=" + storage, "--web.listen-address=127.0.0.1:0"}

	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))
	const kills = 20
	started, tornStarts := 0, 0
	for i := 0; i < kills; i++ {
		p := startKillable(t, args...)
		if i%4 == 3 {
			// Kill during startup: recovery, sealing or segment creation.
			time.Sleep(time.Duration(rnd.IntN(120)) * time.Millisecond)
			p.kill(t)
			continue
		}
		addr := p.waitReady(t, 15*time.Second)
		started++
		resp, err := http.Get("http://" + addr + "/-/ready")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Zero(t, unlabelledMetric(t, addr, "ferry_log_corrupt_records_total"), "a kill never corrupts the middle of the log:\n%s", p.output())
		torn := unlabelledMetric(t, addr, "ferry_log_torn_tail_bytes_total")
		require.Less(t, torn, float64(1<<20), "at most one partial record is cut")
		if torn > 0 {
			tornStarts++
		}
		time.Sleep(time.Duration(150+rnd.IntN(750)) * time.Millisecond)
		p.kill(t)
	}
	t.Logf("%d kills, %d of them after ready; %d starts cut a torn tail; target scraped %d times", kills, started, tornStarts, target.served())

	// The log as the last kill left it: nothing damaged, nothing delivered.
	stdout, stderr, code := ferry(t, "log", "inspect", "--format=json", storage)
	require.Equal(t, 0, code, stderr)
	var rep wal.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	require.Zero(t, rep.Damaged, stdout)
	require.GreaterOrEqual(t, len(rep.Segments), started, "every start appends to a new segment")
	for _, s := range rep.Segments[:len(rep.Segments)-1] {
		require.True(t, s.Sealed, "segment %d was sealed by the start after it", s.Seq)
	}
	require.Len(t, rep.Cursors, 1)
	require.Equal(t, rep.Records, rep.Cursors[0].LagRecords, "the destination was down: nothing was delivered")
	require.Positive(t, rep.Records)

	sink.setDown(false)
	p := startKillable(t, args...)
	p.waitReady(t, 15*time.Second)
	before := target.served()
	require.Eventually(t, func() bool {
		ss := sink.samplesOf(`half="a"`)
		return len(ss) > 0 && int(ss[len(ss)-1].Value) >= before+2
	}, 30*time.Second, 20*time.Millisecond, "the backlog and new scrapes arrive")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.exit:
		require.NoError(t, err, "clean shutdown")
	case <-time.After(20 * time.Second):
		t.Fatal("ferry did not stop on SIGTERM")
	}

	failed := 0
	for _, s := range sink.samplesOf(`__name__="up"`) {
		if s.Value == 0 {
			failed++
		}
	}
	for _, half := range []struct {
		label string
		step  float64
	}{{`half="a"`, 1}, {`half="b"`, 2}} {
		ss := sink.samplesOf(`__name__="scrapes_total"`, half.label)
		require.NotEmpty(t, ss)
		var missing []int
		prev := 0.0
		for i, s := range ss {
			if i > 0 {
				require.Greater(t, s.Timestamp, ss[i-1].Timestamp)
			}
			if value.IsStaleNaN(s.Value) {
				continue // a failed scrape marks the series stale
			}
			require.Greater(t, s.Value, prev, "sample %d of %s: no duplicates, in order: %v", i, half.label, ss)
			for v := prev + half.step; v < s.Value; v += half.step {
				missing = append(missing, int(v/half.step))
			}
			prev = s.Value
		}
		sort.Ints(missing)
		t.Logf("%s: %d scrapes arrived, missing %v (%d kills, %d failed scrapes)", half.label, len(ss), missing, kills, failed)
		require.LessOrEqual(t, len(missing), kills+failed, "only the scrape in flight at each kill may be lost")
	}
}
