package gcgoal

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeRuntime records the targets a controller sets.
type fakeRuntime struct {
	percent int
	set     []int
}

func (f *fakeRuntime) options() Options {
	return Options{Logger: slog.New(slog.DiscardHandler), setPercent: func(p int) int {
		old := f.percent
		f.percent = p
		f.set = append(f.set, p)
		return old
	}}
}

// readings turns per-interval figures (the process's CPU in cores, and the
// share of it collections took) into cumulative readings 10 s apart.
func readings(cores float64, shares ...float64) []usage {
	u := []usage{{}}
	for _, s := range shares {
		last := u[len(u)-1]
		process := cores * 10
		u = append(u, usage{gc: last.gc + s*process, process: last.process + process, wall: last.wall + 10})
	}
	return u
}

func TestControllerDecisions(t *testing.T) {
	for _, c := range []struct {
		name   string
		shares []float64 // per interval
		want   []int     // targets set after Adapt's 50
	}{
		{"a quiet window halves", []float64{0, 0, 0}, []int{25}},
		{"two intervals are not a window", []float64{0, 0}, nil},
		{"the next step down waits for a window under the new target", []float64{0.01, 0.01, 0.01, 0, 0}, []int{25}},
		{"and takes it", []float64{0.01, 0.01, 0.01, 0, 0, 0.01}, []int{25, 12}},
		{"down to the minimum", []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []int{25, 12, 10}},
		{"a share between the bands holds", []float64{0.03, 0.03, 0.04, 0.03, 0.03}, nil},
		{"a window over the lower band holds, quiet intervals in it or not", []float64{0, 0.04, 0.04}, nil},
		{"the window's share is its intervals' together", []float64{0, 0, 0.049}, []int{25}},
		{"one costly interval is a spike", []float64{0.2, 0.01}, nil},
		{"two in a row double", []float64{0.2, 0.2}, []int{100}},
		{"a spike resets the count", []float64{0.2, 0.01, 0.2, 0.01}, nil},
		{"up to the maximum", []float64{0.2, 0.2, 0.2, 0.2, 0.2, 0.2}, []int{100}},
		{"a spike does not keep the target from coming down",
			[]float64{0.3, 0, 0, 0, 0}, []int{25}},
		{"after a raise the window starts again",
			[]float64{0.2, 0.2, 0, 0, 0}, []int{100, 50}},
		{"an idle process lowers", make([]float64, 6), []int{25, 12}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeRuntime{percent: 100}
			ctl := New(f.options())
			ctl.Adapt()
			for _, u := range readings(0.5, c.shares...) {
				ctl.observe(u)
			}
			require.Equal(t, append([]int{50}, c.want...), f.set)
			require.Equal(t, f.percent, ctl.Percent())
		})
	}
}

func TestTheWindowStaysTheLastIntervals(t *testing.T) {
	// Costly intervals that never come two in a row raise nothing; the
	// window keeps sliding over the last three intervals all the same.
	f := &fakeRuntime{percent: 100}
	ctl := New(f.options())
	ctl.Adapt()
	shares := make([]float64, 0, 200)
	for range 100 {
		shares = append(shares, 0.2, 0.01)
	}
	for _, u := range readings(0.5, shares...) {
		ctl.observe(u)
		require.LessOrEqual(t, len(ctl.history), ctl.opts.Window+1)
	}
	require.Equal(t, []int{50}, f.set)
}

func TestSharesOfAlmostNothingAreSmall(t *testing.T) {
	ctl := New(Options{})
	require.Zero(t, ctl.share(usage{gc: 1, process: 5, wall: 100}, usage{gc: 1, process: 5, wall: 100}))
	require.InDelta(t, 0.25, ctl.share(usage{gc: 1, process: 5, wall: 100}, usage{gc: 2, process: 9, wall: 110}), 1e-9)
	// An almost idle process: 30 ms of CPU in 10 s, 10 ms of it one
	// collection. A third of its CPU, but measured against a tenth of a
	// core it is 1%: the target is lowered, not raised.
	require.InDelta(t, 0.01, ctl.share(usage{wall: 100}, usage{gc: 0.01, process: 0.03, wall: 110}), 1e-9)

	f := &fakeRuntime{percent: 100}
	idle := New(f.options())
	idle.Adapt()
	for _, u := range readings(0.003, 1.0/3, 1.0/3, 1.0/3) {
		idle.observe(u)
	}
	require.Equal(t, []int{50, 25}, f.set)
}

func TestAFixedTargetStands(t *testing.T) {
	f := &fakeRuntime{percent: 100}
	ctl := New(f.options())
	ctl.Fix(120)
	for _, u := range readings(0.5, 0, 0, 0, 0, 0.5, 0.5) {
		ctl.observe(u)
	}
	require.Equal(t, []int{120}, f.set, "a target the user chose is never adapted")

	ctl.Adapt() // the user removed runtime.gogc: adapting starts over from 50
	for _, u := range readings(0.5, 0, 0, 0) {
		ctl.observe(u)
	}
	require.Equal(t, []int{120, 50, 25}, f.set)

	ctl.Adapt() // a reload that changes nothing here changes nothing
	ctl.Fix(-1) // GOGC=off
	require.Equal(t, []int{120, 50, 25, -1}, f.set)
	require.Equal(t, -1, ctl.Percent())
}

// TestControllerFollowsTheRealCollector runs the controller on the test
// process's own garbage collector: idle, the target walks down to the
// minimum; while a goroutine churns garbage over a large live heap, it
// climbs back up.
func TestControllerFollowsTheRealCollector(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	ctl := New(Options{Interval: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	ctl.Adapt()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { ctl.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	waitFor := func(what string, ok func(int) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok(ctl.Percent()) {
			require.True(t, time.Now().Before(deadline), "timed out waiting for the target to %s; at %d", what, ctl.Percent())
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("fall to the minimum", func(p int) bool { return p == 10 })
	require.Equal(t, 10, debug.SetGCPercent(10), "the runtime runs with what the controller set")

	// A live heap of pointers makes every collection mark something;
	// the churn makes collections frequent at a target of 10.
	live := make([]*[64]byte, 1<<19)
	for i := range live {
		live[i] = new([64]byte)
	}
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Go(func() {
		var sink []byte
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			sink = make([]byte, 32<<10)
			sink[0] = byte(i)
		}
	})
	waitFor("rise", func(p int) bool { return p > 10 })
	close(stop)
	churn.Wait()
	live[0][0] = 1 // keep live alive until here
}
