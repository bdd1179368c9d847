package receiver

import (
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
)

// Prometheus sends RW1 metadata in requests of its own; the series that
// come later carry it in the log.
func TestRW1MetadataSentApartReachesLaterSeries(t *testing.T) {
	e := newRelayEnv(t, Options{})
	meta := &remote.Request{FamilyMetadata: []remote.FamilyMetadata{
		{MetricFamilyName: "http_requests", Metadata: remote.Metadata{Type: remote.MetricTypeCounter, Help: "Requests."}},
		{MetricFamilyName: "queue_length", Metadata: remote.Metadata{Type: remote.MetricTypeGauge, Unit: "items"}},
	}}
	require.Equal(t, 204, postWithTenant(t, e.srv.URL, remote.MessageV1, body(t, remote.MessageV1, remote.EncodingSnappy, meta), "a").StatusCode)
	require.Empty(t, e.records(t), "metadata alone leaves no record")

	samples := &remote.Request{Series: []remote.Series{
		{Labels: labels.FromStrings("__name__", "http_requests_total", "code", "200"), Samples: []remote.Sample{{Value: 1, Timestamp: 1}}},
		{Labels: labels.FromStrings("__name__", "queue_length"), Samples: []remote.Sample{{Value: 3, Timestamp: 1}}},
		{Labels: labels.FromStrings("__name__", "unannounced"), Samples: []remote.Sample{{Value: 3, Timestamp: 1}}},
	}}
	b := body(t, remote.MessageV1, remote.EncodingSnappy, samples)
	require.Equal(t, 204, postWithTenant(t, e.srv.URL, remote.MessageV1, b, "a").StatusCode)
	require.Equal(t, 204, postWithTenant(t, e.srv.URL, remote.MessageV1, b, "b").StatusCode)
	recs := e.records(t)
	require.Len(t, recs, 2)
	got := seriesByName(recs[0])
	require.Equal(t, remote.Metadata{Type: remote.MetricTypeCounter, Help: "Requests."},
		got[`{__name__="http_requests_total", code="200"}`].Metadata, "by family name, through the _total suffix")
	require.Equal(t, remote.Metadata{Type: remote.MetricTypeGauge, Unit: "items"}, got[`{__name__="queue_length"}`].Metadata)
	require.True(t, got[`{__name__="unannounced"}`].Metadata.IsZero())
	for _, s := range recs[1].batch.Series {
		require.True(t, s.Metadata.IsZero(), "tenant b announced nothing: %s", s.LabelSet())
	}
}

func TestRememberedMetadataIsBounded(t *testing.T) {
	f := newFamilies()
	big := strings.Repeat("h", 1<<20)
	var fms []remote.FamilyMetadata
	for i := range 20 {
		fms = append(fms, remote.FamilyMetadata{MetricFamilyName: "f" + string(rune('a'+i)), Metadata: remote.Metadata{Help: big}})
	}
	f.learn("", fms)
	require.LessOrEqual(t, f.bytes, maxFamilyStrings)
	require.Less(t, len(f.byKey), 20, "families beyond the byte budget are not remembered")

	f = newFamilies()
	fms = fms[:0]
	for i := range maxFamilies + 10 {
		fms = append(fms, remote.FamilyMetadata{MetricFamilyName: "m" + strconv.Itoa(i), Metadata: remote.Metadata{Type: remote.MetricTypeGauge}})
	}
	f.learn("", fms)
	require.Equal(t, maxFamilies, len(f.byKey))
}

// A series that carries only metadata still makes a record, for both
// protocols: the sender learns the metadata from it for RW1 destinations.
func TestSeriesWithOnlyMetadataMakesARecord(t *testing.T) {
	for _, msg := range []remote.Message{remote.MessageV1, remote.MessageV2} {
		t.Run(string(msg), func(t *testing.T) {
			e := newRelayEnv(t, Options{})
			req := &remote.Request{
				Series: []remote.Series{{Labels: labels.FromStrings("__name__", "queue_length"),
					Metadata: remote.Metadata{Type: remote.MetricTypeGauge, Help: "Items waiting."}}},
				FamilyMetadata: []remote.FamilyMetadata{{MetricFamilyName: "queue_length",
					Metadata: remote.Metadata{Type: remote.MetricTypeGauge, Help: "Items waiting."}}},
			}
			require.Equal(t, 204, post(t, e.srv.URL, msg, "snappy", body(t, msg, remote.EncodingSnappy, req)).StatusCode)
			recs := e.records(t)
			require.Len(t, recs, 1)
			require.Zero(t, recs[0].count)
			require.Len(t, recs[0].batch.Series, 1)
			require.Equal(t, remote.Metadata{Type: remote.MetricTypeGauge, Help: "Items waiting."}, recs[0].batch.Series[0].Metadata)
		})
	}
}
