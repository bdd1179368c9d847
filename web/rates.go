package web

import (
	"context"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// meter keeps recent snapshots of ferry's own metrics so that pages can show
// rates (samples per second, requests per second, recent fsync latency) the
// way rate() over the last minute would, without a time-series database.
// Snapshots are taken every interval in the background and whenever a page
// is rendered; those older than the window are dropped, so memory is bounded
// by window/interval snapshots of ferry's few dozen own series.
type meter struct {
	g        prometheus.Gatherer
	window   time.Duration
	interval time.Duration
	now      func() time.Time

	mu     sync.Mutex
	points []snapshot // oldest first
}

func newMeter(g prometheus.Gatherer, window, interval time.Duration, now func() time.Time) *meter {
	m := &meter{g: g, window: window, interval: interval, now: now}
	m.sample()
	return m
}

// run samples every interval until ctx ends.
func (m *meter) run(ctx context.Context) {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.sample()
		}
	}
}

// sample takes a snapshot and keeps it unless the newest kept one is more
// recent than a second: page views cannot grow the history.
func (m *meter) sample() snapshot {
	s := gather(m.g, m.now())
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.points); n == 0 || s.at.Sub(m.points[n-1].at) >= time.Second {
		m.points = append(m.points, s)
	}
	// Keep one snapshot at or beyond the window's start, so a rate spans
	// the whole window once ferry has run that long.
	for len(m.points) > 1 && !m.points[1].at.After(s.at.Add(-m.window)) {
		m.points = m.points[1:]
	}
	return s
}

// view takes a fresh snapshot and pairs it with the oldest kept one.
func (m *meter) view() rateView {
	cur := m.sample()
	m.mu.Lock()
	defer m.mu.Unlock()
	return rateView{now: cur, old: m.points[0]}
}

// rateView answers questions about the interval between two snapshots.
type rateView struct{ now, old snapshot }

// span is the interval rates are measured over; 0 before there is one.
func (v rateView) span() time.Duration { return v.now.at.Sub(v.old.at) }

// increase is how much the matching counters grew over the span. A counter
// that went down was reset (a destination removed and added again) and
// counts from zero; one absent from the older snapshot was created since.
func (v rateView) increase(name string, match ...string) float64 {
	var total float64
	for _, x := range v.now.series {
		if x.name != name || !matches(x.labels, match) {
			continue
		}
		before, ok := v.old.byKey[x.key]
		switch {
		case !ok || x.value < before:
			total += x.value
		default:
			total += x.value - before
		}
	}
	return total
}

// rate is increase per second; ok is false until there is a span.
func (v rateView) rate(name string, match ...string) (perSecond float64, ok bool) {
	d := v.span().Seconds()
	if d <= 0 {
		return 0, false
	}
	return v.increase(name, match...) / d, true
}

// mean is the average observation of a histogram over the span; ok is false
// when nothing was observed.
func (v rateView) mean(histogram string, match ...string) (float64, bool) {
	n := v.increase(histogram+"_count", match...)
	if n == 0 {
		return 0, false
	}
	return v.increase(histogram+"_sum", match...) / n, true
}

// quantileBound returns the upper bound of the histogram bucket holding the
// q-quantile of the observations made over the span: "99% took at most
// this". It is +Inf when the quantile lies beyond the largest bucket, and ok
// is false when nothing was observed.
func (v rateView) quantileBound(histogram string, q float64, match ...string) (float64, bool) {
	counts := map[float64]float64{}
	for _, x := range v.now.series {
		if x.name != histogram+"_bucket" || !matches(x.labels, match) {
			continue
		}
		le, err := strconv.ParseFloat(x.labels["le"], 64)
		if err != nil {
			continue
		}
		before := v.old.byKey[x.key]
		if x.value < before {
			before = 0
		}
		counts[le] += x.value - before
	}
	bounds := make([]float64, 0, len(counts))
	for le := range counts {
		bounds = append(bounds, le)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 || counts[bounds[len(bounds)-1]] == 0 {
		return 0, false
	}
	want := q * counts[bounds[len(bounds)-1]]
	for _, le := range bounds {
		if counts[le] >= want {
			return le, true
		}
	}
	return math.Inf(1), true
}
