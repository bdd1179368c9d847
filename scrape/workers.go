package scrape

import (
	"sync"
	"time"
)

// workers run scrapes for the targets' loops. A loop spends its time
// waiting for its next tick, and the garbage collector shrinks the stack
// of a goroutine that waits; a scrape (HTTP, inflate, parse, relabel, log
// append) then grew it back, copying it several times, at every scrape of
// every target: 1.5 to 4.5% of the agent's CPU in steady-state profiles.
// A few goroutines that take turns running scrapes keep their stacks
// grown between them, and a loop's own stack stays small.
//
// A worker that finds nothing to do for workerIdle exits, and a scrape
// that finds every worker busy (a slow target holds one until its
// timeout) starts a new one, so scrapes never wait for each other and the
// number of workers follows how many scrapes run at once.
type workers struct {
	idle time.Duration
	jobs chan workerJob

	mu sync.Mutex
	// waiting counts the workers waiting for a job that no caller has
	// claimed yet; a caller that claims one sends it the job, and a worker
	// whose wait ends exits only if it can take itself off the count.
	waiting int
	running int
}

type workerJob struct {
	run  func()
	done chan<- struct{}
}

// workerIdle is how long a worker waits for a scrape before it exits.
const workerIdle = 30 * time.Second

// scrapeWorkers are shared by every loop of the process.
var scrapeWorkers = newWorkers(workerIdle)

func newWorkers(idle time.Duration) *workers {
	return &workers{idle: idle, jobs: make(chan workerJob)}
}

// do runs f on a worker and returns when it is done. done is the caller's
// channel to be told on; it needs room for one value, and a caller keeps
// one for all its calls.
func (w *workers) do(f func(), done chan struct{}) {
	j := workerJob{run: f, done: done}
	w.mu.Lock()
	if w.waiting > 0 {
		w.waiting--
		w.mu.Unlock()
		w.jobs <- j
	} else {
		w.running++
		w.mu.Unlock()
		go w.work(j)
	}
	<-done
}

func (w *workers) work(j workerJob) {
	t := time.NewTimer(w.idle)
	defer t.Stop()
	for {
		j.run()
		// Counted as waiting before the caller hears back, so that a
		// caller scraping again at once finds this worker.
		w.mu.Lock()
		w.waiting++
		w.mu.Unlock()
		j.done <- struct{}{}
		t.Reset(w.idle)
		select {
		case j = <-w.jobs:
			continue
		case <-t.C:
		}
		w.mu.Lock()
		if w.waiting > 0 {
			w.waiting--
			w.running--
			w.mu.Unlock()
			return
		}
		// Every waiting worker was claimed, this one included: its job
		// is on the way.
		w.mu.Unlock()
		j = <-w.jobs
	}
}

// count returns the number of workers alive.
func (w *workers) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running
}
