// Package procs sizes Go's scheduler to the load: one processor
// (GOMAXPROCS=1) while the process uses a fraction of a core, the
// runtime's default as soon as it needs more.
//
// An agent is idle most of the time and wakes for every scrape, received
// request and outgoing batch. With a second processor idle, each goroutine
// made runnable wakes a second thread to look for work; it mostly finds
// none and parks again, two context switches for nothing. On the two-core
// machine of docs/benchmarks.md, one processor took 3-16% less CPU per
// scraped sample in paired runs. When the work outgrows one processor (a catch-up after
// an outage, a larger fleet) the controller restores the default within
// an interval, and gives it back only after a quiet stretch.
package procs

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"time"
)

// Options tune the controller; zero values take the defaults.
type Options struct {
	// Interval is how often CPU use is measured; default 1s.
	Interval time.Duration
	// RaiseAt is the CPU use, in cores, at which one processor is given up
	// for the default; default 0.5.
	RaiseAt float64
	// LowerBelow is the CPU use under which the default becomes one
	// processor after LowerAfter intervals in a row; default 0.25 and 10.
	LowerBelow float64
	LowerAfter int
	Logger     *slog.Logger

	// For tests: the process's CPU time so far, and the scheduler.
	cpuTime    func() (time.Duration, error)
	gomaxprocs func(n int) int
	setDefault func()
}

func (o *Options) setDefaults() {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.RaiseAt <= 0 {
		o.RaiseAt = 0.5
	}
	if o.LowerBelow <= 0 {
		o.LowerBelow = 0.25
	}
	if o.LowerAfter <= 0 {
		o.LowerAfter = 10
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.cpuTime == nil {
		o.cpuTime = CPUTime
	}
	if o.gomaxprocs == nil {
		o.gomaxprocs = runtime.GOMAXPROCS
	}
	if o.setDefault == nil {
		o.setDefault = runtime.SetDefaultGOMAXPROCS
	}
}

// Enabled reports whether the controller has anything to do: the runtime
// gives the process more than one processor, and GOMAXPROCS was not set
// by whoever started it (their choice stands).
func Enabled() bool {
	return os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) > 1
}

// Run adjusts GOMAXPROCS every interval until ctx ends, then restores the
// runtime's default.
func Run(ctx context.Context, opts Options) {
	opts.setDefaults()
	c := controller{opts: opts}
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	lastCPU, err := opts.cpuTime()
	if err != nil {
		opts.Logger.Warn("Cannot read the process's CPU time; GOMAXPROCS stays at the runtime's default", "err", err)
		return
	}
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			if c.one {
				opts.setDefault()
			}
			return
		case <-t.C:
			cpu, err := opts.cpuTime()
			if err != nil {
				continue
			}
			now := time.Now() // when the CPU time was read, not when the tick was due
			c.observe(float64(cpu-lastCPU) / float64(now.Sub(last)))
			lastCPU, last = cpu, now
		}
	}
}

// controller decides from one interval's CPU use at a time.
type controller struct {
	opts  Options
	one   bool // running with one processor
	quiet int  // intervals in a row under LowerBelow
}

// observe takes the CPU use of the last interval, in cores.
func (c *controller) observe(cores float64) {
	if c.one {
		if cores >= c.opts.RaiseAt {
			c.opts.setDefault()
			c.one, c.quiet = false, 0
			c.opts.Logger.Debug("More than one processor's worth of work is near: scheduler back to the default", "cores", cores, "gomaxprocs", c.opts.gomaxprocs(0))
		}
		return
	}
	if cores >= c.opts.LowerBelow {
		c.quiet = 0
		return
	}
	c.quiet++
	if c.quiet >= c.opts.LowerAfter && c.opts.gomaxprocs(0) > 1 {
		c.opts.gomaxprocs(1)
		c.one = true
		c.opts.Logger.Debug("Little CPU in use: scheduler down to one processor", "cores", cores)
	}
}
