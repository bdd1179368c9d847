package web

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock               { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }
func counterVec(reg *prometheus.Registry, name string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: name}, labels)
	reg.MustRegister(c)
	return c
}

func TestRateIsTheIncreaseOverTheWindowPerSecond(t *testing.T) {
	reg := prometheus.NewRegistry()
	sent := counterVec(reg, "prometheus_remote_storage_samples_total", "remote_name")
	sent.WithLabelValues("a").Add(1000) // before the meter starts: not a rate
	clock := newFakeClock()
	m := newMeter(reg, time.Minute, 5*time.Second, clock.now)

	_, ok := m.view().rate("prometheus_remote_storage_samples_total", "remote_name", "a")
	require.False(t, ok, "no rate without a span of time")

	for i := 0; i < 24; i++ { // two minutes of 50 samples/s, sampled every 5s
		clock.advance(5 * time.Second)
		sent.WithLabelValues("a").Add(250)
		m.sample()
	}
	clock.advance(5 * time.Second)
	sent.WithLabelValues("a").Add(500) // the last 5s: 100/s
	v := m.view()
	require.Equal(t, time.Minute, v.span(), "the window, not the whole history")
	r, ok := v.rate("prometheus_remote_storage_samples_total", "remote_name", "a")
	require.True(t, ok)
	require.InDelta(t, (11*250+500)/60.0, r, 1e-9)
	r, _ = v.rate("prometheus_remote_storage_samples_total", "remote_name", "other")
	require.Zero(t, r)
	require.LessOrEqual(t, len(m.points), 14, "history is bounded by window/interval")
}

func TestRateCountsAResetCounterFromZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	sent := counterVec(reg, "ferry_receiver_requests_total", "message")
	clock := newFakeClock()
	sent.WithLabelValues("v1").Add(100)
	m := newMeter(reg, time.Minute, 5*time.Second, clock.now)
	clock.advance(10 * time.Second)
	// The series is deleted and created again (a destination removed and
	// added back): it restarts from zero.
	sent.DeleteLabelValues("v1")
	sent.WithLabelValues("v1").Add(30)
	sent.WithLabelValues("v2").Add(20) // new since the last snapshot
	r, ok := m.view().rate("ferry_receiver_requests_total")
	require.True(t, ok)
	require.InDelta(t, 5.0, r, 1e-9, "(30 + 20) / 10s")
}

func TestPageViewsDoNotGrowTheHistory(t *testing.T) {
	reg := prometheus.NewRegistry()
	clock := newFakeClock()
	m := newMeter(reg, time.Minute, 5*time.Second, clock.now)
	for i := 0; i < 1000; i++ {
		clock.advance(10 * time.Millisecond)
		m.view()
	}
	require.LessOrEqual(t, len(m.points), 11, "at most one snapshot a second is kept")
}

func TestMeanAndQuantileBoundOfAHistogramOverTheWindow(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ferry_log_fsync_duration_seconds", Help: "x",
		Buckets: []float64{0.001, 0.01, 0.1}})
	reg.MustRegister(h)
	h.Observe(5) // before the window: must not count
	clock := newFakeClock()
	m := newMeter(reg, time.Minute, 5*time.Second, clock.now)
	_, ok := m.view().mean("ferry_log_fsync_duration_seconds")
	require.False(t, ok, "nothing observed in the window")

	clock.advance(5 * time.Second)
	for i := 0; i < 98; i++ {
		h.Observe(0.0005)
	}
	h.Observe(0.05)
	h.Observe(0.05)
	v := m.view()
	mean, ok := v.mean("ferry_log_fsync_duration_seconds")
	require.True(t, ok)
	require.InDelta(t, (98*0.0005+2*0.05)/100, mean, 1e-12)
	le, ok := v.quantileBound("ferry_log_fsync_duration_seconds", 0.98)
	require.True(t, ok)
	require.Equal(t, 0.001, le)
	le, _ = v.quantileBound("ferry_log_fsync_duration_seconds", 0.99)
	require.Equal(t, 0.1, le)

	clock.advance(5 * time.Second)
	h.Observe(7)
	h.Observe(7)
	le, _ = m.view().quantileBound("ferry_log_fsync_duration_seconds", 0.999)
	require.True(t, math.IsInf(le, 1), "beyond the largest bucket")
}
