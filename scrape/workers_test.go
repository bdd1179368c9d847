package scrape

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Workers run each job once and return when it is done; an idle worker
// takes the next job, a job that finds every worker busy gets a new one
// rather than waiting, and idle workers exit.
func TestWorkersRunEveryJobWithoutMakingItWait(t *testing.T) {
	w := newWorkers(time.Second) // long enough for the counts below, short for the exits
	done := make(chan struct{}, 1)
	var ran atomic.Int32
	for range 20 {
		w.do(func() { ran.Add(1) }, done)
	}
	if ran.Load() != 20 {
		t.Fatalf("%d of 20 jobs ran", ran.Load())
	}
	if n := w.count(); n != 1 {
		t.Fatalf("%d workers for jobs run one after another, want 1", n)
	}

	// A job that blocks (a slow target) does not hold up another.
	release, started := make(chan struct{}), make(chan struct{})
	blocked := make(chan struct{}, 1)
	go w.do(func() { close(started); <-release }, blocked)
	<-started
	finished := make(chan struct{})
	go func() {
		w.do(func() { ran.Add(1) }, done)
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatal("a job waited for a blocked one")
	}
	if n := w.count(); n != 2 {
		t.Fatalf("%d workers with one blocked, want 2", n)
	}
	close(release)

	waitForNoWorkers(t, w)
}

// Many callers at once, with workers timing out while callers take them:
// every job runs once, and once the callers stop every worker exits.
func TestWorkersUnderConcurrentCallersAndTimeouts(t *testing.T) {
	w := newWorkers(time.Millisecond)
	var ran atomic.Int32
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan struct{}, 1)
			for i := range 200 {
				w.do(func() { ran.Add(1) }, done)
				if (c+i)%7 == 0 {
					time.Sleep(time.Duration(i%3) * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	if ran.Load() != 16*200 {
		t.Fatalf("%d of %d jobs ran", ran.Load(), 16*200)
	}
	waitForNoWorkers(t, w)
}

// After a burst, scrapes go to the most recently idle worker, so the
// workers the burst started run out of work and exit.
func TestWorkersShrinkAfterABurst(t *testing.T) {
	w := newWorkers(300 * time.Millisecond)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.do(func() { <-release }, make(chan struct{}, 1))
		}()
	}
	for w.count() < 4 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	done := make(chan struct{}, 1)
	for range 40 { // 2 s of one scrape every 50 ms
		w.do(func() {}, done)
		time.Sleep(50 * time.Millisecond)
	}
	if n := w.count(); n != 1 {
		t.Fatalf("%d workers for one scrape at a time, want 1", n)
	}
}

// waitForNoWorkers fails t unless every idle worker exits within 10 s.
func waitForNoWorkers(t *testing.T, w *workers) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.count() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle workers did not exit", w.count())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
