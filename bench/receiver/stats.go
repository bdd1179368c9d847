package receiver

import (
	"strconv"
	"time"
)

// Stats is a snapshot of what the receiver has seen.
type Stats struct {
	// Requests received, and those accepted with a 2xx.
	Requests int64 `json:"requests"`
	Accepted int64 `json:"accepted"`
	// ByStatus counts answers by HTTP status code.
	ByStatus map[string]int64 `json:"by_status"`
	// ByFormat counts accepted requests by protocol and compression.
	ByFormat map[string]int64 `json:"by_format"`
	// WireBytes is the compressed body size of accepted requests;
	// WireBytesAll includes those refused (by a fault, for example).
	WireBytes    int64 `json:"wire_bytes"`
	WireBytesAll int64 `json:"wire_bytes_all"`
	// DecodedBytes is the uncompressed protobuf size of accepted requests.
	DecodedBytes int64 `json:"decoded_bytes"`
	// SamplesIn and HistogramsIn count the data points of accepted
	// requests, duplicates included: the denominator of bytes per sample.
	SamplesIn    int64 `json:"samples_in"`
	HistogramsIn int64 `json:"histograms_in"`
	// MetadataIn counts metadata entries (RW1 family metadata, RW2
	// per-series metadata) of accepted requests.
	MetadataIn int64 `json:"metadata_in"`
	// HandleMsMean is the mean time the receiver spent on an accepted
	// request once its body was read: decompress, decode, check (and any
	// latency fault).
	HandleMsMean float64 `json:"handle_ms_mean"`

	// PayloadSamples are the unique, non-stale samples of series other
	// than report series: what the targets exposed, delivered.
	PayloadSamples int64 `json:"payload_samples"`
	// ReportSamples are the unique, non-stale samples of report series
	// (up, scrape_*).
	ReportSamples int64 `json:"report_samples"`
	// StaleMarkers are the unique stale markers of any series.
	StaleMarkers int64 `json:"stale_markers"`
	// Histograms are unique native histogram samples.
	Histograms int64 `json:"histograms"`
	Exemplars  int64 `json:"exemplars"`
	// FailedScrapes are the unique up == 0 samples: scrapes the agent
	// reports as failed.
	FailedScrapes int64 `json:"failed_scrapes"`
	// Duplicates are data points whose series already had a point at that
	// timestamp; OutOfOrder are new ones older than their series' newest.
	Duplicates int64 `json:"duplicates"`
	OutOfOrder int64 `json:"out_of_order"`

	// PayloadSeries and ReportSeries count the distinct series seen;
	// ReportSeriesByName splits the latter by metric name.
	PayloadSeries      int64            `json:"payload_series"`
	ReportSeries       int64            `json:"report_series"`
	ReportSeriesByName map[string]int64 `json:"report_series_by_name"`

	// Lag is the delivery lag of unique non-stale samples: time of
	// receipt minus the sample's timestamp.
	Lag LagStats `json:"lag_ms"`
}

// LagStats summarises delivery lags, in milliseconds.
type LagStats struct {
	P50 int64 `json:"p50"`
	P90 int64 `json:"p90"`
	P99 int64 `json:"p99"`
	Max int64 `json:"max"`
	N   int64 `json:"n"`
}

// Stats returns a snapshot. It locks every shard in turn, so it is meant
// for the end of a run or an occasional look, not a tight loop.
func (r *Receiver) Stats() Stats {
	s := Stats{
		Requests: r.requests.Load(), Accepted: r.accepted.Load(),
		WireBytes: r.wireBytes.Load(), WireBytesAll: r.wireAll.Load(), DecodedBytes: r.decodedBytes.Load(),
		SamplesIn: r.samplesIn.Load(), HistogramsIn: r.histogramsIn.Load(), MetadataIn: r.metadataIn.Load(),
		ByStatus: map[string]int64{}, ByFormat: map[string]int64{}, ReportSeriesByName: map[string]int64{},
	}
	if s.Accepted > 0 {
		s.HandleMsMean = float64(r.busyNanos.Load()) / 1e6 / float64(s.Accepted)
	}
	r.mu.Lock()
	for code, n := range r.byStatus {
		s.ByStatus[strconv.Itoa(code)] = n
	}
	for f, n := range r.byFormat {
		s.ByFormat[f] = n
	}
	r.mu.Unlock()
	var lag lagHistogram
	for i := range r.ledger.shards {
		sh := &r.ledger.shards[i]
		sh.mu.Lock()
		c := sh.counts
		s.PayloadSamples += c.payload
		s.ReportSamples += c.report
		s.StaleMarkers += c.stale
		s.Histograms += c.histograms
		s.Exemplars += c.exemplars
		s.Duplicates += c.duplicates
		s.OutOfOrder += c.outOfOrder
		s.PayloadSeries += c.payloadSeries
		s.ReportSeries += c.reportSeries
		s.FailedScrapes += c.failedScrapes
		for name, n := range sh.reportNames {
			s.ReportSeriesByName[name] += n
		}
		lag.merge(&sh.lag)
		sh.mu.Unlock()
	}
	s.Lag = LagStats{P50: lag.quantile(0.5), P90: lag.quantile(0.9), P99: lag.quantile(0.99), Max: lag.max, N: lag.n}
	return s
}

// Counters are the few figures a runner polls while waiting for delivery.
type Counters struct {
	PayloadSamples, Duplicates, OutOfOrder int64
}

// Counters returns the unique payload samples, duplicates and
// out-of-order samples so far: cheaper than Stats.
func (r *Receiver) Counters() Counters {
	var c Counters
	for i := range r.ledger.shards {
		sh := &r.ledger.shards[i]
		sh.mu.Lock()
		c.PayloadSamples += sh.payload
		c.Duplicates += sh.duplicates
		c.OutOfOrder += sh.outOfOrder
		sh.mu.Unlock()
	}
	return c
}

// Accepted returns how many requests were accepted so far.
func (r *Receiver) Accepted() int64 { return r.accepted.Load() }

// DeliveredBefore returns how many unique payload samples with a timestamp
// before t have arrived. t is rounded down to a whole second: the receiver
// counts arrivals per second of timestamp.
func (r *Receiver) DeliveredBefore(t time.Time) int64 {
	return r.before(t, func(sh *shard) map[int64]int64 { return sh.perSecond })
}

// FailedScrapesBefore returns how many up == 0 samples with a timestamp
// before t (rounded down to a whole second) have arrived.
func (r *Receiver) FailedScrapesBefore(t time.Time) int64 {
	return r.before(t, func(sh *shard) map[int64]int64 { return sh.failedAt })
}

// before sums the per-second counts that pick chooses over the seconds
// before t.
func (r *Receiver) before(t time.Time, pick func(*shard) map[int64]int64) int64 {
	sec := floorDiv(t.UnixMilli(), 1000)
	var n int64
	for i := range r.ledger.shards {
		sh := &r.ledger.shards[i]
		sh.mu.Lock()
		for s, c := range pick(sh) {
			if s < sec {
				n += c
			}
		}
		sh.mu.Unlock()
	}
	return n
}
