package sender

import (
	"github.com/prometheus/prometheus/model/histogram"

	"github.com/ferrymetrics/ferry/remote"
)

// dropCounts are what a filter removed from a request, by kind.
type dropCounts struct {
	samples, histograms, exemplars int
}

func (d dropCounts) any() bool { return d.samples+d.histograms+d.exemplars > 0 }

// filterByConfig removes from a piece what the destination's configuration
// says not to send: exemplars unless send_exemplars, native histograms
// unless send_native_histograms. It returns what it removed.
func filterByConfig(series []remote.Series, sendExemplars, sendHistograms bool) dropCounts {
	var d dropCounts
	if sendExemplars && sendHistograms {
		return d
	}
	for i := range series {
		s := &series[i]
		if !sendExemplars && len(s.Exemplars) > 0 {
			d.exemplars += len(s.Exemplars)
			s.Exemplars = nil
		}
		if !sendHistograms && len(s.Histograms) > 0 {
			d.histograms += len(s.Histograms)
			s.Histograms = nil
		}
	}
	return d
}

// filterTooOld removes samples, histograms and exemplars older than
// minTime (sample_age_limit), keeping the rest in order.
func filterTooOld(series []*remote.Series, minTime int64) dropCounts {
	var d dropCounts
	for _, s := range series {
		s.Samples, d.samples = keepFrom(s.Samples, minTime, func(x remote.Sample) int64 { return x.Timestamp }, d.samples)
		s.Histograms, d.histograms = keepFrom(s.Histograms, minTime, func(x remote.Histogram) int64 { return x.Timestamp }, d.histograms)
		s.Exemplars, d.exemplars = keepFrom(s.Exemplars, minTime, func(x remote.Exemplar) int64 { return x.Timestamp }, d.exemplars)
	}
	return d
}

func keepFrom[T any](xs []T, minTime int64, ts func(T) int64, dropped int) ([]T, int) {
	out := xs[:0]
	for _, x := range xs {
		if ts(x) < minTime {
			dropped++
			continue
		}
		out = append(out, x)
	}
	return out, dropped
}

// filterCustomBuckets removes native histograms with custom buckets (NHCB,
// schema -53), which Remote-Write 1.0 cannot carry.
func filterCustomBuckets(series []*remote.Series) int {
	n := 0
	for _, s := range series {
		kept := s.Histograms[:0]
		for _, h := range s.Histograms {
			if (h.H != nil && histogram.IsCustomBucketsSchema(h.H.Schema)) || (h.FH != nil && histogram.IsCustomBucketsSchema(h.FH.Schema)) {
				n++
				continue
			}
			kept = append(kept, h)
		}
		s.Histograms = kept
	}
	return n
}

// filterExemplarOnly removes exemplars of series that have no sample or
// histogram in the request: RW2 receivers refuse such a time series (and with
// it the whole request). It returns how many exemplars it removed.
func filterExemplarOnly(series []*remote.Series) int {
	n := 0
	for _, s := range series {
		if len(s.Samples)+len(s.Histograms) == 0 && len(s.Exemplars) > 0 {
			n += len(s.Exemplars)
			s.Exemplars = nil
		}
	}
	return n
}

// stripMetadata clears per-series metadata (metadata_config.send: false).
func stripMetadata(series []*remote.Series) {
	for _, s := range series {
		s.Metadata = remote.Metadata{}
	}
}

// countRequest counts a request's samples, histograms and exemplars.
func countRequest(series []*remote.Series) remote.Counts {
	var c remote.Counts
	for _, s := range series {
		c.Samples += len(s.Samples)
		c.Histograms += len(s.Histograms)
		c.Exemplars += len(s.Exemplars)
	}
	return c
}
