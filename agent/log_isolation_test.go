package agent

import (
	"context"
	"math"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/value"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// refusedURL returns a loopback URL where nothing listens.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr + "/api/v1/write"
}

func cursorStats(st wal.Stats, name string) wal.CursorStats {
	for _, c := range st.Cursors {
		if c.Name == name {
			return c
		}
	}
	return wal.CursorStats{}
}

// TestDeadDestinationsNeverSlowTheLiveOneOrScraping runs three destinations
// on one log: one healthy, one answering 503 and one refusing connections,
// for the whole test. Scraping goes on at its interval, the healthy
// destination receives every scrape in order as it happens, and the dead
// destinations' backlog only grows in the log.
func TestDeadDestinationsNeverSlowTheLiveOneOrScraping(t *testing.T) {
	target := newCountingTarget(t, math.MaxInt)
	live := newCountingReceiver(t)
	unavailable := newCountingReceiver(t)
	unavailable.setDown(true)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, destinationsConfig(target.addr(),
		destination{"live", live.srv.URL}, destination{"unavailable", unavailable.srv.URL}, destination{"refused", refusedURL(t)}))
	a, err := New(Options{
		ConfigFile: cfg, StoragePath: filepath.Join(dir, "data"), ListenAddress: "127.0.0.1:0",
		DiscoveryInterval: 20 * time.Millisecond, ShutdownTimeout: time.Second, Logger: quiet(),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	liveLast := func() int {
		for k, ss := range live.series("requests_total") {
			if strings.Contains(k, `"/a"`) && len(ss) > 0 {
				return int(ss[len(ss)-1].Value)
			}
		}
		return 0
	}
	// Each round: the target is scraped more, and the healthy destination
	// receives those very scrapes while the dead ones fall further behind.
	var lagBefore int64
	for round := 0; round < 3; round++ {
		goal := target.scrapes() + 10
		require.Eventually(t, func() bool { return liveLast() >= goal }, 20*time.Second, 10*time.Millisecond,
			"round %d: scraping goes on and the healthy destination keeps up", round)
		st := a.log.Stats()
		for _, dead := range []string{"unavailable", "refused"} {
			c := cursorStats(st, dead)
			require.Equal(t, dead, c.Name)
			require.Greater(t, c.LagBytes, lagBefore, "round %d: %s's backlog grows in the log", round, dead)
			require.GreaterOrEqual(t, c.LagRecords, uint64(goal)*9/10, "round %d: %s has delivered nothing", round, dead)
		}
		lagBefore = min(cursorStats(st, "unavailable").LagBytes, cursorStats(st, "refused").LagBytes)
		require.Less(t, cursorStats(st, "live").LagBytes, lagBefore, "the healthy destination's position moves")
	}
	require.Empty(t, unavailable.series("requests_total"))

	failed := failedScrapes(live)
	for k, ss := range live.series("requests_total") {
		step := 1.0
		if strings.Contains(k, `"/b"`) {
			step = 2
		}
		requireEveryScrapeOnceInOrder(t, ss, step, 1, failed)
	}
}

// failedScrapes counts the scrapes whose up sample is 0: on a loaded
// machine a scrape can time out, and that scrape's values never exist.
func failedScrapes(rc *countingReceiver) int {
	n := 0
	for _, ss := range rc.series("up") {
		for _, s := range ss {
			if s.Value == 0 {
				n++
			}
		}
	}
	return n
}

// requireEveryScrapeOnceInOrder checks a counter series of the counting
// target from the value first*step on: values strictly increase (no
// duplicate, no reordering), timestamps too, and a value is missing only
// for a scrape that failed (which also writes stale markers, skipped here).
func requireEveryScrapeOnceInOrder(t *testing.T, ss []remote.Sample, step float64, first, failed int) {
	t.Helper()
	require.NotEmpty(t, ss)
	missing := 0
	prev := float64(first-1) * step
	for i, s := range ss {
		if i > 0 {
			require.Greater(t, s.Timestamp, ss[i-1].Timestamp, "timestamps strictly increase")
		}
		if value.IsStaleNaN(s.Value) {
			continue
		}
		require.Greater(t, s.Value, prev, "sample %d: no duplicate, in order: %v", i, ss)
		missing += int((s.Value-prev)/step) - 1
		prev = s.Value
	}
	require.LessOrEqual(t, missing, failed, "only failed scrapes are missing: %v", ss)
}
