package sender

import (
	"sync"

	"github.com/ferrymetrics/ferry/record"
)

// numSlots is the number of routing slots. Every stream (by the low bits of
// its id, which the scraper derives from the target, see
// record.StreamSlotBits) and every series of a received batch (by its hash)
// maps to one slot; a slot is bound to one lane while it has data in
// flight.
const numSlots = 1 << record.StreamSlotBits

// router binds slots to lanes. A slot's lane may change only while nothing
// of the slot is in flight, so changing the number of active lanes never
// reorders a series: slots move over one by one as they drain, with no
// stop-the-world resharding.
type router struct {
	mu       sync.Mutex
	active   int // lanes in use, between min and max lanes
	lane     [numSlots]int32
	inflight [numSlots]int32
}

func newRouter(active int) *router {
	return &router{active: active}
}

// assign returns the lane for a slot and counts one more piece in flight.
func (r *router) assign(slot int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.take(slot)
}

// take is assign for a caller that holds r.mu.
func (r *router) take(slot int) int {
	if r.inflight[slot] == 0 {
		r.lane[slot] = int32(slot % r.active)
	}
	r.inflight[slot]++
	return int(r.lane[slot])
}

// assignAll is assign for each of slots, under one lock: it returns the
// lane of the first and whether all got that lane. Either way every slot
// counts one more piece in flight, as after assign.
func (r *router) assignAll(slots []uint16) (lane int, same bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	same = true
	for i, slot := range slots {
		if ln := r.take(int(slot)); i == 0 {
			lane = ln
		} else if ln != lane {
			same = false
		}
	}
	return lane, same
}

// release counts pieces of the given slots as done.
func (r *router) release(slots []uint16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range slots {
		r.inflight[s]--
	}
}

// setActive changes the number of lanes new work is spread over.
func (r *router) setActive(n int) {
	r.mu.Lock()
	r.active = n
	r.mu.Unlock()
}

func (r *router) activeLanes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active
}

func slotOfStream(stream uint64) int { return int(stream % numSlots) }
func slotOfSeries(hash uint64) int   { return int(hash % numSlots) }
