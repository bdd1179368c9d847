package remote

import (
	"strings"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

const dictChunk = 4096

// Dict is an append-only dictionary of strings with stable integer ids,
// such as every label name and value a log decoder has seen. Series that
// carry ids into a Dict (Series.Dict, Names and Values) are encoded as RW2
// without hashing their strings: the symbol table maps ids to symbols with
// an array lookup.
//
// One goroutine interns; any number may read ids they received from it
// (through a channel or another synchronising operation). Strings and
// their hashes live in fixed-size chunks that are never moved, so a reader
// never sees one being written.
type Dict struct {
	ids    map[string]uint32 // writer only
	n      uint32            // writer only: strings interned
	chunks atomic.Pointer[[]*dictChunkOf]
}

// dictChunkOf holds dictChunk strings and the xxhash of each, which
// SeriesHash and the stored-batch decoder fold: a series' hash costs a few
// multiplications per label instead of a pass over its bytes.
type dictChunkOf struct {
	s [dictChunk]string
	h [dictChunk]uint64
}

// NewDict returns an empty dictionary.
func NewDict() *Dict {
	d := &Dict{ids: map[string]uint32{}}
	d.chunks.Store(&[]*dictChunkOf{})
	return d
}

// Intern returns the id of s, adding it if needed. A new string is copied,
// so the dictionary never keeps a larger string alive that s is part of.
// Only one goroutine may call Intern or InternBytes.
func (d *Dict) Intern(s string) uint32 {
	if id, ok := d.ids[s]; ok {
		return id
	}
	return d.add(strings.Clone(s))
}

// InternBytes is Intern for a byte slice; it allocates only for a new string.
func (d *Dict) InternBytes(b []byte) uint32 {
	if id, ok := d.ids[string(b)]; ok {
		return id
	}
	return d.add(string(b))
}

func (d *Dict) add(s string) uint32 {
	id := d.n
	chunks := *d.chunks.Load()
	if int(id/dictChunk) == len(chunks) {
		grown := append(append([]*dictChunkOf(nil), chunks...), new(dictChunkOf))
		d.chunks.Store(&grown)
		chunks = grown
	}
	c := chunks[id/dictChunk]
	c.s[id%dictChunk], c.h[id%dictChunk] = s, xxhash.Sum64String(s)
	d.ids[s] = id
	d.n++
	return id
}

// Lookup returns the id of s if it is in the dictionary. Only the
// goroutine that interns may call it.
func (d *Dict) Lookup(s string) (uint32, bool) {
	id, ok := d.ids[s]
	return id, ok
}

// hash returns the xxhash of the string with the given id.
func (d *Dict) hash(id uint32) uint64 {
	chunks := *d.chunks.Load()
	return chunks[id/dictChunk].h[id%dictChunk]
}

// String returns the string with the given id.
func (d *Dict) String(id uint32) string {
	chunks := *d.chunks.Load()
	return chunks[id/dictChunk].s[id%dictChunk]
}

// Len returns the number of strings interned.
func (d *Dict) Len() int { return int(d.n) }

// dictMap maps one Dict's ids to the symbols of the request being built:
// an id's entry belongs to the current request if its gen is the table's.
// Generation and symbol sit side by side, one cache line for both.
type dictMap struct {
	refs []dictMapping
}

type dictMapping struct {
	gen, sym uint32
}

// dictRef returns the symbol index of id in d, adding the string to the
// table if this request has not used it yet.
func (t *SymbolTable) dictRef(d *Dict, id uint32) uint32 {
	if t.lastDict != d {
		if t.dicts == nil {
			t.dicts = map[*Dict]*dictMap{}
		}
		m, ok := t.dicts[d]
		if !ok {
			// Dicts are replaced over time (one per log segment);
			// forget old ones instead of keeping them alive.
			if len(t.dicts) >= 4 {
				clear(t.dicts)
			}
			m = &dictMap{}
			t.dicts[d] = m
		}
		t.lastDict, t.lastMap = d, m
		if !t.mixed && t.dictOnly != nil && t.dictOnly != d {
			// A second dictionary: whatever it adds, the first one's
			// mappings may be forgotten above, so every symbol goes
			// into the string map from now on.
			t.mix()
		}
	}
	m := t.lastMap
	if int(id) >= len(m.refs) {
		n := max(int(id)+1, 2*len(m.refs))
		m.refs = append(m.refs, make([]dictMapping, n-len(m.refs))...)
	}
	if e := m.refs[id]; e.gen == t.gen {
		return e.sym
	}
	s := d.String(id)
	if s == "" {
		return 0
	}
	// A second dictionary mixed the table when it became lastDict.
	if !t.mixed && t.general {
		t.mix()
	}
	if t.mixed {
		if sym, ok := t.ids[s]; ok {
			m.refs[id] = dictMapping{t.gen, sym}
			return sym
		}
		t.ids[s] = uint32(len(t.symbols))
	} else {
		t.dictOnly = d
	}
	sym := uint32(len(t.symbols))
	t.symbols = append(t.symbols, s)
	m.refs[id] = dictMapping{t.gen, sym}
	return sym
}
