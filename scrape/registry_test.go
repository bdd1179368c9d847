package scrape

import (
	"context"
	"errors"
	"math"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// instrumented is a real client_golang registry with one metric of each kind.
type instrumented struct {
	reg     *prometheus.Registry
	counter prometheus.Counter
	gauge   prometheus.Gauge
	hist    prometheus.Histogram
	summary prometheus.Summary
}

func newInstrumented() *instrumented {
	in := &instrumented{reg: prometheus.NewRegistry()}
	in.counter = prometheus.NewCounter(prometheus.CounterOpts{Name: "jobs_processed_total", Help: "Jobs processed."})
	in.gauge = prometheus.NewGauge(prometheus.GaugeOpts{Name: "queue_length", Help: "Jobs waiting."})
	in.hist = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "job_duration_seconds", Help: "Job durations.",
		Buckets:                     []float64{0.1, 1, 10},
		NativeHistogramBucketFactor: 1.1,
	})
	in.summary = prometheus.NewSummary(prometheus.SummaryOpts{Name: "payload_bytes", Help: "Payload sizes.", Objectives: map[float64]float64{0.5: 0.05}})
	in.reg.MustRegister(in.counter, in.gauge, in.hist, in.summary)
	in.counter.(prometheus.ExemplarAdder).AddWithExemplar(5, prometheus.Labels{"trace_id": "t-1"})
	in.gauge.Set(3)
	for _, v := range []float64{0.05, 0.5, 0.5, 2, 20} {
		in.hist.(prometheus.ExemplarObserver).ObserveWithExemplar(v, prometheus.Labels{"trace_id": "t-2"})
	}
	in.summary.Observe(100)
	in.summary.Observe(300)
	return in
}

func (in *instrumented) family(t *testing.T, name string) *dto.MetricFamily {
	mfs, err := in.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("no family %s", name)
	return nil
}

// scrapeRegistry scrapes the registry once with cfg and returns what the
// log holds, by series.
func scrapeRegistry(t *testing.T, in *instrumented, mutate func(*promconfig.ScrapeConfig)) map[string]remote.Series {
	srv := httptest.NewServer(promhttp.HandlerFor(in.reg, promhttp.HandlerOpts{EnableOpenMetrics: true, EnableOpenMetricsTextCreatedSamples: true}))
	t.Cleanup(srv.Close)
	l, err := wal.Open(t.TempDir(), wal.Options{FsyncInterval: time.Hour, Logger: quiet()})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	r, err := l.OpenCursor("test")
	require.NoError(t, err)
	cfg := scrapeConfig("app")
	mutate(cfg)
	u, _ := url.Parse(srv.URL)
	targets, _, errs := targetsFromGroup(&targetgroup.Group{Targets: []model.LabelSet{{model.AddressLabel: model.LabelValue(u.Host)}}}, cfg, labels.NewBuilder(labels.EmptyLabels()))
	require.Empty(t, errs)
	p, err := newPool(cfg, NewManager(Options{Appender: l, Logger: quiet()}))
	require.NoError(t, err)
	f := fetcher{client: p.client, url: targets[0].url, accept: p.accept, gzip: true, timeout: 30 * time.Second}
	lp := newLoop(targets[0], cfg, f, l, 1, 0, quiet(), p.mgr.m, func() error { return nil })
	lp.now = func() time.Time { return time.Unix(1000, 0) }
	lp.scrapeAndAppend(context.Background(), time.Unix(1000, 0))
	require.Equal(t, HealthUp, targets[0].Status().Health, targets[0].Status().LastError)

	out := map[string]remote.Series{}
	var b record.Batch
	dec := record.NewDecoder(nil)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		rec, err := r.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return out
		}
		require.NoError(t, err)
		b.Reset()
		require.NoError(t, dec.Decode(rec, &b))
		for _, s := range b.Series {
			out[s.LabelSet().String()] = s
		}
	}
}

// lookup finds a series by name and extra labels, ignoring the instance.
func lookup(t *testing.T, got map[string]remote.Series, name string, kv ...string) remote.Series {
	t.Helper()
	for _, s := range got {
		if s.LabelSet().Get("__name__") != name {
			continue
		}
		ok := true
		for i := 0; i < len(kv); i += 2 {
			if s.LabelSet().Get(kv[i]) != kv[i+1] {
				ok = false
			}
		}
		if ok {
			return s
		}
	}
	t.Fatalf("no series %s %v in %d series", name, kv, len(got))
	return remote.Series{}
}

func TestScrapingAClientGolangRegistryOverProtobufKeepsEverything(t *testing.T) {
	in := newInstrumented()
	got := scrapeRegistry(t, in, func(c *promconfig.ScrapeConfig) {
		yes := true
		c.ScrapeNativeHistograms = &yes
		c.ScrapeProtocols = promconfig.DefaultProtoFirstScrapeProtocols
	})

	counter := lookup(t, got, "jobs_processed_total")
	require.Equal(t, 5.0, counter.Samples[0].Value)
	require.Equal(t, remote.MetricTypeCounter, counter.Metadata.Type)
	require.Equal(t, "Jobs processed.", counter.Metadata.Help)
	created := in.family(t, "jobs_processed_total").Metric[0].Counter.CreatedTimestamp.AsTime().UnixMilli()
	require.Equal(t, created, counter.Samples[0].StartTimestamp, "created timestamp becomes the start timestamp")
	require.Len(t, counter.Exemplars, 1)
	require.Equal(t, "t-1", counter.Exemplars[0].Labels.Get("trace_id"))
	require.Equal(t, 5.0, counter.Exemplars[0].Value)

	require.Equal(t, 3.0, lookup(t, got, "queue_length").Samples[0].Value)

	hist := lookup(t, got, "job_duration_seconds")
	require.Len(t, hist.Histograms, 1, "native histogram")
	h := hist.Histograms[0]
	dh := in.family(t, "job_duration_seconds").Metric[0].Histogram
	if h.H != nil {
		require.Equal(t, dh.GetSampleCount(), h.H.Count)
		require.Equal(t, dh.GetSampleSum(), h.H.Sum)
		require.Equal(t, dh.GetSchema(), h.H.Schema)
	} else {
		require.Equal(t, float64(dh.GetSampleCount()), h.FH.Count)
	}
	require.Equal(t, dh.CreatedTimestamp.AsTime().UnixMilli(), h.StartTimestamp)
	require.NotEmpty(t, hist.Exemplars, "native histogram exemplars")

	q := lookup(t, got, "payload_bytes", "quantile", "0.5")
	require.False(t, math.IsNaN(q.Samples[0].Value))
	require.Equal(t, 2.0, lookup(t, got, "payload_bytes_count").Samples[0].Value)
	require.Equal(t, 400.0, lookup(t, got, "payload_bytes_sum").Samples[0].Value)
}

func TestScrapingAClientGolangRegistryAsOpenMetricsKeepsClassicHistograms(t *testing.T) {
	in := newInstrumented()
	got := scrapeRegistry(t, in, func(c *promconfig.ScrapeConfig) {})
	counter := lookup(t, got, "jobs_processed_total")
	require.Equal(t, 5.0, counter.Samples[0].Value)
	require.Len(t, counter.Exemplars, 1)
	require.NotZero(t, counter.Samples[0].StartTimestamp, "OpenMetrics _created becomes the start timestamp")
	for le, want := range map[string]float64{"0.1": 1, "1.0": 3, "10.0": 4, "+Inf": 5} {
		require.Equal(t, want, lookup(t, got, "job_duration_seconds_bucket", "le", le).Samples[0].Value, "le=%s", le)
	}
	require.Equal(t, 5.0, lookup(t, got, "job_duration_seconds_count").Samples[0].Value)
	require.Equal(t, remote.MetricTypeHistogram, lookup(t, got, "job_duration_seconds_count").Metadata.Type)
	// As with Prometheus' created-timestamp ingestion, _created lines
	// become start timestamps instead of series of their own.
	for _, s := range got {
		require.NotEqual(t, "jobs_processed_created", s.LabelSet().Get("__name__"))
	}
}

func TestClassicHistogramsConvertToNHCB(t *testing.T) {
	in := newInstrumented()
	got := scrapeRegistry(t, in, func(c *promconfig.ScrapeConfig) {
		yes := true
		c.ConvertClassicHistogramsToNHCB = &yes
	})
	hist := lookup(t, got, "job_duration_seconds")
	require.Len(t, hist.Histograms, 1)
	h := hist.Histograms[0]
	var schema int32
	var custom []float64
	if h.H != nil {
		schema, custom = h.H.Schema, h.H.CustomValues
	} else {
		schema, custom = h.FH.Schema, h.FH.CustomValues
	}
	require.Equal(t, int32(-53), schema)
	require.Equal(t, []float64{0.1, 1, 10}, custom)
}
