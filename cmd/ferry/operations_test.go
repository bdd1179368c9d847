package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runningFerry is the ferry binary running as a user starts it.
type runningFerry struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	base   string // http://host:port of its web endpoints
	exited chan error
}

var listenRE = regexp.MustCompile(`"listen":"([^"]+)"`)

// startFerry runs the binary with JSON logs, waits until it says it is
// ready and returns it. The test's cleanup kills it if it still runs.
func startFerry(t *testing.T, args ...string) *runningFerry {
	t.Helper()
	f := &runningFerry{stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	f.cmd = exec.Command(binary, append([]string{"--web.listen-address=127.0.0.1:0", "--log.format=json"}, args...)...)
	f.cmd.Stdout, f.cmd.Stderr = io.Discard, f.stderr
	require.NoError(t, f.cmd.Start())
	go func() { f.exited <- f.cmd.Wait() }()
	t.Cleanup(func() {
		if f.cmd.ProcessState == nil {
			f.cmd.Process.Kill()
			<-f.exited
		}
	})
	waitFor(t, "ferry to be ready", func() bool {
		select {
		case err := <-f.exited:
			require.FailNow(t, "ferry exited at start", "%v; its log:\n%s", err, f.stderr.String())
		default:
		}
		m := listenRE.FindStringSubmatch(f.stderr.String())
		if m == nil {
			return false
		}
		f.base = "http://" + m[1]
		return true
	})
	return f
}

// stop sends sig and returns how long the process took to exit, and its
// exit code.
func (f *runningFerry) stop(t *testing.T, sig os.Signal, ceiling time.Duration) (time.Duration, int) {
	t.Helper()
	start := time.Now()
	require.NoError(t, f.cmd.Process.Signal(sig))
	select {
	case <-f.exited:
		return time.Since(start), f.cmd.ProcessState.ExitCode()
	case <-time.After(ceiling):
		require.FailNow(t, "ferry did not exit", "after %s; its log:\n%s", ceiling, f.stderr.String())
		return 0, 0
	}
}

// metric returns the sum of the series of a metric on /metrics whose lines
// contain every one of the given label matchers (`remote_name="x"`).
func (f *runningFerry) metric(t *testing.T, name string, matchers ...string) float64 {
	t.Helper()
	body := httpGet(t, f.base+"/metrics")
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, m := range matchers {
			ok = ok && strings.Contains(line, m)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		require.NoError(t, err, line)
		sum += v
	}
	return sum
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// waitFor polls cond every 20ms, at most 1000 times and 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < 1000 && time.Now().Before(deadline); i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.FailNow(t, "timed out waiting for "+what)
}

// writeFile writes a file in dir and returns its path.
func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestNoSecretIsLoggedEvenAtDebugLevelWithFailingDestinations(t *testing.T) {
	secrets := map[string]string{
		"remote_write basic_auth password":       "basic-pw-9f2e1d",
		"remote_write authorization credentials": "bearer-tok-4a7b3c",
		"remote_write URL password":              "urlpass-5d8e2f",
		"remote_write oauth2 client_secret":      "oauth-secret-1c6a9b",
		"scrape basic_auth password":             "scrape-pw-8e3f7a",
		"receiver bearer token":                  "recv-token-2b9d4e",
	}
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "storage unavailable", http.StatusInternalServerError)
	}))
	defer failing.Close()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "out of order sample", http.StatusBadRequest)
	}))
	defer refusing.Close()
	guarded := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}))
	defer guarded.Close()
	// An address nobody listens on: connections are refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	l.Close()

	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "receiver.token", secrets["receiver bearer token"]+"\n")
	queue := "queue_config: {batch_send_deadline: 50ms, min_backoff: 10ms, max_backoff: 50ms}"
	cfg := writeFile(t, dir, "ferry.yml", fmt.Sprintf(`
global:
  scrape_interval: 100ms
  scrape_timeout: 90ms
scrape_configs:
  - job_name: guarded
    basic_auth: {username: scraper, password: %q}
    static_configs: [{targets: [%q]}]
remote_write:
  - name: basic
    url: %s/api/v1/write
    basic_auth: {username: ferry, password: %q}
    %s
  - name: bearer
    url: %s/api/v1/write
    authorization: {credentials: %q}
    %s
  - name: userinfo
    url: http://ferry:%s@%s/api/v1/write
    %s
  - name: oauth
    url: %s/push
    oauth2: {client_id: ferry, client_secret: %q, token_url: %s/token}
    %s
ferry:
  receiver:
    enabled: true
    bearer_token_file: %s
`, secrets["scrape basic_auth password"], strings.TrimPrefix(guarded.URL, "http://"),
		failing.URL, secrets["remote_write basic_auth password"], queue,
		refusing.URL, secrets["remote_write authorization credentials"], queue,
		secrets["remote_write URL password"], closed, queue,
		failing.URL, secrets["remote_write oauth2 client_secret"], failing.URL, queue,
		tokenFile))

	f := startFerry(t, "--config.file="+cfg, "--storage.agent.path="+filepath.Join(dir, "data"),
		"--log.level=debug", "--shutdown.timeout=500ms")

	// Every destination fails in its own way, and is seen failing.
	waitFor(t, "every destination to fail", func() bool {
		return f.metric(t, "ferry_remote_requests_total", `remote_name="basic"`, `outcome="retry"`) > 0 &&
			f.metric(t, "ferry_remote_requests_total", `remote_name="bearer"`, `outcome="rejected"`) > 0 &&
			f.metric(t, "ferry_remote_requests_total", `remote_name="userinfo"`, `outcome="retry"`) > 0 &&
			f.metric(t, "ferry_remote_requests_total", `remote_name="oauth"`, `outcome="retry"`) > 0
	})
	waitFor(t, "the guarded target to fail", func() bool {
		return strings.Contains(httpGet(t, f.base+"/targets"), "401 Unauthorized")
	})
	// The receiver refuses a request with the right token and a bad body,
	// and one with a wrong token.
	for _, token := range []string{secrets["receiver bearer token"], "wrong-token"} {
		req, err := http.NewRequest(http.MethodPost, f.base+"/api/v1/write", strings.NewReader("not protobuf"))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/x-protobuf")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.GreaterOrEqual(t, resp.StatusCode, 400)
	}
	pages := httpGet(t, f.base+"/config") + httpGet(t, f.base+"/remote-write") + httpGet(t, f.base+"/status") +
		httpGet(t, f.base+"/metrics")

	require.NoError(t, f.cmd.Process.Signal(syscall.SIGHUP))
	waitFor(t, "the reload", func() bool { return strings.Contains(f.stderr.String(), "Configuration reloaded") })
	_, code := f.stop(t, syscall.SIGTERM, 30*time.Second)
	require.Equal(t, 0, code)

	logged := f.stderr.String()
	require.Contains(t, logged, `"level":"DEBUG"`, "debug logging was on")
	for _, dest := range []string{"basic", "bearer", "userinfo", "oauth"} {
		require.Contains(t, logged, `"remote_name":"`+dest+`"`, "the failures of %s were logged", dest)
	}
	for what, secret := range secrets {
		for _, line := range strings.Split(logged, "\n") {
			require.NotContains(t, line, secret, "the %s was logged", what)
		}
		require.NotContains(t, pages, secret, "the %s was shown on a page or /metrics", what)
	}
	for _, line := range strings.Split(strings.TrimSpace(logged), "\n") {
		require.True(t, json.Valid([]byte(line)), "every log line is one JSON object: %s", line)
	}
}

// hangingDestination accepts connections and never answers, like a
// destination behind a black-holing network.
func hangingDestination(t *testing.T) (url string, accepted func() int) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return len(conns) }
}

func TestShutdownIsBoundedWhenTheDestinationHangsAndTheLogKeepsItsData(t *testing.T) {
	target := newCountingExporter(t)
	hanging, accepted := hangingDestination(t)
	dir := t.TempDir()
	storage := filepath.Join(dir, "data")
	config := func(url string) string {
		return writeFile(t, dir, "ferry.yml", fmt.Sprintf(`
global:
  scrape_interval: 100ms
  scrape_timeout: 90ms
scrape_configs:
  - job_name: app
    static_configs: [{targets: [%q]}]
remote_write:
  - name: central
    url: %s/api/v1/write
    remote_timeout: 2m
    queue_config: {batch_send_deadline: 50ms}
`, strings.TrimPrefix(target.srv.URL, "http://"), url))
	}
	const shutdownTimeout = time.Second
	args := []string{"--config.file=" + config(hanging), "--storage.agent.path=" + storage,
		"--shutdown.timeout=" + shutdownTimeout.String()}

	f := startFerry(t, args...)
	waitFor(t, "scrapes to pile up behind the hanging destination", func() bool {
		return accepted() > 0 && f.metric(t, "ferry_log_appended_records_total") >= 5
	})
	servedBefore := target.served()
	// The request in flight would hang for remote_timeout (2m); shutdown
	// must give up on it after --shutdown.timeout. The ceiling leaves room
	// for a slow machine, and is far below the remote timeout.
	took, code := f.stop(t, syscall.SIGTERM, shutdownTimeout+10*time.Second)
	require.Equal(t, 0, code, f.stderr.String())
	require.Less(t, took, shutdownTimeout+5*time.Second, "shutdown took %s", took)
	require.GreaterOrEqual(t, took, shutdownTimeout, "the destination was given its --shutdown.timeout")
	require.Contains(t, f.stderr.String(), "it stays in the log")

	// Start again with a destination that works: what was scraped before
	// the shutdown is delivered from the log.
	sink := newCrashSink(t)
	args[0] = "--config.file=" + config(sink.srv.URL)
	f = startFerry(t, args...)
	waitFor(t, "the backlog to be delivered", func() bool {
		return len(sink.samplesOf(`half="a"`)) >= servedBefore
	})
	_, code = f.stop(t, syscall.SIGTERM, 30*time.Second)
	require.Equal(t, 0, code)

	got := sink.samplesOf(`half="a"`)
	require.Equal(t, 1.0, got[0].Value, "the first scrape, taken before the shutdown, was delivered")
	gaps := 0
	for i := 1; i < len(got); i++ {
		require.Greater(t, got[i].Value, got[i-1].Value, "in order, no duplicates: %v", got)
		gaps += int(got[i].Value-got[i-1].Value) - 1
	}
	failed := 0
	for _, up := range sink.samplesOf(`__name__="up"`) {
		if up.Value == 0 {
			failed++
		}
	}
	// Missing values are only the scrape cut short by the first shutdown
	// and failed scrapes (up == 0: the target counted them, ferry got
	// nothing): everything appended was delivered.
	require.LessOrEqual(t, gaps, 1+failed, "values %v, %d failed scrapes", got, failed)
}
