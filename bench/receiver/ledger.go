package receiver

import (
	"math"
	"slices"
	"sync"

	"github.com/ferrymetrics/ferry/remote"
)

// staleNaN is the bit pattern of a Prometheus stale marker.
const staleNaN = 0x7ff0000000000002

// reportNames are the series an agent adds to every scrape. They are
// counted apart from the payload the targets exposed.
var reportNames = map[string]bool{
	"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true,
	"scrape_samples_post_metric_relabeling": true, "scrape_series_added": true,
	"scrape_timeout_seconds": true, "scrape_sample_limit": true, "scrape_body_size_bytes": true,
}

// numShards splits the ledger so that concurrent requests rarely wait for
// each other; a series always lives in the same shard.
const numShards = 16

// series is what the ledger remembers of one series.
type series struct {
	ts     []int64 // every timestamp seen, ascending
	report bool
	up     bool // the "up" report series
}

// counts are the ledger's counters; a shard has one, Stats sums them.
type counts struct {
	payload, report, stale      int64 // unique samples by class
	duplicates, outOfOrder      int64
	histograms, exemplars       int64
	payloadSeries, reportSeries int64
	failedScrapes               int64 // unique up == 0 samples
}

// shard is one part of the ledger.
type shard struct {
	mu          sync.Mutex
	series      map[uint64]*series
	reportNames map[string]int64 // report series by metric name
	perSecond   map[int64]int64  // unique payload samples by timestamp second
	failedAt    map[int64]int64  // unique up == 0 samples by timestamp second
	lag         lagHistogram
	counts
}

// ledger checks every sample of every series.
type ledger struct {
	shards [numShards]shard
}

func newLedger() *ledger {
	l := &ledger{}
	for i := range l.shards {
		s := &l.shards[i]
		s.series = map[uint64]*series{}
		s.reportNames = map[string]int64{}
		s.perSecond = map[int64]int64{}
		s.failedAt = map[int64]int64{}
	}
	return l
}

// add checks and counts the data points of s, received at nowMs.
func (l *ledger) add(s *remote.Series, nowMs int64) {
	h := s.Labels.Hash()
	sh := &l.shards[h%numShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.series[h]
	if st == nil {
		name := s.Labels.Get("__name__")
		st = &series{report: reportNames[name], up: name == "up"}
		sh.series[h] = st
		if st.report {
			sh.reportSeries++
			sh.reportNames[name]++
		} else {
			sh.payloadSeries++
		}
	}
	sh.exemplars += int64(len(s.Exemplars))
	for _, smp := range s.Samples {
		if !sh.record(st, smp.Timestamp) {
			continue
		}
		switch {
		case math.Float64bits(smp.Value) == staleNaN:
			sh.stale++
		case st.report:
			sh.report++
			sh.lag.add(nowMs - smp.Timestamp)
			if st.up && smp.Value == 0 {
				// The agent says this scrape failed.
				sh.failedScrapes++
				sh.failedAt[floorDiv(smp.Timestamp, 1000)]++
			}
		default:
			sh.payload++
			sh.perSecond[floorDiv(smp.Timestamp, 1000)]++
			sh.lag.add(nowMs - smp.Timestamp)
		}
	}
	for _, hs := range s.Histograms {
		if sh.record(st, hs.Timestamp) {
			sh.histograms++
			sh.lag.add(nowMs - hs.Timestamp)
		}
	}
}

// record notes timestamp ts of st and reports whether it is new. A
// timestamp seen before is a duplicate; one older than the newest but new
// is out of order (and still a delivered sample).
func (sh *shard) record(st *series, ts int64) bool {
	n := len(st.ts)
	if n == 0 || ts > st.ts[n-1] {
		st.ts = append(st.ts, ts)
		return true
	}
	i, found := slices.BinarySearch(st.ts, ts)
	if found {
		sh.duplicates++
		return false
	}
	sh.outOfOrder++
	st.ts = slices.Insert(st.ts, i, ts)
	return true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
