package remote

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// nodeExporterRequest returns a request like one a Prometheus agent sends
// when scraping node_exporter: n series of 8 labels, one sample each, with
// per-series metadata (used by RW2 only).
func nodeExporterRequest(n int) *Request {
	families := []struct {
		name, help string
		typ        MetricType
		l1, l2     string
		v1, v2     []string
	}{
		{"node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", MetricTypeCounter, "cpu", "mode",
			[]string{"0", "1", "2", "3", "4", "5", "6", "7"}, []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"}},
		{"node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.", MetricTypeGauge, "device", "mountpoint",
			[]string{"/dev/sda1", "/dev/sda2", "/dev/nvme0n1p1", "tmpfs"}, []string{"/", "/boot", "/home", "/run", "/var/lib/docker"}},
		{"node_network_receive_bytes_total", "Network device statistic receive_bytes.", MetricTypeCounter, "device", "duplex",
			[]string{"eth0", "eth1", "lo", "docker0", "veth1a2b3c"}, []string{"full", "half"}},
		{"node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", MetricTypeCounter, "device", "major",
			[]string{"sda", "sdb", "nvme0n1", "dm-0"}, []string{"8", "259", "253"}},
	}
	req := &Request{Series: make([]Series, 0, n)}
	for i := 0; i < n; i++ {
		f := families[i%len(families)]
		host := i / 64
		req.Series = append(req.Series, Series{
			Labels: labels.FromStrings(
				"__name__", f.name,
				"cluster", "eu-west-1-prod",
				"env", "production",
				"instance", fmt.Sprintf("node-%03d.example.internal:9100", host),
				"job", "node",
				f.l1, f.v1[i%len(f.v1)],
				f.l2, f.v2[(i/len(f.v1))%len(f.v2)],
				"region", "eu-west-1",
			),
			Samples:  []Sample{{Value: float64(i) * 1234.5678, Timestamp: 1_700_000_000_000 + int64(i%15)*1000}},
			Metadata: Metadata{Type: f.typ, Help: f.help},
		})
	}
	return req
}

const benchSeries = 2000 // one sample each: ns/op ÷ 2000 = ns per sample

func BenchmarkAppendV1(b *testing.B) {
	req := nodeExporterRequest(benchSeries)
	buf := AppendV1(nil, req)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendV1(buf[:0], req)
	}
	reportPerSample(b)
}

func BenchmarkAppendV2(b *testing.B) {
	req := nodeExporterRequest(benchSeries)
	var st SymbolTable
	buf := AppendV2(nil, req, &st)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendV2(buf[:0], req, &st)
	}
	reportPerSample(b)
}

func BenchmarkDecodeV1(b *testing.B) {
	buf := AppendV1(nil, nodeExporterRequest(benchSeries))
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeV1(buf, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	reportPerSample(b)
}

// BenchmarkCheckV2 is a relay's RW2 path, against BenchmarkDecodeV2.
//
// "interleaved" alternates families series by series; "grouped" sends each
// family's series together, as senders that follow an exposition do, so
// consecutive series mostly share their label names.
func BenchmarkCheckV2(b *testing.B) {
	interleaved := nodeExporterRequest(benchSeries)
	grouped := &Request{Series: slices.Clone(interleaved.Series)}
	slices.SortStableFunc(grouped.Series, func(x, y Series) int {
		return strings.Compare(x.Labels.Get("__name__"), y.Labels.Get("__name__"))
	})
	for _, c := range []struct {
		name string
		req  *Request
	}{{"interleaved", interleaved}, {"grouped", grouped}} {
		b.Run(c.name, func(b *testing.B) {
			buf := AppendV2(nil, c.req, nil)
			var scratch DictScratch
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := CheckV2(buf, Limits{}, &scratch); err != nil {
					b.Fatal(err)
				}
			}
			reportPerSample(b)
		})
	}
}

// BenchmarkTranscodeV1 is a relay's RW1 path, against
// BenchmarkDecodeThenAppendV2, the two steps it replaces.
func BenchmarkTranscodeV1(b *testing.B) {
	buf := AppendV1(nil, nodeExporterRequest(benchSeries))
	meta := func(string) (Metadata, bool) { return Metadata{Type: MetricTypeCounter, Help: "A counter."}, true }
	var tr Transcoder
	var out []byte
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if out, _, _, err = tr.TranscodeV1(out[:0], buf, Limits{}, meta); err != nil {
			b.Fatal(err)
		}
	}
	reportPerSample(b)
}

func BenchmarkDecodeThenAppendV2(b *testing.B) {
	buf := AppendV1(nil, nodeExporterRequest(benchSeries))
	var st SymbolTable
	var out []byte
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		req, err := DecodeV1(buf, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		for i := range req.Series {
			req.Series[i].Metadata = Metadata{Type: MetricTypeCounter, Help: "A counter."}
		}
		out = AppendV2(out[:0], req, &st)
	}
	reportPerSample(b)
}

func BenchmarkDecodeV2(b *testing.B) {
	buf := AppendV2(nil, nodeExporterRequest(benchSeries), nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeV2(buf, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	reportPerSample(b)
}

func BenchmarkCompress(b *testing.B) {
	for _, v := range []struct {
		name string
		body []byte
	}{
		{"RW1", AppendV1(nil, nodeExporterRequest(benchSeries))},
		{"RW2", AppendV2(nil, nodeExporterRequest(benchSeries), nil)},
	} {
		for _, enc := range []Encoding{EncodingSnappy, EncodingZstd} {
			b.Run(v.name+"/"+string(enc), func(b *testing.B) {
				out, _ := Compress(nil, v.body, enc)
				b.SetBytes(int64(len(v.body)))
				b.ReportAllocs()
				for b.Loop() {
					out, _ = Compress(out[:0], v.body, enc)
				}
				b.ReportMetric(float64(len(v.body))/float64(len(out)), "ratio")
				reportPerSample(b)
			})
		}
	}
}

func BenchmarkDecompress(b *testing.B) {
	for _, v := range []struct {
		name string
		body []byte
	}{
		{"RW1", AppendV1(nil, nodeExporterRequest(benchSeries))},
		{"RW2", AppendV2(nil, nodeExporterRequest(benchSeries), nil)},
	} {
		for _, enc := range []Encoding{EncodingSnappy, EncodingZstd} {
			b.Run(v.name+"/"+string(enc), func(b *testing.B) {
				c, _ := Compress(nil, v.body, enc)
				out, err := Decompress(nil, c, enc, 32<<20)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(v.body)))
				b.ReportAllocs()
				for b.Loop() {
					out, _ = Decompress(out[:0], c, enc, 32<<20)
				}
				reportPerSample(b)
			})
		}
	}
}

func reportPerSample(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchSeries, "ns/sample")
}

// The reference benchmarks measure Prometheus' generated decoders on the
// same bodies, as a yardstick. They stop at the generated structs; turning
// those into labels.Labels, as a receiver must, costs more.

func BenchmarkReferenceUnmarshalV1(b *testing.B) {
	buf := AppendV1(nil, nodeExporterRequest(benchSeries))
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		var wr prompb.WriteRequest
		if err := wr.Unmarshal(buf); err != nil {
			b.Fatal(err)
		}
	}
	reportPerSample(b)
}

func BenchmarkReferenceUnmarshalV2(b *testing.B) {
	buf := AppendV2(nil, nodeExporterRequest(benchSeries), nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		var wr writev2.Request
		if err := wr.Unmarshal(buf); err != nil {
			b.Fatal(err)
		}
	}
	reportPerSample(b)
}

// BenchmarkSeriesHash measures folding a series' hash from its dictionary
// ids (what a lane does for a scrape's series when it merges pieces of one
// target), against hashing its label strings.
func BenchmarkSeriesHash(b *testing.B) {
	ls := labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", "12", "instance", "10.0.0.1:9100", "job", "node", "mode", "softirq")
	d := NewDict()
	s := Series{Dict: d}
	ls.Range(func(l labels.Label) {
		s.Names = append(s.Names, d.Intern(l.Name))
		s.Values = append(s.Values, d.Intern(l.Value))
	})
	s.Names = append(s.Names, d.Intern("help"), d.Intern(""))
	if SeriesHash(&s) != LabelsHash(ls) {
		b.Fatal("the hashes differ")
	}
	b.Run("ids", func(b *testing.B) {
		for b.Loop() {
			SeriesHash(&s)
		}
	})
	b.Run("labels", func(b *testing.B) {
		for b.Loop() {
			LabelsHash(ls)
		}
	})
}
