package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// uiSecret is a password in the edge's configuration: no page may show it.
const uiSecret = "pa55-never-shown-7c1f"

// uiStartAgent runs an agent for the rest of the test and returns it with
// the base URL of its web pages.
func uiStartAgent(t *testing.T, cfgFile string) (*Agent, string) {
	t.Helper()
	a, err := New(Options{
		ConfigFile: cfgFile, StoragePath: filepath.Join(filepath.Dir(cfgFile), "data"), ListenAddress: "127.0.0.1:0",
		EnableLifecycle: true, DiscoveryInterval: 20 * time.Millisecond, ShutdownTimeout: time.Second, Logger: quiet(),
		Flags: map[string]string{"config.file": cfgFile, "web.enable-lifecycle": "true", "help": "false"},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, a.ready.Load, 5*time.Second, 5*time.Millisecond)
	return a, "http://" + a.Addr()
}

// uiEdgeConfig scrapes a healthy and a broken target (and drops a third by
// relabeling), and sends to a central ferry, to a backup destination that
// is down, and to a legacy one that speaks only Remote-Write 1.0.
func uiEdgeConfig(good, broken, central, backup, legacy string) string {
	return fmt.Sprintf(`
global:
  scrape_interval: 200ms
  scrape_timeout: 150ms
  external_labels:
    site: edge-1
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [%[1]q, %[2]q]
        labels:
          team: storage
  - job_name: filtered
    static_configs:
      - targets: [%[1]q, "127.0.0.1:1"]
    relabel_configs:
      - source_labels: [__address__]
        regex: '127\.0\.0\.1:1'
        action: drop
remote_write:
  - name: central
    url: %[3]s/api/v1/write
    protobuf_message: io.prometheus.write.v2.Request
    queue_config: {batch_send_deadline: 50ms, min_backoff: 10ms, max_backoff: 100ms}
  - name: backup
    url: %[4]s/api/v1/write
    basic_auth:
      username: ferry
      password: %[5]s
    queue_config: {batch_send_deadline: 50ms, min_backoff: 10ms, max_backoff: 100ms}
  - name: legacy
    url: %[6]s/api/v1/write
    protobuf_message: io.prometheus.write.v2.Request
    queue_config: {batch_send_deadline: 50ms, min_backoff: 10ms, max_backoff: 100ms}
ferry:
  storage:
    fsync_interval: 100ms
    max_size: 1GiB
`, good, broken, central, backup, uiSecret, legacy)
}

const uiCentralConfig = `
global:
  scrape_interval: 1m
ferry:
  receiver:
    enabled: true
    mode: inspect
`

// TestPagesShowAnOperatorTheStateOfEveryTargetDestinationAndTheLog runs an
// edge ferry that scrapes a healthy and a broken target and sends to a
// central ferry (receiver in inspect mode) and to a backup that is down,
// then reads every page in headless Chromium, with JavaScript off, the way
// an operator would, and keeps a screenshot of each.
func TestPagesShowAnOperatorTheStateOfEveryTargetDestinationAndTheLog(t *testing.T) {
	b := newUIBrowser(t)

	good := newCountingTarget(t, 1000)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "exporter crashed", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	backup := newCountingReceiver(t)
	backup.setDown(true)
	// Refuses Remote-Write 2.0 with 415, as an RW1-only receiver does.
	legacy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Content-Type"), "io.prometheus.write.v2.Request") {
			http.Error(w, "unsupported", http.StatusUnsupportedMediaType)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(legacy.Close)

	_, central := uiStartAgent(t, writeConfig(t, t.TempDir(), uiCentralConfig))
	brokenAddr := strings.TrimPrefix(broken.URL, "http://")
	edgeCfg := writeConfig(t, t.TempDir(), uiEdgeConfig(good.addr(), brokenAddr, central, backup.srv.URL, legacy.URL))
	_, edge := uiStartAgent(t, edgeCfg)
	goodURL := "http://" + good.addr() + "/metrics"
	brokenURL := "http://" + brokenAddr + "/metrics"

	t.Run("targets show health, last scrape and the error of a broken target", func(t *testing.T) {
		brokenRow := b.waitText(t, edge+"/targets", fmt.Sprintf(`table.targets tr:has(a[href=%q])`, brokenURL),
			func(s string) bool { return strings.Contains(s, "DOWN") })
		require.Contains(t, brokenRow, "server returned HTTP status 500 Internal Server Error")
		require.Contains(t, brokenRow, `team="storage"`)
		goodRow := b.waitText(t, edge+"/targets", fmt.Sprintf(`table.targets tr:has(a[href=%q])`, goodURL),
			func(s string) bool { return strings.Contains(s, "UP") })
		require.Contains(t, goodRow, `job="app"`)
		require.Contains(t, goodRow, "ago", "last scrape time")
		require.Regexp(t, `\d+\.\dms`, goodRow, "scrape duration")
		require.Contains(t, b.text(t, "h2#pool-app"), "1/2 up")
		require.Contains(t, b.text(t, "h2#pool-filtered"), "1/1 up")
		b.screenshot(t, "targets")
	})

	t.Run("filters narrow the targets by health and by text", func(t *testing.T) {
		b.open(t, edge+"/targets")
		b.submit(t, "form.filter", map[string]string{"health": "down"})
		require.Contains(t, b.location(t), "health=down")
		page := b.text(t, "main")
		require.Contains(t, page, brokenURL)
		require.NotContains(t, page, goodURL)
		require.Contains(t, b.text(t, "#pool-filtered + table"), "No targets match")

		b.open(t, edge+"/targets")
		_, port, _ := strings.Cut(good.addr(), ":")
		b.submit(t, "form.filter", map[string]string{"health": "", "q": port})
		page = b.text(t, "main")
		require.Contains(t, page, goodURL)
		require.NotContains(t, page, brokenURL)
		b.screenshot(t, "targets-filtered")
	})

	t.Run("service discovery shows labels before and after relabeling and dropped targets", func(t *testing.T) {
		b.open(t, edge+"/service-discovery")
		app := b.text(t, "h2:has(+ table.sd)")
		require.Contains(t, app, "app")
		tables := b.text(t, "main")
		require.Contains(t, tables, `__address__="`+good.addr()+`"`, "discovered labels")
		require.Contains(t, tables, `instance="`+good.addr()+`"`, "labels after relabeling")
		require.Contains(t, tables, `__address__="127.0.0.1:1"`)
		require.Contains(t, tables, "Dropped by relabeling")
		require.Contains(t, tables, "(1 active, 1 dropped)")
		b.screenshot(t, "service-discovery")
	})

	t.Run("remote write shows each destination's protocol, throughput, backlog and errors", func(t *testing.T) {
		sent := b.waitText(t, edge+"/remote-write", "#dest-central td.sent", func(s string) bool {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			return err == nil && n > 0
		})
		require.NotEqual(t, "0", sent)
		require.Equal(t, "Remote-Write 2.0", b.text(t, "#dest-central .protocol"))
		require.Contains(t, b.text(t, "#dest-central .card"), "io.prometheus.write.v2.Request · snappy")
		require.Regexp(t, `^[0-9.]+/s$`, b.text(t, "#dest-central .throughput"))
		require.Contains(t, b.text(t, "#dest-central h2"), central+"/api/v1/write")

		backupErr := b.waitText(t, edge+"/remote-write", "#dest-backup td.last-error",
			func(s string) bool { return strings.Contains(s, "503") })
		require.Contains(t, backupErr, "down for maintenance")
		require.NotEqual(t, "0", b.text(t, "#dest-backup td.retried"), "retried samples")
		require.Contains(t, b.text(t, "#dest-backup .backlog + .k"), "records")
		require.Contains(t, b.text(t, "#dest-backup table.drops"), "max_size")
		// The legacy destination refused RW2: the page shows what is in
		// use after the fallback.
		b.waitText(t, edge+"/remote-write", "#dest-legacy .protocol",
			func(s string) bool { return s == "Remote-Write 1.0" })
		require.Contains(t, b.text(t, "#dest-legacy .card"), "prometheus.WriteRequest · snappy")
		require.NotContains(t, b.text(t, "main"), uiSecret)
		b.screenshot(t, "remote-write")
	})

	t.Run("log shows size, segments, oldest data, fsync latency and corruptions", func(t *testing.T) {
		b.waitText(t, edge+"/log", ".fsync", func(s string) bool { return s != "-" })
		require.NotEqual(t, "0 B", b.text(t, ".size"))
		require.Contains(t, b.text(t, ".size + .k"), "of 1.0 GiB")
		require.Equal(t, "0", b.text(t, ".corrupt"))
		require.Regexp(t, `^\d+(\.\d+)?(ms|s|m)`, b.text(t, ".oldest"))
		cursors := b.text(t, "table.cursors")
		require.Contains(t, cursors, "central")
		require.Contains(t, cursors, "backup")
		require.Contains(t, b.text(t, "table.append-failures"), "disk_full")
		b.screenshot(t, "log")
	})

	t.Run("received lists the series that arrived and the request rate", func(t *testing.T) {
		rows := b.waitText(t, central+"/received", "table.received", func(s string) bool {
			return strings.Contains(s, `__name__="requests_total"`)
		})
		require.Contains(t, rows, `site="edge-1"`)
		require.Contains(t, rows, `path="/a"`)
		require.Contains(t, rows, "counter", "metric type from metadata")
		require.Equal(t, "inspect", b.text(t, ".mode"))
		require.Regexp(t, `^[0-9.]+/s$`, b.text(t, ".request-rate"))
		require.Contains(t, b.text(t, "table.accepted"), "io.prometheus.write.v2.Request")
		b.screenshot(t, "received")

		b.submit(t, "form.filter", map[string]string{"q": "temperature"})
		rows = b.text(t, "table.received")
		require.Contains(t, rows, "temperature_celsius")
		require.NotContains(t, rows, "requests_total")
	})

	t.Run("config hides secrets", func(t *testing.T) {
		b.open(t, edge+"/config")
		cfg := b.text(t, "pre.config")
		require.Contains(t, cfg, "password: <secret>")
		require.Contains(t, cfg, "job_name: app")
		require.NotContains(t, cfg, uiSecret)
		b.screenshot(t, "config")
	})

	t.Run("status shows build information and flags", func(t *testing.T) {
		b.open(t, edge+"/status")
		require.NotEmpty(t, b.text(t, "td.version"))
		flags := b.text(t, "table.flags")
		require.Contains(t, flags, "--config.file")
		require.Contains(t, flags, edgeCfg)
		require.NotContains(t, flags, "--help", "kingpin's own flags are not shown")
		require.Contains(t, b.text(t, "td.reload"), "SUCCESSFUL")
		b.screenshot(t, "status")
	})

	t.Run("a rejected reload is shown on every page while the old config keeps running", func(t *testing.T) {
		require.NoError(t, os.WriteFile(edgeCfg, []byte("scrape_configs: [this is not valid\n"), 0o644))
		resp, err := http.Post(edge+"/-/reload", "", nil)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)

		b.open(t, edge+"/targets")
		banner := b.text(t, ".banner")
		require.Contains(t, banner, "The last configuration reload failed")
		require.Contains(t, banner, "yaml", "the loader's error")
		b.open(t, edge+"/status")
		require.Contains(t, b.text(t, "td.reload"), "failed")
		b.screenshot(t, "status-reload-failed")

		// The previous configuration still scrapes and delivers.
		b.open(t, edge+"/remote-write")
		before, err := strconv.Atoi(b.text(t, "#dest-central td.sent"))
		require.NoError(t, err)
		b.waitText(t, edge+"/remote-write", "#dest-central td.sent", func(s string) bool {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			return err == nil && n > before
		})
	})
}
