package scrape

import (
	"maps"
	"runtime"
	"slices"
	"sync"
	"weak"

	"github.com/cespare/xxhash/v2"

	"github.com/ferrymetrics/ferry/remote"
)

// family holds a metric family's metadata as exposed.
type family struct {
	name string
	meta remote.Metadata
}

// familyTable is the metadata of a target's metric families, in the order
// the target first exposed them, with an index by name. Entries refer to
// families by their position in it.
//
// Targets of a fleet expose the same families with the same metadata, and
// a table per target was as much memory as twenty bytes per series. So a
// table that changed is shared after a scrape that did not change it: it
// becomes the table of every target whose own table equals it
// (sharedFamilies), and a target that has to change a shared table copies
// it first. A shared
// table is never changed, so the loops of several targets read it at once
// without locks.
type familyTable struct {
	list  []family
	index map[string]int32
}

// families is a target's family table and whether it is shared.
type families struct {
	t       *familyTable
	shared  bool // t may be other targets' too: copy it before changing it
	changed bool // t changed in the current scrape
	settled bool // t changed in an earlier scrape, and not since
}

func newFamilies() families {
	return families{t: &familyTable{index: map[string]int32{}}}
}

// at returns family i, to read.
func (f *families) at(i int32) *family { return &f.t.list[i] }

// own makes the table the target's own before it changes, copying it if
// it is shared.
func (f *families) own() {
	if f.shared {
		f.t = &familyTable{list: slices.Clone(f.t.list), index: maps.Clone(f.t.index)}
		f.shared = false
	}
	f.changed = true
}

// mutable returns family i, to change.
func (f *families) mutable(i int32) *family {
	f.own()
	return &f.t.list[i]
}

// add appends a family of that name and returns its index.
func (f *families) add(name string) int32 {
	f.own()
	i := int32(len(f.t.list))
	f.t.list = append(f.t.list, family{name: name})
	f.t.index[name] = i
	return i
}

// lookup returns the index of the family of that name.
func (f *families) lookup(name string) (int32, bool) {
	i, ok := f.t.index[name]
	return i, ok
}

// len returns the number of families.
func (f *families) len() int { return len(f.t.list) }

// setType, setHelp and setUnit change a family's metadata if it differs.
func (f *families) setType(i int32, t remote.MetricType) {
	if f.at(i).meta.Type != t {
		f.mutable(i).meta.Type = t
	}
}

func (f *families) setHelp(i int32, help []byte) {
	if f.at(i).meta.Help != string(help) {
		f.mutable(i).meta.Help = shared(help)
	}
}

func (f *families) setUnit(i int32, unit []byte) {
	if f.at(i).meta.Unit != string(unit) {
		f.mutable(i).meta.Unit = shared(unit)
	}
}

// share ends a scrape. A table that changed and then stayed the same for
// a whole scrape is replaced by an equal shared one, or becomes one. A
// target whose metadata changes at every scrape keeps its own table and
// is never copied.
func (f *families) share() {
	switch {
	case f.changed:
		f.changed, f.settled = false, true
	case f.settled:
		f.settled = false
		f.t, f.shared = sharedFamilies.get(f.t), true
	}
}

// familyRegistry holds the shared family tables by the hash of their
// contents. It refers to them weakly: a table no target uses any more is
// collected, and a cleanup drops its entry.
type familyRegistry struct {
	mu     sync.Mutex
	tables map[uint64][]weak.Pointer[familyTable]
}

var sharedFamilies = &familyRegistry{tables: map[uint64][]weak.Pointer[familyTable]{}}

// get returns the shared table equal to t, registering t if there is none.
func (r *familyRegistry) get(t *familyTable) *familyTable {
	h := hashFamilies(t.list)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.tables[h] {
		if s := w.Value(); s != nil && slices.Equal(s.list, t.list) {
			return s
		}
	}
	r.tables[h] = append(r.tables[h], weak.Make(t))
	runtime.AddCleanup(t, r.prune, h)
	return t
}

// prune drops the entries of collected tables under hash h.
func (r *familyRegistry) prune(h uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	live := r.tables[h][:0]
	for _, w := range r.tables[h] {
		if w.Value() != nil {
			live = append(live, w)
		}
	}
	clear(r.tables[h][len(live):])
	if len(live) == 0 {
		delete(r.tables, h)
	} else {
		r.tables[h] = live
	}
}

// hashFamilies hashes a table's contents: names and metadata, in order.
func hashFamilies(list []family) uint64 {
	d := xxhash.New()
	sep := []byte{0xff}
	for _, f := range list {
		d.WriteString(f.name)
		d.Write(sep)
		d.Write([]byte{byte(f.meta.Type)})
		d.WriteString(f.meta.Help)
		d.Write(sep)
		d.WriteString(f.meta.Unit)
		d.Write(sep)
	}
	return d.Sum64()
}
