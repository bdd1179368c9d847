package sender

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/bench/loadgen"
	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// nodeLikeBatch builds a request like the ones a sender forms in steady
// state: targets x series samples of node_exporter-like series (a few dozen
// metric names, cpu/mode/device labels, a per-target instance), one sample
// per series at the scrape's timestamp, values a mix of constants, integer
// counters and floats.
func nodeLikeBatch(targets, series int) *remote.Request {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"node_cpu_seconds_total", "node_network_receive_bytes_total", "node_network_transmit_bytes_total",
		"node_disk_read_bytes_total", "node_disk_written_bytes_total", "node_filesystem_avail_bytes", "node_filesystem_size_bytes",
		"node_memory_MemFree_bytes", "node_load1", "node_netstat_Tcp_InSegs", "node_vmstat_pgfault", "node_interrupts_total"}
	modes := []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"}
	req := &remote.Request{}
	for t := 0; t < targets; t++ {
		ts := int64(1_700_000_000_000 + t*17)
		for i := 0; i < series; i++ {
			name := names[i%len(names)]
			lb := labels.NewScratchBuilder(8)
			lb.Add("__name__", name)
			lb.Add("cpu", fmt.Sprint(i/len(names)%16))
			lb.Add("mode", modes[i%len(modes)])
			lb.Add("device", fmt.Sprintf("eth%d", i/(len(names)*16)))
			lb.Add("instance", fmt.Sprintf("10.1.%d.%d:9100", t/250, t%250))
			lb.Add("job", "node")
			lb.Add("cluster", "eu-west-1")
			lb.Sort()
			var v float64
			switch i % 4 {
			case 0:
				v = 1
			case 1:
				v = float64(rng.IntN(1 << 30))
			case 2:
				v = float64(rng.IntN(1<<20)) / 100
			default:
				v = rng.Float64() * 1e9
			}
			req.Series = append(req.Series, remote.Series{
				Labels:   lb.Labels(),
				Samples:  []remote.Sample{{Value: v, Timestamp: ts}},
				Metadata: remote.Metadata{Type: remote.MetricTypeCounter, Help: "Node exporter metric " + name + "."},
			})
		}
	}
	return req
}

// BenchmarkEncodeRequest measures what a lane does per request: encode and
// compress the samples of 2 and of 10 scrapes of 1000 series (Prometheus'
// and ferry's default max_samples_per_send), reporting wire bytes per
// sample.
func BenchmarkEncodeRequest(b *testing.B) {
	for _, scrapes := range []int{2, 10} {
		req := nodeLikeBatch(scrapes, 1000)
		// What lanes get from the decoder: series with dictionary ids.
		d := remote.NewDict()
		for i := range req.Series {
			s := &req.Series[i]
			s.Dict = d
			s.Labels.Range(func(l labels.Label) {
				s.Names, s.Values = append(s.Names, d.Intern(l.Name)), append(s.Values, d.Intern(l.Value))
			})
			s.Names = append(s.Names, d.Intern(s.Metadata.Help), d.Intern(s.Metadata.Unit))
		}
		n := len(req.Series)
		for _, msg := range []remote.Message{remote.MessageV1, remote.MessageV2} {
			for _, enc := range []remote.Encoding{remote.EncodingSnappy, remote.EncodingZstd} {
				name := fmt.Sprintf("%dx1000/%s/%s", scrapes, map[remote.Message]string{remote.MessageV1: "rw1", remote.MessageV2: "rw2"}[msg], enc)
				b.Run(name, func(b *testing.B) {
					var st remote.SymbolTable
					var pb, comp []byte
					b.ReportAllocs()
					for b.Loop() {
						if msg == remote.MessageV2 {
							pb = remote.AppendV2(pb[:0], req, &st)
						} else {
							pb = remote.AppendV1(pb[:0], req)
						}
						var err error
						if comp, err = remote.Compress(comp[:0], pb, enc); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(len(comp))/float64(n), "wire-B/sample")
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
				})
			}
		}
	}
}

var tenSlots = []uint16{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}

// withDictIDs returns req's series as the log's decoder gives a scrape's:
// labels as ids into one dictionary, no label set.
func withDictIDs(req *remote.Request) []remote.Series {
	d := remote.NewDict()
	out := make([]remote.Series, len(req.Series))
	// Series with the same label names, help and unit share one Names
	// array, as the log's decoder gives them (one per shape).
	shapes := map[string][]uint32{}
	for i, s := range req.Series {
		c := s
		c.Labels, c.Dict = labels.EmptyLabels(), d
		c.Names, c.Values = nil, nil
		s.Labels.Range(func(l labels.Label) {
			c.Names = append(c.Names, d.Intern(l.Name))
			c.Values = append(c.Values, d.Intern(l.Value))
		})
		c.Names = append(c.Names, d.Intern(s.Metadata.Help), d.Intern(s.Metadata.Unit))
		key := fmt.Sprint(c.Names)
		if names, ok := shapes[key]; ok {
			c.Names = names
		} else {
			shapes[key] = c.Names
		}
		out[i] = c
	}
	return out
}

// BenchmarkPieceIntoBatch measures the sender's copy of decoded records
// into pieces and the lane's merge of them into one request, the
// interleaving, and the reset after the request: the path every sample
// takes between the log and the encoder. The batch is ten 1000-series
// scrapes of ten targets, ferry's default request, whose pieces have
// distinct slots (no lookups) or none (every series looked up in the
// batch's index), with their hashes given (received batches) or, as a
// scrape's pieces, without hashes and with dictionary ids, which the lane
// folds a hash from when it looks series up.
func BenchmarkPieceIntoBatch(b *testing.B) {
	req := nodeLikeBatch(10, 1000)
	hashes := make([]uint64, len(req.Series))
	for i := range req.Series {
		hashes[i] = req.Series[i].Labels.Hash()
	}
	scraped := withDictIDs(req)
	for _, c := range []struct {
		name   string
		slots  func(t int) []uint16
		series []remote.Series
		hashed bool
	}{
		// Ten targets in ten slots: what scraping gives.
		{"distinct-slots", func(t int) []uint16 { return tenSlots[t : t+1] }, req.Series, true},
		// Every series looked up, as when pieces share slots.
		{"looked-up", func(int) []uint16 { return nil }, req.Series, true},
		{"looked-up-scraped", func(int) []uint16 { return nil }, scraped, false},
		// Two of the ten targets in one slot: only their pieces are
		// hashed and looked up.
		{"shared-slot-scraped", func(t int) []uint16 { return tenSlots[max(t-1, 0) : max(t-1, 0)+1] }, scraped, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			l := &lane{}
			b.ReportAllocs()
			for b.Loop() {
				for t := range 10 {
					p := newPiece(0, "")
					p.slots = append(p.slots, c.slots(t)...)
					for i := t * 1000; i < (t+1)*1000; i++ {
						if c.hashed {
							p.addHashed(&c.series[i], hashes[i], false)
						} else {
							p.add(&c.series[i], false)
						}
					}
					l.add(p)
				}
				l.interleave()
				l.reset()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(req.Series)), "ns/sample")
		})
	}
}

// loadgenBatch is ten scrapes of the end-to-end benchmark's load
// (bench/loadgen): 1000 node_exporter-like series per target, where
// constants and slow counters are often equal across targets, as on a
// fleet of similar hosts.
func loadgenBatch(targets int) *remote.Request {
	lay := loadgen.NewLayout(1000)
	req := &remote.Request{}
	for t := range targets {
		p := loadgen.NewPayload(lay, 1, uint64(t))
		for k := range 3 {
			p.Step(float64(k * 10))
		}
		for i, v := range p.Values() {
			name, ls := lay.Series(i)
			_, typ, help := lay.Family(i)
			lb := labels.NewScratchBuilder(len(ls) + 3)
			lb.Add("__name__", name)
			for _, l := range ls {
				lb.Add(l.Name, l.Value)
			}
			lb.Add("instance", fmt.Sprintf("10.0.0.%d:9100", t+1))
			lb.Add("job", "node")
			lb.Sort()
			mt := remote.MetricTypeGauge
			if typ == "counter" {
				mt = remote.MetricTypeCounter
			}
			req.Series = append(req.Series, remote.Series{
				Labels:   lb.Labels(),
				Samples:  []remote.Sample{{Value: v, Timestamp: 1_790_000_000_000 + int64(t)*37}},
				Metadata: remote.Metadata{Type: mt, Help: help},
			})
		}
	}
	return req
}

// BenchmarkInterleavedRequest measures what ordering a request's series by
// rank (lane.interleave) does to the zstd-compressed RW2 request of ten
// 1000-series scrapes: "by-target" is the request as merged, "by-rank"
// after interleave; "loadgen" is the end-to-end benchmark's load,
// "random" nodeLikeBatch, whose values differ on every target.
func BenchmarkInterleavedRequest(b *testing.B) {
	for _, load := range []struct {
		name string
		req  *remote.Request
	}{{"loadgen", loadgenBatch(10)}, {"random", nodeLikeBatch(10, 1000)}} {
		for _, c := range []struct {
			name       string
			interleave bool
		}{{"by-target", false}, {"by-rank", true}} {
			b.Run(load.name+"/"+c.name, func(b *testing.B) {
				req := load.req
				l := &lane{}
				var st remote.SymbolTable
				var pb, comp []byte
				b.ReportAllocs()
				for b.Loop() {
					for t := range 10 {
						p := newPiece(0, "")
						for i := t * 1000; i < (t+1)*1000; i++ {
							p.addHashed(&req.Series[i], req.Series[i].Labels.Hash(), false)
						}
						l.add(p)
					}
					if c.interleave {
						l.interleave()
					}
					pb = remote.AppendV2Series(pb[:0], l.series, &st)
					var err error
					if comp, err = remote.Compress(comp[:0], pb, remote.EncodingZstd); err != nil {
						b.Fatal(err)
					}
					l.reset()
				}
				b.ReportMetric(float64(len(comp))/float64(len(req.Series)), "wire-B/sample")
			})
		}
	}
}

// BenchmarkDecodeAndSplitScrape measures what the read loop does with a
// scrape record of 1000 node_exporter-like series: decode it and hand it
// to its lane as a piece, which takes the decoded batch over whole. The
// records are a keyframe and 99 scrapes that follow it, decoded in turn.
func BenchmarkDecodeAndSplitScrape(b *testing.B) {
	req := nodeLikeBatch(1, 1000)
	enc := record.NewStreamEncoder(7)
	refs := make([]record.Ref, len(req.Series))
	var records [][]byte
	for k := range 100 {
		enc.Begin(int64(k)*10_000, 1)
		for i := range req.Series {
			s := &req.Series[i]
			if !enc.Valid(refs[i]) {
				refs[i] = enc.Define(s.Labels, s.Labels.Get("__name__"), s.Metadata)
			}
			enc.Add(refs[i], s.Samples[0].Value+float64(k*i%7))
		}
		data, _ := enc.Finish()
		records = append(records, append([]byte(nil), data...))
		enc.Done(true)
	}
	s := &Sender{cfg: settings{maxSamplesPerSend: 10_000}, router: newRouter(1)}
	var dec *record.Decoder
	var batch record.Batch
	next := 0
	b.ReportAllocs()
	for b.Loop() {
		if next%len(records) == 0 {
			// A new segment: the decoder starts again from the keyframe.
			dec = record.NewDecoder(nil)
		}
		batch.Reset()
		rec := wal.Record{Kind: record.KindStream, Data: records[next%len(records)], Pos: wal.Pos{Segment: uint64(1 + next/len(records))}}
		next++
		if err := dec.Decode(rec, &batch); err != nil {
			b.Fatal(err)
		}
		for _, p := range s.split(&batch) {
			s.router.release(p.slots)
			p.recycle()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(req.Series)), "ns/sample")
}

// BenchmarkDecodeAndSplitReceived is BenchmarkDecodeAndSplitScrape for a
// received 1000-series batch on a destination with one lane, where the
// piece takes the decoded batch over whole as well.
func BenchmarkDecodeAndSplitReceived(b *testing.B) {
	var tr remote.Transcoder
	data, _, _, err := tr.TranscodeV1(nil, remote.AppendV1(nil, nodeLikeBatch(1, 1000)), remote.Limits{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	data = record.AppendBatchTenant(data, "")
	s := &Sender{cfg: settings{maxSamplesPerSend: 10_000}, router: newRouter(1)}
	dec := record.NewDecoder(nil)
	var batch record.Batch
	b.ReportAllocs()
	for b.Loop() {
		batch.Reset()
		if err := dec.Decode(wal.Record{Kind: record.KindBatch, Data: data, Pos: wal.Pos{Segment: 1}}, &batch); err != nil {
			b.Fatal(err)
		}
		for _, p := range s.split(&batch) {
			s.router.release(p.slots)
			p.recycle()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/sample")
}

// cacheEvictor is memory larger than the machine's caches, written to
// evict them.
var cacheEvictor []byte

func evictCaches() {
	if cacheEvictor == nil {
		cacheEvictor = make([]byte, 64<<20)
	}
	for i := 0; i < len(cacheEvictor); i += 64 {
		cacheEvictor[i]++
	}
}

// BenchmarkLaneRequest measures the two steps of a lane's request apart:
// encoding ten 1000-series scrapes of the end-to-end benchmark's load (with
// dictionary ids, in their pieces, ordered by rank) as RW2, and compressing
// the result with zstd. In a running agent a lane encodes a request about
// twice a second and the series have left the CPU's caches by then, so
// each step is measured also with the caches evicted before it (cold; the
// eviction is not timed).
func BenchmarkLaneRequest(b *testing.B) {
	req := loadgenBatch(10)
	series := withDictIDs(req)
	l := &lane{}
	for t := range 10 {
		p := newPiece(0, "")
		for i := t * 1000; i < (t+1)*1000; i++ {
			p.addHashed(&series[i], req.Series[i].Labels.Hash(), false)
		}
		l.add(p)
	}
	l.interleave()
	var st remote.SymbolTable
	pb := remote.AppendV2Series(nil, l.series, &st)
	var comp []byte
	for _, cold := range []bool{false, true} {
		caches := map[bool]string{false: "hot", true: "cold"}[cold]
		for _, step := range []string{"encode", "compress"} {
			b.Run(caches+"/"+step, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if cold {
						b.StopTimer()
						evictCaches()
						b.StartTimer()
					}
					if step == "encode" {
						pb = remote.AppendV2Series(pb[:0], l.series, &st)
						continue
					}
					var err error
					if comp, err = remote.Compress(comp[:0], pb, remote.EncodingZstd); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(series)), "ns/sample")
			})
		}
	}
}
