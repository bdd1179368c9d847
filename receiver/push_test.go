package receiver

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
)

// pushText posts a text exposition and returns the response, body read.
func pushText(t *testing.T, url, body string, h http.Header) *http.Response {
	t.Helper()
	return pushBody(t, http.MethodPost, url, "text/plain; version=0.0.4", "", []byte(body), h)
}

func pushBody(t *testing.T, method, url, ct, enc string, body []byte, h http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	for k, vs := range h {
		req.Header[k] = vs
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// seriesByName indexes a stored record's series by their labels.
func seriesByName(s stored) map[string]remote.Series {
	out := map[string]remote.Series{}
	for _, ser := range s.batch.Series {
		out[ser.LabelSet().String()] = ser
	}
	return out
}

func TestPushStampsSamplesAddsGroupingLabelsAndStoresOneRecord(t *testing.T) {
	clk := &clock{now: time.UnixMilli(1_700_000_000_123)}
	e := newRelayEnv(t, Options{Now: clk.Now})
	body := `# HELP job_duration_seconds How long the job ran.
# TYPE job_duration_seconds gauge
job_duration_seconds 42.5
# TYPE rows_total counter
rows_total{table="users"} 1200
rows_total{table="orders"} 30 1699999999000
`
	// team@base64 carries a value with a slash; + is a query-escaped space.
	url := e.srv.URL + "/metrics/job/nightly+backup/instance/db-1/team@base64/b3BzL2RiYQ"
	resp := pushText(t, url, body, http.Header{DefaultTenantHeader: {"tenant-1"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, "200, as the Pushgateway answers")

	recs := e.records(t)
	require.Len(t, recs, 1)
	require.Equal(t, "tenant-1", recs[0].tenant)
	require.Equal(t, uint32(3), recs[0].count)
	got := seriesByName(recs[0])
	group := []string{"instance", "db-1", "job", "nightly backup", "team", "ops/dba"}
	lbl := func(kv ...string) string { return labels.FromStrings(append(kv, group...)...).String() }
	require.Len(t, got, 3)

	d := got[lbl("__name__", "job_duration_seconds")]
	require.Equal(t, []remote.Sample{{Value: 42.5, Timestamp: 1_700_000_000_123}}, d.Samples, "stamped with the time of receipt")
	require.Equal(t, remote.Metadata{Type: remote.MetricTypeGauge, Help: "How long the job ran."}, d.Metadata)
	users := got[lbl("__name__", "rows_total", "table", "users")]
	require.Equal(t, int64(1_700_000_000_123), users.Samples[0].Timestamp)
	require.Equal(t, remote.MetricTypeCounter, users.Metadata.Type)
	orders := got[lbl("__name__", "rows_total", "table", "orders")]
	require.Equal(t, int64(1_699_999_999_000), orders.Samples[0].Timestamp, "an explicit timestamp is kept")
}

func TestPushOpenMetricsKeepsExemplarsAndCreatedTimestamps(t *testing.T) {
	clk := &clock{now: time.UnixMilli(1_700_000_100_000)}
	e := newRelayEnv(t, Options{Now: clk.Now})
	body := `# TYPE busy_seconds counter
# UNIT busy_seconds seconds
# HELP busy_seconds Time spent busy.
busy_seconds_total{path="/"} 17 # {trace_id="abc123"} 1.0 1700000050.5
busy_seconds_created{path="/"} 1699990000.25
# EOF
`
	resp := pushBody(t, http.MethodPut, e.srv.URL+"/metrics/job/om", "application/openmetrics-text; version=1.0.0; charset=utf-8", "", []byte(body), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	recs := e.records(t)
	require.Len(t, recs, 1)
	got := seriesByName(recs[0])
	require.Len(t, got, 1, "the _created line is a start timestamp, not a series")
	s := got[labels.FromStrings("__name__", "busy_seconds_total", "job", "om", "path", "/").String()]
	require.Equal(t, []remote.Sample{{Value: 17, Timestamp: 1_700_000_100_000, StartTimestamp: 1_699_990_000_250}}, s.Samples)
	require.Equal(t, []remote.Exemplar{{Labels: labels.FromStrings("trace_id", "abc123"), Value: 1, Timestamp: 1_700_000_050_500}}, s.Exemplars)
	require.Equal(t, remote.Metadata{Type: remote.MetricTypeCounter, Help: "Time spent busy.", Unit: "seconds"}, s.Metadata)
}

// TestPushFromClientGolangPusherWithNativeHistograms pushes with client
// libraries' own Pushgateway client, in the protobuf format that carries
// native histograms.
func TestPushFromClientGolangPusherWithNativeHistograms(t *testing.T) {
	e := newRelayEnv(t, Options{})
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "batch_item_seconds", Help: "Time per item.", NativeHistogramBucketFactor: 1.1,
	})
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "batch_items_total", Help: "Items processed."})
	reg.MustRegister(h, c)
	for i := range 50 {
		h.Observe(float64(i) / 100)
		c.Inc()
	}
	err := push.New(e.srv.URL, "importer").Grouping("shard", "3").Gatherer(reg).
		Format(expfmt.NewFormat(expfmt.TypeProtoDelim)).Push()
	require.NoError(t, err)
	require.NoError(t, push.New(e.srv.URL, "importer").Grouping("shard", "").Collector(c).Add(), "text format, POST, empty grouping value")

	recs := e.records(t)
	require.Len(t, recs, 2)
	got := seriesByName(recs[0])
	hs := got[labels.FromStrings("__name__", "batch_item_seconds", "job", "importer", "shard", "3").String()]
	require.Len(t, hs.Histograms, 1, "a native histogram: %v", got)
	require.NotNil(t, hs.Histograms[0].H)
	require.Equal(t, uint64(50), hs.Histograms[0].H.Count)
	require.Equal(t, remote.MetricTypeHistogram, hs.Metadata.Type)
	items := seriesByName(recs[1])[labels.FromStrings("__name__", "batch_items_total", "job", "importer").String()]
	require.Equal(t, 50.0, items.Samples[0].Value, "an empty grouping value is no label")
}

func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestPushStatusCodes(t *testing.T) {
	e := newRelayEnv(t, Options{MaxBodySize: 64 << 10, MaxDecodedSize: 1 << 20, Limits: remote.Limits{MaxLabels: 4}})
	text := "# TYPE x gauge\nx 1\n"
	bomb := gzipped(t, make([]byte, 8<<20))
	cases := []struct {
		name, method, path, ct, enc string
		body                        []byte
		code                        int
	}{
		{"text", "POST", "/metrics/job/a", "", "", []byte(text), 200},
		{"gzip text", "PUT", "/metrics/job/a/instance/b", "text/plain; version=0.0.4", "gzip", gzipped(t, []byte(text)), 200},
		{"empty push", "POST", "/metrics/job/a", "", "", nil, 200},
		{"DELETE is not forwarding", "DELETE", "/metrics/job/a", "", "", nil, 405},
		{"GET", "GET", "/metrics/job/a", "", "", nil, 405},
		{"odd path", "POST", "/metrics/job/a/instance", "", "", []byte(text), 400},
		{"empty job", "POST", "/metrics/job@base64/=", "", "", []byte(text), 400},
		{"reserved label name", "POST", "/metrics/job/a/__name__/x", "", "", []byte(text), 400},
		{"label given twice", "POST", "/metrics/job/a/x/1/x/2", "", "", []byte(text), 400},
		{"bad base64", "POST", "/metrics/job@base64/!!!", "", "", []byte(text), 400},
		{"curl's form content type is text", "POST", "/metrics/job/a", "application/x-www-form-urlencoded", "", []byte(text), 200},
		{"unknown encoding", "POST", "/metrics/job/a", "", "br", []byte(text), 415},
		{"gzip bomb", "POST", "/metrics/job/a", "", "gzip", bomb, 413},
		{"corrupt gzip", "POST", "/metrics/job/a", "", "gzip", []byte("not gzip"), 400},
		{"body too large", "POST", "/metrics/job/a", "", "", make([]byte, 64<<10+1), 413},
		{"syntax error", "POST", "/metrics/job/a", "", "", []byte("x{ 1\n"), 400},
		{"job label in the body differs", "POST", "/metrics/job/a", "", "", []byte(`x{job="b"} 1` + "\n"), 400},
		{"two values at one time", "POST", "/metrics/job/a", "", "", []byte("x 1\nx 2\n"), 400},
		{"too many labels", "POST", "/metrics/job/a", "", "", []byte(`x{a="1",b="2",c="3"} 1` + "\n"), 413},
		{"OpenMetrics without EOF", "POST", "/metrics/job/a", "application/openmetrics-text; version=1.0.0", "", []byte("x 1\n"), 400},
	}
	ok := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := pushBody(t, c.method, e.srv.URL+c.path, c.ct, c.enc, c.body, nil)
			require.Equal(t, c.code, resp.StatusCode)
			if c.code == 200 && len(c.body) > 0 {
				ok++
			}
		})
	}
	require.Len(t, e.records(t), ok, "an empty push stores nothing; refused pushes store nothing")
}

// A label value longer than Prometheus' labels can hold would make the
// parser panic; it is refused before parsing.
func TestExpositionWithAnOverlongLabelIsRefused(t *testing.T) {
	line := `x{a="` + strings.Repeat("v", maxTokenLen) + `"} 1` + "\n"
	_, err := ParseExposition([]byte(line), "text/plain", ExpositionOptions{Timestamp: 1})
	require.ErrorIs(t, err, remote.ErrTooLarge)
}

func TestBackfillParsingNeedsATimestampOnEverySample(t *testing.T) {
	_, err := ParseExposition([]byte("x 1 1000\ny 2\n# EOF\n"), "application/openmetrics-text", ExpositionOptions{})
	require.ErrorIs(t, err, remote.ErrInvalid)
	require.ErrorContains(t, err, `{__name__="y"} has no timestamp`)
	req, err := ParseExposition([]byte("x 3 2.5\nx 1 1.5\n# EOF\n"), "application/openmetrics-text", ExpositionOptions{})
	require.NoError(t, err)
	require.Equal(t, []remote.Sample{{Value: 1, Timestamp: 1500}, {Value: 3, Timestamp: 2500}}, req.Series[0].Samples, "sorted by time")
}
