package receiver

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// Defaults of the duplicate-request window.
const (
	DefaultDedupRequests = 4096
	DefaultDedupWindow   = 10 * time.Minute
)

// fingerprint identifies a request's content: two 64-bit hashes, with
// independent seeds, of its tenant, message and decompressed body. A
// false match needs both to collide, which for a window of thousands of
// requests is far less likely than a disk error.
type fingerprint [2]uint64

// fingerprinter computes fingerprints. Its seeds are random per process,
// so clients cannot craft colliding requests.
type fingerprinter struct{ a, b maphash.Seed }

func newFingerprinter() fingerprinter {
	return fingerprinter{a: maphash.MakeSeed(), b: maphash.MakeSeed()}
}

func (f fingerprinter) of(tenant string, msg remote.Message, body []byte) fingerprint {
	sum := func(seed maphash.Seed) uint64 {
		var h maphash.Hash
		h.SetSeed(seed)
		h.WriteString(tenant)
		h.WriteByte(0)
		h.WriteString(string(msg))
		h.WriteByte(0)
		h.Write(body)
		return h.Sum64()
	}
	return fingerprint{sum(f.a), sum(f.b)}
}

// dedup remembers the requests accepted recently, so that a client that
// retries a request whose 2xx it did not get is answered 2xx again without
// the data being stored twice. It remembers at most max requests, each for
// at most window; a request that is still being handled when its twin
// arrives makes the twin wait for the outcome.
type dedup struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[fingerprint]*dedupEntry
	order   []dedupSlot // accepted requests as a ring, oldest at head
	head    int
}

// dedupSlot is a place in the ring. It names its entry too, because a
// fingerprint that left the window and came back has a newer entry that
// the old slot must not evict.
type dedupSlot struct {
	fp fingerprint
	e  *dedupEntry
}

type dedupEntry struct {
	done   chan struct{} // closed when the request in progress has finished
	state  dedupState    // set before done is closed
	at     time.Time
	counts remote.Counts
	pos    wal.Pos // where an unsynced request's record is
	inRing bool
}

// dedupState is what became of a request.
type dedupState int

const (
	// dedupFresh: nothing is known; the claimant handles the request.
	dedupFresh dedupState = iota
	// dedupPending: a request is being handled; twins wait for it.
	dedupPending
	// dedupStored: the request is in the log, synced.
	dedupStored
	// dedupUnsynced: the request's record was appended but the sync
	// failed. A retry only has to sync again: appending the record a
	// second time would send the data twice.
	dedupUnsynced
)

// dedupOutcome is what claim tells, and finish is told, about a request.
type dedupOutcome struct {
	state  dedupState
	counts remote.Counts
	pos    wal.Pos
}

func newDedup(max int, window time.Duration, now func() time.Time) *dedup {
	return &dedup{max: max, window: window, now: now, entries: map[fingerprint]*dedupEntry{}}
}

// claim returns what is known of a request with fingerprint fp. Stored
// within the window: it is a duplicate. Fresh or unsynced: the caller now
// owns fp and must call finish with the outcome. A twin of a request in
// progress waits for it, at most until ctx ends.
func (d *dedup) claim(ctx context.Context, fp fingerprint) (dedupOutcome, error) {
	for {
		d.mu.Lock()
		e, ok := d.entries[fp]
		if ok && e.state != dedupPending && d.now().Sub(e.at) > d.window {
			ok = false // too old to be a retry
		}
		switch {
		case !ok:
			d.entries[fp] = &dedupEntry{done: make(chan struct{}), state: dedupPending}
			d.mu.Unlock()
			return dedupOutcome{state: dedupFresh}, nil
		case e.state == dedupStored:
			d.mu.Unlock()
			return dedupOutcome{state: dedupStored, counts: e.counts}, nil
		case e.state == dedupUnsynced:
			out := dedupOutcome{state: dedupUnsynced, counts: e.counts, pos: e.pos}
			e.state, e.done = dedupPending, make(chan struct{})
			d.mu.Unlock()
			return out, nil
		}
		done := e.done
		d.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return dedupOutcome{}, ctx.Err()
		}
	}
}

// finish ends the claim on fp with the request's outcome: stored or
// unsynced, it is remembered, pushing the oldest request out of the
// window when it is full; refused (dedupFresh), it is forgotten, so that
// its retry is handled afresh.
func (d *dedup) finish(fp fingerprint, out dedupOutcome) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.entries[fp]
	if e == nil || e.state != dedupPending {
		return
	}
	defer close(e.done)
	if out.state != dedupStored && out.state != dedupUnsynced {
		delete(d.entries, fp)
		return
	}
	e.state, e.at, e.counts, e.pos = out.state, d.now(), out.counts, out.pos
	if e.inRing {
		return
	}
	e.inRing = true
	slot := dedupSlot{fp, e}
	if len(d.order) < d.max {
		d.order = append(d.order, slot)
		return
	}
	if old := d.order[d.head]; d.entries[old.fp] == old.e {
		if old.e.state == dedupPending {
			old.e.inRing = false // being retried: its finish puts it back
		} else {
			delete(d.entries, old.fp)
		}
	}
	d.order[d.head] = slot
	d.head = (d.head + 1) % d.max
}
