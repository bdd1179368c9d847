package remote

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of RW2's io.prometheus.write.v2.Request and the messages in
// it. Label, Sample and Exemplar numbers are in encode_v1.go.
const (
	v2Symbols    = 4 // Request.symbols
	v2Timeseries = 5 // Request.timeseries

	v2LabelsRefs = 1 // TimeSeries.labels_refs
	v2Samples    = 2 // TimeSeries.samples
	v2Histograms = 3 // TimeSeries.histograms
	v2Exemplars  = 4 // TimeSeries.exemplars
	v2Metadata   = 5 // TimeSeries.metadata

	v2MetaType    = 1 // Metadata.type
	v2MetaHelpRef = 3 // Metadata.help_ref
	v2MetaUnitRef = 4 // Metadata.unit_ref
)

// AppendV2 appends req encoded as an RW2 io.prometheus.write.v2.Request to
// dst and returns the extended buffer.
//
// st is scratch space: AppendV2 resets it, interns every string of req in
// it and writes its symbols; afterwards st.Symbols() are the request's
// symbols. Reusing dst and st across calls makes AppendV2 allocation-free
// in steady state. A nil st works but allocates a table per call.
//
// RW2 carries metadata per series, so req.FamilyMetadata is ignored. A
// series' metadata is written only if it is not zero. AppendV2 does not
// validate req. A series with both float samples and histograms, which RW2
// forbids in one TimeSeries (RW1 allows it, and a sender merging a series'
// pieces can make one), is written as two with the same labels: the
// samples with the exemplars, then the histograms.
func AppendV2(dst []byte, req *Request, st *SymbolTable) []byte {
	return appendV2(dst, len(req.Series), func(i int) *Series { return &req.Series[i] }, st)
}

// AppendV2Series is AppendV2 for a request made of the series series point
// to, in that order: a sender builds its requests from series that stay
// where they were decoded, eight bytes a series instead of a copy.
func AppendV2Series(dst []byte, series []*Series, st *SymbolTable) []byte {
	return appendV2(dst, len(series), func(i int) *Series { return series[i] }, st)
}

// appendV2 writes the request of the n series at returns.
//
// It reads each series once: a series' strings are interned and the series
// written in the same step, into dst, and the symbols, which the request
// carries first, are put in front of the series at the end by moving the
// series up (one memmove of the request, a few nanoseconds a series),
// rather than by reading every series and its stored references a second
// time. The symbols are numbered in the order the series first use them.
func appendV2(dst []byte, n int, at func(int) *Series, st *SymbolTable) []byte {
	if st == nil {
		st = &SymbolTable{}
	}
	st.Reset()
	st.init()

	start := len(dst)
	refs := st.refs[:0]
	for i := range n {
		s := at(i)
		if s.hasIDs() && plainV2(s) {
			dst = appendPlainSeriesV2(dst, s, st)
			continue
		}
		// The general case: the references of the series' labels, help,
		// unit and exemplars' labels, then the series.
		if s.hasIDs() {
			refs = appendDictRefs(refs[:0], st, s, &s.Metadata)
		} else {
			refs = appendLabelRefs(refs[:0], st, s.Labels)
			refs = append(refs, st.Ref(s.Metadata.Help), st.Ref(s.Metadata.Unit))
		}
		for j := range s.Exemplars {
			refs = appendLabelRefs(refs, st, s.Exemplars[j].Labels)
		}
		sr, _ := nextSeriesRefs(refs, s)
		dst = appendTimeSeriesV2(dst, s, &sr)
	}
	st.refs = refs
	return prependSymbols(dst, start, st.symbols)
}

// prependSymbols writes symbols as Request.symbols fields in front of
// dst[start:], moving what is there up.
func prependSymbols(dst []byte, start int, symbols []string) []byte {
	size := 0
	for _, sym := range symbols {
		size += 1 + sizeUvarint(uint64(len(sym))) + len(sym)
	}
	body := len(dst) - start
	dst = slices.Grow(dst, size)[:len(dst)+size]
	copy(dst[start+size:], dst[start:start+body])
	w := dst[start : start : start+size]
	for _, sym := range symbols {
		w = appendTag(w, v2Symbols, protowire.BytesType)
		w = appendUvarint(w, uint64(len(sym)))
		w = append(w, sym...)
	}
	return dst
}

// appendTimeSeriesV2 writes s as a TimeSeries, or as two when it has both
// samples and histograms.
func appendTimeSeriesV2(dst []byte, s *Series, sr *seriesRefs) []byte {
	if len(s.Samples) > 0 && len(s.Histograms) > 0 {
		floats := *s
		floats.Histograms = nil
		dst = appendTimeSeriesV2(dst, &floats, sr)
		histograms := *s
		histograms.Samples, histograms.Exemplars = nil, nil
		noExemplars := *sr
		noExemplars.exemplars = nil
		return appendTimeSeriesV2(dst, &histograms, &noExemplars)
	}
	var at int
	dst, at = beginMessage(dst, v2Timeseries)
	dst = appendSeriesV2(dst, s, sr)
	return endMessage(dst, at)
}

// appendDictRefs is appendLabelRefs plus help and unit for a series whose
// strings are in a Dict: an array lookup per string instead of a hash.
func appendDictRefs(refs []uint32, st *SymbolTable, s *Series, m *Metadata) []uint32 {
	d, n := s.Dict, len(s.Values)
	refs = append(refs, uint32(2*n))
	for i, v := range s.Values {
		refs = append(refs, st.dictRef(d, s.Names[i]), st.dictRef(d, v))
	}
	// The metadata decides: a sender that strips it (metadata_config
	// send: false) clears Metadata, not the series' shared ids. A lane
	// that merges a series' pieces may give it another piece's metadata
	// (its own had none), which its ids do not name: that text is
	// interned as a string.
	return append(refs, metaRef(st, d, s.Names[n], m.Help), metaRef(st, d, s.Names[n+1], m.Unit))
}

// metaRef returns the symbol of a series' help or unit text, which id
// names in d unless a merge replaced the text.
func metaRef(st *SymbolTable, d *Dict, id uint32, text string) uint32 {
	switch {
	case text == "":
		return 0
	case d.String(id) == text:
		return st.dictRef(d, id)
	default:
		return st.Ref(text)
	}
}

// appendLabelRefs appends the number of references of ls and then the
// references of its names and values to refs.
func appendLabelRefs(refs []uint32, st *SymbolTable, ls labels.Labels) []uint32 {
	at := len(refs)
	refs = append(refs, 0)
	pos := 0
	ls.Range(func(l labels.Label) {
		refs = append(refs, st.refAt(pos, l.Name), st.refAt(pos+1, l.Value))
		pos += 2
	})
	refs[at] = uint32(len(refs) - at - 1)
	return refs
}

// seriesRefs are the symbol references of one series, as appendV2 took
// them from refs.
type seriesRefs struct {
	labels     []uint32
	help, unit uint32
	// exemplars holds, per exemplar, a count and that many references.
	exemplars []uint32
}

// nextSeriesRefs takes the references of s from the front of refs.
func nextSeriesRefs(refs []uint32, s *Series) (seriesRefs, []uint32) {
	var sr seriesRefs
	n := refs[0]
	sr.labels = refs[1 : 1+n]
	sr.help, sr.unit = refs[1+n], refs[2+n]
	refs = refs[3+n:]
	end := 0
	for range s.Exemplars {
		end += 1 + int(refs[end])
	}
	sr.exemplars = refs[:end]
	return sr, refs[end:]
}

// refsSize is the size of refs written as packed uint32 field num.
func refsSize(num protowire.Number, refs []uint32) int {
	if len(refs) == 0 {
		return 0
	}
	return sizeBytesField(num, packedRefsLen(refs))
}

func packedRefsLen(refs []uint32) int {
	n := 0
	for _, r := range refs {
		n += sizeUvarint(uint64(r))
	}
	return n
}

func appendRefs(b []byte, num protowire.Number, refs []uint32) []byte {
	if len(refs) == 0 {
		return b
	}
	b = appendBytesHeader(b, num, packedRefsLen(refs))
	for _, r := range refs {
		b = appendUvarint(b, uint64(r))
	}
	return b
}

func metadataSizeV2(t MetricType, sr *seriesRefs) int {
	return sizeVarint(v2MetaType, uint64(t)) +
		sizeVarint(v2MetaHelpRef, uint64(sr.help)) +
		sizeVarint(v2MetaUnitRef, uint64(sr.unit))
}

func exemplarSizeV2(e *Exemplar, refs []uint32) int {
	return refsSize(exemplarLabels, refs) +
		sizeDouble(exemplarValue, e.Value) +
		sizeVarint(exemplarTimestamp, uint64(e.Timestamp))
}

func appendSeriesV2(b []byte, s *Series, sr *seriesRefs) []byte {
	b = appendRefs(b, v2LabelsRefs, sr.labels)
	for i := range s.Samples {
		b = appendSample(b, v2Samples, &s.Samples[i], true)
	}
	for i := range s.Histograms {
		h := &s.Histograms[i]
		b = appendBytesHeader(b, v2Histograms, histogramSize(h, true))
		b = appendHistogram(b, h, true)
	}
	ex := sr.exemplars
	for i := range s.Exemplars {
		e := &s.Exemplars[i]
		k := ex[0]
		refs := ex[1 : 1+k]
		ex = ex[1+k:]
		b = appendBytesHeader(b, v2Exemplars, exemplarSizeV2(e, refs))
		b = appendRefs(b, exemplarLabels, refs)
		b = appendDouble(b, exemplarValue, e.Value)
		b = appendVarint(b, exemplarTimestamp, uint64(e.Timestamp))
	}
	if m := metadataSizeV2(s.Metadata.Type, sr); m > 0 {
		b = appendBytesHeader(b, v2Metadata, m)
		b = appendVarint(b, v2MetaType, uint64(s.Metadata.Type))
		b = appendVarint(b, v2MetaHelpRef, uint64(sr.help))
		b = appendVarint(b, v2MetaUnitRef, uint64(sr.unit))
	}
	return b
}
