package remote

// SymbolTable interns the strings of an RW2 request: label names and
// values, help texts and units are each written once in Request.symbols and
// referred to by index. Index 0 is always the empty string, as RW2 requires.
//
// The zero value is an empty table ready to use. A sender keeps one per
// goroutine and passes it to every AppendV2 call: the table keeps its
// memory between requests, so encoding allocates nothing in steady state.
// A SymbolTable must not be used by two goroutines at once.
type SymbolTable struct {
	ids     map[string]uint32
	symbols []string
	// refs is AppendV2's scratch space: the references of each series,
	// computed while interning and read back while writing.
	refs []uint32

	// gen numbers the request being built; dictionary mappings stamped
	// with another generation are stale.
	gen      uint32
	dicts    map[*Dict]*dictMap
	lastDict *Dict
	lastMap  *dictMap

	// memo remembers, per position in a label set, the last string
	// interned there and its index: consecutive series mostly repeat
	// their label names and many values (job, instance), and comparing
	// with the previous one is cheaper than hashing.
	memo []memoEntry

	// names caches the references of the last label-name ids
	// appendPlainSeriesV2 interned. Series of one shape share their
	// Names array (the log's decoder keeps one per shape), and a request
	// ordered by rank puts the same series of different targets next to
	// each other, so most series find their names here and look up only
	// their values.
	names namesMemo

	// Strings interned by their dictionary ids skip ids, the map the
	// general path keeps, so a request whose strings come from one
	// dictionary hashes none of them. The symbols must still be distinct,
	// so once a second source adds strings (another dictionary, as when
	// a request spans log segments, or the general path) the table is
	// mixed: ids then holds every symbol and each new string is looked up
	// in it first.
	dictOnly *Dict // the only dictionary that added strings, while unmixed
	general  bool  // the general path added strings
	mixed    bool
}

// namesMemo is one Names array's references in one request (Reset
// empties it): the array is known by its first element's address and its
// length, which within a request name the same ids (its series are not
// modified while encoded).
type namesMemo struct {
	first *uint32
	n     int
	dict  *Dict
	refs  [maxPlainLabels + 2]uint32
}

type memoEntry struct {
	s   string
	ref uint32
}

// maxMemo bounds the label positions refAt remembers.
const maxMemo = 64

// refAt is Ref for the string at position pos of a label set.
func (t *SymbolTable) refAt(pos int, s string) uint32 {
	r, _ := t.internAt(pos, s)
	return r
}

// internAt is refAt that also reports whether s was new to the table.
func (t *SymbolTable) internAt(pos int, s string) (ref uint32, added bool) {
	if pos < len(t.memo) {
		// "" is left to intern, which also puts it at index 0.
		if m := &t.memo[pos]; m.s == s && s != "" {
			return m.ref, false
		}
	}
	ref, added = t.intern(s)
	if pos < maxMemo {
		if pos >= len(t.memo) {
			t.memo = append(t.memo, make([]memoEntry, pos+1-len(t.memo))...)
		}
		t.memo[pos] = memoEntry{s, ref}
	}
	return ref, added
}

// Ref returns the index of s in the table, adding s if it is new.
func (t *SymbolTable) Ref(s string) uint32 {
	r, _ := t.intern(s)
	return r
}

func (t *SymbolTable) intern(s string) (ref uint32, added bool) {
	if s == "" {
		t.init()
		return 0, false
	}
	if id, ok := t.ids[s]; ok {
		return id, false
	}
	t.init()
	if !t.mixed {
		if t.dictOnly != nil {
			t.mix()
			if id, ok := t.ids[s]; ok {
				return id, false
			}
		}
		t.general = true
	}
	id := uint32(len(t.symbols))
	t.symbols = append(t.symbols, s)
	t.ids[s] = id
	return id, true
}

func (t *SymbolTable) init() {
	if len(t.symbols) == 0 {
		t.symbols = append(t.symbols, "")
	}
	if t.ids == nil {
		t.ids = make(map[string]uint32)
	}
}

// mix makes ids hold every symbol: strings from a second source are
// looked up there before they are added.
func (t *SymbolTable) mix() {
	t.init()
	t.mixed = true
	for i, s := range t.symbols[1:] {
		if _, ok := t.ids[s]; !ok {
			t.ids[s] = uint32(i + 1)
		}
	}
}

// Symbols returns the interned strings in index order, starting with "".
// The slice belongs to the table and changes with it.
func (t *SymbolTable) Symbols() []string {
	t.init()
	return t.symbols
}

// Reset empties the table but keeps its memory for the next request,
// dropping what it knew of the previous request (the encoder resets the
// table when it starts a request, so between requests the table still
// refers to the last one's strings and shared Names array).
func (t *SymbolTable) Reset() {
	clear(t.ids)
	clear(t.symbols)
	t.symbols = t.symbols[:0]
	t.refs = t.refs[:0]
	clear(t.memo) // its indexes belong to the previous request
	t.names = namesMemo{}
	t.dictOnly, t.general, t.mixed = nil, false, false
	t.gen++
	if t.gen == 0 { // wrapped: old stamps could look current
		clear(t.dicts)
		t.lastDict, t.lastMap = nil, nil
		t.gen = 1
	}
}
