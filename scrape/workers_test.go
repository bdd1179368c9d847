package scrape

import (
	"sync/atomic"
	"testing"
	"time"
)

// Workers run each job once and return when it is done; an idle worker
// takes the next job, a job that finds every worker busy gets a new one
// rather than waiting, and idle workers exit.
func TestWorkersRunEveryJobWithoutMakingItWait(t *testing.T) {
	w := newWorkers(200 * time.Millisecond)
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
	deadline := time.Now().Add(5 * time.Second)
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

	for w.count() > 0 {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatalf("%d idle workers did not exit", w.count())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
