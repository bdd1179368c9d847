package scrape

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/model/value"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/wal"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// exposition is a target whose body the test changes between scrapes.
type exposition struct {
	mu          sync.Mutex
	body        string
	status      int
	contentType string
	gzip        bool
	// gzipFlushEvery, when set, flushes the gzip stream after every so
	// many bytes, as a streaming exporter might: each flush adds bytes.
	gzipFlushEvery int
	requests       []*http.Request
}

func (e *exposition) set(body string) { e.mu.Lock(); e.body = body; e.mu.Unlock() }

func (e *exposition) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests = append(e.requests, r)
	ct := e.contentType
	if ct == "" {
		ct = "text/plain; version=0.0.4"
	}
	w.Header().Set("Content-Type", ct)
	if e.status != 0 {
		w.WriteHeader(e.status)
		return
	}
	if e.gzip && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		body := e.body
		for e.gzipFlushEvery > 0 && len(body) > e.gzipFlushEvery {
			io.WriteString(zw, body[:e.gzipFlushEvery])
			zw.Flush()
			body = body[e.gzipFlushEvery:]
		}
		io.WriteString(zw, body)
		zw.Close()
		return
	}
	io.WriteString(w, e.body)
}

type got struct {
	lset string
	t    int64
	v    float64
}

func (g got) stale() bool { return value.IsStaleNaN(g.v) }

// harness scrapes one target into a real log and reads it back.
type harness struct {
	t    *testing.T
	exp  *exposition
	srv  *httptest.Server
	log  *wal.Log
	r    *wal.Reader
	dec  *record.Decoder
	loop *loop
	cfg  *promconfig.ScrapeConfig
}

func scrapeConfig(job string) *promconfig.ScrapeConfig {
	c := promconfig.DefaultScrapeConfig
	c.JobName = job
	// Scrapes are driven by hand; a generous timeout keeps slow CI
	// machines (and the race detector) from failing them.
	c.ScrapeInterval = model.Duration(30 * time.Second)
	c.ScrapeTimeout = model.Duration(30 * time.Second)
	c.MetricsPath = "/metrics"
	c.Scheme = "http"
	c.HonorTimestamps = true
	c.EnableCompression = true
	c.MetricNameValidationScheme = model.UTF8Validation
	c.MetricNameEscapingScheme = model.AllowUTF8
	return &c
}

func newHarness(t *testing.T, mutate func(*promconfig.ScrapeConfig)) *harness {
	h := &harness{t: t, exp: &exposition{}}
	h.srv = httptest.NewServer(h.exp)
	t.Cleanup(h.srv.Close)
	l, err := wal.Open(t.TempDir(), wal.Options{FsyncInterval: time.Hour, Logger: quiet()})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	h.log = l
	h.r, err = l.OpenCursor("test")
	require.NoError(t, err)
	h.dec = record.NewDecoder(nil)
	h.cfg = scrapeConfig("node")
	if mutate != nil {
		mutate(h.cfg)
	}
	u, _ := url.Parse(h.srv.URL)
	lb := labels.NewBuilder(labels.EmptyLabels())
	tg := &targetgroup.Group{Targets: []model.LabelSet{{model.AddressLabel: model.LabelValue(u.Host)}}, Labels: model.LabelSet{"env": "prod"}, Source: "test"}
	targets, _, errs := targetsFromGroup(tg, h.cfg, lb)
	require.Empty(t, errs)
	require.Len(t, targets, 1)
	p, err := newPool(h.cfg, NewManager(Options{Appender: l, Logger: quiet()}))
	require.NoError(t, err)
	f := fetcher{client: p.client, url: targets[0].url, accept: p.accept, gzip: h.cfg.EnableCompression, timeout: 30 * time.Second, bodyLimit: int64(h.cfg.BodySizeLimit)}
	h.loop = newLoop(targets[0], h.cfg, f, l, 1, 0, quiet(), p.mgr.m, func() error { return nil })
	return h
}

// scrape runs one scrape at ts (seconds) and returns what it appended.
func (h *harness) scrape(ts int64) []got {
	h.loop.now = func() time.Time { return time.Unix(ts, 0) }
	h.loop.scrapeAndAppend(context.Background(), time.Unix(ts, 0))
	return h.read()
}

func (h *harness) read() []got {
	var out []got
	var b record.Batch
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		rec, err := h.r.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return out
		}
		require.NoError(h.t, err)
		b.Reset()
		require.NoError(h.t, h.dec.Decode(rec, &b))
		for _, s := range b.Series {
			out = append(out, got{s.LabelSet().String(), s.Samples[0].Timestamp, s.Samples[0].Value})
		}
	}
}

func byName(gs []got) map[string]got {
	m := map[string]got{}
	for _, g := range gs {
		m[g.lset] = g
	}
	return m
}

func (h *harness) instance() string { u, _ := url.Parse(h.srv.URL); return u.Host }

func (h *harness) series(name string, extra ...string) string {
	kv := append([]string{"__name__", name, "env", "prod", "instance", h.instance(), "job", "node"}, extra...)
	return labels.FromStrings(kv...).String()
}

func TestScrapeAppendsSamplesWithTargetLabelsAndReportSeries(t *testing.T) {
	h := newHarness(t, nil)
	h.exp.set("# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 10\nhttp_requests_total{code=\"500\"} 2\ntemperature 21.5\n")
	gs := byName(h.scrape(1000))
	require.Len(t, gs, 3+5)
	ts := int64(1000_000)
	require.Equal(t, got{h.series("http_requests_total", "code", "200"), ts, 10}, gs[h.series("http_requests_total", "code", "200")])
	require.Equal(t, got{h.series("temperature"), ts, 21.5}, gs[h.series("temperature")])
	require.Equal(t, 1.0, gs[h.series("up")].v)
	require.Equal(t, 3.0, gs[h.series("scrape_samples_scraped")].v)
	require.Equal(t, 3.0, gs[h.series("scrape_samples_post_metric_relabeling")].v)
	require.Equal(t, 3.0, gs[h.series("scrape_series_added")].v)
	require.Greater(t, gs[h.series("scrape_duration_seconds")].v, 0.0)

	// Steady state: nothing added.
	gs = byName(h.scrape(1001))
	require.Equal(t, 0.0, gs[h.series("scrape_series_added")].v)
	require.Len(t, gs, 8)

	req := h.exp.requests[0]
	require.Contains(t, req.Header.Get("Accept"), "application/openmetrics-text")
	require.Equal(t, "30", req.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"))
	require.True(t, strings.HasPrefix(req.Header.Get("User-Agent"), "ferry/"))
}

func TestVanishedSeriesGetStaleMarkers(t *testing.T) {
	h := newHarness(t, nil)
	h.exp.set("a 1\nb 2\n")
	h.scrape(1)
	h.exp.set("a 1\n")
	gs := byName(h.scrape(2))
	require.True(t, gs[h.series("b")].stale(), "b vanished: stale marker")
	require.Equal(t, int64(2000), gs[h.series("b")].t)
	require.False(t, gs[h.series("a")].stale())
	gs = byName(h.scrape(3))
	_, ok := gs[h.series("b")]
	require.False(t, ok, "one stale marker only")
	h.exp.set("a 1\nb 5\n")
	gs = byName(h.scrape(4))
	require.Equal(t, 5.0, gs[h.series("b")].v, "a series that comes back is appended again")
	require.Equal(t, 1.0, gs[h.series("scrape_series_added")].v)
}

func TestFailedScrapeMarksEverySeriesStaleAndReportsDown(t *testing.T) {
	h := newHarness(t, nil)
	h.exp.set("a 1\nb 2\n")
	h.scrape(1)
	h.exp.mu.Lock()
	h.exp.status = http.StatusInternalServerError
	h.exp.mu.Unlock()
	gs := byName(h.scrape(2))
	require.True(t, gs[h.series("a")].stale())
	require.True(t, gs[h.series("b")].stale())
	require.Equal(t, 0.0, gs[h.series("up")].v)
	require.Equal(t, 0.0, gs[h.series("scrape_samples_scraped")].v)
	st := h.loop.target.Status()
	require.Equal(t, HealthDown, st.Health)
	require.Contains(t, st.LastError, "500")
}

func TestMalformedExpositionFailsTheScrapeWithAClearError(t *testing.T) {
	h := newHarness(t, nil)
	h.exp.set("a 1\nthis is { not valid\n")
	gs := byName(h.scrape(1))
	require.Equal(t, 0.0, gs[h.series("up")].v)
	_, ok := gs[h.series("a")]
	require.False(t, ok, "a failed scrape appends none of its samples")
	require.Contains(t, h.loop.target.Status().LastError, "parse")
}

func TestHonorLabels(t *testing.T) {
	for _, honor := range []bool{false, true} {
		t.Run(fmt.Sprint("honor=", honor), func(t *testing.T) {
			h := newHarness(t, func(c *promconfig.ScrapeConfig) { c.HonorLabels = honor })
			h.exp.set(`m{job="exposed",exported_job="x"} 1` + "\n")
			gs := h.scrape(1)
			var m got
			for _, g := range gs {
				if strings.HasPrefix(g.lset, `{__name__="m"`) {
					m = g
				}
			}
			if honor {
				require.Equal(t, labels.FromStrings("__name__", "m", "env", "prod", "instance", h.instance(), "job", "exposed", "exported_job", "x").String(), m.lset)
			} else {
				require.Equal(t, labels.FromStrings("__name__", "m", "env", "prod", "instance", h.instance(), "job", "node", "exported_job", "x", "exported_exported_job", "exposed").String(), m.lset)
			}
		})
	}
}

func TestMetricRelabelingDropsAndRewritesOncePerSeries(t *testing.T) {
	h := newHarness(t, func(c *promconfig.ScrapeConfig) {
		c.MetricRelabelConfigs = []*relabel.Config{
			{SourceLabels: model.LabelNames{"__name__"}, Regex: relabel.MustNewRegexp("drop_.*"), Action: relabel.Drop, Separator: ";", NameValidationScheme: model.UTF8Validation},
			{SourceLabels: model.LabelNames{"code"}, Regex: relabel.MustNewRegexp("(.)00"), TargetLabel: "class", Replacement: "${1}xx", Action: relabel.Replace, Separator: ";", NameValidationScheme: model.UTF8Validation},
		}
	})
	h.exp.set("drop_me 1\nkeep{code=\"500\"} 2\n")
	gs := byName(h.scrape(1))
	require.Len(t, gs, 1+5)
	require.Equal(t, 2.0, gs[h.series("keep", "class", "5xx", "code", "500")].v)
	require.Equal(t, 2.0, gs[h.series("scrape_samples_scraped")].v)
	require.Equal(t, 1.0, gs[h.series("scrape_samples_post_metric_relabeling")].v)
	// Both series are cached, the dropped one as dropped.
	require.Len(t, h.loop.cache.entries, 2)
	h.loop.cache.open() // its texts are packed between scrapes
	defer h.loop.cache.close()
	i, ok := h.loop.cache.lookup([]byte("drop_me"))
	require.True(t, ok)
	require.True(t, h.loop.cache.entries[i].dropped())
}

func TestLimitsFailTheScrape(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*promconfig.ScrapeConfig)
		body   string
		err    string
	}{
		{"sample_limit", func(c *promconfig.ScrapeConfig) { c.SampleLimit = 2 }, "a 1\nb 1\nc 1\n", "sample_limit exceeded"},
		{"label_limit", func(c *promconfig.ScrapeConfig) { c.LabelLimit = 5 }, `a{x="1",y="2",z="3"} 1` + "\n", "label_limit exceeded"},
		{"label_name_length_limit", func(c *promconfig.ScrapeConfig) { c.LabelNameLengthLimit = 5 }, `a{longname="1"} 1` + "\n", "label_name_length_limit exceeded"},
		{"label_value_length_limit", func(c *promconfig.ScrapeConfig) { c.LabelValueLengthLimit = 5 }, `a{x="0123456789"} 1` + "\n", "label_value_length_limit exceeded"},
		{"body_size_limit", func(c *promconfig.ScrapeConfig) { c.BodySizeLimit = 10 }, "a 1\nb 1\nc 1\n", "body size limit exceeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.mutate)
			h.exp.set(tc.body)
			gs := byName(h.scrape(1))
			require.Equal(t, 0.0, gs[h.series("up")].v)
			require.Len(t, gs, 5, "only report series")
			require.Contains(t, h.loop.target.Status().LastError, tc.err)
		})
	}
}

func TestGzipAndExplicitTimestamps(t *testing.T) {
	h := newHarness(t, nil)
	h.exp.gzip = true
	h.exp.set("a 1 5000\nb 2\n")
	gs := byName(h.scrape(10))
	require.Equal(t, got{h.series("a"), 5000, 1}, gs[h.series("a")])
	require.Equal(t, int64(10_000), gs[h.series("b")].t)
	require.Equal(t, "gzip", h.exp.requests[0].Header.Get("Accept-Encoding"))
	// Series with explicit timestamps get no staleness markers.
	h.exp.set("")
	gs = byName(h.scrape(11))
	_, ok := gs[h.series("a")]
	require.False(t, ok)
	require.True(t, gs[h.series("b")].stale())
}

func TestHonorTimestampsFalseUsesScrapeTime(t *testing.T) {
	h := newHarness(t, func(c *promconfig.ScrapeConfig) { c.HonorTimestamps = false })
	h.exp.set("a 1 5000\n")
	gs := byName(h.scrape(10))
	require.Equal(t, int64(10_000), gs[h.series("a")].t)
}

func TestOpenMetricsIsParsed(t *testing.T) {
	h := newHarness(t, nil)
	h.exp.contentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"
	h.exp.set("# TYPE foo counter\n# HELP foo A counter.\nfoo_total 17.0\n# EOF\n")
	gs := byName(h.scrape(1))
	require.Equal(t, 17.0, gs[h.series("foo_total")].v)
}

func TestDuplicateSeriesInOneScrapeIsDroppedNotSentTwice(t *testing.T) {
	h := newHarness(t, nil)
	h.exp.set("a 1\na 2\n")
	gs := h.scrape(1)
	n := 0
	for _, g := range gs {
		if g.lset == h.series("a") {
			n++
			require.Equal(t, 1.0, g.v)
		}
	}
	require.Equal(t, 1, n)
}

func TestStoppedTargetMarksItsSeriesStale(t *testing.T) {
	h := newHarness(t, nil)
	h.exp.set("a 1\n")
	h.loop.target.interval = 10 * time.Millisecond
	h.loop.now = time.Now
	h.loop.scrapeAndAppend(context.Background(), time.Now())
	h.read()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.loop.cancel = func() {}
	close(h.loop.done)
	h.loop.stop(ctx, true)
	gs := byName(h.read())
	require.True(t, gs[h.series("a")].stale())
	require.True(t, gs[h.series("up")].stale())
}

func TestAcceptHeaderPrefersConfiguredOrder(t *testing.T) {
	h := acceptHeader([]promconfig.ScrapeProtocol{promconfig.PrometheusProto, promconfig.OpenMetricsText1_0_0, promconfig.PrometheusText0_0_4}, model.UnderscoreEscaping)
	parts := strings.Split(h, ",")
	require.Len(t, parts, 4)
	require.True(t, strings.HasPrefix(parts[0], "application/vnd.google.protobuf"))
	require.Contains(t, parts[1], "application/openmetrics-text;version=1.0.0")
	require.Contains(t, parts[1], "escaping=underscores")
	require.True(t, strings.HasPrefix(parts[3], "*/*;q=0."))
	var qs []string
	for _, p := range parts {
		qs = append(qs, p[strings.LastIndex(p, "q="):])
	}
	require.True(t, sort.SliceIsSorted(qs, func(i, j int) bool { return qs[i] > qs[j] }))
}

func TestExtraScrapeMetrics(t *testing.T) {
	h := newHarness(t, func(c *promconfig.ScrapeConfig) {
		yes := true
		c.ExtraScrapeMetrics = &yes
		c.SampleLimit = 100
	})
	h.exp.set("a 1\nb 2\n")
	gs := byName(h.scrape(1))
	require.Equal(t, 30.0, gs[h.series("scrape_timeout_seconds")].v)
	require.Equal(t, 100.0, gs[h.series("scrape_sample_limit")].v)
	require.Equal(t, float64(len("a 1\nb 2\n")), gs[h.series("scrape_body_size_bytes")].v)

	h = newHarness(t, func(c *promconfig.ScrapeConfig) {
		yes := true
		c.ExtraScrapeMetrics = &yes
		c.BodySizeLimit = 4
	})
	h.exp.set("a 1\nb 2\n")
	gs = byName(h.scrape(1))
	require.Equal(t, -1.0, gs[h.series("scrape_body_size_bytes")].v, "over body_size_limit")
	_, ok := newHarness(t, nil).scrapeNames(2)["scrape_timeout_seconds"]
	require.False(t, ok, "extra series only when enabled")
}

func (h *harness) scrapeNames(ts int64) map[string]bool {
	h.exp.set("a 1\n")
	out := map[string]bool{}
	for _, g := range h.scrape(ts) {
		out[strings.Split(strings.TrimPrefix(g.lset, `{__name__="`), `"`)[0]] = true
	}
	return out
}

func TestOneSeriesSpelledTwiceGetsOneSamplePerScrape(t *testing.T) {
	h := newHarness(t, nil)
	h.exp.set("m 1\nm{} 2\n")
	gs := h.scrape(1)
	n := 0
	for _, g := range gs {
		if g.lset == h.series("m") {
			n++
			require.Equal(t, 1.0, g.v, "the first sample of the scrape wins, as in Prometheus")
		}
	}
	require.Equal(t, 1, n)
	require.Equal(t, 1.0, byName(gs)[h.series("scrape_series_added")].v)
}

func TestRelabelingThatMergesSeriesSendsOneSamplePerScrape(t *testing.T) {
	h := newHarness(t, dropPodLabel)
	h.exp.set(`m{pod="a"} 1` + "\n" + `m{pod="b"} 2` + "\n")
	for ts := int64(1); ts <= 3; ts++ {
		n := 0
		for _, g := range h.scrape(ts) {
			if g.lset == h.series("m") {
				n++
			}
		}
		require.Equal(t, 1, n, "scrape %d", ts)
		require.Len(t, h.loop.cache.aliases, 1, "the second text is the first's alias")
	}
	// When the series that owned the labels goes away, the other takes
	// over without a stale marker in between.
	h.exp.set(`m{pod="b"} 2` + "\n")
	gs := byName(h.scrape(4))
	require.Equal(t, 2.0, gs[h.series("m")].v)
	gs = byName(h.scrape(5))
	require.Equal(t, 2.0, gs[h.series("m")].v)
}

// A target that exposes its series in the same order every scrape keeps
// its exposition order and its appended series as lengths only; one that
// changes the order keeps lists, and its samples and stale markers are the
// same either way.
func TestCacheOrderListsAreStoredOnlyWhenTheOrderChanges(t *testing.T) {
	h := newHarness(t, nil)
	h.exp.set("a 1\nb 2\nc 3\n")
	h.scrape(1)
	h.scrape(2)
	lists := func() []*seq {
		c := h.loop.cache
		return []*seq{&c.order, &c.next, &c.prev, &c.cur}
	}
	for i, q := range lists() {
		require.Nil(t, q.list, "list %d of a steady target", i)
	}

	h.exp.set("c 30\na 10\n")
	gs := byName(h.scrape(3))
	require.True(t, gs[h.series("b")].stale(), "b vanished")
	require.Equal(t, 10.0, gs[h.series("a")].v)
	require.Equal(t, 30.0, gs[h.series("c")].v)
	require.NotNil(t, h.loop.cache.order.list, "the new order is not the entries' order")
	require.Equal(t, []int32{2, 0}, seqElems(&h.loop.cache.order))
	for entry, pos := range map[int32]int32{2: 0, 0: 1, 1: -1, 3: -1} {
		require.Equal(t, pos, h.loop.cache.orderOf(entry), "position of entry %d", entry)
	}

	h.exp.set("a 11\nc 31\n")
	gs = byName(h.scrape(4))
	require.Equal(t, 11.0, gs[h.series("a")].v)
	require.Equal(t, 31.0, gs[h.series("c")].v)
	_, ok := gs[h.series("b")]
	require.False(t, ok, "one stale marker only")
	for _, name := range []string{"a", "c"} {
		require.False(t, gs[h.series(name)].stale(), name)
	}

	// The previous scrape's list must not be the current one's: two
	// series vanish after a reordered scrape, and each gets its marker.
	h.exp.set("c 32\na 12\nb 6\n")
	h.scrape(5)
	h.exp.set("a 13\n")
	gs = byName(h.scrape(6))
	require.True(t, gs[h.series("b")].stale(), "b vanished")
	require.True(t, gs[h.series("c")].stale(), "c vanished")
	require.False(t, gs[h.series("a")].stale())
}

// An entry of the series cache is 32 bytes: every exposed series of every
// target has one. The few that are aliases keep their owner aside, the
// text's length is in the arena, and the position in the previous scrape
// is computed when a lookup needs it.
func TestCacheEntryIsThirtyTwoBytes(t *testing.T) {
	require.Equal(t, uintptr(32), unsafe.Sizeof(entry{}))
}

// Exposed texts keep their length in the cache's arena as a uvarint of
// one, two or three bytes; series with long texts are matched by position
// and by index, and the arena is compacted without them once they vanish.
func TestLongExposedTextsAreMatchedAndCompacted(t *testing.T) {
	h := newHarness(t, nil)
	long := func(n int) string { return strings.Repeat("v", n) }
	page := fmt.Sprintf("a 1\nm{l=%q} 2\nm{l=%q} 3\nb 4\n", long(200), long(70_000))
	h.exp.set(page)
	for ts := int64(1); ts <= 3; ts++ {
		gs := byName(h.scrape(ts))
		require.Len(t, gs, 4+5, "four series and the report") // report series: up, duration, ...
		require.Equal(t, 2.0, gs[h.series("m", "l", long(200))].v)
		require.Equal(t, 3.0, gs[h.series("m", "l", long(70_000))].v)
		require.Equal(t, 4.0, gs[h.series("b")].v)
	}
	// The 70 KB series vanishes: its text becomes garbage and the arena
	// is compacted; the others are still found, by position and by text.
	h.exp.set(fmt.Sprintf("b 5\nm{l=%q} 6\na 7\n", long(200)))
	gs := byName(h.scrape(4))
	require.True(t, gs[h.series("m", "l", long(70_000))].stale())
	require.Equal(t, 6.0, gs[h.series("m", "l", long(200))].v)
	require.Zero(t, h.loop.cache.garbage, "compacted")
	for ts := int64(5); ts <= 6; ts++ {
		gs = byName(h.scrape(ts))
		require.Equal(t, 5.0, gs[h.series("b")].v)
		require.Equal(t, 6.0, gs[h.series("m", "l", long(200))].v)
		require.Equal(t, 7.0, gs[h.series("a")].v)
	}
}

func TestSeriesAreFoundAgainAfterTheCacheDroppedItsIndexes(t *testing.T) {
	h := newHarness(t, dropPodLabel)
	h.exp.set("a 1\nb 2\nc{pod=\"x\"} 3\n")
	ts := int64(1)
	for ; ts <= indexIdleScrapes+2; ts++ {
		h.scrape(ts)
	}
	require.False(t, h.loop.cache.indexed, "a target exposing the same series in the same order needs no index")

	// New series, another order, and a text whose labels, after
	// relabeling, are those of a series already cached: each series gets
	// exactly one sample, and only the new one counts as added.
	h.exp.set("c{pod=\"y\"} 30\nb 20\nd 40\nc{pod=\"x\"} 31\na 10\n")
	gs := h.scrape(ts)
	require.True(t, h.loop.cache.indexed)
	count := map[string]int{}
	for _, g := range gs {
		count[g.lset]++
		require.False(t, g.stale(), "%s went stale", g.lset)
	}
	for name, v := range map[string]float64{"a": 10, "b": 20, "c": 30, "d": 40} {
		require.Equal(t, 1, count[h.series(name)], name)
		require.Equal(t, v, byName(gs)[h.series(name)].v, name)
	}
	require.Equal(t, 1.0, byName(gs)[h.series("scrape_series_added")].v)

	// Steady again: the indexes go, and the series keep their entries.
	for ts++; ts <= 2*indexIdleScrapes+4; ts++ {
		gs = h.scrape(ts)
		require.Equal(t, 0.0, byName(gs)[h.series("scrape_series_added")].v)
	}
	require.False(t, h.loop.cache.indexed)
	h.exp.set("b 21\n")
	last := byName(h.scrape(ts))
	require.Equal(t, 21.0, last[h.series("b")].v)
	for _, name := range []string{"a", "d"} {
		require.True(t, last[h.series(name)].stale(), "%s vanished and must be marked stale", name)
	}
}

// dropPodLabel makes metric relabeling drop the pod label, so that series
// differing only in it merge.
func dropPodLabel(c *promconfig.ScrapeConfig) {
	drop := relabel.DefaultRelabelConfig
	drop.Action = relabel.LabelDrop
	drop.Regex = relabel.MustNewRegexp("pod")
	drop.NameValidationScheme = model.UTF8Validation
	c.MetricRelabelConfigs = []*relabel.Config{&drop}
}

// body_size_limit is on the inflated body. A gzip body is read whole
// before it is inflated, so its compressed size is bounded too; neither
// bound may refuse a body that fits.
func TestGzipBodySizeLimit(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	noise := make([]byte, 6000) // a label value gzip cannot shrink much
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for i := range noise {
		noise[i] = letters[rnd.IntN(len(letters))]
	}
	// Random bytes in a comment: gzip stores them, so the compressed body
	// is longer than the inflated one, which is exactly at the limit.
	stored := make([]byte, 20_000)
	for i := range stored {
		if stored[i] = byte(rnd.IntN(256)); stored[i] == '\n' {
			stored[i] = ' '
		}
	}
	atLimit := "a 1\n# " + string(stored) + "\n"
	cases := []struct {
		name       string
		limit      int
		body       string
		flushEvery int
		up         float64
	}{
		{"fits", 10_000, `a{x="` + string(noise) + `"} 1` + "\n", 0, 1},
		{"inflates to exactly the limit, compressed longer", len(atLimit), atLimit, 0, 1},
		// A flush every 64 bytes makes the compressed body far longer
		// than the inflated one, beyond what is read into memory first.
		{"inflates to the limit, compressed longer than the bound", len(atLimit), atLimit, 64, 1},
		{"compressed body over the limit", 1000, `a{x="` + string(noise) + `"} 1` + "\n", 0, 0},
		{"small body inflating over the limit", 10_000, "a 1\n" + strings.Repeat("# a comment line\n", 100_000), 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *promconfig.ScrapeConfig) { c.BodySizeLimit = units.Base2Bytes(tc.limit) })
			h.exp.gzip = true
			h.exp.gzipFlushEvery = tc.flushEvery
			h.exp.set(tc.body)
			gs := byName(h.scrape(1))
			require.Equal(t, tc.up, gs[h.series("up")].v)
			if tc.up == 0 {
				require.Contains(t, h.loop.target.Status().LastError, "body size limit exceeded")
			}
		})
	}
}

// Families are found by position while a target keeps its order, and by
// name when it does not: each name keeps its own metadata holder whatever
// order the comments come in.
func TestFamiliesAreFoundInAnyOrder(t *testing.T) {
	c := newSeriesCache()
	names := []string{"a", "b", "c", "d"}
	want := map[string]int32{}
	orders := [][]int{{0, 1, 2, 3}, {0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {0, 0, 1, 1, 2, 2, 3, 3}}
	for scrape, order := range orders {
		c.begin()
		for _, k := range order {
			i := c.family([]byte(names[k]))
			if w, ok := want[names[k]]; ok && w != i {
				t.Fatalf("scrape %d: family %q at %d, first at %d", scrape, names[k], i, w)
			}
			want[names[k]] = i
			if got := c.fams.at(i).name; got != names[k] {
				t.Fatalf("scrape %d: family %q resolved to %q", scrape, names[k], got)
			}
		}
		c.endScrape()
		c.close()
	}
	e := c.family([]byte("e")) // a new family after all of them
	if c.fams.len() != 5 || c.fams.at(e).name != "e" {
		t.Fatalf("new family: %d families, %q", c.fams.len(), c.fams.at(e).name)
	}
}

// A target's loop keeps no list of created series between scrapes once
// the first scrape has grown it; a later scrape that creates a series
// still reports it.
func TestLoopDropsTheCreatedListOfItsFirstScrape(t *testing.T) {
	h := newHarness(t, nil)
	var page strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&page, "m{i=\"%d\"} %d\n", i, i)
	}
	h.exp.set(page.String())
	require.Len(t, h.scrape(1), 1000+5)
	require.Zero(t, cap(h.loop.created), "the first scrape's 1000 created series are not kept")
	h.exp.set(page.String() + "new 1\n")
	gs := byName(h.scrape(2))
	require.Equal(t, 1.0, gs[h.series("new")].v)
	require.Equal(t, 1.0, gs[h.series("scrape_series_added")].v)
}
