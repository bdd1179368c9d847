package receiver

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
)

// post sends req to url as msg compressed with enc and returns the response.
func post(t *testing.T, url string, req *remote.Request, msg remote.Message, enc remote.Encoding) *http.Response {
	t.Helper()
	var body []byte
	if msg == remote.MessageV2 {
		body = remote.AppendV2(nil, req, &remote.SymbolTable{})
	} else {
		body = remote.AppendV1(nil, req)
	}
	wire, err := remote.Compress(nil, body, enc)
	require.NoError(t, err)
	hr, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(wire))
	require.NoError(t, err)
	hr.Header.Set("Content-Type", msg.ContentType())
	hr.Header.Set("Content-Encoding", string(enc))
	hr.Header.Set(remote.HeaderVersion, msg.Version())
	resp, err := http.DefaultClient.Do(hr)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp
}

func mkSeries(name, instance string, ts ...int64) remote.Series {
	s := remote.Series{Labels: labels.FromStrings("__name__", name, "instance", instance, "job", "node")}
	for _, t := range ts {
		s.Samples = append(s.Samples, remote.Sample{Value: float64(t) / 1000, Timestamp: t})
	}
	return s
}

func start(t *testing.T) (*Receiver, string) {
	r := New()
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL + "/api/v1/write"
}

func TestCountsPayloadReportAndWrittenHeaders(t *testing.T) {
	r, url := start(t)
	req := &remote.Request{Series: []remote.Series{
		mkSeries("node_load1", "a", 1000, 2000),
		mkSeries("up", "a", 1000, 2000),
		mkSeries("node_load1", "b", 1000),
	}}
	resp := post(t, url, req, remote.MessageV2, remote.EncodingZstd)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	c, ok := remote.ParseWrittenHeaders(resp.Header)
	require.True(t, ok)
	require.Equal(t, remote.Counts{Samples: 5}, c)

	s := r.Stats()
	require.Equal(t, int64(3), s.PayloadSamples)
	require.Equal(t, int64(2), s.ReportSamples)
	require.Equal(t, int64(2), s.PayloadSeries)
	require.Equal(t, int64(1), s.ReportSeries)
	require.Equal(t, map[string]int64{"up": 1}, s.ReportSeriesByName)
	require.Equal(t, int64(5), s.SamplesIn)
	require.Equal(t, map[string]int64{"rw2/zstd": 1}, s.ByFormat)
	require.Equal(t, map[string]int64{"204": 1}, s.ByStatus)
	require.Positive(t, s.WireBytes)
	require.Equal(t, s.WireBytes, s.WireBytesAll)
	require.Equal(t, int64(5), s.Lag.N)
}

func TestTellsDuplicatesFromOutOfOrder(t *testing.T) {
	r, url := start(t)
	for _, ts := range [][]int64{{1000, 2000, 3000}, {2000}, {1500}, {3000, 4000}} {
		resp := post(t, url, &remote.Request{Series: []remote.Series{mkSeries("m", "a", ts...)}}, remote.MessageV1, remote.EncodingSnappy)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		_, ok := remote.ParseWrittenHeaders(resp.Header)
		require.False(t, ok, "no *-Written headers for RW1")
	}
	s := r.Stats()
	require.Equal(t, int64(5), s.PayloadSamples, "1000 1500 2000 3000 4000")
	require.Equal(t, int64(2), s.Duplicates, "2000 and 3000 again")
	require.Equal(t, int64(1), s.OutOfOrder, "1500 after 3000")
	require.Equal(t, map[string]int64{"rw1/snappy": 4}, s.ByFormat)
	require.Equal(t, Counters{PayloadSamples: 5, Duplicates: 2, OutOfOrder: 1}, r.Counters())
}

func TestCountsFailedScrapes(t *testing.T) {
	r, url := start(t)
	up := mkSeries("up", "a")
	up.Samples = []remote.Sample{{Value: 1, Timestamp: 1000}, {Value: 0, Timestamp: 2000}, {Value: 0, Timestamp: 3000}}
	post(t, url, &remote.Request{Series: []remote.Series{up}}, remote.MessageV2, remote.EncodingZstd)
	require.Equal(t, int64(2), r.Stats().FailedScrapes)
	require.Equal(t, int64(1), r.FailedScrapesBefore(time.UnixMilli(3000)))
}

func TestCountsStaleMarkersApart(t *testing.T) {
	r, url := start(t)
	s := mkSeries("m", "a", 1000)
	s.Samples = append(s.Samples, remote.Sample{Value: math.Float64frombits(staleNaN), Timestamp: 2000})
	up := mkSeries("up", "a")
	up.Samples = []remote.Sample{{Value: math.Float64frombits(staleNaN), Timestamp: 2000}}
	post(t, url, &remote.Request{Series: []remote.Series{s, up}}, remote.MessageV2, remote.EncodingSnappy)
	st := r.Stats()
	require.Equal(t, int64(1), st.PayloadSamples)
	require.Equal(t, int64(2), st.StaleMarkers)
	require.Equal(t, int64(0), st.ReportSamples)
}

func TestFaults(t *testing.T) {
	r, url := start(t)
	req := &remote.Request{Series: []remote.Series{mkSeries("m", "a", 1000)}}

	r.SetFault(Fault{Status: http.StatusServiceUnavailable})
	resp := post(t, url, req, remote.MessageV2, remote.EncodingZstd)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	c, ok := remote.ParseWrittenHeaders(resp.Header)
	require.True(t, ok, "RW2 error answers carry the headers")
	require.Equal(t, remote.Counts{}, c)

	r.SetFault(Fault{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
	resp = post(t, url, req, remote.MessageV1, remote.EncodingSnappy)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "2", resp.Header.Get("Retry-After"))

	r.SetFault(Fault{Latency: 100 * time.Millisecond})
	t0 := time.Now()
	resp = post(t, url, req, remote.MessageV1, remote.EncodingSnappy)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.GreaterOrEqual(t, time.Since(t0), 100*time.Millisecond)

	r.SetFault(Fault{})
	post(t, url, req, remote.MessageV1, remote.EncodingSnappy)
	s := r.Stats()
	require.Equal(t, map[string]int64{"503": 1, "429": 1, "204": 2}, s.ByStatus)
	require.Equal(t, int64(1), s.PayloadSamples)
	require.Equal(t, int64(1), s.Duplicates)
	require.Greater(t, s.WireBytesAll, s.WireBytes)
}

func TestRejectsWhatItCannotRead(t *testing.T) {
	_, url := start(t)
	resp, err := http.Post(url, "application/json", bytes.NewReader([]byte("{}")))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	resp, err = http.Post(url, remote.ContentTypeV1, bytes.NewReader([]byte("not snappy")))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestDeliveredBeforeCountsBySecondOfTimestamp(t *testing.T) {
	r, url := start(t)
	post(t, url, &remote.Request{Series: []remote.Series{mkSeries("m", "a", 1000, 1999, 2000, 5000)}}, remote.MessageV2, remote.EncodingZstd)
	require.Equal(t, int64(0), r.DeliveredBefore(time.UnixMilli(1000)))
	require.Equal(t, int64(2), r.DeliveredBefore(time.UnixMilli(2000)))
	require.Equal(t, int64(2), r.DeliveredBefore(time.UnixMilli(2999)), "rounded down to the second")
	require.Equal(t, int64(4), r.DeliveredBefore(time.UnixMilli(6000)))
}

func TestLagQuantiles(t *testing.T) {
	var h lagHistogram
	for v := range int64(1000) {
		h.add(v)
	}
	h.add(60_000)
	h.add(-5)
	require.Equal(t, int64(1002), h.n)
	require.InDelta(t, 499, h.quantile(0.5), 2)
	require.InDelta(t, 989, h.quantile(0.99), 2)
	require.Equal(t, int64(60_000), h.max)
	for _, v := range []int64{1023, 1024, 1025, 4097, 60_000, 3_600_000} {
		low := lagBucketLow(lagBucket(v))
		require.LessOrEqual(t, low, v)
		require.Less(t, float64(v-low)/float64(v), 0.002, "relative error at %d", v)
	}
}
