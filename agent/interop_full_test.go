package agent

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"
)

// metadataRecorder is a TSDB behind Prometheus' write handler that also
// remembers the metadata the handler appends (the TSDB does not expose it
// for querying).
type metadataRecorder struct {
	storage.Appendable
	mu   sync.Mutex
	meta map[string]metadata.Metadata
}

func (r *metadataRecorder) Appender(ctx context.Context) storage.Appender {
	return &recordingAppender{Appender: r.Appendable.Appender(ctx), r: r}
}

type recordingAppender struct {
	storage.Appender
	r *metadataRecorder
}

func (a *recordingAppender) UpdateMetadata(ref storage.SeriesRef, l labels.Labels, m metadata.Metadata) (storage.SeriesRef, error) {
	a.r.mu.Lock()
	a.r.meta[l.Get("__name__")] = m
	a.r.mu.Unlock()
	return a.Appender.UpdateMetadata(ref, l, m)
}

// instrumentedTarget is a real client_golang registry served over HTTP, with
// a counter and a native histogram that carry exemplars and created
// timestamps.
func instrumentedTarget(t *testing.T) (addr string, created time.Time) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "orders_total", Help: "Orders placed."})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "order_latency_seconds", Help: "Order latency.", NativeHistogramBucketFactor: 1.1})
	reg.MustRegister(c, h)
	created = time.Now()
	c.(prometheus.ExemplarAdder).AddWithExemplar(3, prometheus.Labels{"trace_id": "abc123"})
	for _, v := range []float64{0.01, 0.2, 0.2, 3} {
		h.(prometheus.ExemplarObserver).ObserveWithExemplar(v, prometheus.Labels{"trace_id": "def456"})
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), created
}

func fullConfig(target, url, msg string) string {
	return fmt.Sprintf(`
global:
  scrape_interval: 250ms
scrape_configs:
  - job_name: shop
    scrape_native_histograms: true
    static_configs:
      - targets: [%q]
remote_write:
  - name: central
    url: %s
    protobuf_message: %s
    send_exemplars: true
    send_native_histograms: true
    queue_config:
      batch_send_deadline: 50ms
`, target, url, msg)
}

// TestInteropNativeHistogramsExemplarsMetadataAndStartTimestamps scrapes a
// client_golang registry over protobuf and delivers to Prometheus' own RW2
// handler and TSDB: histograms, exemplars, per-series metadata and start
// timestamps all arrive.
func TestInteropNativeHistogramsExemplarsMetadataAndStartTimestamps(t *testing.T) {
	for _, msg := range []string{"io.prometheus.write.v2.Request", "prometheus.WriteRequest"} {
		t.Run(msg, func(t *testing.T) { testInteropFull(t, msg) })
	}
}

func testInteropFull(t *testing.T, msg string) {
	rw2 := msg == "io.prometheus.write.v2.Request"
	opts := tsdb.DefaultOptions()
	opts.EnableExemplarStorage = true
	opts.MaxExemplars = 1000
	db, err := tsdb.Open(t.TempDir(), quiet(), nil, opts, nil)
	require.NoError(t, err)
	defer db.Close()
	rec := &metadataRecorder{Appendable: db, meta: map[string]metadata.Metadata{}}
	h := remote.NewWriteHandler(quiet(), prometheus.NewRegistry(), rec,
		remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}, true, false, true)
	srv := httptest.NewServer(h)
	defer srv.Close()

	target, created := instrumentedTarget(t)
	dir := t.TempDir()
	stop := startAgent(t, writeConfig(t, dir, fullConfig(target, srv.URL, msg)), filepath.Join(dir, "data"))
	require.Eventually(t, func() bool {
		q, err := db.Querier(math.MinInt64, math.MaxInt64)
		if err != nil {
			return false
		}
		defer q.Close()
		set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "order_latency_seconds"))
		return set.Next()
	}, 20*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // a couple more scrapes
	stop()

	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	defer q.Close()

	// Native histogram.
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "order_latency_seconds"))
	require.True(t, set.Next(), "native histogram series stored")
	it := set.At().Iterator(nil)
	var hists int
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		switch vt {
		case chunkenc.ValHistogram:
			_, hh := it.AtHistogram(nil)
			if hh.Count == 0 {
				continue // the zero sample ingested at the start timestamp
			}
			require.Equal(t, uint64(4), hh.Count)
			require.InDelta(t, 3.41, hh.Sum, 1e-9)
			hists++
		case chunkenc.ValFloatHistogram:
			_, fh := it.AtFloatHistogram(nil)
			if fh.Count == 0 {
				continue
			}
			require.Equal(t, 4.0, fh.Count)
			hists++
		}
	}
	require.Positive(t, hists)

	// Counter; over RW2 with its start timestamp: Prometheus ingests a zero
	// sample at the start timestamp before the first real sample.
	set = q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "orders_total"))
	require.True(t, set.Next())
	it = set.At().Iterator(nil)
	require.Equal(t, chunkenc.ValFloat, it.Next())
	st, v := it.At()
	if rw2 {
		require.Equal(t, 0.0, v, "zero sample at the start timestamp")
		require.InDelta(t, created.UnixMilli(), st, 1000, "start timestamp is the counter's creation time")
		require.Equal(t, chunkenc.ValFloat, it.Next())
		_, v = it.At()
	}
	require.Equal(t, 3.0, v)

	// Exemplars.
	eq, err := db.ExemplarQuerier(context.Background())
	require.NoError(t, err)
	res, err := eq.Select(math.MinInt64, math.MaxInt64, []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", "orders_total|order_latency_seconds")})
	require.NoError(t, err)
	traces := map[string]bool{}
	for _, r := range res {
		for _, e := range r.Exemplars {
			traces[e.Labels.Get("trace_id")] = true
		}
	}
	require.True(t, traces["abc123"], "counter exemplar stored: %v", res)
	require.True(t, traces["def456"], "histogram exemplar stored: %v", res)

	if !rw2 {
		return // RW1 sends metadata in separate requests, which the reference handler does not store
	}
	// Metadata, per series in RW2.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Equal(t, "Orders placed.", rec.meta["orders_total"].Help)
	require.Equal(t, "counter", string(rec.meta["orders_total"].Type))
	require.Equal(t, "histogram", string(rec.meta["order_latency_seconds"].Type))
}
