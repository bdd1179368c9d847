package remote

import (
	"encoding/binary"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// maxPlainLabels bounds the labels of a series appendPlainSeriesV2 writes,
// so that its references fit an array on the stack; node_exporter's series
// have up to about eight.
const maxPlainLabels = 24

// plainV2 reports whether s is the series a scrape mostly gives: one float
// sample, no histograms, no exemplars, and few enough labels for
// appendPlainSeriesV2. The caller checks that it carries dictionary ids.
func plainV2(s *Series) bool {
	return len(s.Samples) == 1 && len(s.Histograms) == 0 && len(s.Exemplars) == 0 &&
		len(s.Values) <= maxPlainLabels
}

// notInterned marks a reference namesMemo has not looked up yet.
const notInterned = ^uint32(0)

// appendPlainSeriesV2 appends a series plainV2 accepts as one
// Request.timeseries field, interning its strings by their dictionary ids.
// It writes the bytes the general path (appendDictRefs, then
// appendTimeSeriesV2) writes, with every size computed once up front and
// no call per field: this is the path of nearly every sample a scraping
// agent sends.
func appendPlainSeriesV2(b []byte, s *Series, st *SymbolTable) []byte {
	var refs [2 * maxPlainLabels]uint32
	d, n := s.Dict, len(s.Values)
	names, values := s.Names[:n+2], s.Values[:n]
	nm := &st.names
	packed := 0
	if nm.first == &names[0] && nm.n == n+2 && nm.dict == d {
		for i, v := range values {
			name, value := nm.refs[i], st.dictRef(d, v)
			refs[2*i], refs[2*i+1] = name, value
			packed += sizeUvarint(uint64(name)) + sizeUvarint(uint64(value))
		}
	} else {
		// Names and values are interned in label order, so the symbols
		// come in the order the general path gives them.
		for i, v := range values {
			name := st.dictRef(d, names[i])
			value := st.dictRef(d, v)
			refs[2*i], refs[2*i+1], nm.refs[i] = name, value, name
			packed += sizeUvarint(uint64(name)) + sizeUvarint(uint64(value))
		}
		// Help and unit are interned when a series sends them.
		nm.refs[n], nm.refs[n+1] = notInterned, notInterned
		nm.first, nm.n, nm.dict = &names[0], n+2, d
	}
	// As in appendDictRefs, the metadata decides whether help and unit are
	// sent, not the shared ids. Unlike there, the ids name the metadata's
	// texts: a series with one sample has the metadata its decoder gave it
	// with its ids (a lane that merges a series' pieces gives it several
	// samples, which the general path writes).
	var help, unit uint32
	if s.Metadata.Help != "" {
		if nm.refs[n] == notInterned {
			nm.refs[n] = st.dictRef(d, names[n])
		}
		help = nm.refs[n]
	}
	if s.Metadata.Unit != "" {
		if nm.refs[n+1] == notInterned {
			nm.refs[n+1] = st.dictRef(d, names[n+1])
		}
		unit = nm.refs[n+1]
	}

	smp := &s.Samples[0]
	value := math.Float64bits(smp.Value)
	ts, start := uint64(smp.Timestamp), uint64(smp.StartTimestamp)
	sampleLen := sizeVarint(sampleTimestamp, ts) + sizeVarint(sampleStart, start)
	if value != 0 {
		sampleLen += 9 // tag and fixed64
	}
	typ := uint64(s.Metadata.Type)
	metaLen := sizeVarint(v2MetaType, typ) + sizeVarint(v2MetaHelpRef, uint64(help)) +
		sizeVarint(v2MetaUnitRef, uint64(unit))
	size := 1 + sizeUvarint(uint64(sampleLen)) + sampleLen
	if n > 0 {
		size += 1 + sizeUvarint(uint64(packed)) + packed
	}
	if metaLen > 0 {
		size += 1 + sizeUvarint(uint64(metaLen)) + metaLen
	}

	b = slices.Grow(b, 1+binary.MaxVarintLen64+size)
	b = appendBytesHeader(b, v2Timeseries, size)
	if n > 0 {
		b = appendBytesHeader(b, v2LabelsRefs, packed)
		for _, r := range refs[:2*n] {
			b = appendUvarint(b, uint64(r))
		}
	}
	b = appendBytesHeader(b, v2Samples, sampleLen)
	if value != 0 {
		b = append(b, sampleValue<<3|byte(protowire.Fixed64Type))
		b = binary.LittleEndian.AppendUint64(b, value)
	}
	b = appendVarint(b, sampleTimestamp, ts)
	b = appendVarint(b, sampleStart, start)
	if metaLen > 0 {
		b = appendBytesHeader(b, v2Metadata, metaLen)
		b = appendVarint(b, v2MetaType, typ)
		b = appendVarint(b, v2MetaHelpRef, uint64(help))
		b = appendVarint(b, v2MetaUnitRef, uint64(unit))
	}
	return b
}
