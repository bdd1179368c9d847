package runner

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigIsAPrometheusAgentConfigWithFerryExtensions(t *testing.T) {
	c := agentConfig{Interval: 10 * time.Second, Gzip: true, TargetsFile: "/tmp/t.json",
		WriteURL: "http://127.0.0.1:1/api/v1/write", Message: message("rw2"), Compression: "zstd", SendDeadline: 500 * time.Millisecond}
	want := `global:
  scrape_interval: 10s
  scrape_timeout: 10s
scrape_configs:
  - job_name: node
    enable_compression: true
    file_sd_configs:
      - files: ["/tmp/t.json"]
        refresh_interval: 30s
remote_write:
  - name: bench
    url: http://127.0.0.1:1/api/v1/write
    protobuf_message: io.prometheus.write.v2.Request
    queue_config:
      batch_send_deadline: 500ms
    compression: zstd
`
	require.Equal(t, want, c.render())

	c.MaxSamplesPerSend = 20000
	require.Contains(t, c.render(), "    queue_config:\n      batch_send_deadline: 500ms\n      max_samples_per_send: 20000\n    compression: zstd\n")
	c.SendDeadline = 0
	require.Contains(t, c.render(), "    queue_config:\n      max_samples_per_send: 20000\n    compression: zstd\n")
	c.Plain, c.MaxSamplesPerSend = true, 0
	require.NotContains(t, c.render(), "compression: zstd")
	c = agentConfig{Interval: 500 * time.Millisecond, WriteURL: "http://x", Message: message("rw1"), Compression: "snappy", Relay: true}
	got := c.render()
	require.Contains(t, got, "scrape_interval: 500ms\n  scrape_timeout: 500ms\n")
	require.NotContains(t, got, "scrape_configs")
	require.Contains(t, got, "protobuf_message: prometheus.WriteRequest\n")
	require.True(t, strings.HasSuffix(got, "ferry:\n  receiver:\n    enabled: true\n    mode: relay\n"))
}

func TestParseSteps(t *testing.T) {
	steps, err := ParseSteps("200x1000@10s, 400x500@1s")
	require.NoError(t, err)
	require.Equal(t, []Step{{200, 1000, 10 * time.Second}, {400, 500, time.Second}}, steps)
	require.Equal(t, "400x500@1s", steps[1].String())
	require.Equal(t, 200_000.0, steps[1].Rate())
	for _, bad := range []string{"", "200x1000", "x1000@1s", "200x0@1s", "200x10@0s", "200x10@soon"} {
		_, err := ParseSteps(bad)
		require.Error(t, err, bad)
	}
}

func TestReadProcOfThisProcess(t *testing.T) {
	s, err := readProc(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, s.RSS)
	require.GreaterOrEqual(t, s.HWM, s.RSS)
	require.Positive(t, s.Threads)
	require.GreaterOrEqual(t, s.CPUSeconds, 0.0)
	_, err = readProc(1 << 30)
	require.Error(t, err)
}

func TestFallsShort(t *testing.T) {
	st := Step{Targets: 1, Series: 1, Interval: time.Second}
	ok := Result{Machine: Machine{CPUs: 2}, Delivery: Delivery{Ratio: 1, DrainS: 1}, Cost: Cost{CPUCores: 1}}
	ok.Delivery.LagMs.P99 = 12_000
	require.Empty(t, fallsShort(ok, st))

	for reason, r := range map[string]func(*Result){
		"error":               func(r *Result) { r.Error = "boom" },
		"fell behind: 99.00%": func(r *Result) { r.Delivery.Ratio = 0.99 },
		"drain time":          func(r *Result) { r.Delivery.DrainS = -1 },
		"lag":                 func(r *Result) { r.Delivery.LagMs.P99 = 12_001 },
		"CPU saturated":       func(r *Result) { r.Cost.CPUCores = 1.8 },
	} {
		bad := ok
		r(&bad)
		require.Contains(t, fallsShort(bad, st), reason)
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{Scenario: Churn, Targets: 1, Series: 1, Interval: time.Second, Duration: 2 * time.Second,
		Protocol: "rw2", Compression: "zstd"}
	require.NoError(t, o.check())
	require.Equal(t, 0.01, o.ChurnFraction)
	require.Equal(t, FerryArgs, o.Agent.Args)
	require.Equal(t, "/-/ready", o.Agent.ReadyPath)
	require.Equal(t, "rw1", o.PushProtocol)

	o.Scenario = "soak"
	require.ErrorContains(t, o.check(), "unknown scenario")
	o.Scenario, o.Warmup = Steady, 2*time.Second
	require.ErrorContains(t, o.check(), "must exceed warm-up")
}
