package sender

import (
	"fmt"
	"testing"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// appendRich appends one scrape with a counter (with an exemplar), a native
// histogram and a custom-bucket histogram, at ts.
func appendRich(t *testing.T, l *wal.Log, enc *record.StreamEncoder, ts int64) {
	enc.Begin(ts, l.ActiveSegment())
	c := enc.Define(labels.FromStrings("__name__", "orders_total", "job", "shop"), "orders_total", remote.Metadata{Type: remote.MetricTypeCounter, Help: "Orders."})
	h := enc.Define(labels.FromStrings("__name__", "latency_seconds", "job", "shop"), "latency_seconds", remote.Metadata{Type: remote.MetricTypeHistogram, Help: "Latency."})
	n := enc.Define(labels.FromStrings("__name__", "size_bytes", "job", "shop"), "size_bytes", remote.Metadata{Type: remote.MetricTypeHistogram, Help: "Sizes."})
	enc.Add(c, float64(ts/1000))
	enc.AddExemplar(c, exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "x"), Value: 1, Ts: ts, HasTs: true})
	enc.AddHistogram(h, ts, nil, &histogram.FloatHistogram{Schema: 0, Count: 2, Sum: 1, PositiveSpans: []histogram.Span{{Offset: 0, Length: 1}}, PositiveBuckets: []float64{2}}, 0)
	enc.AddHistogram(n, ts, nil, &histogram.FloatHistogram{Schema: -53, Count: 1, Sum: 5, PositiveSpans: []histogram.Span{{Offset: 0, Length: 1}}, PositiveBuckets: []float64{1}, CustomValues: []float64{10}}, 0)
	data, cnt := enc.Finish()
	_, err := l.Append(wal.Entry{Kind: record.KindStream, Count: cnt, Data: data, Segment: enc.Segment()})
	require.NoError(t, err)
	enc.Done(true)
}

func TestWhatIsSentFollowsTheDestinationsSettings(t *testing.T) {
	cases := []struct {
		msg                         string
		exemplars, histograms       bool
		wantExemplars, wantHist     int
		wantNHCB                    int
		wantDroppedNHCB             float64
		wantDroppedExemplarsDisable float64
	}{
		{msg: "io.prometheus.write.v2.Request", exemplars: true, histograms: true, wantExemplars: 1, wantHist: 2, wantNHCB: 1},
		{msg: "prometheus.WriteRequest", exemplars: true, histograms: true, wantExemplars: 1, wantHist: 1, wantDroppedNHCB: 1},
		{msg: "io.prometheus.write.v2.Request", exemplars: false, histograms: false, wantDroppedExemplarsDisable: 1},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/exemplars=%v/histograms=%v", c.msg, c.exemplars, c.histograms), func(t *testing.T) {
			rc := newReceiver(t)
			l := openLog(t, t.TempDir())
			defer l.Close()
			m := NewMetrics(nil)
			s := startSender(t, l, rwConfig(t, rc.srv.URL, func(cfg *promconfig.RemoteWriteConfig) {
				cfg.ProtobufMessage = remoteapiMessage(c.msg)
				cfg.SendExemplars = c.exemplars
				cfg.SendNativeHistograms = c.histograms
			}), Options{Metrics: m})
			appendRich(t, l, record.NewStreamEncoder(1), time.Now().UnixMilli())
			require.Eventually(t, func() bool { return rc.total() >= 1 }, 10*time.Second, 10*time.Millisecond)
			time.Sleep(50 * time.Millisecond)
			s.Stop(time.Second)
			rc.mu.Lock()
			defer rc.mu.Unlock()
			require.Equal(t, c.wantExemplars, rc.exemplars)
			require.Equal(t, c.wantHist, rc.histograms)
			require.Equal(t, c.wantNHCB, rc.nhcb)
			require.Equal(t, c.wantDroppedNHCB, testutil.ToFloat64(m.histogramsDrop.WithLabelValues("dest", rc.srv.URL, "nhcb_unsupported_by_rw1")))
			require.Equal(t, c.wantDroppedExemplarsDisable, testutil.ToFloat64(m.exemplarsDrop.WithLabelValues("dest", rc.srv.URL, "disabled_by_config")))
			if c.msg == "io.prometheus.write.v2.Request" {
				require.Equal(t, "Orders.", rc.seriesMeta["orders_total"].Help, "RW2 carries metadata per series")
			}
		})
	}
}

func remoteapiMessage(m string) remoteapi.WriteMessageType { return remoteapi.WriteMessageType(m) }

func TestRW1SendsFamilyMetadataPeriodically(t *testing.T) {
	rc := newReceiver(t)
	l := openLog(t, t.TempDir())
	defer l.Close()
	s := startSender(t, l, rwConfig(t, rc.srv.URL, func(cfg *promconfig.RemoteWriteConfig) {
		cfg.MetadataConfig.SendInterval = model.Duration(30 * time.Millisecond)
	}), Options{})
	defer s.Stop(time.Second)
	appendRich(t, l, record.NewStreamEncoder(1), time.Now().UnixMilli())
	require.Eventually(t, func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return len(rc.familyMeta) == 3
	}, 10*time.Second, 10*time.Millisecond)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	require.Equal(t, remote.Metadata{Type: remote.MetricTypeCounter, Help: "Orders."}, rc.familyMeta["orders_total"])
	require.Empty(t, rc.seriesMeta, "RW1 series carry no metadata")
}

func TestSampleAgeLimitDropsAndCountsDataTooOldToMatter(t *testing.T) {
	rc := newReceiver(t)
	l := openLog(t, t.TempDir())
	defer l.Close()
	m := NewMetrics(nil)
	s := startSender(t, l, rwConfig(t, rc.srv.URL, func(cfg *promconfig.RemoteWriteConfig) {
		cfg.QueueConfig.SampleAgeLimit = model.Duration(time.Hour)
	}), Options{Metrics: m})
	w := newWriter(l, 1, 4)
	old := time.Now().Add(-2 * time.Hour).UnixMilli()
	w.scrape(t, old)
	fresh := time.Now().UnixMilli()
	w.scrape(t, fresh)
	require.Eventually(t, func() bool { return rc.total() >= 4 }, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	for _, ss := range rc.snapshot() {
		require.Len(t, ss, 1)
		require.Equal(t, fresh, ss[0].Timestamp)
	}
	require.Equal(t, 4.0, testutil.ToFloat64(m.samplesDropped.WithLabelValues("dest", rc.srv.URL, "too_old")))
}

// TestMergedSeriesKeepHistogramsAndExemplars sends several scrapes in one
// batch, so the lane merges each series' data across records: nothing but
// samples used to survive the merge.
func TestMergedSeriesKeepHistogramsAndExemplars(t *testing.T) {
	rc, l, s := startRW2(t, func(cfg *promconfig.RemoteWriteConfig) {
		cfg.SendExemplars = true
		cfg.SendNativeHistograms = true
		cfg.QueueConfig.BatchSendDeadline = model.Duration(time.Second)
	})
	enc := record.NewStreamEncoder(1)
	now := time.Now().UnixMilli()
	for i := int64(0); i < 3; i++ {
		appendRich(t, l, enc, now+i*1000)
	}
	require.Eventually(t, func() bool { return rc.total() >= 3 }, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	require.Equal(t, 6, rc.histograms, "two histograms per scrape, three scrapes")
	require.Equal(t, 3, rc.exemplars)
}
