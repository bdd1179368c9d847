package agent

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/value"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
)

// destination is one remote_write entry of destinationsConfig.
type destination struct{ name, url string }

// destinationsConfig is a config scraping target every 100ms and sending to
// every destination.
func destinationsConfig(target string, dests ...destination) string {
	var entries strings.Builder
	for _, d := range dests {
		fmt.Fprintf(&entries, `
  - name: %s
    url: %s
    queue_config:
      batch_send_deadline: 50ms
      min_backoff: 10ms
      max_backoff: 100ms`, d.name, d.url)
	}
	return fmt.Sprintf(`
global:
  scrape_interval: 100ms
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [%q]
remote_write:%s
ferry:
  storage:
    fsync_interval: 100ms
`, target, entries.String())
}

// cursorFixture is a counting target, a receiver that starts down, and a
// log directory, for tests of what happens to destinations' positions.
type cursorFixture struct {
	target       *countingTarget
	rc           *countingReceiver
	dir, storage string
}

func newCursorFixture(t *testing.T) *cursorFixture {
	f := &cursorFixture{target: newCountingTarget(t, math.MaxInt), rc: newCountingReceiver(t), dir: t.TempDir()}
	f.rc.setDown(true)
	f.storage = filepath.Join(f.dir, "data")
	return f
}

// config writes a configuration with one destination per name, all sending
// to the fixture's receiver, and returns its path.
func (f *cursorFixture) config(t *testing.T, names ...string) string {
	var dests []destination
	for _, n := range names {
		dests = append(dests, destination{n, f.rc.srv.URL})
	}
	return writeConfig(t, f.dir, destinationsConfig(f.target.addr(), dests...))
}

// runAgent starts an agent and returns it with a function that stops it.
func runAgent(t *testing.T, cfg, storage string) (*Agent, func()) {
	t.Helper()
	a, err := New(Options{
		ConfigFile: cfg, StoragePath: storage, ListenAddress: "127.0.0.1:0",
		DiscoveryInterval: 20 * time.Millisecond, ShutdownTimeout: time.Second, Logger: quiet(),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	require.Eventually(t, a.ready.Load, 5*time.Second, 5*time.Millisecond)
	return a, func() {
		cancel()
		require.NoError(t, <-done)
	}
}

func cursorFileExists(t *testing.T, storage, name string) bool {
	_, err := os.Stat(filepath.Join(storage, "cursors", name+".cursor"))
	if os.IsNotExist(err) {
		return false
	}
	require.NoError(t, err)
	return true
}

func TestRemovedDestinationReleasesItsPositionOnReloadAndAtStart(t *testing.T) {
	f := newCursorFixture(t)
	cfg := f.config(t, "keep", "gone", "extra")

	a, stop := runAgent(t, cfg, f.storage)
	require.Eventually(t, func() bool { return f.target.scrapes() >= 3 }, 20*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"extra", "gone", "keep"}, a.log.CursorNames())
	require.Positive(t, cursorStats(a.log.Stats(), "extra").LagBytes, "extra holds unsent data")

	// Reload without "extra": its position is released at once.
	f.config(t, "keep", "gone")
	require.NoError(t, a.Reload())
	require.Equal(t, []string{"gone", "keep"}, a.log.CursorNames())
	require.False(t, cursorFileExists(t, f.storage, "extra"))
	stop()

	// Start with a configuration without "gone": released at start.
	f.config(t, "keep")
	a, stop = runAgent(t, cfg, f.storage)
	defer stop()
	require.Equal(t, []string{"keep"}, a.log.CursorNames())
	require.False(t, cursorFileExists(t, f.storage, "gone"))
	require.True(t, cursorFileExists(t, f.storage, "keep"))
}

func TestRenamedDestinationStartsAtTheEndAndReleasesTheOldPosition(t *testing.T) {
	f := newCursorFixture(t)
	a, stop := runAgent(t, f.config(t, "old"), f.storage)
	defer stop()
	require.Eventually(t, func() bool { return f.target.scrapes() >= 5 }, 20*time.Second, 10*time.Millisecond)

	f.config(t, "new")
	served := f.target.scrapes()
	require.NoError(t, a.Reload())
	require.Equal(t, []string{"new"}, a.log.CursorNames())
	require.False(t, cursorFileExists(t, f.storage, "old"))
	f.rc.setDown(false)

	var got []remote.Sample
	require.Eventually(t, func() bool {
		for k, ss := range f.rc.series("requests_total") {
			if strings.Contains(k, `"/a"`) && len(ss) >= 3 {
				got = ss
				return true
			}
		}
		return false
	}, 20*time.Second, 10*time.Millisecond)
	first := 0.0
	for _, s := range got {
		if !value.IsStaleNaN(s.Value) {
			first = s.Value
			break
		}
	}
	require.GreaterOrEqual(t, first, float64(served), "the renamed destination does not get the old name's backlog: %v", got)
	requireEveryScrapeOnceInOrder(t, got, 1, int(first), failedScrapes(f.rc))
}
