package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestIdleFerryLowersItsGCTarget: an idle ferry spends next to nothing on
// collections, so it halves the garbage collector's target from 50 at the
// end of its first measuring window (three 10 s intervals); a target the
// file writes, or --no-runtime.adaptive-gogc, stays where it was put.
func TestIdleFerryLowersItsGCTarget(t *testing.T) {
	start := func(t *testing.T, file string, args ...string) *runningFerry {
		dir := t.TempDir()
		cfg := writeFile(t, dir, "ferry.yml", "global: {scrape_interval: 1s}\n"+file)
		return startFerry(t, append([]string{"--config.file=" + cfg, "--storage.agent.path=" + filepath.Join(dir, "data")}, args...)...)
	}
	const gogc = "go_gc_gogc_percent"
	const window = 35 * time.Second
	t.Run("adaptive", func(t *testing.T) {
		t.Parallel()
		f := start(t, "")
		require.Equal(t, 50.0, f.metric(t, gogc), "adapting starts from ferry's default")
		deadline := time.Now().Add(window + 15*time.Second)
		for f.metric(t, gogc) >= 50 {
			require.True(t, time.Now().Before(deadline), "timed out waiting for a lower target")
			time.Sleep(2 * time.Second)
		}
	})
	t.Run("written in the file", func(t *testing.T) {
		t.Parallel()
		f := start(t, "runtime: {gogc: 80}\n")
		time.Sleep(window)
		require.Equal(t, 80.0, f.metric(t, gogc))
	})
	t.Run("disabled", func(t *testing.T) {
		t.Parallel()
		f := start(t, "", "--no-runtime.adaptive-gogc")
		time.Sleep(window)
		require.Equal(t, 50.0, f.metric(t, gogc))
	})
}
