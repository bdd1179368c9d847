package loadgen

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/stretchr/testify/require"
)

// sample is one parsed sample.
type sample struct {
	ls labels.Labels
	v  float64
}

// parse returns the samples of a text exposition, keyed by series, and
// the family types, failing the test on any parse error.
func parse(t *testing.T, body []byte) (map[string]sample, map[string]string) {
	t.Helper()
	p := textparse.NewPromParser(body, labels.NewSymbolTable(), false)
	samples := map[string]sample{}
	types := map[string]string{}
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return samples, types
		}
		require.NoError(t, err)
		switch e {
		case textparse.EntryType:
			name, typ := p.Type()
			types[string(name)] = string(typ)
		case textparse.EntrySeries:
			_, ts, v := p.Series()
			require.Nil(t, ts, "no explicit timestamps")
			var ls labels.Labels
			p.Labels(&ls)
			key := ls.String()
			_, dup := samples[key]
			require.False(t, dup, "series %s twice", key)
			samples[key] = sample{ls, v}
		}
	}
}

func TestLayoutHasExactlyTheRequestedSeries(t *testing.T) {
	for _, n := range []int{1, 10, 50, 600, 1000, 5000} {
		l := NewLayout(n)
		require.Equal(t, n, l.Len(), "layout of %d", n)
		body := NewPayload(l, 1, 0).AppendText(nil)
		samples, _ := parse(t, body)
		require.Len(t, samples, n, "parsed series of %d", n)
	}
}

func TestLayoutLooksLikeNodeExporter(t *testing.T) {
	body := NewPayload(NewLayout(1000), 1, 0).AppendText(nil)
	_, types := parse(t, body)
	require.Equal(t, "summary", types["go_gc_duration_seconds"])
	require.Equal(t, "histogram", types["http_request_duration_seconds"])
	require.Equal(t, "counter", types["node_cpu_seconds_total"])
	require.Equal(t, "gauge", types["node_filesystem_avail_bytes"])
	require.Equal(t, "counter", types["node_interrupts_total"])
	for _, want := range []string{
		`node_cpu_seconds_total{cpu="3",mode="user"} `,
		`node_filesystem_size_bytes{device="/dev/nvme0n1p2",fstype="ext4",mountpoint="/"} `,
		`node_network_receive_bytes_total{device="eth0"} `,
		`http_request_duration_seconds_bucket{handler="/metrics",method="GET",le="+Inf"} `,
		`go_gc_duration_seconds{quantile="0.5"} `,
		"# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\n",
	} {
		require.Contains(t, string(body), want)
	}
}

func TestPayloadIsDeterministicAndCountersOnlyGrow(t *testing.T) {
	l := NewLayout(1000)
	a, b, other := NewPayload(l, 7, 3), NewPayload(l, 7, 3), NewPayload(l, 7, 4)
	require.NotEqual(t, a.AppendText(nil), other.AppendText(nil), "targets differ")
	prev, types := parse(t, a.AppendText(nil))
	changed := 0
	for tick := range 20 {
		a.Step(float64(1000 + tick))
		b.Step(float64(1000 + tick))
		ta, tb := a.AppendText(nil), b.AppendText(nil)
		require.Equal(t, ta, tb, "same seed and target, tick %d", tick)
		cur, _ := parse(t, ta)
		for k, s := range cur {
			name := s.ls.Get("__name__")
			if types[name] == "counter" || s.ls.Has("le") || name == "http_request_duration_seconds_count" {
				require.GreaterOrEqual(t, s.v, prev[k].v, "counter %s went down", k)
			}
			if s.v != prev[k].v {
				changed++
			}
		}
		prev = cur
	}
	// A realistic mix: many series move each tick, but not all.
	frac := float64(changed) / float64(20*l.Len())
	t.Logf("%.0f%% of the series change per tick", 100*frac)
	require.Greater(t, frac, 0.3)
	require.Less(t, frac, 0.8)
}

func TestGeneratorServesGzipAndCounts(t *testing.T) {
	g, err := Start(Config{Targets: 3, Series: 100, Interval: time.Hour, Seed: 1})
	require.NoError(t, err)
	defer func() { require.NoError(t, g.Close()) }()
	addrs := g.Targets()
	require.Len(t, addrs, 3)

	get := func(addr string, gz bool) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		} else {
			req.Header.Set("Accept-Encoding", "identity")
		}
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gunzip
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, b
	}
	resp, plain := get(addrs[0], false)
	require.Equal(t, 200, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Content-Encoding"))
	resp, zipped := get(addrs[0], true)
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, plain, unzipped, "same tick, same body")
	require.Less(t, len(zipped), len(plain)/3)

	st := g.Stats()
	require.Equal(t, Stats{Scrapes: 2, Samples: 200, Bytes: int64(len(plain) + len(zipped)), GzipScrapes: 1}, st)

	g.SetDown(true)
	resp, _ = get(addrs[1], true)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, int64(1), g.Stats().Refused)
	require.Equal(t, int64(2), g.Stats().Scrapes)
}

func TestChurnReplacesTargetsWithNewInstances(t *testing.T) {
	g, err := Start(Config{Targets: 10, Series: 10, Interval: time.Second, Seed: 1, ChurnFraction: 0.2, ChurnEvery: 50 * time.Millisecond})
	require.NoError(t, err)
	defer func() { require.NoError(t, g.Close()) }()
	before := g.Targets()
	select {
	case <-g.Changed():
	case <-time.After(5 * time.Second):
		t.Fatal("no churn within 5s")
	}
	after := g.Targets()
	require.Len(t, after, 10)
	gone := 0
	for _, a := range before {
		found := false
		for _, b := range after {
			found = found || a == b
		}
		if !found {
			gone++
		}
	}
	require.GreaterOrEqual(t, gone, 2)
	require.GreaterOrEqual(t, g.Stats().Replaced, int64(2))
}

func TestAcceptsGzip(t *testing.T) {
	for ae, want := range map[string]bool{
		"": false, "gzip": true, "identity": false, "deflate, gzip;q=0.5": true,
		"gzip;q=0": false, "GZIP": true, "br, gzip": true,
	} {
		require.Equal(t, want, acceptsGzip(ae), ae)
	}
}

func TestWriteFileSD(t *testing.T) {
	path := filepath.Join(t.TempDir(), "targets.json")
	require.NoError(t, WriteFileSD(path, []string{"127.0.0.1:1", "127.0.0.1:2"}))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.JSONEq(t, `[{"targets":["127.0.0.1:1","127.0.0.1:2"],"labels":{}}]`, string(b))
	require.NoError(t, WriteFileSD(path, nil))
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	require.JSONEq(t, `[]`, string(b))
}
