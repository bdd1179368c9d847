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
	// alias is set when another exposed text yields the same final labels
	// (`m` and `m{}`, labels in another order, or relabeling that makes
	// two series one): samples go to the alias, so one series gets one
	// sample per scrape however it is spelled.
	alias *entry
	// hash is the hash of lset, the key in seriesCache.byLabels.
	hash    uint64
	deleted bool
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
	byLabels map[uint64]*entry // the entry owning each final label set
	families map[string]*family
	iter     uint64
	prev     []*entry // series the previous successful scrape appended
	cur      []*entry // series the current scrape appended
}

func newSeriesCache() *seriesCache {
	return &seriesCache{entries: map[string]*entry{}, byLabels: map[uint64]*entry{}, families: map[string]*family{}}
}

// begin starts a scrape.
func (c *seriesCache) begin() {
	c.iter++
	c.cur = c.cur[:0]
}

// add puts a new entry in the cache. If another entry already owns the same
// final labels, the new one becomes its alias.
func (c *seriesCache) add(e *entry) {
	c.entries[e.key] = e
	if e.dropped() {
		return
	}
	e.hash = e.lset.Hash()
	if owner, ok := c.byLabels[e.hash]; ok && !owner.deleted {
		if labels.Equal(owner.lset, e.lset) {
			e.alias = owner
		}
		return // a hash collision keeps its own series
	}
	c.byLabels[e.hash] = e
}

// resolve returns the entry that owns e's series.
func (c *seriesCache) resolve(e *entry) *entry {
	if e.alias == nil {
		return e
	}
	if e.alias.deleted {
		// The owner went stale and was forgotten: e takes over.
		e.alias = nil
		if owner, ok := c.byLabels[e.hash]; !ok || owner.deleted {
			c.byLabels[e.hash] = e
		}
		return e
	}
	return e.alias
}

// remove forgets an entry.
func (c *seriesCache) remove(e *entry) {
	delete(c.entries, e.key)
	e.deleted = true
	if c.byLabels[e.hash] == e {
		delete(c.byLabels, e.hash)
	}
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
		c.remove(e)
	}
	c.prev, c.cur = c.cur, c.prev
	if c.iter%dropEvictAfter == 0 {
		for _, e := range c.entries {
			if (e.dropped() || e.alias != nil) && c.iter-e.lastIter > dropEvictAfter {
				c.remove(e)
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
