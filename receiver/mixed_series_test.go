package receiver

import (
	"net/http"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
)

// RW1 lets one TimeSeries carry float samples and histograms together (the
// reference handler appends both); RW2 does not. The relay must keep both
// in a record its sender can read.
func TestRW1SeriesWithSamplesAndHistogramsIsRelayedWhole(t *testing.T) {
	e := newRelayEnv(t, Options{})
	req := &remote.Request{Series: []remote.Series{{
		Labels:     labels.FromStrings("__name__", "mixed", "job", "j"),
		Samples:    []remote.Sample{{Value: 1, Timestamp: 1000}, {Value: 2, Timestamp: 2000}},
		Histograms: []remote.Histogram{{Timestamp: 3000, H: &histogram.Histogram{Count: 3, Sum: 4, ZeroCount: 3, ZeroThreshold: 0.001}}},
	}}}
	resp := post(t, e.srv.URL, remote.MessageV1, "snappy", body(t, remote.MessageV1, remote.EncodingSnappy, req))
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	recs := e.records(t)
	require.Len(t, recs, 1)
	require.Equal(t, uint32(3), recs[0].count)
	var samples, histograms int
	for _, s := range recs[0].batch.Series {
		require.Equal(t, "mixed", s.LabelSet().Get("__name__"))
		samples += len(s.Samples)
		histograms += len(s.Histograms)
	}
	require.Equal(t, 2, samples)
	require.Equal(t, 1, histograms)
}
