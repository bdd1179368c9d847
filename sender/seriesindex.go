package sender

// seriesIndex finds a series in the request a lane is building by the hash
// of its labels. Every sample passes through it, so it is a flat table
// with linear probing rather than a map: one cache line per lookup in the
// common case, no per-entry allocation, and emptied in constant time by
// moving to a new generation instead of clearing thousands of entries
// after every request.
type seriesIndex struct {
	slots []indexSlot // len is a power of two, or zero
	gen   uint32      // slots of another generation are empty
	n     int         // entries of the current generation
}

type indexSlot struct {
	hash uint64
	gen  uint32
	at   int32 // index in the request's series
}

// minIndexSlots is the table's size once it holds anything.
const minIndexSlots = 1024

// get returns the position stored for hash h.
func (x *seriesIndex) get(h uint64) (int, bool) {
	if x.n == 0 {
		return 0, false
	}
	mask := len(x.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.gen != x.gen {
			return 0, false
		}
		if s.hash == h {
			return int(s.at), true
		}
	}
}

// put stores position at for hash h, which must not be in the table.
func (x *seriesIndex) put(h uint64, at int) {
	if x.gen == 0 {
		x.gen = 1
	}
	if 4*(x.n+1) > 3*len(x.slots) {
		x.grow()
	}
	x.insert(h, int32(at))
	x.n++
}

func (x *seriesIndex) insert(h uint64, at int32) {
	mask := len(x.slots) - 1
	i := int(h) & mask
	for x.slots[i].gen == x.gen {
		i = (i + 1) & mask
	}
	x.slots[i] = indexSlot{hash: h, gen: x.gen, at: at}
}

// grow doubles the table, keeping the current generation's entries.
func (x *seriesIndex) grow() {
	old := x.slots
	x.slots = make([]indexSlot, max(minIndexSlots, 2*len(old)))
	for _, s := range old {
		if s.gen == x.gen {
			x.insert(s.hash, s.at)
		}
	}
}

// reset empties the table.
func (x *seriesIndex) reset() {
	x.n = 0
	x.gen++
	if x.gen == 0 { // wrapped: stale slots could look current
		clear(x.slots)
		x.gen = 1
	}
}
