package remote

import (
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protowire"
)

// MetadataLookup returns the metadata of the metric family a series name
// belongs to, or false. The name aliases the request being read: a lookup
// must not keep it.
type MetadataLookup func(name string) (Metadata, bool)

// Transcoder converts RW1 requests to RW2 in one pass, for a relay that
// stores RW2: DecodeV1 followed by AppendV2 without the label sets, series
// and arrays in between. Label strings are interned straight from the
// request's bytes, and a string already in the table is not checked for
// UTF-8 again.
//
// The zero value is ready to use. A Transcoder keeps its memory between
// requests and must not be used by two goroutines at once. Between calls
// its table still refers into the last request read, which the caller may
// then overwrite: the next call empties the table before anything else.
type Transcoder struct {
	st     SymbolTable
	series []byte // the TimeSeries messages, written after the symbols
	refs   []uint32
	exRefs []uint32
	name   string // the current series' __name__; aliases the request
	// d collects the current series' samples, histograms and exemplars
	// in its arenas, and holds the limits.
	d     decoder
	ready bool // d is initialised

	// The last family looked up and its answer: consecutive series
	// mostly belong to the same family.
	lastName string
	lastMeta Metadata
	lastOK   bool
}

// TranscodeV1 appends the RW1 prometheus.WriteRequest in buf to dst as an
// RW2 io.prometheus.write.v2.Request and returns the extended buffer, what
// the request carries and how many series it has.
//
// It accepts exactly what DecodeV1 accepts, and refuses the rest with
// DecodeV1's error. The RW2 request is the one AppendV2 writes for
// DecodeV1's result, with two differences:
//   - each series' metadata is lookup's answer for its __name__ (nil
//     looks up nothing), as RW1 series carry none of their own;
//   - a series with both float samples and histograms, which RW1 allows
//     and RW2 does not, becomes two TimeSeries with the same labels: the
//     samples with the exemplars, then the histograms.
//
// The request's own metadata entries are checked but not used:
// FamilyMetadataV1 reads them, for lookup to answer from.
func (t *Transcoder) TranscodeV1(dst, buf []byte, lim Limits, lookup MetadataLookup) ([]byte, Counts, int, error) {
	lim = lim.resolve()
	t.st.Reset()
	t.st.init()
	t.series = t.series[:0]
	t.lastName, t.lastOK, t.name = "", false, ""
	if !t.ready {
		t.d, t.ready = *newDecoder(lim, inventory{}), true
	}
	t.d.lim = lim
	c, series, err := t.read(buf, lim, lookup)
	if err != nil {
		return dst, Counts{}, 0, limitsFirst(buf, lim, err)
	}
	for _, sym := range t.st.symbols {
		dst = appendTag(dst, v2Symbols, protowire.BytesType)
		dst = appendUvarint(dst, uint64(len(sym)))
		dst = append(dst, sym...)
	}
	return append(dst, t.series...), c, series, nil
}

// read is TranscodeV1's one pass over buf. It checks the limits as it
// goes rather than in a counting pass of its own, and stops as soon as
// what it has read exceeds one (errOverLimit).
func (t *Transcoder) read(buf []byte, lim Limits, lookup MetadataLookup) (Counts, int, error) {
	var c Counts
	series, metadata := 0, 0
	for b := buf; len(b) > 0; {
		f, n, err := nextField(b)
		if err != nil {
			return c, 0, errAtIndex("byte", len(buf)-len(b), err)
		}
		b = b[n:]
		switch f.num {
		case v1Timeseries:
			// The type first: a field of the wrong type is not one
			// DecodeV1's counting pass counts against the limit.
			if err := f.want(protowire.BytesType, "timeseries"); err != nil {
				return c, 0, errAtIndex("series", series, err)
			}
			if series == lim.MaxSeries {
				return c, 0, errOverLimit
			}
			t.d.maxData = lim.MaxSamples - (c.Samples + c.Histograms + c.Exemplars)
			if err := t.seriesV1(f.b, lookup, &c); err != nil {
				return c, 0, errAtIndex("series", series, err)
			}
			series++
		case v1Metadata:
			if err := f.want(protowire.BytesType, "metadata"); err != nil {
				return c, 0, errAtIndex("metadata", metadata, err)
			}
			if metadata == lim.MaxSeries {
				return c, 0, errOverLimit
			}
			if _, err := decodeMetadataV1(f.b); err != nil {
				return c, 0, errAtIndex("metadata", metadata, err)
			}
			metadata++
		}
	}
	return c, series, nil
}

// limitsFirst returns the error DecodeV1 gives for a request that a
// single pass refused with err: DecodeV1 counts the whole request first,
// so a request over a limit is refused for that, whatever else is wrong
// with it. Counting only now keeps that pass off the path of requests
// that are accepted.
func limitsFirst(buf []byte, lim Limits, err error) error {
	inv := count(buf, layoutV1)
	if lerr := inv.check(lim); lerr != nil {
		return lerr
	}
	// Had the pass stopped at a limit, count would have found it over
	// too: what the pass read is part of what count counts.
	return err
}

// FamilyMetadataV1 returns the metadata entries of an RW1 request, for a
// MetadataLookup. It skips what it cannot read: TranscodeV1 refuses such
// a request.
func FamilyMetadataV1(buf []byte) []FamilyMetadata {
	var out []FamilyMetadata
	for len(buf) > 0 {
		num, typ, v, n := skipField(buf)
		if n < 0 {
			break
		}
		buf = buf[n:]
		if num != v1Metadata || typ != protowire.BytesType {
			continue
		}
		if m, err := decodeMetadataV1(v); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// seriesV1 reads one RW1 TimeSeries, checking it as DecodeV1's seriesV1
// does (readSeriesV1), and writes it to t.series.
func (t *Transcoder) seriesV1(b []byte, lookup MetadataLookup, c *Counts) error {
	t.refs, t.name = t.refs[:0], ""
	d := &t.d
	d.samples, d.histograms, d.exemplars = d.samples[:0], d.histograms[:0], d.exemplars[:0]
	if err := d.readSeriesV1(b, arenaMark{}, t); err != nil {
		return err
	}
	c.Samples += len(d.samples)
	c.Histograms += len(d.histograms)
	c.Exemplars += len(d.exemplars)
	t.writeSeries(t.metadata(t.name, lookup))
	return nil
}

// addLabel reads the Label message f, the series' i-th label, interns its
// strings and checks the UTF-8 of those new to the table. The strings
// alias the request.
func (t *Transcoder) addLabel(f field, i int) (name, value string, err error) {
	nb, vb, err := labelBytesV1(f)
	if err != nil {
		return "", "", err
	}
	name, value = aliasString(nb), aliasString(vb)
	nr, newName := t.st.internAt(2*i, name)
	if newName && !utf8.ValidString(name) {
		return "", "", invalidf("label name %s is not valid UTF-8", quote(nb))
	}
	vr, newValue := t.st.internAt(2*i+1, value)
	if newValue && !utf8.ValidString(value) {
		return "", "", invalidf("label %s: value %s is not valid UTF-8", quote(nb), quote(vb))
	}
	t.refs = append(t.refs, nr, vr)
	if name == model.MetricNameLabel {
		t.name = value
	}
	return name, value, nil
}

// metadata returns the metadata of the family name, asking lookup once
// per run of series of one family.
func (t *Transcoder) metadata(name string, lookup MetadataLookup) Metadata {
	if lookup == nil || name == "" {
		return Metadata{}
	}
	if !t.lastOK || name != t.lastName {
		t.lastName = name
		t.lastMeta, _ = lookup(name)
		t.lastOK = true
	}
	return t.lastMeta
}

// writeSeries writes the current series as one TimeSeries, or as two when
// it has both samples and histograms (appendTimeSeriesV2).
func (t *Transcoder) writeSeries(m Metadata) {
	sr := seriesRefs{labels: t.refs, help: t.st.Ref(m.Help), unit: t.st.Ref(m.Unit)}
	t.exRefs = t.exRefs[:0]
	d := &t.d
	for i := range d.exemplars {
		t.exRefs = appendLabelRefs(t.exRefs, &t.st, d.exemplars[i].Labels)
	}
	sr.exemplars = t.exRefs
	s := Series{Samples: d.samples, Histograms: d.histograms, Exemplars: d.exemplars, Metadata: m}
	t.series = appendTimeSeriesV2(t.series, &s, &sr)
}
