package agent

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/config"
)

func TestSameSenderSeesEveryDestinationSetting(t *testing.T) {
	load := func(extra string) config.RemoteWrite {
		t.Helper()
		cfg, err := config.Load([]byte("remote_write:\n  - url: http://a/api/v1/write\n    name: a\n"+extra), ".", nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg.RemoteWrite[0]
	}
	base := load("")
	if !sameSender(base, load("")) {
		t.Fatal("the same entry loaded twice counts as changed")
	}
	for _, change := range []string{
		"    tenant_header: X-Tenant\n",
		"    tenant_label: team\n",
		"    compression: zstd\n",
		"    queue_config:\n      max_samples_per_send: 2000\n",
		"    queue_config:\n      retry_on_http_429: false\n",
	} {
		if sameSender(base, load(change)) {
			t.Errorf("adding %q is not seen as a change: the destination would keep its old settings", change)
		}
	}
}

// gcPercent reads the garbage collector's target without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestRuntimeGOGCIsAppliedAtStartAndOnReload(t *testing.T) {
	t.Setenv("GOGC", "") // as when the variable is not set
	defer debug.SetGCPercent(gcPercent())
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ferry.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("runtime:\n  gogc: 140\n"), 0o600))
	a, stop := runAgent(t, cfg, filepath.Join(dir, "data"))
	defer stop()
	require.Equal(t, 140, gcPercent())

	require.NoError(t, os.WriteFile(cfg, []byte("global:\n  scrape_interval: 15s\n"), 0o600))
	require.NoError(t, a.Reload())
	require.Equal(t, config.DefaultGoGC, gcPercent(), "without runtime.gogc, ferry's default")
}
