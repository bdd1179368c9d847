package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type targetsResponse struct {
	Status string `json:"status"`
	Data   struct {
		ActiveTargets []struct {
			DiscoveredLabels map[string]string `json:"discoveredLabels"`
			Labels           map[string]string `json:"labels"`
			ScrapePool       string            `json:"scrapePool"`
			ScrapeURL        string            `json:"scrapeUrl"`
			Health           string            `json:"health"`
			ScrapeInterval   string            `json:"scrapeInterval"`
		} `json:"activeTargets"`
		DroppedTargets []struct {
			DiscoveredLabels map[string]string `json:"discoveredLabels"`
			DropReason       string            `json:"dropReason"`
		} `json:"droppedTargets"`
		DroppedTargetCounts map[string]int `json:"droppedTargetCounts"`
	} `json:"data"`
}

// TestTargetsAPIListsActiveAndDroppedTargetsLikePrometheus checks the JSON
// of /api/v1/targets, which tools written for Prometheus read.
func TestTargetsAPIListsActiveAndDroppedTargetsLikePrometheus(t *testing.T) {
	target := newCountingTarget(t, math.MaxInt)
	rc := newCountingReceiver(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fmt.Sprintf(`
global:
  scrape_interval: 250ms
scrape_configs:
  - job_name: app
    keep_dropped_targets: 10
    static_configs:
      - targets: [%q, "drop-me:9100"]
    relabel_configs:
      - source_labels: [__address__]
        regex: drop-me:.*
        action: drop
remote_write:
  - url: %s
`, target.addr(), rc.srv.URL))
	a, err := New(Options{ConfigFile: cfg, StoragePath: filepath.Join(dir, "data"), ListenAddress: "127.0.0.1:0",
		DiscoveryInterval: 20 * time.Millisecond, Logger: quiet()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	require.Eventually(t, func() bool { return target.scrapes() >= 1 }, 20*time.Second, 10*time.Millisecond)

	get := func(query string) targetsResponse {
		resp, err := http.Get("http://" + a.Addr() + "/api/v1/targets" + query)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var tr targetsResponse
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&tr))
		require.Equal(t, "success", tr.Status)
		return tr
	}
	require.Eventually(t, func() bool {
		tr := get("")
		return len(tr.Data.ActiveTargets) == 1 && tr.Data.ActiveTargets[0].Health == "up"
	}, 10*time.Second, 20*time.Millisecond)
	tr := get("?state=any")
	at := tr.Data.ActiveTargets[0]
	require.Equal(t, "app", at.ScrapePool)
	require.Equal(t, "http://"+target.addr()+"/metrics", at.ScrapeURL)
	require.Equal(t, map[string]string{"instance": target.addr(), "job": "app"}, at.Labels)
	require.Equal(t, target.addr(), at.DiscoveredLabels["__address__"])
	require.Equal(t, "250ms", at.ScrapeInterval)
	require.Len(t, tr.Data.DroppedTargets, 1)
	require.Equal(t, "drop-me:9100", tr.Data.DroppedTargets[0].DiscoveredLabels["__address__"])
	require.Equal(t, "relabeling", tr.Data.DroppedTargets[0].DropReason)
	require.Equal(t, map[string]int{"app": 1}, tr.Data.DroppedTargetCounts)

	require.Empty(t, get("?state=dropped").Data.ActiveTargets)
	require.Empty(t, get("").Data.DroppedTargets, "active only by default")
	require.Empty(t, get("?scrapePool=other").Data.ActiveTargets)
	resp, err := http.Get("http://" + a.Addr() + "/api/v1/targets?state=bogus")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
