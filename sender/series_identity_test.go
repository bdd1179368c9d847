package sender

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// With metadata_config.send: false, an RW2 destination gets no type, help
// or unit, for scraped series and received ones alike, although both
// carry their help and unit as dictionary ids.
func TestMetadataSendFalseStripsHelpAndUnitToo(t *testing.T) {
	rc, l, s := startRW2(t, func(cfg *promconfig.RemoteWriteConfig) { cfg.MetadataConfig.Send = false })
	req := &remote.Request{Series: []remote.Series{{Labels: labels.FromStrings("__name__", "recv_total", "job", "edge"),
		Samples:  []remote.Sample{{Value: 1, Timestamp: time.Now().UnixMilli()}},
		Metadata: remote.Metadata{Type: remote.MetricTypeCounter, Help: "Received help.", Unit: "bytes"}}}}
	_, err := l.Append(wal.Entry{Kind: record.KindBatch, Count: 1, Data: record.AppendBatch(nil, req, &remote.SymbolTable{})})
	require.NoError(t, err)
	appendRich(t, l, record.NewStreamEncoder(1), time.Now().UnixMilli())
	require.Eventually(t, func() bool { return rc.total() >= 2 }, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	require.Empty(t, rc.seriesMeta)
}

// startRW2 starts a sender of RW2 requests to a new counting receiver,
// reading a new log; mutate adjusts its configuration.
func startRW2(t *testing.T, mutate func(*promconfig.RemoteWriteConfig)) (*receiver, *wal.Log, *Sender) {
	rc := newReceiver(t)
	l := openLog(t, t.TempDir())
	t.Cleanup(func() { l.Close() })
	s := startSender(t, l, rwConfig(t, rc.srv.URL, func(cfg *promconfig.RemoteWriteConfig) {
		cfg.ProtobufMessage = remoteapiMessage("io.prometheus.write.v2.Request")
		mutate(cfg)
	}), Options{})
	return rc, l, s
}

// A target's record and, in the same segment, a keyframe that defines its
// series in another order (a new series first) are read into one batch:
// every sample must still reach the destination under its own series.
func TestKeyframeInTheSameBatchKeepsEachSampleOnItsSeries(t *testing.T) {
	// The second record follows the first within the lane's deadline, so
	// both are sent in one request.
	rc, l, s := startRW2(t, func(cfg *promconfig.RemoteWriteConfig) {
		cfg.QueueConfig.BatchSendDeadline = model.Duration(time.Second)
	})
	enc := record.NewStreamEncoder(1)
	now := time.Now().UnixMilli()
	a := labels.FromStrings("__name__", "a", "job", "j")
	b := labels.FromStrings("__name__", "b", "job", "j")
	c := labels.FromStrings("__name__", "new_series_first", "job", "j", "zone", "z")
	appendRecord := func(ts int64, keyframe bool, series ...labels.Labels) {
		if keyframe {
			enc.Begin(ts, l.ActiveSegment())
			enc.Done(false) // as after a failed append: the next record is a keyframe
		}
		enc.Begin(ts, l.ActiveSegment())
		for i, ls := range series {
			enc.Add(enc.Define(ls, ls.Get("__name__"), remote.Metadata{}), float64(ts-now)+float64(i))
		}
		data, n := enc.Finish()
		_, err := l.Append(wal.Entry{Kind: record.KindStream, Count: n, Data: data, Segment: enc.Segment()})
		require.NoError(t, err)
		enc.Done(true)
	}
	appendRecord(now, false, a, b)
	appendRecord(now+1000, true, c, a, b)

	require.Eventually(t, func() bool { return rc.total() >= 5 }, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	values := func(ls labels.Labels) []float64 {
		var out []float64
		for _, x := range rc.samples[ls.String()] {
			out = append(out, x.Value)
		}
		return out
	}
	require.Equal(t, []float64{0, 1001}, values(a))
	require.Equal(t, []float64{1, 1002}, values(b))
	require.Equal(t, []float64{1000}, values(c))
	require.Len(t, rc.samples, 3)
}

// A received RW1 series with both float samples and histograms is stored
// as two RW2 series with the same labels; the lane merges them back into
// one, and the request must still carry them as two, or an RW2 receiver
// refuses the whole request.
func TestSeriesWithSamplesAndHistogramsReachesAnRW2Receiver(t *testing.T) {
	rc, l, s := startRW2(t, func(cfg *promconfig.RemoteWriteConfig) {
		cfg.SendExemplars, cfg.SendNativeHistograms = true, true
	})
	mixed := labels.FromStrings("__name__", "mixed", "job", "j")
	other := labels.FromStrings("__name__", "other", "job", "j")
	rw1 := remote.AppendV1(nil, &remote.Request{Series: []remote.Series{
		{Labels: mixed, Samples: []remote.Sample{{Value: 1, Timestamp: 1000}},
			Histograms: []remote.Histogram{{Timestamp: 2000, H: &histogram.Histogram{Count: 3, Sum: 4, ZeroCount: 3, ZeroThreshold: 0.001}}},
			Exemplars:  []remote.Exemplar{{Labels: labels.FromStrings("trace_id", "t"), Value: 1, Timestamp: 1000}}},
		{Labels: other, Samples: []remote.Sample{{Value: 7, Timestamp: 1000}}},
	}})
	var tr remote.Transcoder
	appendReceived(t, l, &tr, rw1)

	require.Eventually(t, func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return rc.histograms == 1 && len(rc.samples[other.String()]) == 1
	}, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	require.Equal(t, []remote.Sample{{Value: 1, Timestamp: 1000}}, rc.samples[mixed.String()])
	require.Equal(t, 1, rc.exemplars)
}

// A received batch that goes to one lane is handed over whole: its piece
// keeps the memory the batch was decoded into, samples, histograms and
// exemplars, while the read loop decodes the next records into other
// memory. Many batches wait in the lane at once here (a request holds up
// to 10,000 samples); each sample, histogram and exemplar must arrive as
// it was stored.
func TestReceivedBatchesHandedOverWholeArriveIntact(t *testing.T) {
	rc, l, s := startRW2(t, func(cfg *promconfig.RemoteWriteConfig) {
		cfg.SendExemplars, cfg.SendNativeHistograms = true, true
	})
	const records, series = 40, 50
	want := map[string][]remote.Sample{}
	var wantCounts uint64
	var tr remote.Transcoder
	for r := range records {
		req := &remote.Request{}
		for i := range series {
			ls := labels.FromStrings("__name__", fmt.Sprintf("m%d", i), "job", "edge")
			smp := remote.Sample{Value: float64(r*1000 + i), Timestamp: int64(r+1) * 1000}
			req.Series = append(req.Series, remote.Series{Labels: ls, Samples: []remote.Sample{smp},
				Exemplars: []remote.Exemplar{{Labels: labels.FromStrings("trace_id", fmt.Sprint(r, "-", i)), Value: smp.Value, Timestamp: smp.Timestamp}}})
			want[ls.String()] = append(want[ls.String()], smp)
		}
		h := &histogram.Histogram{Count: uint64(r + 1), ZeroCount: uint64(r + 1), ZeroThreshold: 0.001}
		req.Series = append(req.Series, remote.Series{Labels: labels.FromStrings("__name__", "h", "job", "edge"),
			Histograms: []remote.Histogram{{Timestamp: int64(r+1) * 1000, H: h}}})
		wantCounts += uint64(r + 1)
		appendReceived(t, l, &tr, remote.AppendV1(nil, req))
	}
	require.Eventually(t, func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return rc.histograms == records && rc.exemplars == records*series
	}, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	require.Equal(t, wantCounts, rc.histogramCounts)
	for k, w := range want {
		require.Equal(t, w, rc.samples[k], k)
	}
}

// appendReceived stores an RW1 request in the log as a relaying receiver
// does: converted to RW2 by tr.
func appendReceived(t *testing.T, l *wal.Log, tr *remote.Transcoder, rw1 []byte) {
	t.Helper()
	batch, c, _, err := tr.TranscodeV1(nil, rw1, remote.Limits{}, nil)
	require.NoError(t, err)
	_, err = l.Append(wal.Entry{Kind: record.KindBatch, Count: uint32(c.Samples + c.Histograms), Data: batch})
	require.NoError(t, err)
}
