package scrape

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/record"
)

// point is one sample as the differential test compares it.
type point struct {
	Labels    string
	T         int64
	ValueBits uint64
	Start     int64
	Exemplars []string
}

func contentTypeOf(name string) string {
	if strings.HasSuffix(name, ".om") {
		return "application/openmetrics-text; version=1.0.0; charset=utf-8"
	}
	return "text/plain; version=0.0.4; charset=utf-8"
}

// expectedPoints parses body with textparse directly, the way the
// reference does, and applies honor_labels semantics with the given target
// labels. ok is false if the exposition does not parse.
func expectedPoints(t testing.TB, body []byte, contentType string, target labels.Labels, ts int64) (pts []point, ok bool) {
	p, _ := textparse.New(body, contentType, labels.NewSymbolTable(), textparse.ParserOptions{})
	if p == nil {
		return nil, false
	}
	seen := map[string]bool{}
	var lset labels.Labels
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, false
		}
		if et != textparse.EntrySeries {
			continue
		}
		_, tp, v := p.Series()
		p.Labels(&lset)
		st := p.StartTimestamp()
		b := labels.NewBuilder(lset)
		target.Range(func(l labels.Label) {
			if lset.Get(l.Name) == "" {
				b.Set(l.Name, l.Value)
			}
		})
		key := b.Labels().String()
		var exs []string
		for {
			var e exemplar.Exemplar
			if !p.Exemplar(&e) {
				break
			}
			exs = append(exs, e.Labels.String())
		}
		if seen[key] {
			continue // a duplicate series: the first sample wins
		}
		seen[key] = true
		pt := point{Labels: key, T: ts, ValueBits: math.Float64bits(v), Start: st, Exemplars: exs}
		if tp != nil {
			pt.T = *tp
		}
		pts = append(pts, pt)
	}
	return pts, true
}

// ferryPoints scrapes body through a real loop into a real log and returns
// what the log holds, without the report series.
func ferryPoints(t testing.TB, h *harness, ts int64) (pts []point, up float64) {
	h.loop.now = func() time.Time { return time.UnixMilli(ts) }
	h.loop.scrapeAndAppend(context.Background(), time.UnixMilli(ts))
	var b record.Batch
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		rec, err := h.r.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		require.NoError(t, err)
		b.Reset()
		require.NoError(t, h.dec.Decode(rec, &b))
		for _, s := range b.Series {
			name := s.LabelSet().Get(model.MetricNameLabel)
			if name == "up" {
				up = s.Samples[0].Value
			}
			if ls := s.LabelSet(); reportNames[name] && ls.Get("job") == "node" && ls.Get("env") == "prod" {
				continue
			}
			var exs []string
			for _, e := range s.Exemplars {
				exs = append(exs, e.Labels.String())
			}
			x := s.Samples[0]
			pts = append(pts, point{Labels: s.LabelSet().String(), T: x.Timestamp, ValueBits: math.Float64bits(x.Value), Start: x.StartTimestamp, Exemplars: exs})
		}
	}
	return pts, up
}

var reportNames = func() map[string]bool {
	m := map[string]bool{}
	for _, d := range reportDefs {
		m[d.name] = true
	}
	return m
}()

func sortPoints(p []point) {
	sort.Slice(p, func(i, j int) bool { return p[i].Labels < p[j].Labels })
}

func honorLabels(c *promconfig.ScrapeConfig) { c.HonorLabels = true }

// TestScrapedSeriesEqualTextparse runs every exposition in
// testdata/expositions through ferry and through Prometheus' parser: the
// series, timestamps, value bits, start timestamps and exemplars must be the
// same, on the first scrape (every series new) and on the second (text
// expositions read by parseKnownText).
func TestScrapedSeriesEqualTextparse(t *testing.T) {
	files, err := filepath.Glob("testdata/expositions/*")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			require.NoError(t, err)
			h := newHarness(t, honorLabels)
			h.exp.contentType = contentTypeOf(f)
			h.exp.set(string(body))
			for _, ts := range []int64{1_700_000_500_000, 1_700_000_560_000} {
				want, ok := expectedPoints(t, body, h.exp.contentType, h.loop.target.Labels(), ts)
				require.True(t, ok, "corpus files must parse")
				got, up := ferryPoints(t, h, ts)
				require.Equal(t, 1.0, up, h.loop.target.Status().LastError)
				sortPoints(want)
				sortPoints(got)
				require.Equal(t, want, got)
			}
		})
	}
}

// FuzzScrapeParse feeds arbitrary expositions to a loop's parser: it never
// panics, a body Prometheus' parser rejects fails the scrape, and a body it
// accepts yields exactly the series, values, timestamps, start timestamps
// and exemplars Prometheus' parser sees. The HTTP and log paths around it
// have their own tests; leaving them out keeps the fuzzer fast.
func FuzzScrapeParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/expositions/*")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err == nil {
			f.Add(b, strings.HasSuffix(file, ".om"))
		}
	}
	cfg := scrapeConfig("node")
	cfg.HonorLabels = true
	tg := newTarget(labels.FromStrings("__address__", "h:1", "__scheme__", "http", "__metrics_path__", "/m",
		"__scrape_interval__", "1m", "__scrape_timeout__", "10s", "instance", "h:1", "job", "node", "env", "prod"), labels.EmptyLabels(), cfg)
	m := newMetrics(nil)
	f.Fuzz(func(t *testing.T, body []byte, openMetrics bool) {
		ct := contentTypeOf(map[bool]string{true: "x.om", false: "x.prom"}[openMetrics])
		const ts = 1_700_000_500_000
		want, ok := expectedPoints(t, body, ct, tg.Labels(), ts)
		l := newLoop(tg, cfg, fetcher{}, nil, 1, 0, quiet(), m, nil)
		l.cache.begin()
		_, err := l.parse(body, ct, ts)
		if !ok {
			require.Error(t, err)
			return
		}
		if err != nil {
			// Accepted by the parser, refused by ferry: only with a
			// stated reason (a label set over a limit or invalid).
			require.NotEmpty(t, err.Error())
			return
		}
		var got []point
		for _, s := range l.samples {
			if s.h != nil || s.fh != nil {
				continue
			}
			var exs []string
			for _, e := range l.exemplars[s.exFrom:s.exTo] {
				exs = append(exs, e.Labels.String())
			}
			got = append(got, point{Labels: l.finalLabels(s.e).String(), T: s.t, ValueBits: math.Float64bits(s.v), Start: s.st, Exemplars: exs})
		}
		sortPoints(want)
		sortPoints(got)
		require.Equal(t, want, got)
	})
}

// FuzzKnownText scrapes one text exposition and then another with the same
// loop, so the second is read by parseKnownText as far as its lines are
// known series. The second scrape must fail when Prometheus' parser
// rejects the body, and fail, yield samples and keep family metadata
// exactly as the same two scrapes do with parseKnownText turned off.
func FuzzKnownText(f *testing.F) {
	files, _ := filepath.Glob("testdata/expositions/*.prom")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err == nil {
			f.Add(b, b)
			f.Add(b, bytes.Replace(b, []byte(" 1"), []byte(" 2"), -1))
		}
	}
	hist := "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"
	f.Add([]byte(hist), []byte(strings.Replace(hist, "h_sum", "h_bucket{le=\"2\"} 2\nh_sum", 1)))
	f.Add([]byte("a 1\nb 2\n"), []byte("a 1 123\nb\t2  \n# HELP  a  x y\n#comment\n# TYPE b gauge\nb 3\n"))
	f.Add([]byte("a{x=\"1\"} 1\n"), []byte("a{x=\"1\"} 0x1p3\n"))
	f.Add([]byte("a{x=\"1\"} 1\n"), []byte("a{x=\"1\"} 1 -5\n"))
	f.Add([]byte("a 1\n"), []byte("a 1"))
	f.Add([]byte("a 1\n# TYPE a counter\n"), []byte("# HELP a one\\ntwo\n# TYPE a counter\na NaN\n# TYPE a bogus\n"))
	cfg := scrapeConfig("node")
	cfg.HonorLabels = true
	tg := newTarget(labels.FromStrings("__address__", "h:1", "__scheme__", "http", "__metrics_path__", "/m",
		"__scrape_interval__", "1m", "__scrape_timeout__", "10s", "instance", "h:1", "job", "node", "env", "prod"), labels.EmptyLabels(), cfg)
	m := newMetrics(nil)
	const ct = "text/plain; version=0.0.4; charset=utf-8"
	// scrapeTwice parses prev and then body with one loop and returns the
	// loop and the second parse's error.
	scrapeTwice := func(prev, body []byte, known bool) (*loop, error) {
		const ts = 1_700_000_500_000
		l := newLoop(tg, cfg, fetcher{}, nil, 1, 0, quiet(), m, nil)
		l.noKnownText = !known
		l.cache.begin()
		if _, err := l.parse(prev, ct, ts-60_000); err != nil {
			l.discard()
		} else {
			l.cache.endScrape()
		}
		l.cache.close() // the texts are packed between scrapes
		l.samples, l.created, l.exemplars = l.samples[:0], l.created[:0], l.exemplars[:0]
		l.cache.begin()
		_, err := l.parse(body, ct, ts)
		return l, err
	}
	pointsOf := func(l *loop) []point {
		var pts []point
		for _, s := range l.samples {
			pts = append(pts, point{Labels: l.finalLabels(s.e).String(), T: s.t, ValueBits: math.Float64bits(s.v), Start: s.st})
		}
		sortPoints(pts)
		return pts
	}
	f.Fuzz(func(t *testing.T, prev, body []byte) {
		// textparse appends a line break to its input, in place when
		// there is room: the fuzzer's two inputs may share an array.
		prev, body = bytes.Clone(prev), bytes.Clone(body)
		l, err := scrapeTwice(prev, body, true)
		slow, slowErr := scrapeTwice(prev, body, false)
		require.Equal(t, slowErr == nil, err == nil, "with parseKnownText: %v, without: %v", err, slowErr)
		if _, ok := expectedPoints(t, body, ct, tg.Labels(), 1_700_000_500_000); !ok {
			require.Error(t, err)
			return
		}
		if err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		// The loop without parseKnownText is the reference here, not the
		// parser: like Prometheus' scrape cache, the series cache maps a
		// text to the labels it had when first seen, and the parser's
		// `le` normalisation depends on the TYPE line before it, which
		// the second body may not have.
		require.Equal(t, pointsOf(slow), pointsOf(l))
		require.Equal(t, slow.cache.fams.t.index, l.cache.fams.t.index)
		require.Equal(t, slow.cache.fams.t.list, l.cache.fams.t.list)
	})
}
