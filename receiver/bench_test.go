package receiver

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/remote"
)

// benchRequest is what a Prometheus sender sends by default: 2000 samples
// (max_samples_per_send), one per series, node_exporter-like series of
// eight labels. Request k has its own timestamps, so no two are equal.
func benchRequest(k int) *remote.Request {
	req := &remote.Request{}
	for i := range 2000 {
		req.Series = append(req.Series, remote.Series{
			Labels: labels.FromStrings(
				"__name__", fmt.Sprintf("node_metric_%d_total", i%50),
				"cpu", fmt.Sprint(i%8), "device", fmt.Sprintf("dev%d", i/400),
				"instance", fmt.Sprintf("node-%d.example.com:9100", i/100), "job", "node",
				"mode", []string{"idle", "user", "system", "iowait"}[i%4],
				"region", "eu-west-1", "site", "edge-17"),
			Samples:  []remote.Sample{{Value: float64(i*k) + 0.5, Timestamp: 1_700_000_000_000 + int64(k)*15_000}},
			Metadata: remote.Metadata{Type: remote.MetricTypeCounter, Help: "A node counter."},
		})
	}
	return req
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReceive is the handler path of a relay: read the body,
// decompress, fingerprint, decode and validate, append to the log and
// fsync, answer. It reports samples per CPU-second of the whole process,
// the figure to compare with a Prometheus agent receiving the same
// requests (docs/benchmarks.md says how).
func BenchmarkReceive(b *testing.B) {
	for _, c := range []struct {
		msg remote.Message
		enc remote.Encoding
	}{
		{remote.MessageV2, remote.EncodingSnappy},
		{remote.MessageV1, remote.EncodingSnappy},
		{remote.MessageV2, remote.EncodingZstd},
	} {
		b.Run(fmt.Sprintf("%s/%s", c.msg, c.enc), func(b *testing.B) {
			e := newRelayEnv(b, Options{})
			const distinct = 64
			bodies := make([][]byte, distinct)
			samples := 0
			for k := range bodies {
				req := benchRequest(k)
				samples = len(req.Series)
				var pb []byte
				if c.msg == remote.MessageV2 {
					pb = remote.AppendV2(nil, req, nil)
				} else {
					pb = remote.AppendV1(nil, req)
				}
				bodies[k], _ = remote.Compress(nil, pb, c.enc)
			}
			// Every iteration is a new request: the duplicate window is
			// reset between the rounds of distinct bodies.
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			start := time.Now()
			rd := bytes.NewReader(nil)
			for i := 0; b.Loop(); i++ {
				if i%distinct == 0 {
					e.rcv.dedup = newDedup(DefaultDedupRequests, DefaultDedupWindow, time.Now)
				}
				rd.Reset(bodies[i%distinct])
				req := httptest.NewRequest(http.MethodPost, "/api/v1/write", rd)
				req.Header.Set("Content-Type", c.msg.ContentType())
				req.Header.Set("Content-Encoding", string(c.enc))
				w := httptest.NewRecorder()
				e.rcv.ServeHTTP(w, req)
				if w.Code != http.StatusNoContent {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			n := float64(b.N * samples)
			b.ReportMetric(n/(cpuTime()-cpu).Seconds(), "samples/cpu-s")
			b.ReportMetric(n/time.Since(start).Seconds(), "samples/s")
			b.ReportMetric(float64(len(bodies[0]))/float64(samples), "wire-B/sample")
		})
	}
}
