package receiver

import (
	"sync"

	"github.com/ferrymetrics/ferry/remote"
)

// Bounds of the RW1 family metadata a receiver remembers.
const (
	maxFamilies      = 20_000
	maxFamilyStrings = 8 << 20 // bytes of names, help texts and units
)

// families remembers the metadata RW1 senders announce per metric family.
// Prometheus sends RW1 metadata in requests of its own, without samples,
// once a minute; ferry stores data per series, so it keeps the latest
// announcement of every family and attaches it to the family's series in
// later requests. Memory is bounded: beyond maxFamilies families or
// maxFamilyStrings bytes, new families are not remembered (known ones are
// still updated when their text does not grow).
type families struct {
	mu    sync.Mutex
	byKey map[familyKey]remote.Metadata
	bytes int
}

type familyKey struct{ tenant, name string }

func newFamilies() *families { return &families{byKey: map[familyKey]remote.Metadata{}} }

func metadataBytes(name string, m remote.Metadata) int { return len(name) + len(m.Help) + len(m.Unit) }

// learn remembers the family metadata of an RW1 request.
func (f *families) learn(tenant string, fms []remote.FamilyMetadata) {
	if len(fms) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fm := range fms {
		k := familyKey{tenant, fm.MetricFamilyName}
		size := metadataBytes(fm.MetricFamilyName, fm.Metadata)
		old, known := f.byKey[k]
		grow := size
		if known {
			grow -= metadataBytes(fm.MetricFamilyName, old)
		}
		if !known && len(f.byKey) >= maxFamilies || grow > 0 && f.bytes+grow > maxFamilyStrings {
			continue
		}
		f.byKey[k] = fm.Metadata
		f.bytes += grow
	}
}

// familySuffixes are the suffixes by which a series name extends its family
// name in the text formats.
var familySuffixes = []string{"_total", "_bucket", "_count", "_sum", "_created", "_info"}

// attach gives every series of an RW1 request without metadata the
// metadata of its family: announced in the request itself, or earlier.
func (f *families) attach(tenant string, rw *remote.Request) {
	lookup := f.lookup(tenant, rw.FamilyMetadata)
	for i := range rw.Series {
		s := &rw.Series[i]
		if s.Metadata.IsZero() {
			s.Metadata, _ = lookup(s.Labels.Get("__name__"))
		}
	}
}

// lookup returns the metadata of a series name's family: announced in the
// request itself (inRequest), or earlier for the tenant. A name is looked
// up as it is, then without each suffix that extends a family name.
func (f *families) lookup(tenant string, inRequest []remote.FamilyMetadata) remote.MetadataLookup {
	var announced map[string]remote.Metadata
	if len(inRequest) > 0 {
		announced = make(map[string]remote.Metadata, len(inRequest))
		for _, m := range inRequest {
			announced[m.MetricFamilyName] = m.Metadata // the last one counts
		}
	}
	family := func(name string) (remote.Metadata, bool) {
		if m, ok := announced[name]; ok {
			return m, true
		}
		m, ok := f.byKey[familyKey{tenant, name}]
		return m, ok
	}
	return func(name string) (remote.Metadata, bool) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(announced) == 0 && len(f.byKey) == 0 {
			return remote.Metadata{}, false
		}
		if m, ok := family(name); ok {
			return m, true
		}
		for _, suffix := range familySuffixes {
			if n := len(name) - len(suffix); n > 0 && name[n:] == suffix {
				if m, ok := family(name[:n]); ok {
					return m, true
				}
			}
		}
		return remote.Metadata{}, false
	}
}
