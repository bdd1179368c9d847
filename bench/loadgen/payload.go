package loadgen

import (
	"math"
	"math/rand/v2"
)

// Payload is the changing state of one target: the current value of each
// series of a Layout. It is deterministic: the same layout, seed and
// target number give the same values after the same sequence of Steps.
// A Payload is not safe for concurrent use.
type Payload struct {
	layout *Layout
	rng    *rand.Rand
	values []float64
}

// NewPayload returns the initial state of target number id.
func NewPayload(l *Layout, seed, id uint64) *Payload {
	p := &Payload{layout: l, rng: rand.New(rand.NewPCG(seed, id)), values: make([]float64, l.Len())}
	for i := range l.groups {
		p.init(&l.groups[i])
	}
	return p
}

// Values returns the current value of each series, in layout order. The
// slice belongs to the payload and changes with Step.
func (p *Payload) Values() []float64 { return p.values }

func (p *Payload) init(g *group) {
	v := p.values[g.first : g.first+g.n]
	spread := 0.5 + p.rng.Float64() // targets differ in magnitude
	switch g.kind {
	case kindConst:
		if g.init > 1 {
			v[0] = math.Round(g.init * spread)
		} else {
			v[0] = g.init
		}
	case kindCounter, kindGauge:
		v[0] = math.Round(g.init * spread)
	case kindSeconds, kindGaugeFloat:
		v[0] = round2(g.init * spread)
	case kindHistogram:
		// A process that has run for a while: bucket counts follow the
		// exponential distribution the observations are drawn from.
		count := math.Round(1000 * spread)
		for i, b := range g.bounds {
			v[i] = math.Round(count * (1 - math.Exp(-b/g.init)))
		}
		v[len(g.bounds)] = count
		v[len(g.bounds)+1] = count * g.init
		v[len(g.bounds)+2] = count
	case kindSummary:
		count := math.Round(1000 * spread)
		p.quantiles(g, v)
		v[len(g.bounds)] = count * g.init
		v[len(g.bounds)+1] = count
	}
}

// Step moves every value one tick forward. clock is the tick's wall time
// in seconds, the value of node_time_seconds.
func (p *Payload) Step(clock float64) {
	for i := range p.layout.groups {
		g := &p.layout.groups[i]
		v := p.values[g.first : g.first+g.n]
		switch g.kind {
		case kindConst:
		case kindClock:
			v[0] = clock
		case kindHistogram:
			p.observeHistogram(g, v)
		case kindSummary:
			p.observeSummary(g, v)
		default:
			if g.p < 1 && p.rng.Float64() >= g.p {
				continue
			}
			p.stepSimple(g.kind, g.rate, &v[0])
		}
	}
}

func (p *Payload) stepSimple(k kind, rate float64, v *float64) {
	switch k {
	case kindCounter:
		*v += math.Floor(rate * 2 * p.rng.Float64())
	case kindSeconds:
		*v = round2(*v + rate*2*p.rng.Float64())
	case kindGauge:
		*v = math.Abs(*v + math.Round(rate*(2*p.rng.Float64()-1)))
	case kindGaugeFloat:
		*v = math.Abs(round2(*v + rate*(2*p.rng.Float64()-1)))
	}
}

// observeHistogram adds this tick's observations, drawn from an
// exponential distribution with mean g.init, to the cumulative buckets,
// the sum and the count.
func (p *Payload) observeHistogram(g *group, v []float64) {
	if g.p < 1 && p.rng.Float64() >= g.p {
		return
	}
	nb := len(g.bounds)
	for range p.observations(g.rate) {
		x := p.rng.ExpFloat64() * g.init
		for i := nb - 1; i >= 0 && x <= g.bounds[i]; i-- {
			v[i]++
		}
		v[nb]++ // +Inf
		v[nb+1] += x
		v[nb+2]++
	}
}

// observeSummary adds this tick's observations to the sum and count and,
// if there were any, moves the quantiles.
func (p *Payload) observeSummary(g *group, v []float64) {
	n := p.observations(g.rate)
	if n == 0 {
		return
	}
	nq := len(g.bounds)
	for range n {
		v[nq] += p.rng.ExpFloat64() * g.init
	}
	v[nq+1] += float64(n)
	p.quantiles(g, v)
}

// quantiles sets a summary's quantiles to those of the exponential
// distribution, jittered as a sliding window of observations would be.
func (p *Payload) quantiles(g *group, v []float64) {
	for i, q := range g.bounds {
		qq := math.Min(q, 0.995) // the maximum of a window, not infinity
		v[i] = -g.init * math.Log(1-qq) * (0.8 + 0.4*p.rng.Float64())
	}
}

// observations returns how many observations a tick has, mean rate.
func (p *Payload) observations(rate float64) int {
	return int(rate * 2 * p.rng.Float64())
}

// AppendText appends the exposition of the current values in the
// Prometheus text format 0.0.4 to dst.
func (p *Payload) AppendText(dst []byte) []byte {
	l := p.layout
	for fi := range l.families {
		f := &l.families[fi]
		dst = append(dst, f.header...)
		for i := f.first; i < f.end; i++ {
			dst = append(dst, l.prefix[i]...)
			dst = appendFloat(dst, p.values[i])
			dst = append(dst, '\n')
		}
	}
	return dst
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
