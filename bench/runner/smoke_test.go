package runner

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The smoke tests run the harness end to end on a tiny load for a few
// seconds each, with the real ferry binary, so that it never rots. They
// check the harness's own bookkeeping and ferry's delivery guarantees (all
// delivered, no duplicates, nothing out of order), not any speed.

var (
	buildOnce sync.Once
	buildDir  string
	built     AgentSpec
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// ferryBinary builds ferry once for all smoke tests.
func ferryBinary(t *testing.T) AgentSpec {
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "ferrybench-smoke-")
		if buildErr == nil {
			_, buildErr = prepareAgent(context.Background(), &built, buildDir)
		}
	})
	require.NoError(t, buildErr)
	return built
}

func smokeOptions(t *testing.T, scenario string) Options {
	return Options{
		Scenario: scenario, Targets: 3, Series: 50, Interval: time.Second,
		Duration: 6 * time.Second, Warmup: 2 * time.Second, Drain: 20 * time.Second,
		Protocol: "rw2", Compression: "zstd", Gzip: true, Seed: 1,
		WorkDir: t.TempDir(), Agent: ferryBinary(t),
		// Shorter than the outage, so that requests meet it.
		SendDeadline: 500 * time.Millisecond,
	}
}

// checkDelivery asserts what must hold after every scenario.
func checkDelivery(t *testing.T, res Result) {
	t.Helper()
	b, err := json.Marshal(res)
	require.NoError(t, err)
	t.Logf("result: %s", b)
	d := res.Delivery
	require.Positive(t, d.Expected)
	// A scrape the target answered but ferry gave up on (timeout, on a
	// very busy machine) is reported by ferry as failed; anything else
	// missing is lost data.
	require.LessOrEqual(t, d.Missing, d.AgentFailedScrapes*int64(res.Load.Series), "every sample of every scrape ferry took delivered")
	require.Zero(t, d.Extra)
	require.Zero(t, d.Duplicates)
	require.Zero(t, d.OutOfOrder)
	require.GreaterOrEqual(t, d.DrainS, 0.0)
	require.Positive(t, res.Cost.CPUS)
	require.Positive(t, res.Cost.WindowSamples)
	require.Positive(t, res.Cost.RSSWindowAvg)
	require.Positive(t, res.Cost.RSSAnonWindowAvg)
	require.Less(t, res.Cost.RSSAnonWindowAvg, res.Cost.RSSWindowAvg, "the binary's own pages are resident too")
	require.Len(t, res.Cost.RSSAnonOverTime, len(res.Cost.RSSOverTime))
	require.Positive(t, res.Wire.Bytes)
	require.Positive(t, res.Wire.BytesPerSample)
	require.Positive(t, d.LagMs.N)
}

// runSmoke runs scenario for d and checks what every scenario must show.
func runSmoke(t *testing.T, scenario string, d time.Duration) Result {
	if testing.Short() {
		t.Skip("builds and runs ferry")
	}
	t.Parallel()
	o := smokeOptions(t, scenario)
	o.Duration = d
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, o)
	require.NoError(t, err)
	checkDelivery(t, res)
	return res
}

func TestSmokeOutageScrapeDeliversEverything(t *testing.T) {
	res := runSmoke(t, Outage, 9*time.Second)
	require.Equal(t, map[string]int64{"up": 3, "scrape_duration_seconds": 3, "scrape_samples_scraped": 3,
		"scrape_samples_post_metric_relabeling": 3, "scrape_series_added": 3}, res.Receiver.ReportSeriesByName)
	require.Equal(t, int64(150), res.Receiver.PayloadSeries)
	require.Positive(t, res.Receiver.ByStatus["503"], "the outage happened")
	require.NotNil(t, res.Catchup)
	require.GreaterOrEqual(t, res.Catchup.Seconds, 0.0, "caught up")
	require.Equal(t, res.Targets.Samples, res.Delivery.Expected)
	require.Equal(t, res.Targets.Scrapes, res.Targets.GzipScrapes, "ferry asked for gzip")
}

func TestSmokeRelayDeliversEverything(t *testing.T) {
	res := runSmoke(t, Relay, 5*time.Second)
	require.Equal(t, int64(150), res.Receiver.PayloadSeries)
}
