package loadgen

import (
	"strconv"
)

// Label is one label of a series.
type Label struct{ Name, Value string }

// kind says how a group of series evolves from one tick to the next.
type kind uint8

const (
	kindConst      kind = iota // never changes: sizes, flags, info metrics
	kindCounter                // integer counter: grows by about rate per tick, with probability p
	kindSeconds                // float counter with centisecond resolution (CPU seconds)
	kindGauge                  // integer random walk with steps up to rate
	kindGaugeFloat             // float random walk with two decimals (load, temperatures)
	kindClock                  // node_time_seconds: the tick's wall time
	kindHistogram              // classic histogram: buckets, +Inf, _sum, _count
	kindSummary                // summary: quantiles, _sum, _count
)

// group is a run of consecutive series that evolve together: one simple
// series, or all the series of one histogram or summary.
type group struct {
	kind  kind
	first int     // index of the group's first series
	n     int     // number of series in the group
	rate  float64 // mean increment per tick (counters, observations) or largest step (gauges)
	p     float64 // probability that the value changes in a tick
	init  float64 // initial value's order of magnitude; mean observation for histograms and summaries
	// bounds are a histogram's bucket upper bounds without +Inf, or a
	// summary's quantiles.
	bounds []float64
}

// family is one metric family of the exposition.
type family struct {
	name, typ, help string
	header          []byte // the family's "# HELP" and "# TYPE" lines
	first, end      int    // its series are [first, end)
}

// Layout is the shape every target exposes: the families, the series with
// their labels and how each evolves. It is built once and shared by all
// targets; only values differ between targets.
type Layout struct {
	families []family
	groups   []group
	names    []string  // sample name of each series (with _bucket, _sum, ...)
	labels   [][]Label // labels of each series, without __name__
	fam      []int     // family index of each series
	prefix   [][]byte  // `name{label="value",...} ` of each series, ready to render
}

// Len returns the number of series of the layout.
func (l *Layout) Len() int { return len(l.names) }

// Series returns the sample name and labels of series i. The slice belongs
// to the layout.
func (l *Layout) Series(i int) (name string, labels []Label) { return l.names[i], l.labels[i] }

// Family returns the name, type ("counter", "gauge", "histogram",
// "summary") and help text of the family series i belongs to.
func (l *Layout) Family(i int) (name, typ, help string) {
	f := &l.families[l.fam[i]]
	return f.name, f.typ, f.help
}

// member is one label set of a family being built.
type member struct {
	labels        []Label
	kind          kind
	rate, p, init float64
}

// spec is a family before it is placed in a layout.
type spec struct {
	name, typ, help string
	members         []member
	bounds          []float64 // histogram bucket bounds or summary quantiles
}

// size returns how many series the family adds.
func (s *spec) size() int {
	switch s.typ {
	case "histogram":
		return len(s.members) * (len(s.bounds) + 3)
	case "summary":
		return len(s.members) * (len(s.bounds) + 2)
	}
	return len(s.members)
}

// add places s in the layout, or returns false if it would take the layout
// past budget series.
func (l *Layout) add(s spec, budget int) bool {
	n := s.size()
	if n == 0 || len(l.names)+n > budget {
		return false
	}
	f := family{name: s.name, typ: s.typ, help: s.help, first: len(l.names)}
	f.header = []byte("# HELP " + s.name + " " + s.help + "\n# TYPE " + s.name + " " + s.typ + "\n")
	fi := len(l.families)
	for _, m := range s.members {
		g := group{kind: m.kind, first: len(l.names), rate: m.rate, p: m.p, init: m.init, bounds: s.bounds}
		switch s.typ {
		case "histogram":
			g.kind = kindHistogram
			for _, b := range s.bounds {
				l.series(fi, s.name+"_bucket", with(m.labels, "le", formatFloat(b)))
			}
			l.series(fi, s.name+"_bucket", with(m.labels, "le", "+Inf"))
			l.series(fi, s.name+"_sum", m.labels)
			l.series(fi, s.name+"_count", m.labels)
		case "summary":
			g.kind = kindSummary
			for _, q := range s.bounds {
				l.series(fi, s.name, with(m.labels, "quantile", formatFloat(q)))
			}
			l.series(fi, s.name+"_sum", m.labels)
			l.series(fi, s.name+"_count", m.labels)
		default:
			l.series(fi, s.name, m.labels)
		}
		g.n = len(l.names) - g.first
		l.groups = append(l.groups, g)
	}
	f.end = len(l.names)
	l.families = append(l.families, f)
	return true
}

// series appends one series and its rendered prefix.
func (l *Layout) series(fam int, name string, labels []Label) {
	p := []byte(name)
	if len(labels) > 0 {
		p = append(p, '{')
		for i, lb := range labels {
			if i > 0 {
				p = append(p, ',')
			}
			// Label values here are ours and never need escaping.
			p = append(p, lb.Name...)
			p = append(p, '=', '"')
			p = append(p, lb.Value...)
			p = append(p, '"')
		}
		p = append(p, '}')
	}
	p = append(p, ' ')
	l.names = append(l.names, name)
	l.labels = append(l.labels, labels)
	l.fam = append(l.fam, fam)
	l.prefix = append(l.prefix, p)
}

// with returns a copy of ls with one more label.
func with(ls []Label, name, value string) []Label {
	out := make([]Label, 0, len(ls)+1)
	out = append(out, ls...)
	return append(out, Label{name, value})
}

// formatFloat formats v the way Prometheus' client libraries do.
func formatFloat(v float64) string { return string(appendFloat(nil, v)) }

func appendFloat(dst []byte, v float64) []byte {
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}
