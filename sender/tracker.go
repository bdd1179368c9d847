package sender

import (
	"context"
	"sync"
	"time"

	"github.com/ferrymetrics/ferry/wal"
)

// inflight is one log record being delivered. It is done when every lane
// that got a piece of it has finished with that piece.
type inflight struct {
	end     wal.Pos
	time    int64 // append time, Unix ms
	pending int   // pieces not finished; guarded by tracker.mu
	samples int
}

// committer is what the tracker commits to: the wal Reader.
type committer interface {
	Commit(pos wal.Pos, time int64)
}

// tracker commits the cursor past the longest prefix of done records and
// bounds the samples in flight.
type tracker struct {
	c        committer
	capacity int // samples in flight before add waits; guarded by mu
	onCommit func(time int64)
	onWait   func(time.Duration) // called with how long add waited for capacity

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*inflight // in log order
	samples int         // in flight
	closed  bool
}

func newTracker(c committer, capacity int, onCommit func(int64)) *tracker {
	t := &tracker{c: c, capacity: capacity, onCommit: onCommit}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// add registers a record of n samples split into the given number of
// pieces. It waits while the samples in flight exceed the capacity, so a
// stalled destination stops the reader instead of growing memory. A record
// with no pieces is done at once.
func (t *tracker) add(ctx context.Context, end wal.Pos, at int64, pieces, n int) (*inflight, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.samples > 0 && t.samples+n > t.capacity && !t.closed && t.onWait != nil {
		start := time.Now()
		defer func() { t.onWait(time.Since(start)) }()
	}
	for t.samples > 0 && t.samples+n > t.capacity && !t.closed {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		t.cond.Wait()
	}
	f := &inflight{end: end, time: at, pending: pieces, samples: n}
	t.queue = append(t.queue, f)
	t.samples += n
	if pieces == 0 {
		t.advance()
	}
	return f, nil
}

// done marks one piece of f finished.
func (t *tracker) done(f *inflight) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f.pending--
	if f.pending == 0 {
		t.advance()
	}
}

// advance commits past the done prefix of the queue. Callers hold t.mu.
func (t *tracker) advance() {
	var last *inflight
	i := 0
	for ; i < len(t.queue) && t.queue[i].pending == 0; i++ {
		last = t.queue[i]
		t.samples -= last.samples
	}
	if last == nil {
		return
	}
	clear(t.queue[:i])
	t.queue = t.queue[i:]
	t.c.Commit(last.end, last.time)
	if t.onCommit != nil {
		t.onCommit(last.time)
	}
	t.cond.Broadcast()
}

// inFlight returns the samples read and not yet done.
func (t *tracker) inFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.samples
}

// close wakes a waiting add.
func (t *tracker) close() {
	t.mu.Lock()
	t.closed = true
	t.cond.Broadcast()
	t.mu.Unlock()
}

// setCapacity changes how many samples may be in flight.
func (t *tracker) setCapacity(n int) {
	t.mu.Lock()
	t.capacity = n
	t.cond.Broadcast()
	t.mu.Unlock()
}
