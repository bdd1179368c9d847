package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	config_util "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	promremote "github.com/prometheus/prometheus/storage/remote"
	"github.com/stretchr/testify/require"
)

// relayConfig is a ferry that scrapes nothing, receives remote write in
// relay mode and forwards it, exemplars and native histograms included, to
// one destination. extra is appended to the ferry section's receiver block
// (indented by four spaces).
func relayConfig(destURL, destMsg string, lanes int, extra string) string {
	return fmt.Sprintf(`
global:
  scrape_interval: 1m
remote_write:
  - name: central
    url: %s
    protobuf_message: %s
    send_exemplars: true
    send_native_histograms: true
    queue_config:
      min_shards: %d
      max_shards: %d
      batch_send_deadline: 50ms
      min_backoff: 10ms
      max_backoff: 100ms
ferry:
  storage:
    fsync_interval: 100ms
  receiver:
    enabled: true
    mode: relay
%s`, destURL, destMsg, lanes, lanes, extra)
}

// relayAgent is a running ferry with its configuration and storage in dir.
type relayAgent struct {
	a      *Agent
	cancel context.CancelFunc
	done   chan error
}

// startRelay runs a ferry on a free 127.0.0.1 port. webConfig, when not
// empty, is passed as --web.config.file.
func startRelay(t testing.TB, dir, cfgBody, webConfig string) *relayAgent {
	t.Helper()
	cfgFile := filepath.Join(dir, "ferry.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(cfgBody), 0o644))
	a, err := New(Options{
		ConfigFile: cfgFile, StoragePath: filepath.Join(dir, "data"),
		ListenAddress: "127.0.0.1:0", WebConfigFile: webConfig,
		DiscoveryInterval: 20 * time.Millisecond, ShutdownTimeout: 2 * time.Second, Logger: quiet(),
	})
	require.NoError(t, err)
	require.NoError(t, a.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	ra := &relayAgent{a: a, cancel: cancel, done: make(chan error, 1)}
	go func() { ra.done <- a.Run(ctx) }()
	for deadline := time.Now().Add(5 * time.Second); !a.ready.Load(); time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-ra.done:
			cancel()
			ra.cancel = nil
			t.Fatalf("ferry stopped before it was ready: %v", err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "ferry not ready after 5s")
	}
	t.Cleanup(func() { ra.stop(t) })
	return ra
}

// stop shuts the agent down once; later calls do nothing.
func (ra *relayAgent) stop(t testing.TB) {
	if ra.cancel == nil {
		return
	}
	ra.cancel()
	ra.cancel = nil
	require.NoError(t, <-ra.done)
}

func (ra *relayAgent) url(path string) string { return "http://" + ra.a.Addr() + path }

// metric returns the value of an unlabelled metric of the agent's
// /metrics, or fails the test if it is not there.
func (ra *relayAgent) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get(ra.url("/metrics"))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// prometheusWriteClient is Prometheus' own remote-write client, sending msg
// to rawURL.
func prometheusWriteClient(t *testing.T, rawURL string, msg remoteapi.WriteMessageType, hc config_util.HTTPClientConfig) promremote.WriteClient {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	c, err := promremote.NewWriteClient("edge", &promremote.ClientConfig{
		URL: &config_util.URL{URL: u}, Timeout: model.Duration(10 * time.Second),
		HTTPClientConfig: hc, WriteProtoMsg: msg,
	})
	require.NoError(t, err)
	return c
}
