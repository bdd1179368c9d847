package scrape

import (
	"slices"
	"sync"
	"time"
)

// workers run scrapes for the targets' loops. The garbage collector halves
// the stack of a goroutine that uses under a quarter of it, which a loop
// waiting for its next tick does; a scrape (HTTP, inflate, parse, relabel,
// log append) then grew it back, copying it several times, at every scrape
// of every target: 1.5 to 4.5% of the agent's CPU in steady-state
// profiles. A few goroutines that take turns running scrapes are shrunk
// far less often than once per scrape, and a loop's own stack stays small.
//
// The worker idle the shortest time takes the next scrape (idle workers
// are a stack), so the same few workers stay busy and the others, after
// workerIdle without a scrape, exit. A scrape that finds every worker busy
// (a slow target holds one until its timeout) starts a new one, so scrapes
// never wait for each other.
type workers struct {
	idle time.Duration

	mu      sync.Mutex
	free    []*worker // idle workers, the most recently idle last
	running int
}

// worker is an idle worker's mailbox: a caller that takes the worker off
// workers.free sends it exactly one job.
type worker struct {
	jobs chan workerJob
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
	return &workers{idle: idle}
}

// do runs f on a worker and returns when it is done. done is the caller's
// channel to be told on; it needs room for one value, and a caller keeps
// one for all its calls.
func (w *workers) do(f func(), done chan struct{}) {
	j := workerJob{run: f, done: done}
	w.mu.Lock()
	if n := len(w.free); n > 0 {
		wk := w.free[n-1]
		w.free[n-1] = nil
		w.free = w.free[:n-1]
		w.mu.Unlock()
		wk.jobs <- j
	} else {
		w.running++
		w.mu.Unlock()
		go w.work(&worker{jobs: make(chan workerJob, 1)}, j)
	}
	<-done
}

func (w *workers) work(wk *worker, j workerJob) {
	t := time.NewTimer(w.idle)
	defer t.Stop()
	for {
		j.run()
		done := j.done
		j = workerJob{} // keep nothing of the scrape while idle
		// Idle before the caller hears back, so that a caller scraping
		// again at once finds this worker.
		w.mu.Lock()
		w.free = append(w.free, wk)
		w.mu.Unlock()
		done <- struct{}{}
		t.Reset(w.idle)
		select {
		case j = <-wk.jobs:
			continue
		case <-t.C:
		}
		w.mu.Lock()
		if i := slices.Index(w.free, wk); i >= 0 {
			w.free = slices.Delete(w.free, i, i+1)
			w.running--
			w.mu.Unlock()
			return
		}
		// A caller took this worker off the list as the timer fired:
		// its job is on the way.
		w.mu.Unlock()
		j = <-wk.jobs
	}
}

// count returns the number of workers alive.
func (w *workers) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running
}
