package procs

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeScheduler records what the controller does to GOMAXPROCS.
type fakeScheduler struct {
	procs, dflt int
	calls       []int // values set, 0 for "the default"
}

func (f *fakeScheduler) options() Options {
	o := Options{
		gomaxprocs: func(n int) int {
			prev := f.procs
			if n > 0 {
				f.procs = n
				f.calls = append(f.calls, n)
			}
			return prev
		},
		setDefault: func() { f.procs = f.dflt; f.calls = append(f.calls, 0) },
	}
	o.setDefaults()
	return o
}

func TestControllerDecisions(t *testing.T) {
	for _, c := range []struct {
		name  string
		cores []float64
		want  []int // calls made
		one   bool  // ends with one processor
	}{
		{"busy stays at the default", []float64{0.9, 0.8, 1.5, 0.3, 0.3}, nil, false},
		{"ten quiet intervals give one processor", []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, []int{1}, true},
		{"nine are not enough", []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, nil, false},
		{"a busy interval starts the count again",
			[]float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, nil, false},
		{"load returns: the default comes back at once",
			[]float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.4, 0.6}, []int{1, 0}, false},
		{"and leaves again only after a quiet stretch",
			[]float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1},
			[]int{1, 0, 1}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeScheduler{procs: 2, dflt: 2}
			ctl := controller{opts: f.options()}
			for _, cores := range c.cores {
				ctl.observe(cores)
			}
			require.Equal(t, c.want, f.calls)
			require.Equal(t, c.one, ctl.one)
			if c.one {
				require.Equal(t, 1, f.procs)
			} else {
				require.Equal(t, 2, f.procs)
			}
		})
	}
}

func TestControllerLeavesASingleProcessorAlone(t *testing.T) {
	// The runtime gave one processor (or the default shrank to one): there
	// is nothing to lower.
	f := &fakeScheduler{procs: 1, dflt: 1}
	ctl := controller{opts: f.options()}
	for range 20 {
		ctl.observe(0)
	}
	require.Empty(t, f.calls)
}

// TestRunFollowsTheProcesssCPU drives the real scheduler with the
// process's real CPU time: idle, GOMAXPROCS drops to one; spinning
// goroutines bring the default back; when Run ends, so does the change.
func TestRunFollowsTheProcesssCPU(t *testing.T) {
	dflt := runtime.GOMAXPROCS(0)
	if dflt < 2 || !Enabled() {
		t.Skip("the runtime gives this test one processor, or GOMAXPROCS is set")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, Options{Interval: 20 * time.Millisecond, LowerAfter: 3})
	}()
	waitFor(t, "one processor while idle", func() bool { return runtime.GOMAXPROCS(0) == 1 })

	var stop atomic.Bool
	for range 2 {
		go func() {
			for !stop.Load() {
			}
		}()
	}
	waitFor(t, "the default back under load", func() bool { return runtime.GOMAXPROCS(0) == dflt })
	stop.Store(true)

	waitFor(t, "one processor once idle again", func() bool { return runtime.GOMAXPROCS(0) == 1 })
	cancel()
	<-done
	require.Equal(t, dflt, runtime.GOMAXPROCS(0))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
