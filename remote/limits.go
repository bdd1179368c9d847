package remote

import "math"

// Default limits, used for the zero fields of a Limits.
const (
	DefaultMaxSeries  = 100_000
	DefaultMaxLabels  = 512
	DefaultMaxSamples = 1_000_000
)

// Limits bounds what DecodeV1 and DecodeV2 accept in one request. A request
// over a limit is refused with an error wrapping ErrTooLarge; the series,
// metadata and sample counts are checked before anything is allocated for
// them.
//
// A zero field takes its default; a negative field disables that limit.
// Whatever the limits, a decoder allocates memory in proportion to the
// bytes it is given, never to counts or lengths the input claims.
type Limits struct {
	// MaxSeries caps the TimeSeries messages of a request, and separately
	// the MetricMetadata entries of an RW1 request.
	MaxSeries int
	// MaxLabels caps the labels of one series or one exemplar.
	MaxLabels int
	// MaxSamples caps the float samples, histogram samples and exemplars
	// of a request, counted together.
	MaxSamples int
}

// NoLimits disables every limit: for requests read back from the log or
// about to be stored, which were held to the receiver's limits when they
// were parsed, and must decode whatever their size.
var NoLimits = Limits{MaxSeries: -1, MaxLabels: -1, MaxSamples: -1}

// resolve returns l with defaults filled in and disabled limits set to
// math.MaxInt, so checks need no special cases.
func (l Limits) resolve() Limits {
	pick := func(v, def int) int {
		switch {
		case v == 0:
			return def
		case v < 0:
			return math.MaxInt
		}
		return v
	}
	return Limits{
		MaxSeries:  pick(l.MaxSeries, DefaultMaxSeries),
		MaxLabels:  pick(l.MaxLabels, DefaultMaxLabels),
		MaxSamples: pick(l.MaxSamples, DefaultMaxSamples),
	}
}
