package scrape

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
)

// dropEvictAfter is how many scrapes a series that relabeling drops stays in
// the cache after it was last exposed, so a series that flaps is not
// relabeled again every time.
const dropEvictAfter = 10

// entry is what a target's loop remembers about one exposed series: the
// result of relabeling it, so steady-state scrapes never relabel, and its
// reference in the target's log stream.
type entry struct {
	key      string        // the series as exposed, e.g. `up{job="x"}`
	lset     labels.Labels // after target labels and metric relabeling; empty if dropped
	fam      *family
	ref      record.Ref
	lastIter uint64 // scrape that last exposed the series
	// explicitTS is set when the series' last sample carried its own
	// timestamp; such series get no staleness markers, as in Prometheus.
	explicitTS bool
}

func (e *entry) dropped() bool { return e.lset.IsEmpty() }

// family holds a metric family's metadata as exposed.
type family struct {
	name string
	meta remote.Metadata
}

// seriesCache is the per-target memory of exposed series.
type seriesCache struct {
	entries  map[string]*entry
	families map[string]*family
	iter     uint64
	prev     []*entry // series the previous successful scrape appended
	cur      []*entry // series the current scrape appended
}

func newSeriesCache() *seriesCache {
	return &seriesCache{entries: map[string]*entry{}, families: map[string]*family{}}
}

// begin starts a scrape.
func (c *seriesCache) begin() {
	c.iter++
	c.cur = c.cur[:0]
}

// family returns the metadata holder for a family name, creating it.
func (c *seriesCache) family(name []byte) *family {
	if f, ok := c.families[string(name)]; ok {
		return f
	}
	f := &family{name: string(name)}
	c.families[f.name] = f
	return f
}

// stale returns the series the previous scrape appended that the current
// one did not, and forgets them. It then makes the current scrape the
// previous one. Callers write a staleness marker for each returned entry.
func (c *seriesCache) stale(dst []*entry) []*entry {
	for _, e := range c.prev {
		if e.lastIter == c.iter {
			continue
		}
		if !e.explicitTS {
			dst = append(dst, e)
		}
		delete(c.entries, e.key)
	}
	c.prev, c.cur = c.cur, c.prev
	if c.iter%dropEvictAfter == 0 {
		for k, e := range c.entries {
			if e.dropped() && c.iter-e.lastIter > dropEvictAfter {
				delete(c.entries, k)
			}
		}
	}
	return dst
}

// metricType maps an exposition type to the remote-write metadata type.
func metricType(t model.MetricType) remote.MetricType {
	switch t {
	case model.MetricTypeCounter:
		return remote.MetricTypeCounter
	case model.MetricTypeGauge:
		return remote.MetricTypeGauge
	case model.MetricTypeHistogram:
		return remote.MetricTypeHistogram
	case model.MetricTypeGaugeHistogram:
		return remote.MetricTypeGaugeHistogram
	case model.MetricTypeSummary:
		return remote.MetricTypeSummary
	case model.MetricTypeInfo:
		return remote.MetricTypeInfo
	case model.MetricTypeStateset:
		return remote.MetricTypeStateset
	default:
		return remote.MetricTypeUnknown
	}
}
