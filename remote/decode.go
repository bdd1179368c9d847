package remote

import (
	"encoding/binary"
	"math"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"
)

// Decoding runs in passes over the input. A first, forgiving pass counts
// the series, samples, histograms and exemplars that are actually present;
// the limits are checked against those counts and the decoder allocates
// exactly that much, in a few shared arrays, before a second, strict pass
// fills them. Counts come from fields that occupy input bytes, so memory is
// proportional to the input and never to a number the input claims.
//
// The Transcoder is the exception: it keeps only the series being read,
// so it checks the limits as it reads and stops at the first one crossed;
// only then, or on another error, does it count the request, to refuse
// it exactly as DecodeV1 would (limitsFirst).

// inventory is what the counting pass found.
type inventory struct {
	series, metadata               int
	samples, histograms, exemplars int
	symbols, symbolBytes           int // RW2
	refBytes                       int // RW2: bytes of series' labels_refs, at least one per reference
}

// layout names the field numbers the counting pass looks for; 0 stands
// for a field the protocol does not have.
type layout struct {
	series, metadata, symbols      protowire.Number // in the request
	samples, histograms, exemplars protowire.Number // in a series
	labelsRefs                     protowire.Number // in a series
}

var (
	layoutV1 = layout{series: v1Timeseries, metadata: v1Metadata,
		samples: v1Samples, histograms: v1Histograms, exemplars: v1Exemplars}
	layoutV2 = layout{series: v2Timeseries, symbols: v2Symbols,
		samples: v2Samples, histograms: v2Histograms, exemplars: v2Exemplars, labelsRefs: v2LabelsRefs}
)

// count is the counting pass. It stops quietly at the first malformed
// field; the strict pass reports it.
func count(buf []byte, l layout) inventory {
	var inv inventory
	for len(buf) > 0 {
		num, typ, v, n := skipField(buf)
		if n < 0 {
			break
		}
		buf = buf[n:]
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case l.series:
			inv.series++
			inv.countSeries(v, l)
		case l.metadata:
			inv.metadata++
		case l.symbols:
			inv.symbols++
			inv.symbolBytes += len(v)
		}
	}
	return inv
}

func (inv *inventory) countSeries(b []byte, l layout) {
	for len(b) > 0 {
		num, typ, v, n := skipField(b)
		if n < 0 {
			return
		}
		b = b[n:]
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case l.labelsRefs:
			inv.refBytes += len(v)
		case l.samples:
			inv.samples++
		case l.histograms:
			inv.histograms++
		case l.exemplars:
			inv.exemplars++
		}
	}
}

// skipField is nextField for the counting pass: it returns the field's
// number, type, value if length-delimited, and size, or n < 0 if the
// field is malformed.
func skipField(b []byte) (num protowire.Number, typ protowire.Type, v []byte, n int) {
	if len(b) >= 2 && b[0] < 0x80 && b[1] < 0x80 && b[0]&7 == byte(protowire.BytesType) {
		if n := 2 + int(b[1]); n <= len(b) && b[0] >= 8 {
			return protowire.Number(b[0] >> 3), protowire.BytesType, b[2:n], n
		}
	}
	num, typ, n = protowire.ConsumeTag(b)
	if n < 0 {
		return 0, 0, nil, n
	}
	if typ == protowire.BytesType {
		v, m := protowire.ConsumeBytes(b[n:])
		if m < 0 {
			return 0, 0, nil, m
		}
		return num, typ, v, n + m
	}
	m := protowire.ConsumeFieldValue(num, typ, b[n:])
	if m < 0 {
		return 0, 0, nil, m
	}
	return num, typ, nil, n + m
}

// check refuses an inventory over the limits.
func (inv *inventory) check(lim Limits) error {
	if inv.series > lim.MaxSeries {
		return tooLargef("%d series, limit %d", inv.series, lim.MaxSeries)
	}
	if inv.metadata > lim.MaxSeries {
		return tooLargef("%d metadata entries, limit %d", inv.metadata, lim.MaxSeries)
	}
	if n := inv.samples + inv.histograms + inv.exemplars; n > lim.MaxSamples {
		return tooLargef("%d samples, histograms and exemplars, limit %d", n, lim.MaxSamples)
	}
	return nil
}

// decoder is the state of the strict pass shared by both protocols.
type decoder struct {
	lim Limits
	// Arenas sized by the counting pass; each series gets a sub-slice.
	samples    []Sample
	histograms []Histogram
	exemplars  []Exemplar
	// maxData bounds len(samples)+len(histograms)+len(exemplars): the
	// Transcoder, which reads without a counting pass, sets it to what is
	// left of the request's limit; otherwise it never binds.
	maxData int
	// Builders for series labels and for exemplar labels, which may be
	// read while a series' labels are still being collected.
	sb, exSB labels.ScratchBuilder
	// checkOnly: RW2 label sets are checked but not built (CheckV2).
	checkOnly bool
	// RW2: the request's symbols and scratch space for references.
	symbols      []string
	refs, exRefs []uint32
	// The symbols the current series' metadata names (0, "", if none).
	helpRef, unitRef uint32
	// lastNames are the label name references of the request's last
	// series that passed its checks (seriesLabels).
	lastNames []uint32
	// lastMeta are the bytes of the request's last metadata field that
	// decoded without error (they alias the request), and lastMetaVal,
	// lastHelpRef and lastUnitRef what it decoded to (sameMetadata).
	lastMeta                 []byte
	lastMetaVal              Metadata
	lastHelpRef, lastUnitRef uint32

	// DecodeStoredV2's state: ids[i] is the dictionary id of symbols[i]
	// and symHashes[i] its hash; the series' ids live in idArena
	// (idOffs[i] is where series i's start).
	dict      *Dict
	ids       []uint32
	symHashes []uint64
	idArena   []uint32
	idOffs    []int
	hashes    []uint64
}

func newDecoder(lim Limits, inv inventory) *decoder {
	// A zero ScratchBuilder is not usable with every labels
	// implementation (dedupelabels needs its symbol table).
	d := &decoder{lim: lim, maxData: math.MaxInt, sb: labels.NewScratchBuilder(16), exSB: labels.NewScratchBuilder(4)}
	if inv.samples > 0 {
		d.samples = make([]Sample, 0, inv.samples)
	}
	if inv.histograms > 0 {
		d.histograms = make([]Histogram, 0, inv.histograms)
	}
	if inv.exemplars > 0 {
		d.exemplars = make([]Exemplar, 0, inv.exemplars)
	}
	return d
}

// arenaMark records where a series' data starts in the arenas.
type arenaMark struct{ samples, histograms, exemplars int }

func (d *decoder) mark() arenaMark {
	return arenaMark{len(d.samples), len(d.histograms), len(d.exemplars)}
}

// fill points s at the data added to the arenas since m. The slices are
// capped, so appending to one cannot overwrite the next series' data.
func (d *decoder) fill(s *Series, m arenaMark) {
	if n := len(d.samples); n > m.samples {
		s.Samples = d.samples[m.samples:n:n]
	}
	if n := len(d.histograms); n > m.histograms {
		s.Histograms = d.histograms[m.histograms:n:n]
	}
	if n := len(d.exemplars); n > m.exemplars {
		s.Exemplars = d.exemplars[m.exemplars:n:n]
	}
}

// decodeSample decodes a Sample message; only RW2 has start_timestamp.
func decodeSample(b []byte, v2 bool) (Sample, error) {
	// The layout every encoder writes for a sample with a value and a
	// timestamp and no start timestamp: the value's tag (field 1,
	// fixed64) and 8 bytes, then the timestamp's tag (field 2, varint)
	// and its varint, which ends the message.
	if shortcuts && len(b) >= 11 && b[0] == 0x09 && b[9] == 0x10 {
		if ts, n := protowire.ConsumeVarint(b[10:]); 10+n == len(b) {
			return Sample{Value: math.Float64frombits(binary.LittleEndian.Uint64(b[1:9])), Timestamp: int64(ts)}, nil
		}
	}
	var s Sample
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return s, err
		}
		b = b[n:]
		switch f.num {
		case sampleValue:
			s.Value, err = f.double("value")
		case sampleTimestamp:
			s.Timestamp, err = f.int64("timestamp")
		case sampleStart:
			if v2 {
				s.StartTimestamp, err = f.int64("start_timestamp")
			}
		}
		if err != nil {
			return s, err
		}
	}
	return s, nil
}
