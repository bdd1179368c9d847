package agent

import (
	"fmt"
	"testing"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	config_util "github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/model/labels"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	promremote "github.com/prometheus/prometheus/storage/remote"
	"github.com/stretchr/testify/require"
)

// outageRequest is request i of the outage test: one sample of value i for
// each of n series, at base + i seconds.
func outageRequest(t *testing.T, base int64, i, n int) []byte {
	st := writev2.NewSymbolTable()
	req := &writev2.Request{}
	for s := range n {
		lset := labels.FromStrings("__name__", "edge_events_total", "series", fmt.Sprint(s))
		req.Timeseries = append(req.Timeseries, writev2.TimeSeries{
			LabelsRefs: st.SymbolizeLabels(lset, nil),
			Samples:    []writev2.Sample{{Value: float64(i), Timestamp: base + int64(i)*1000}},
		})
	}
	req.Symbols = st.Symbols()
	pb, err := req.Marshal()
	require.NoError(t, err)
	return pb
}

// TestRelayDuringDownstreamOutageAcceptsEverythingAndLosesNothing: while
// the destination is down, and across a restart of ferry, the upstream
// Prometheus client gets nothing but 2xx, and retries of accepted requests
// are not stored twice. Once the destination is back, every sample arrives
// exactly once and every series in order, through several parallel lanes.
func TestRelayDuringDownstreamOutageAcceptsEverythingAndLosesNothing(t *testing.T) {
	const requests, series = 40, 25
	rc := newCountingReceiver(t)
	rc.setDown(true)
	dir := t.TempDir()
	cfg := relayConfig(rc.srv.URL, string(remoteapi.WriteV2MessageType), 4, "")
	base := time.Now().Add(-time.Hour).UnixMilli()

	send := func(ra *relayAgent, from, to int) {
		client := prometheusWriteClient(t, ra.url("/api/v1/write"), remoteapi.WriteV2MessageType, config_util.HTTPClientConfig{})
		for i := from; i <= to; i++ {
			pb := outageRequest(t, base, i, series)
			rs := store(t, client, pb)
			require.Equal(t, promremote.WriteResponseStats{Samples: series, Confirmed: true}, rs)
			if i%5 == 0 {
				// The client lost the answer and sends the request again.
				require.Equal(t, rs, store(t, client, pb))
			}
		}
	}
	ra := startRelay(t, dir, cfg, "")
	send(ra, 1, requests/2)
	ra.stop(t)
	ra = startRelay(t, dir, cfg, "")
	send(ra, requests/2+1, requests)
	require.Empty(t, rc.series("edge_events_total"), "the destination was down: nothing arrived yet")

	rc.setDown(false)
	deadline := time.Now().Add(20 * time.Second)
	complete := func() bool {
		got := rc.series("edge_events_total")
		if len(got) != series {
			return false
		}
		for _, ss := range got {
			if len(ss) < requests {
				return false
			}
		}
		return true
	}
	for !complete() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := rc.series("edge_events_total")
	require.Len(t, got, series)
	for k, ss := range got {
		require.Len(t, ss, requests, "%s: every sample exactly once", k)
		for i, s := range ss {
			require.Equal(t, float64(i+1), s.Value, "%s: sample %d in order", k, i)
			require.Equal(t, base+int64(i+1)*1000, s.Timestamp)
		}
	}
}
