package web

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The pages read counters (drops by reason, corruptions, fsync latency,
// receiver rejects) from ferry's own registry rather than from accessors on
// each component: the page then shows exactly what /metrics exports and what
// alerts fire on, and the components need no display-only API.

// series is one flattened sample of ferry's own metrics. Histograms become
// their _sum, _count and _bucket series, as in the text exposition.
type series struct {
	key    string // name and sorted labels: identifies the series over time
	name   string
	labels map[string]string
	value  float64
}

// snapshot is ferry's own metrics at one instant.
type snapshot struct {
	at     time.Time
	series []series
	byKey  map[string]float64
}

// gatheredPrefixes limits snapshots to ferry's own families: the Go runtime
// and process collectors are not shown on the pages.
var gatheredPrefixes = []string{"ferry_", "prometheus_"}

// gather takes a snapshot; a failed gathering gives what could be gathered.
func gather(g prometheus.Gatherer, at time.Time) snapshot {
	s := snapshot{at: at, byKey: map[string]float64{}}
	if g == nil {
		return s
	}
	fams, _ := g.Gather()
	for _, f := range fams {
		if !hasAnyPrefix(f.GetName(), gatheredPrefixes) {
			continue
		}
		for _, m := range f.GetMetric() {
			s.addMetric(f.GetName(), f.GetType(), m)
		}
	}
	return s
}

func (s *snapshot) addMetric(name string, typ dto.MetricType, m *dto.Metric) {
	ls := map[string]string{}
	for _, lp := range m.GetLabel() {
		ls[lp.GetName()] = lp.GetValue()
	}
	switch typ {
	case dto.MetricType_COUNTER:
		s.add(name, ls, m.GetCounter().GetValue())
	case dto.MetricType_GAUGE:
		s.add(name, ls, m.GetGauge().GetValue())
	case dto.MetricType_UNTYPED:
		s.add(name, ls, m.GetUntyped().GetValue())
	case dto.MetricType_HISTOGRAM:
		h := m.GetHistogram()
		s.add(name+"_sum", ls, h.GetSampleSum())
		s.add(name+"_count", ls, float64(h.GetSampleCount()))
		inf := false
		for _, b := range h.GetBucket() {
			inf = inf || math.IsInf(b.GetUpperBound(), 1)
			s.add(name+"_bucket", with(ls, "le", formatLe(b.GetUpperBound())), float64(b.GetCumulativeCount()))
		}
		if !inf { // the exposition leaves the +Inf bucket implied
			s.add(name+"_bucket", with(ls, "le", "+Inf"), float64(h.GetSampleCount()))
		}
	}
}

func (s *snapshot) add(name string, ls map[string]string, v float64) {
	k := seriesKey(name, ls)
	s.series = append(s.series, series{key: k, name: name, labels: ls, value: v})
	s.byKey[k] = v
}

// sum adds up the series of a metric whose labels match the given
// name/value pairs; 0 when there are none.
func (s snapshot) sum(name string, match ...string) float64 {
	var total float64
	for _, x := range s.series {
		if x.name == name && matches(x.labels, match) {
			total += x.value
		}
	}
	return total
}

// by sums the series of a metric matching the pairs, grouped by one label.
func (s snapshot) by(name, label string, match ...string) map[string]float64 {
	out := map[string]float64{}
	for _, x := range s.series {
		if x.name == name && matches(x.labels, match) {
			out[x.labels[label]] += x.value
		}
	}
	return out
}

func matches(ls map[string]string, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		if ls[pairs[i]] != pairs[i+1] {
			return false
		}
	}
	return true
}

func seriesKey(name string, ls map[string]string) string {
	names := make([]string, 0, len(ls))
	for n := range ls {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(name)
	for _, n := range names {
		b.WriteString("\xff")
		b.WriteString(n)
		b.WriteString("=")
		b.WriteString(ls[n])
	}
	return b.String()
}

func with(ls map[string]string, name, value string) map[string]string {
	out := make(map[string]string, len(ls)+1)
	for k, v := range ls {
		out[k] = v
	}
	out[name] = value
	return out
}

func formatLe(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
