// Package gcgoal adapts the garbage collector's target (GOGC) to what
// collections cost.
//
// Go lets the heap grow to 1 + GOGC/100 times its live data before it
// collects, and resident memory follows the heap's high points. A fixed
// target is a compromise between two moments of an agent's life. While it
// builds its caches (the first scrapes of a fleet, targets that churn, a
// burst of received requests) it allocates fast and collections run many
// times a second, so a low target costs a lot of CPU. Once scrapes are
// steady it allocates little: on the benchmark's load about 0.3 MB a second
// against 75 MB of live data, one collection every half minute at GOGC 20,
// each about 14 ms of CPU. A target chosen for the first moment keeps, in
// the second, a third more memory than collections need.
//
// The controller measures the share of the process's CPU spent in
// collections and follows it: it halves the target while the share stays
// small, and doubles it when the share stays large.
package gcgoal

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/ferrymetrics/ferry/procs"
)

// Options tune the controller; zero values take the defaults.
type Options struct {
	// Interval is how often the share is measured; default 10s.
	Interval time.Duration
	// Window is how many intervals the share must stay under LowerBelow,
	// measured over all of them, before the target is lowered; default 3.
	Window int
	// Start is the target while adapting begins; Min and Max bound it.
	// Defaults 50, 10, 100.
	Start, Min, Max int
	// LowerBelow and RaiseAbove are the shares of the process's CPU spent
	// collecting under which, over the window, the target is halved and
	// over which, in RaiseAfter intervals in a row, it is doubled; defaults
	// 0.02, 0.05 (more than twice LowerBelow, so halving never provokes a
	// raise) and 2.
	LowerBelow, RaiseAbove float64
	RaiseAfter             int
	// Floor, in cores, is the least CPU shares are taken of: a process
	// that uses less is measured as if it used Floor, so that the
	// collections of an almost idle process, a large share of almost
	// nothing, do not buy memory back. Default 0.1.
	Floor  float64
	Logger *slog.Logger

	// For tests: CPU seconds so far, collections' and the whole process's,
	// and the runtime's setting.
	read       func() (usage, error)
	setPercent func(int) int
}

func (o *Options) setDefaults() {
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.Window <= 0 {
		o.Window = 3
	}
	if o.Min <= 0 {
		o.Min = 10
	}
	if o.Max <= 0 {
		o.Max = 100
	}
	if o.Start <= 0 {
		o.Start = 50
	}
	o.Start = min(max(o.Start, o.Min), o.Max)
	if o.LowerBelow <= 0 {
		o.LowerBelow = 0.02
	}
	if o.RaiseAbove <= 0 {
		o.RaiseAbove = 0.05
	}
	if o.RaiseAfter <= 0 {
		o.RaiseAfter = 2
	}
	if o.Floor <= 0 {
		o.Floor = 0.1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.read == nil {
		o.read = readUsage
	}
	if o.setPercent == nil {
		o.setPercent = debug.SetGCPercent
	}
}

// usage is CPU time so far, collections' and the whole process's, and the
// wall-clock time it was read at, in seconds.
type usage struct {
	gc, process, wall float64
}

// gcCPU is the runtime's estimate of the CPU its collections took. The
// runtime updates it at the end of each collection, so between two it
// stands still; that attributes a collection's cost to the interval it
// ended in. It is an overestimate, which errs towards keeping memory.
const gcCPU = "/cpu/classes/gc/total:cpu-seconds"

// epoch makes usage.wall monotonic: a clock that jumps does not skew it.
var epoch = time.Now()

func readUsage() (usage, error) {
	s := []metrics.Sample{{Name: gcCPU}}
	metrics.Read(s)
	cpu, err := procs.CPUTime()
	if err != nil {
		return usage{}, err
	}
	return usage{gc: s[0].Value.Float64(), process: cpu.Seconds(), wall: time.Since(epoch).Seconds()}, nil
}

// Controller sets GOGC: adapting it, or fixed where the user chose one.
type Controller struct {
	opts Options

	mu       sync.Mutex
	adapting bool
	percent  int
	history  []usage // readings since the last change, oldest first
	hot      int     // intervals in a row over RaiseAbove
}

// New returns a controller that has not set anything yet: Fix or Adapt
// decide, and Run makes an adapting controller act.
func New(opts Options) *Controller {
	opts.setDefaults()
	return &Controller{opts: opts}
}

// Fix sets the target to percent (negative turns collection off, as
// GOGC=off does) and stops adapting it: a target the user wrote stands.
func (c *Controller) Fix(percent int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.adapting, c.history, c.hot = false, c.history[:0], 0
	if old := c.opts.setPercent(percent); old != percent {
		c.opts.Logger.Info("Garbage collector target set (runtime.gogc)", "old", old, "new", percent)
	}
	c.percent = percent
}

// Adapt starts adapting the target, from opts.Start, unless it already
// adapts.
func (c *Controller) Adapt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.adapting {
		return
	}
	c.adapting, c.history, c.hot = true, c.history[:0], 0
	c.set(c.opts.Start)
	c.opts.Logger.Info("Garbage collector target adapts to what collections cost", "gogc", c.opts.Start, "min", c.opts.Min, "max", c.opts.Max)
}

// Percent is the target the controller last set.
func (c *Controller) Percent() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.percent
}

// Run measures every interval until ctx ends; it changes the target only
// while the controller adapts it.
func (c *Controller) Run(ctx context.Context) {
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	// The first reading is taken at once, so the first window ends
	// Window intervals from now.
	for {
		u, err := c.opts.read()
		if err != nil {
			c.opts.Logger.Warn("Cannot measure the garbage collector's CPU; its target stays", "err", err, "gogc", c.Percent())
			return
		}
		c.observe(u)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// observe takes one reading and changes the target if it should.
func (c *Controller) observe(u usage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.adapting {
		return
	}
	// The window is the last Window intervals: Window+1 readings.
	if len(c.history) > c.opts.Window {
		c.history = append(c.history[:0], c.history[len(c.history)-c.opts.Window:]...)
	}
	c.history = append(c.history, u)
	n := len(c.history)
	if n < 2 {
		return
	}
	if last := c.share(c.history[n-2], u); last > c.opts.RaiseAbove {
		// One costly interval is a spike, over before a larger heap
		// could help: the first scrapes of a fleet, a reload. Only
		// RaiseAfter in a row raise the target.
		if c.hot++; c.hot < c.opts.RaiseAfter {
			return
		}
		if p := min(c.percent*2, c.opts.Max); p != c.percent {
			c.set(p)
			c.opts.Logger.Debug("Collections take a growing share of the CPU: garbage collector's target raised", "share", last, "gogc", p)
		}
		// Measure afresh under the new target.
		c.history, c.hot = append(c.history[:0], u), 0
		return
	}
	c.hot = 0
	if n < c.opts.Window+1 {
		return
	}
	whole := c.share(c.history[0], u)
	if whole >= c.opts.LowerBelow {
		return
	}
	// Halving at most doubles the share, which stays under RaiseAbove:
	// lowering never provokes a raise that undoes it. The next step
	// down waits for a whole window under the new target, so that steps
	// do not compound before their cost shows.
	if p := max(c.percent/2, c.opts.Min); p != c.percent {
		c.set(p)
		c.history = append(c.history[:0], u)
		c.opts.Logger.Debug("Collections take little of the CPU: garbage collector's target lowered", "share", whole, "gogc", p)
	}
}

// set applies an adapted percent. Callers hold c.mu.
func (c *Controller) set(percent int) {
	c.percent = percent
	c.opts.setPercent(percent)
}

// share is the fraction of the process's CPU between a and b that went to
// collections, the process's CPU counted as at least Floor cores.
func (c *Controller) share(a, b usage) float64 {
	p := max(b.process-a.process, c.opts.Floor*(b.wall-a.wall))
	if p <= 0 {
		return 0
	}
	return (b.gc - a.gc) / p
}
