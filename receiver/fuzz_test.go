package receiver

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
)

// The content types and encodings the fuzzer combines with its bodies:
// every one the receiver speaks, and some it does not.
var (
	fuzzContentTypes = []string{
		"", remote.ContentTypeV1, remote.ContentTypeV2,
		"application/x-protobuf;proto=io.prometheus.write.v3.Request",
		"text/plain; version=0.0.4", "text/plain; version=1.0.0; escaping=allow-utf-8",
		"application/openmetrics-text; version=1.0.0",
		"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
		"application/json", "%%%;;=",
	}
	fuzzEncodings = []string{"", "snappy", "zstd", "gzip", "identity", "br"}
)

// FuzzReceiver sends random bodies with every content type and encoding to
// both endpoints over HTTP. The receiver must never panic, must answer one
// of the statuses its documentation lists, must put the *-Written headers
// on RW2 answers, and whatever it accepts must be in the log as one record
// that decodes. `go test` runs the seeds and testdata/fuzz/FuzzReceiver;
// `go test -fuzz=FuzzReceiver -fuzzminimizetime=3s ./receiver` explores.
func FuzzReceiver(f *testing.F) {
	rw1 := remote.AppendV1(nil, testRequest())
	rw2 := remote.AppendV2(nil, testRequest(), nil)
	text := []byte("# HELP x An x.\n# TYPE x counter\nx_total{a=\"b\"} 1\ny 2 1700000000000\n")
	om := []byte("# TYPE x counter\nx_total{a=\"b\"} 1 # {t=\"1\"} 2 3\nx_created{a=\"b\"} 5\n# EOF\n")
	for _, s := range []struct {
		push     bool
		ct, enc  int
		body     []byte
		compress remote.Encoding
	}{
		{false, 1, 1, rw1, remote.EncodingSnappy},
		{false, 2, 1, rw2, remote.EncodingSnappy},
		{false, 2, 2, rw2, remote.EncodingZstd},
		{false, 0, 0, rw1, remote.EncodingSnappy},
		{true, 4, 0, text, ""},
		{true, 6, 0, om, ""},
		{true, 0, 3, text, "gzip"},
	} {
		b := s.body
		switch s.compress {
		case remote.EncodingSnappy:
			b = snappyOf(f, b)
		case remote.EncodingZstd:
			b = zstdOf(f, b)
		case "gzip":
			b = gzipped(f, b)
		}
		f.Add(s.push, uint8(s.ct), uint8(s.enc), b)
	}
	e := newRelayEnv(f, Options{MaxBodySize: 1 << 20, MaxDecodedSize: 4 << 20,
		Limits: remote.Limits{MaxSeries: 1000, MaxLabels: 64, MaxSamples: 10_000}})
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, push bool, ct, enc uint8, body []byte) {
		url := e.srv.URL + "/api/v1/write"
		if push {
			url = e.srv.URL + "/metrics/job/fuzz/instance/x"
		}
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		require.NoError(t, err)
		contentType := fuzzContentTypes[int(ct)%len(fuzzContentTypes)]
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if e := fuzzEncodings[int(enc)%len(fuzzEncodings)]; e != "" {
			req.Header.Set("Content-Encoding", e)
		}
		before := e.log.Stats().Records
		resp, err := client.Do(req)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()

		ok, allowed := http.StatusNoContent, []int{204, 400, 413, 415}
		if push {
			ok, allowed = http.StatusOK, []int{200, 400, 413, 415}
		}
		require.True(t, slices.Contains(allowed, resp.StatusCode), "status %d", resp.StatusCode)
		msg, ctErr := remote.ParseContentType(contentType)
		written, hasWritten := remote.ParseWrittenHeaders(resp.Header)
		if !push && ctErr == nil && msg == remote.MessageV2 {
			require.True(t, hasWritten, "RW2 answers carry the *-Written headers")
		}
		added := e.log.Stats().Records - before
		require.LessOrEqual(t, added, uint64(1), "one request, one record at most")
		if resp.StatusCode != ok {
			require.Zero(t, added, "a refused request leaves nothing in the log")
			return
		}
		if added == 1 {
			rec := e.next(t)
			n := 0
			for _, s := range rec.batch.Series {
				n += len(s.Samples) + len(s.Histograms)
			}
			require.Equal(t, int(rec.count), n, "the record's count is its samples")
			if hasWritten {
				require.Equal(t, written.Samples+written.Histograms, n, "the *-Written headers count what was stored")
			}
		}
	})
}
