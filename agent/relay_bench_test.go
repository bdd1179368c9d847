package agent

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/util/compression"
)

// benchRelayRequest is an RW2 request as a Prometheus sender makes it by
// default: 2000 series of eight labels, one sample each (request k's).
func benchRelayRequest(b *testing.B, k int) []byte {
	st := writev2.NewSymbolTable()
	req := &writev2.Request{}
	for i := range 2000 {
		lset := labels.FromStrings(
			"__name__", fmt.Sprintf("node_metric_%d_total", i%50),
			"cpu", fmt.Sprint(i%8), "device", fmt.Sprintf("dev%d", i/400),
			"instance", fmt.Sprintf("node-%d.example.com:9100", i/100), "job", "node",
			"mode", []string{"idle", "user", "system", "iowait"}[i%4], "region", "eu-west-1", "site", "edge-17")
		req.Timeseries = append(req.Timeseries, writev2.TimeSeries{
			LabelsRefs: st.SymbolizeLabels(lset, nil),
			Samples:    []writev2.Sample{{Value: float64(i*k) + 0.5, Timestamp: 1_700_000_000_000 + int64(k)*15_000}},
		})
	}
	req.Symbols = st.Symbols()
	pb, err := req.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	body, err := compression.Encode(compression.Snappy, pb, nil)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRelay is receive-decode-append-forward end to end: four client
// connections post RW2 requests of 2000 samples to a relaying ferry, which
// stores each in its log (fsync before the 204) and forwards them over
// four lanes to a destination that acknowledges without decoding. The
// clock stops when the destination has acknowledged every sample.
// samples/cpu-s counts the CPU of the whole process: ferry, the clients
// and the destination.
func BenchmarkRelay(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		// Acknowledges everything: it does not decode what it counts.
		w.Header().Set("X-Prometheus-Remote-Write-Samples-Written", "1000000000")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer sink.Close()
	ra := startRelay(b, b.TempDir(), relayConfig(sink.URL, "io.prometheus.write.v2.Request", 4, "    max_concurrent_requests: 8\n"), "")
	const distinct = 256
	bodies := make([][]byte, distinct)
	for k := range bodies {
		bodies[k] = benchRelayRequest(b, k)
	}
	url := ra.url("/api/v1/write")
	delivered := func() float64 { return counterValue(b, ra.a, "prometheus_remote_storage_samples_total") }
	base := delivered()

	b.ResetTimer()
	cpu, start := processCPU(), time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				// Bodies repeat every 256 requests; another tenant in
				// each round makes them new to the duplicate window.
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[i%distinct]))
				req.Header.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
				req.Header.Set("Content-Encoding", "snappy")
				req.Header.Set("X-Scope-OrgID", fmt.Sprint("round-", i/distinct))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					b.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	want := base + float64(b.N*2000)
	for deadline := time.Now().Add(time.Minute); delivered() < want; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %.0f of %.0f samples", delivered()-base, want-base)
		}
	}
	b.StopTimer()
	n := float64(b.N * 2000)
	b.ReportMetric(n/(processCPU()-cpu).Seconds(), "samples/cpu-s")
	b.ReportMetric(n/time.Since(start).Seconds(), "samples/s")
}

// counterValue sums a counter of the agent's registry over its labels.
func counterValue(tb testing.TB, a *Agent, name string) float64 {
	mfs, err := a.Registry().Gather()
	if err != nil {
		tb.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
