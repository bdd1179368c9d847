package record

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/ferrymetrics/ferry/remote"
)

// shapeDropped is the shape of a series the Transform dropped.
const shapeDropped = math.MaxUint32

// shapes holds what the series of a segment share: the ids of their label
// names, help and unit, their metric family and type. The series of a
// family mostly have one shape, and every target of a job exposes the same
// families, so a segment of 200,000 series has a few hundred shapes, and a
// series keeps only its label values' ids and the index of its shape.
type shapes struct {
	list []shape
	// names is the arena the shapes' names point into. It only grows
	// within a segment: decoded series point into it while they wait in
	// a lane.
	names []uint32
	index map[string]uint32 // shape key (see key) -> index in list
	key   []byte
}

type shape struct {
	names  []uint32 // label name ids, then help and unit
	family uint32   // dict id of the metric family name
	mtype  remote.MetricType
	// help and unit are the strings of names' last two ids, which every
	// decoded series of the shape carries in its Metadata.
	help, unit string
}

// reset forgets every shape, for a new segment and dictionary.
func (sh *shapes) reset() {
	sh.list, sh.names = sh.list[:0], nil
	clear(sh.index)
}

// intern returns the index of the shape with the given names (label name
// ids, then help and unit, strings of dict), family and type, adding it if
// it is new.
func (sh *shapes) intern(names []uint32, family uint32, mtype remote.MetricType, dict *remote.Dict) uint32 {
	if n := len(sh.list); n > 0 {
		// Consecutive definitions mostly belong to one family.
		if last := &sh.list[n-1]; last.family == family && last.mtype == mtype && slices.Equal(last.names, names) {
			return uint32(n - 1)
		}
	}
	k := binary.LittleEndian.AppendUint32(sh.key[:0], family)
	k = append(k, byte(mtype))
	for _, id := range names {
		k = binary.LittleEndian.AppendUint32(k, id)
	}
	sh.key = k
	if i, ok := sh.index[string(k)]; ok {
		return i
	}
	from := len(sh.names)
	sh.names = append(sh.names, names...)
	i := uint32(len(sh.list))
	n := len(names)
	sh.list = append(sh.list, shape{
		names: sh.names[from:len(sh.names):len(sh.names)], family: family, mtype: mtype,
		help: dict.String(names[n-2]), unit: dict.String(names[n-1]),
	})
	if sh.index == nil {
		sh.index = map[string]uint32{}
	}
	sh.index[string(k)] = i
	return i
}

// labels returns the label count of shape i.
func (sh *shapes) labels(i uint32) uint32 { return uint32(len(sh.list[i].names) - 2) }
