package scrape

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"unique"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/s2"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
)

// dropEvictAfter is how many scrapes a series that relabeling drops (or an
// alias) stays in the cache after it was last exposed, so a series that
// flaps is not relabeled again every time.
const dropEvictAfter = 10

// Entry flags.
const (
	entryDropped  = 1 << iota // metric relabeling drops the series
	entryExplicit             // last sample carried its own timestamp: no staleness markers
	entryFree                 // slot unused
	entryAlias                // another entry owns the series (seriesCache.aliases)
)

// Exposition formats, as recorded per entry so its labels can be rebuilt
// from its exposed text.
const (
	formatText = iota
	formatOpenMetrics
	formatProto
)

// entry is what a target's loop remembers about one exposed series. It
// holds no pointers and no label strings: the exposed text lives in the
// cache's byte arena, and the series' final labels are rebuilt from it (and
// relabeled again) only when a keyframe has to define the series anew. A
// steady-state scrape touches nothing but these fixed-size fields.
type entry struct {
	ref       record.Ref // the series in the target's log stream
	labelHash uint64     // hash of the final labels: key in seriesCache.byLabels
	keyOff    uint32     // exposed text: its length as a uvarint at keys[keyOff], then the text
	lastIter  uint32     // scrape that last exposed the series
	fam       int32      // index in seriesCache.fams, -1 if unknown
	flags     uint8
	format    uint8
}

func (e *entry) dropped() bool { return e.flags&entryDropped != 0 }

// seriesCache is a target's memory of exposed series between scrapes,
// built to be small: entries are plain structs in one slice and their
// exposed texts share one byte arena. Targets expose their series in the
// same order scrape after scrape, so a lookup first compares the text with
// the entry expected at the same position in the previous scrape, and
// hashes only when that fails.
type seriesCache struct {
	entries []entry
	free    []int32
	keys    []byte // arena of exposed texts, while the cache is open
	garbage int    // arena bytes of freed entries

	// Between scrapes the arena is kept s2-compressed in packed (a
	// node_exporter-like target's texts shrink about 8 times); open
	// inflates it into a pooled buffer, keysBuf, for the length of a
	// scrape, and close packs it again if it changed (dirty).
	packed  []byte
	keysBuf *[]byte
	dirty   bool

	// index, overflow and byLabels find entries by text and by final
	// labels. A target that exposes the same series in the same order
	// scrape after scrape never needs them (lookups match by position), so
	// they are built when a lookup misses, from the entries' texts (hashed
	// again, as the cache is open) and their stored label hashes, and dropped again after indexIdleScrapes scrapes without one: about
	// 60 bytes per series while they exist.
	index    map[uint64]int32 // text hash -> entry
	overflow map[string]int32 // texts whose hash another text already has
	byLabels map[uint64]int32 // final labels hash -> entry owning them
	indexed  bool             // the three maps exist and are current
	idle     int              // scrapes in a row that did not use them
	used     bool             // the current scrape used them
	// pinned holds the exposed labels of the few entries whose text does
	// not rebuild them (see loop.finalLabels).
	pinned map[int32]labels.Labels
	// aliases maps an entry flagged entryAlias to the entry that owns its
	// series: another exposed text yields the same final labels (`m` and
	// `m{}`, labels in another order, or relabeling that merges two
	// series). Few entries are aliases, so they are kept aside rather
	// than in a field every entry would carry.
	aliases map[int32]int32

	order seq // entries in the order the previous scrape exposed them
	next  seq // the same for the current scrape
	pos   int // where the current scrape is in order
	// orderInv is order's inverse (entry -> position, -1 if none), made
	// when a lookup misses on a target whose order is not a run, and
	// emptied when order changes.
	orderInv []int32

	fams    families
	famNext int32 // the family after the one the scrape's last comment named

	iter      uint32
	prev, cur seq // owners appended by the previous and the current scrape
}

func newSeriesCache() *seriesCache {
	return &seriesCache{
		pinned: map[int32]labels.Labels{},
		fams:   newFamilies(),
	}
}

// begin starts a scrape, opening the cache if it is not open.
func (c *seriesCache) begin() {
	c.open()
	c.iter++
	c.cur.reset()
	c.next.reset()
	c.pos = 0
	c.famNext = 0
}

func (c *seriesCache) key(i int32) []byte { return c.text(c.entries[i].keyOff) }

// text returns the exposed text stored at off in the arena. Storing its
// length in the arena rather than in the entry keeps entries at 32 bytes;
// the length takes one byte there for texts under 128 bytes (two under 16
// KiB, three under 2 MiB), and the arena is compressed between scrapes.
func (c *seriesCache) text(off uint32) []byte {
	b := c.keys[off:]
	if n := b[0]; n < 0x80 {
		return b[1 : 1+n]
	}
	n, k := binary.Uvarint(b)
	return b[k : k+int(n)]
}

// textHash is entry i's key in index. It is not stored: the indexes are
// built and changed only while the cache is open, when hashing the text
// again costs less than eight bytes per series would.
func (c *seriesCache) textHash(i int32) uint64 { return xxhash.Sum64(c.key(i)) }

// lookup finds the entry of an exposed series text.
func (c *seriesCache) lookup(text []byte) (int32, bool) {
	if c.pos < c.order.len() {
		i := c.order.at(c.pos)
		if e := &c.entries[i]; e.flags&entryFree == 0 && bytes.Equal(c.text(e.keyOff), text) {
			c.pos++
			return i, true
		}
	}
	c.ensureIndexes()
	i, ok := c.index[xxhash.Sum64(text)]
	if !ok || !bytes.Equal(c.key(i), text) {
		if i, ok = c.overflow[string(text)]; !ok {
			return 0, false
		}
	}
	// Resynchronise the positional matching after an insertion or removal.
	if o := c.orderOf(i); o >= 0 {
		c.pos = int(o) + 1
	}
	return i, true
}

// orderOf returns entry i's position in the previous scrape's exposition,
// or -1. While that order is the run 0, 1, 2, ... the position is the
// entry's index; otherwise it comes from orderInv, made on first use.
// Positions only guide the positional matching, which compares texts, so
// an entry made in a freed slot during the scrape may inherit its
// predecessor's position harmlessly.
func (c *seriesCache) orderOf(i int32) int32 {
	if c.order.list == nil {
		if int(i) < c.order.len() {
			return i
		}
		return -1
	}
	if len(c.orderInv) == 0 {
		c.orderInv = slices.Grow(c.orderInv, len(c.entries))[:len(c.entries)]
		for k := range c.orderInv {
			c.orderInv[k] = -1
		}
		for p := range c.order.len() {
			if j := c.order.at(p); int(j) < len(c.orderInv) {
				c.orderInv[j] = int32(p)
			}
		}
	}
	if int(i) < len(c.orderInv) {
		return c.orderInv[i]
	}
	return -1
}

// seen records that the current scrape exposed entry i, in order.
func (c *seriesCache) seen(i int32) { c.next.add(i) }

// add creates an entry for a newly exposed series with the given final
// labels (empty when relabeling drops the series). If an entry already owns
// the same final labels, the new one becomes its alias; labelsOf rebuilds
// an existing entry's final labels to rule out a hash collision.
func (c *seriesCache) add(text []byte, format uint8, final labels.Labels, fam int32, labelsOf func(int32) labels.Labels) int32 {
	c.ensureIndexes() // before the new slot exists, so a rebuild cannot index it
	var i int32
	if n := len(c.free); n > 0 {
		i, c.free = c.free[n-1], c.free[:n-1]
	} else {
		c.entries = append(c.entries, entry{})
		i = int32(len(c.entries) - 1)
	}
	h := xxhash.Sum64(text)
	c.entries[i] = entry{keyOff: uint32(len(c.keys)), fam: fam, format: format}
	c.keys = binary.AppendUvarint(c.keys, uint64(len(text)))
	c.keys = append(c.keys, text...)
	c.dirty = true
	if _, taken := c.index[h]; taken {
		c.overflow[string(text)] = i
	} else {
		c.index[h] = i
	}
	e := &c.entries[i]
	if final.IsEmpty() {
		e.flags |= entryDropped
		return i
	}
	e.labelHash = final.Hash()
	if owner, ok := c.byLabels[e.labelHash]; ok && c.entries[owner].flags&entryFree == 0 {
		if labels.Equal(labelsOf(owner), final) {
			c.setAlias(i, owner)
		}
		return i // a hash collision keeps its own series
	}
	c.byLabels[e.labelHash] = i
	return i
}

// isAlias reports whether another entry owns i's series.
func (c *seriesCache) isAlias(i int32) bool { return c.entries[i].flags&entryAlias != 0 }

func (c *seriesCache) setAlias(i, owner int32) {
	if c.aliases == nil {
		c.aliases = map[int32]int32{}
	}
	c.aliases[i] = owner
	c.entries[i].flags |= entryAlias
}

func (c *seriesCache) clearAlias(i int32) {
	delete(c.aliases, i)
	c.entries[i].flags &^= entryAlias
}

// resolve returns the entry that owns i's series.
func (c *seriesCache) resolve(i int32) int32 {
	if !c.isAlias(i) {
		return i
	}
	e := &c.entries[i]
	if owner := c.aliases[i]; c.entries[owner].flags&entryFree == 0 && c.entries[owner].labelHash == e.labelHash {
		return owner
	}
	// The owner went stale and was forgotten: i takes over.
	c.clearAlias(i)
	c.ensureIndexes()
	if owner, ok := c.byLabels[e.labelHash]; !ok || c.entries[owner].flags&entryFree != 0 {
		c.byLabels[e.labelHash] = i
	}
	return i
}

// remove forgets entry i.
func (c *seriesCache) remove(i int32) {
	e := &c.entries[i]
	if e.flags&entryFree != 0 {
		return
	}
	if c.indexed {
		h := c.textHash(i)
		if j, ok := c.index[h]; ok && j == i {
			delete(c.index, h)
		} else if len(c.overflow) > 0 {
			delete(c.overflow, string(c.key(i)))
		}
		if j, ok := c.byLabels[e.labelHash]; ok && j == i && !e.dropped() {
			delete(c.byLabels, e.labelHash)
		}
	}
	text := c.text(e.keyOff)
	c.garbage += len(text) + uvarintLen(len(text))
	delete(c.pinned, i)
	delete(c.aliases, i)
	*e = entry{flags: entryFree}
	c.free = append(c.free, i)
	if c.garbage > 64<<10 && c.garbage > len(c.keys)/2 {
		c.compact()
	}
}

// compact rewrites the arena without the texts of freed entries.
func (c *seriesCache) compact() {
	keys := make([]byte, 0, len(c.keys)-c.garbage)
	for i := range c.entries {
		e := &c.entries[i]
		if e.flags&entryFree != 0 {
			continue
		}
		off := uint32(len(keys))
		text := c.text(e.keyOff)
		keys = binary.AppendUvarint(keys, uint64(len(text)))
		keys = append(keys, text...)
		e.keyOff = off
	}
	c.keys, c.garbage, c.dirty = keys, 0, true
}

// indexIdleScrapes is how many scrapes in a row must match every series by
// position before the indexes are dropped.
const indexIdleScrapes = 3

// ensureIndexes builds the indexes if they were dropped, and notes that the
// current scrape needs them.
func (c *seriesCache) ensureIndexes() {
	c.used = true
	if c.indexed {
		return
	}
	c.index = make(map[uint64]int32, len(c.entries))
	c.overflow = map[string]int32{}
	c.byLabels = make(map[uint64]int32, len(c.entries))
	for i := range c.entries {
		e := &c.entries[i]
		if e.flags&entryFree != 0 {
			continue
		}
		h := c.textHash(int32(i))
		if _, taken := c.index[h]; taken {
			c.overflow[string(c.key(int32(i)))] = int32(i)
		} else {
			c.index[h] = int32(i)
		}
		if e.dropped() || e.flags&entryAlias != 0 {
			continue
		}
		if _, taken := c.byLabels[e.labelHash]; !taken {
			c.byLabels[e.labelHash] = int32(i)
		}
	}
	c.indexed = true
}

// endScrape makes the current scrape's exposition order the one the next
// scrape is matched against, and drops indexes that went unused.
func (c *seriesCache) endScrape() {
	if c.used {
		c.idle = 0
	} else if c.idle++; c.idle >= indexIdleScrapes && c.indexed {
		c.index, c.overflow, c.byLabels, c.indexed = nil, nil, nil, false
	}
	c.used = false
	c.order, c.next = c.next, c.order
	if c.order.list == nil {
		c.orderInv = nil // a run needs no inverse
	} else {
		c.orderInv = c.orderInv[:0]
	}
	c.trim()
	c.fams.share()
}

// trim gives back the slack that growing left in the entries and the text
// arena, once a target's series are known: it is as much memory as the
// entries themselves right after the first scrape. The copy's capacity is
// what the allocator gives anyway (a page multiple, for a large target),
// which leaves a target that adds a series now and then a little room.
func (c *seriesCache) trim() {
	if n := len(c.entries); cap(c.entries) > n+n/8+16 {
		c.entries = append([]entry(nil), c.entries...)
	}
	// The lists of a scrape's entries swap roles every scrape; each is
	// trimmed to the scrape it holds, or made again for the next one.
	c.order.fit()
	c.next.refit(c.order.len())
}

// fitted returns s, or a copy without its slack when that is large.
func fitted(s []int32) []int32 {
	if n := len(s); cap(s) > n+n/8+16 {
		return append([]int32(nil), s...)
	}
	return s
}

// refitted returns s, or an empty slice with room for n when s has much
// more: s is a list the next scrape empties and fills again.
func refitted(s []int32, n int) []int32 {
	if cap(s) > n+n/8+16 {
		return make([]int32, 0, n)
	}
	return s
}

// stale returns the series the previous scrape appended that the current
// one did not, and forgets them. It then makes the current scrape the
// previous one. Callers write a staleness marker for each returned entry;
// the entries stay readable until the next call.
func (c *seriesCache) stale(dst []int32) []int32 {
	for k := range c.prev.len() {
		i := c.prev.at(k)
		e := &c.entries[i]
		if e.flags&entryFree != 0 || e.lastIter == c.iter {
			continue
		}
		if e.flags&entryExplicit == 0 {
			dst = append(dst, i)
		}
	}
	if c.cur.len() > 0 {
		c.prev, c.cur = c.cur, c.prev
		c.prev.fit()
		c.cur.refit(c.prev.len())
	} else {
		// A failed scrape: keep both lists' room for the next one.
		c.prev, c.cur = c.cur, c.prev
	}
	if c.iter%dropEvictAfter == 0 {
		for i := range c.entries {
			e := &c.entries[i]
			if e.flags&entryFree == 0 && (e.dropped() || e.flags&entryAlias != 0) && c.iter-e.lastIter > dropEvictAfter {
				c.remove(int32(i))
			}
		}
	}
	return dst
}

// forget removes the entries stale returned, once their markers are written.
func (c *seriesCache) forget(stale []int32) {
	for _, i := range stale {
		c.remove(i)
	}
}

// family returns the index of a family's metadata holder, creating it.
// A target exposes its families in the same order scrape after scrape,
// which is the order they were created in, and a family's HELP and TYPE
// lines follow each other: the family the last comment named, or the one
// after it, is the one asked for, without a lookup in the index.
func (c *seriesCache) family(name []byte) int32 {
	for _, i := range [2]int32{c.famNext - 1, c.famNext} {
		if i >= 0 && int(i) < c.fams.len() && c.fams.at(i).name == string(name) {
			c.famNext = i + 1
			return i
		}
	}
	i, ok := c.fams.lookup(string(name))
	if !ok {
		i = c.fams.add(shared(name))
	}
	c.famNext = i + 1
	return i
}

// setHelp records a family's help text and returns the family.
func (c *seriesCache) setHelp(name, help []byte) int32 {
	i := c.family(name)
	c.fams.setHelp(i, help)
	return i
}

var keysPool = sync.Pool{New: func() any { return new([]byte) }}

// open inflates the text arena for a scrape (or for the staleness markers
// of a target that is gone); it does nothing if the cache is open.
func (c *seriesCache) open() {
	if c.keysBuf != nil {
		return
	}
	c.keysBuf = keysPool.Get().(*[]byte)
	c.keys, c.dirty = (*c.keysBuf)[:0], false
	if len(c.packed) == 0 {
		return
	}
	n, err := s2.DecodedLen(c.packed)
	if err == nil {
		c.keys, err = s2.Decode(slices.Grow(c.keys, n)[:n], c.packed)
	}
	if err != nil {
		// close wrote packed from a valid arena: only a bug gets here.
		panic(fmt.Sprintf("scrape: series cache texts do not inflate: %v", err))
	}
}

// close packs the text arena again if it changed and gives its buffer back:
// between scrapes a target keeps only the compressed texts.
func (c *seriesCache) close() {
	if c.keysBuf == nil {
		return
	}
	if c.dirty {
		bp := keysPool.Get().(*[]byte)
		need := s2.MaxEncodedLen(len(c.keys))
		if cap(*bp) < need {
			*bp = make([]byte, need)
		}
		c.packed = append([]byte(nil), s2.EncodeBetter((*bp)[:need], c.keys)...)
		keysPool.Put(bp)
	}
	*c.keysBuf = c.keys[:0]
	keysPool.Put(c.keysBuf)
	c.keysBuf, c.keys, c.dirty = nil, nil, false
}

// shared returns b as a string shared by every target that exposes the
// same text: a fleet of exporters repeats each family's name and help, and
// one copy per target was as much memory as a dozen bytes per series.
func shared(b []byte) string { return unique.Make(string(b)).Value() }

// metricType maps an exposition type to the remote-write metadata type.
func metricType(t model.MetricType) remote.MetricType {
	switch t {
	case model.MetricTypeCounter:
		return remote.MetricTypeCounter
	case model.MetricTypeGauge:
		return remote.MetricTypeGauge
	case model.MetricTypeHistogram:
		return remote.MetricTypeHistogram
	case model.MetricTypeGaugeHistogram:
		return remote.MetricTypeGaugeHistogram
	case model.MetricTypeSummary:
		return remote.MetricTypeSummary
	case model.MetricTypeInfo:
		return remote.MetricTypeInfo
	case model.MetricTypeStateset:
		return remote.MetricTypeStateset
	default:
		return remote.MetricTypeUnknown
	}
}

// uvarintLen is the length of n written as a uvarint.
func uvarintLen(n int) int {
	k := 1
	for ; n >= 0x80; n >>= 7 {
		k++
	}
	return k
}
