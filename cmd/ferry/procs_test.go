package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestIdleFerryRunsOnOneProcessor: an idle ferry gives up all but one of
// Go's processors after ten quiet seconds, unless told not to.
func TestIdleFerryRunsOnOneProcessor(t *testing.T) {
	if runtime.NumCPU() < 2 || os.Getenv("GOMAXPROCS") != "" {
		t.Skip("ferry would get one processor anyway, or GOMAXPROCS is set")
	}
	start := func(t *testing.T, args ...string) *runningFerry {
		dir := t.TempDir()
		cfg := writeFile(t, dir, "ferry.yml", "global: {scrape_interval: 1s}\n")
		return startFerry(t, append([]string{"--config.file=" + cfg, "--storage.agent.path=" + filepath.Join(dir, "data")}, args...)...)
	}
	const gomaxprocs = "go_sched_gomaxprocs_threads"
	t.Run("adaptive", func(t *testing.T) {
		t.Parallel()
		f := start(t)
		require.Greater(t, f.metric(t, gomaxprocs), 1.0, "the runtime's default first")
		// Polled slowly: serving /metrics is CPU for the process measured.
		deadline := time.Now().Add(40 * time.Second)
		for f.metric(t, gomaxprocs) != 1 {
			require.True(t, time.Now().Before(deadline), "timed out waiting for one processor")
			time.Sleep(time.Second)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		t.Parallel()
		f := start(t, "--no-runtime.adaptive-gomaxprocs")
		time.Sleep(12 * time.Second)
		require.Greater(t, f.metric(t, gomaxprocs), 1.0)
	})
}
