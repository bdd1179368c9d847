package receiver

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the receiver's self-metrics. A receiver rebuilt by a
// configuration reload keeps counting into the same collectors.
type metrics struct {
	requests   *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	duplicates prometheus.Counter
	samples    prometheus.Counter
	histograms prometheus.Counter
	exemplars  prometheus.Counter
	duration   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_receiver_requests_total",
			Help: "Requests accepted, by message: a remote-write message, or push for the exposition endpoint.",
		}, []string{"message"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_receiver_rejected_requests_total", Help: "Requests refused, by reason.",
		}, []string{"reason"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_receiver_duplicate_requests_total",
			Help: "Remote-write requests identical to one accepted shortly before (a client's retry): answered 2xx and not stored again.",
		}),
		samples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_receiver_samples_total", Help: "Samples accepted.",
		}),
		histograms: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_receiver_histograms_total", Help: "Histogram samples accepted.",
		}),
		exemplars: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_receiver_exemplars_total", Help: "Exemplars accepted.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ferry_receiver_request_duration_seconds", Help: "Time to handle a request, fsync included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9),
		}),
	}
	if reg != nil {
		m.requests = register(reg, m.requests)
		m.rejected = register(reg, m.rejected)
		m.duplicates = register(reg, m.duplicates)
		m.samples = register(reg, m.samples)
		m.histograms = register(reg, m.histograms)
		m.exemplars = register(reg, m.exemplars)
		m.duration = register(reg, m.duration)
	}
	return m
}

// register registers c, or returns the collector already registered in its
// place.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
