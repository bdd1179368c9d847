package remote

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"
)

// DecodeV2 decodes an RW2 io.prometheus.write.v2.Request.
//
// Besides the checks DecodeV1 makes, it requires symbols[0] to be "",
// every symbol to be valid UTF-8, every reference to be in range,
// labels_refs to hold name/value pairs, and no series to have both samples
// and histograms. The returned Request has no FamilyMetadata. It does not
// alias buf: all symbols are copied once into a single string.
func DecodeV2(buf []byte, lim Limits) (*Request, error) {
	req := &Request{}
	_, err := decodeV2(buf, lim, nil, req, nil, nil, false)
	if err != nil {
		return nil, err
	}
	return req, nil
}

// DecodeStoredV2 decodes an RW2 request that was checked when it was
// stored (by CheckV2, or written by AppendV2 or a Transcoder), such as a
// received batch read back from the log, and appends its series to series
// and their hashes (LabelsHash) to hashes. The series have Dict, Names and
// Values (see Series) instead of Labels: each symbol of the request is interned
// into dict once, however many series use it, and a series' hash is
// folded from its strings' hashes in the dictionary. Metadata strings are
// the dictionary's. Only the goroutine that interns into dict may call it.
// On error, series and hashes come back as given.
//
// It trusts what the request was checked for: it neither limits the
// request's size nor checks symbols for UTF-8 nor label names for order,
// duplicates or emptiness. It still refuses whatever would make it read
// out of bounds (a malformed field, a reference out of range, an odd
// number of label references), so a payload that is corrupt in spite of
// the log's checksum gets an error, not a panic.
//
// With a scratch, the series' samples, histograms, exemplars and ids live
// in its memory, valid until the scratch is used again; without, in memory
// of their own.
func DecodeStoredV2(buf []byte, dict *Dict, series []Series, hashes []uint64, scratch *DictScratch) ([]Series, []uint64, error) {
	req := &Request{Series: series}
	h, err := decodeV2(buf, NoLimits, dict, req, hashes, scratch, false)
	if err != nil {
		clear(req.Series[len(series):])
		return series, hashes, err
	}
	return req.Series, h, nil
}

// CheckV2 checks an RW2 request as DecodeV2 does, refusing exactly what
// it refuses with the same errors, and counts what it carries and its
// series, without building label sets: a relay that stores the request as
// it came needs no more. It keeps nothing of buf; scratch is memory reused
// from call to call.
func CheckV2(buf []byte, lim Limits, scratch *DictScratch) (c Counts, series int, err error) {
	req := &Request{Series: scratch.series[:0]}
	_, err = decodeV2(buf, lim, nil, req, nil, scratch, true)
	c, series = req.Count(), len(req.Series)
	clear(req.Series)
	scratch.series = req.Series[:0]
	if err != nil {
		return Counts{}, 0, err
	}
	return c, series, nil
}

// DictScratch is memory DecodeStoredV2 and CheckV2 reuse from one call to
// the next. The zero value is ready to use.
type DictScratch struct {
	series []Series // CheckV2's
	d      *decoder // its arenas hold the decoded series' data
}

// decoder returns the scratch's decoder, emptied for a request of inv.
func (s *DictScratch) decoder(lim Limits, inv inventory, check bool) *decoder {
	if s.d == nil {
		s.d = newDecoder(lim, inventory{})
	}
	d := s.d
	d.lim, d.checkOnly = lim, check
	d.samples = slices.Grow(d.samples[:0], inv.samples)
	d.histograms = reuse(d.histograms, inv.histograms)
	d.exemplars = reuse(d.exemplars, inv.exemplars)
	d.symbols = d.symbols[:0]
	d.refs, d.exRefs, d.helpRef, d.unitRef, d.lastNames = d.refs[:0], d.exRefs[:0], 0, 0, d.lastNames[:0]
	d.lastMeta = nil
	d.ids, d.symHashes, d.idArena, d.idOffs = d.ids[:0], d.symHashes[:0], d.idArena[:0], d.idOffs[:0]
	return d
}

// release drops what the decoder refers to of the call that used it: the
// caller's dictionary and hashes, and symbols that may alias its buffer.
func (d *decoder) release() {
	clear(d.symbols)
	d.dict, d.hashes, d.lastMeta, d.lastMetaVal = nil, nil, nil, Metadata{}
}

// reuse returns s emptied, with room for n elements. The old elements are
// cleared first, so that what they point to does not stay reachable.
func reuse[T any](s []T, n int) []T {
	clear(s)
	return slices.Grow(s[:0], n)
}

// decodeV2 appends the series of buf to req.Series and, with a dict,
// their hashes to hashes.
//
// With check, which needs a scratch, the series get no labels: CheckV2.
func decodeV2(buf []byte, lim Limits, dict *Dict, req *Request, hashes []uint64, scratch *DictScratch, check bool) ([]uint64, error) {
	lim = lim.resolve()
	inv := count(buf, layoutV2)
	if err := inv.check(lim); err != nil {
		return hashes, err
	}
	var d *decoder
	if scratch != nil {
		d = scratch.decoder(lim, inv, check)
		defer d.release()
	} else {
		d = newDecoder(lim, inv)
	}
	var err error
	// With a dict, what the series keep of a symbol is the dict's copy:
	// the symbols may alias buf, unless exemplar labels would too. A
	// check keeps nothing.
	alias := dict != nil && builderCopiesStrings || check
	// With a dict the request is a stored one, checked when it was
	// stored (DecodeStoredV2).
	trusted := dict != nil
	if d.symbols, err = readSymbols(d.symbols, buf, inv, alias, trusted); err != nil {
		return hashes, err
	}
	if dict != nil {
		d.dict = dict
		d.ids = slices.Grow(d.ids[:0], len(d.symbols))
		d.symHashes = slices.Grow(d.symHashes[:0], len(d.symbols))
		for _, sym := range d.symbols {
			id := dict.Intern(sym)
			d.ids = append(d.ids, id)
			d.symHashes = append(d.symHashes, dict.hash(id))
		}
		d.hashes = hashes
		d.idOffs = slices.Grow(d.idOffs[:0], inv.series+1)
		// Each reference takes a byte at least; a few more for unpacked
		// ones. Two more ids per series: help and unit.
		d.idArena = slices.Grow(d.idArena[:0], inv.refBytes+2*inv.series)
	}
	first := len(req.Series)
	req.Series = slices.Grow(req.Series, inv.series)
	for b := buf; len(b) > 0; {
		f, n, err := nextField(b)
		if err != nil {
			return hashes, errAtIndex("byte", len(buf)-len(b), err)
		}
		b = b[n:]
		if f.num != v2Timeseries {
			continue
		}
		i := len(req.Series)
		if err := f.want(protowire.BytesType, "timeseries"); err != nil {
			return hashes, errAtIndex("series", i-first, err)
		}
		req.Series = append(req.Series, Series{})
		if err := d.seriesV2(&req.Series[i], f.b); err != nil {
			return hashes, errAtIndex("series", i-first, err)
		}
	}
	if d.dict != nil {
		// The arena has stopped growing: point every series at its ids.
		d.idOffs = append(d.idOffs, len(d.idArena))
		for i := range req.Series[first:] {
			// A series' ids are its names, help and unit, then its
			// values (dictRefs).
			from, to := d.idOffs[i], d.idOffs[i+1]
			mid := from + (to-from+2)/2
			s := &req.Series[first+i]
			s.Names, s.Values = d.idArena[from:mid:mid], d.idArena[mid:to:to]
		}
	}
	return d.hashes, nil
}

// readSymbols collects the symbols of the request into one string and
// appends them to symbols as sub-strings of it, or, with alias, as strings
// that alias buf. A trusted request's symbols were checked for UTF-8 when
// it was stored.
func readSymbols(symbols []string, buf []byte, inv inventory, alias, trusted bool) ([]string, error) {
	var arena strings.Builder
	if inv.symbols > 0 {
		if !alias {
			arena.Grow(inv.symbolBytes)
		}
		symbols = slices.Grow(symbols, inv.symbols)
	}
	for b := buf; len(b) > 0; {
		f, n, err := nextField(b)
		if err != nil {
			return nil, errAtIndex("byte", len(buf)-len(b), err)
		}
		b = b[n:]
		if f.num != v2Symbols {
			continue
		}
		i := len(symbols)
		if err := f.want(protowire.BytesType, "symbols"); err != nil {
			return nil, err
		}
		if i == 0 && len(f.b) != 0 {
			return nil, invalidf("symbols[0] is %s, must be empty", quote(f.b))
		}
		if !trusted && !utf8.Valid(f.b) {
			return nil, invalidf("symbols[%d] %s is not valid UTF-8", i, quote(f.b))
		}
		if len(f.b) > maxLabelBytes {
			return nil, tooLargef("symbols[%d] has %d bytes, limit %d", i, len(f.b), maxLabelBytes)
		}
		if alias {
			symbols = append(symbols, aliasString(f.b))
			continue
		}
		start := arena.Len()
		arena.Write(f.b)
		// The arena never reallocates after Grow, and a strings.Builder
		// never changes bytes it has written, so earlier sub-strings stay
		// valid whatever happens.
		symbols = append(symbols, arena.String()[start:])
	}
	return symbols, nil
}

func (d *decoder) seriesV2(s *Series, b []byte) error {
	mark := d.mark()
	d.refs = d.refs[:0]
	d.helpRef, d.unitRef = 0, 0
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case v2LabelsRefs:
			d.refs, err = readUint32s(d.refs, f, "labels_refs", refsLimit(d.lim.MaxLabels))
			if err != nil {
				return err
			}
		case v2Samples:
			if err := f.want(protowire.BytesType, "samples"); err != nil {
				return err
			}
			smp, err := decodeSample(f.b, true)
			if err != nil {
				return errAtIndex("sample", len(d.samples)-mark.samples, err)
			}
			d.samples = append(d.samples, smp)
		case v2Histograms:
			i := len(d.histograms) - mark.histograms
			if err := f.want(protowire.BytesType, "histograms"); err != nil {
				return err
			}
			h, err := decodeHistogram(f.b, true)
			if err != nil {
				return errAtIndex("histogram", i, err)
			}
			d.histograms = append(d.histograms, h)
		case v2Exemplars:
			i := len(d.exemplars) - mark.exemplars
			if err := f.want(protowire.BytesType, "exemplars"); err != nil {
				return err
			}
			e, err := d.exemplarV2(f.b)
			if err != nil {
				return errAtIndex("exemplar", i, err)
			}
			d.exemplars = append(d.exemplars, e)
		case v2Metadata:
			if err := f.want(protowire.BytesType, "metadata"); err != nil {
				return err
			}
			// A message field that occurs twice is merged, field by
			// field: only what a field decodes to on its own, the
			// series' first, is remembered or taken from the memo.
			first := s.Metadata.IsZero() && d.helpRef|d.unitRef == 0
			if first && d.sameMetadata(s, f.b) {
				continue
			}
			if err := d.metadataV2(&s.Metadata, f.b); err != nil {
				return errAt("metadata", err)
			}
			if first {
				d.lastMeta, d.lastMetaVal = f.b, s.Metadata
				d.lastHelpRef, d.lastUnitRef = d.helpRef, d.unitRef
			}
		}
	}
	if len(d.refs) == 0 {
		return invalidf("no labels")
	}
	if d.dict != nil {
		if err := d.dictRefs(s); err != nil {
			return err
		}
	} else {
		ls, err := d.seriesLabels(d.builder(&d.sb), d.refs)
		if err != nil {
			return err
		}
		s.Labels = ls
	}
	d.fill(s, mark)
	if len(s.Samples) > 0 && len(s.Histograms) > 0 {
		return invalidf("both samples and histograms (%d and %d)", len(s.Samples), len(s.Histograms))
	}
	return nil
}

// refsLimit is the number of label references that makes more than
// maxLabels labels, with room for an odd count to be reported as such.
func refsLimit(maxLabels int) int {
	if maxLabels > (1<<62)/2 {
		return 1 << 62
	}
	return 2*maxLabels + 1
}

// labelsFromRefs resolves name/value reference pairs and checks the label
// set they make. With a nil sb it only checks.
func (d *decoder) labelsFromRefs(sb *labels.ScratchBuilder, refs []uint32) (labels.Labels, error) {
	if err := d.checkRefCount(refs); err != nil {
		return labels.EmptyLabels(), err
	}
	if sb != nil {
		sb.Reset()
	}
	prev := ""
	for i := 0; i < len(refs); i += 2 {
		name, value, err := d.label(refs, i, prev)
		if err != nil {
			return labels.EmptyLabels(), err
		}
		if sb != nil {
			sb.Add(name, value)
		}
		prev = name
	}
	if sb == nil {
		return labels.EmptyLabels(), nil
	}
	return sb.Labels(), nil
}

// shortcuts switches the decoder's memos (label names, metadata) and its
// fast path for samples on; tests switch them off to compare.
var shortcuts = true

// seriesLabels is labelsFromRefs for a series' labels. Consecutive series
// of a request mostly have the same label names (the series of a family,
// the same series of several targets), so the decoder remembers the name
// references of the last series that passed: a series with the same ones
// has names already known to be in range, valid, sorted and unique, and
// only its values are checked, with the errors labelsFromRefs would give.
func (d *decoder) seriesLabels(sb *labels.ScratchBuilder, refs []uint32) (labels.Labels, error) {
	if !shortcuts || !d.sameNames(refs) {
		ls, err := d.labelsFromRefs(sb, refs)
		if err == nil {
			d.lastNames = d.lastNames[:0]
			for i := 0; i < len(refs); i += 2 {
				d.lastNames = append(d.lastNames, refs[i])
			}
		}
		return ls, err
	}
	if sb != nil {
		sb.Reset()
	}
	for i := 1; i < len(refs); i += 2 {
		value, err := d.symbol(refs, i)
		if err != nil {
			return labels.EmptyLabels(), err
		}
		name := d.symbols[refs[i-1]]
		if err := checkValue(name, value); err != nil {
			return labels.EmptyLabels(), err
		}
		if sb != nil {
			sb.Add(name, value)
		}
	}
	if sb == nil {
		return labels.EmptyLabels(), nil
	}
	return sb.Labels(), nil
}

// sameNames reports whether refs has the label names of the last series
// that passed.
func (d *decoder) sameNames(refs []uint32) bool {
	if len(refs) != 2*len(d.lastNames) {
		return false
	}
	for i, n := range d.lastNames {
		if refs[2*i] != n {
			return false
		}
	}
	return true
}

// builder returns sb, or nil when the decoder only checks.
func (d *decoder) builder(sb *labels.ScratchBuilder) *labels.ScratchBuilder {
	if d.checkOnly {
		return nil
	}
	return sb
}

// dictRefs appends the current series' dictionary ids to the id arena
// (label names, help, unit, then label values), and its hash to d.hashes. Its request is
// a stored one: the references are checked only for their range.
func (d *decoder) dictRefs(s *Series) error {
	refs := d.refs
	if err := d.checkRefCount(refs); err != nil {
		return err
	}
	d.idOffs = append(d.idOffs, len(d.idArena))
	h := uint64(hashSeed)
	for i, r := range refs {
		if int64(r) >= int64(len(d.ids)) {
			_, err := d.symbol(refs, i)
			return err
		}
	}
	for i := 0; i < len(refs); i += 2 {
		d.idArena = append(d.idArena, d.ids[refs[i]])
		h = foldLabel(h, d.symHashes[refs[i]], d.symHashes[refs[i+1]])
	}
	help, unit := d.ids[d.helpRef], d.ids[d.unitRef]
	d.idArena = append(d.idArena, help, unit)
	for i := 1; i < len(refs); i += 2 {
		d.idArena = append(d.idArena, d.ids[refs[i]])
	}
	s.Dict = d.dict
	s.Metadata.Help, s.Metadata.Unit = d.dict.String(help), d.dict.String(unit)
	d.hashes = append(d.hashes, finishHash(h))
	return nil
}

// checkRefCount refuses labels_refs that are not name/value pairs or that
// make more labels than the limit.
func (d *decoder) checkRefCount(refs []uint32) error {
	if len(refs)%2 != 0 {
		return invalidf("labels_refs has odd length %d", len(refs))
	}
	if len(refs)/2 > d.lim.MaxLabels {
		return tooLargef("%d labels, limit %d", len(refs)/2, d.lim.MaxLabels)
	}
	return nil
}

// label resolves the pair refs[i], refs[i+1] and checks it against the
// previous label's name.
func (d *decoder) label(refs []uint32, i int, prev string) (name, value string, err error) {
	if name, err = d.symbol(refs, i); err != nil {
		return "", "", err
	}
	if value, err = d.symbol(refs, i+1); err != nil {
		return "", "", err
	}
	return name, value, checkLabel(prev, name, value)
}

// symbol resolves refs[i].
func (d *decoder) symbol(refs []uint32, i int) (string, error) {
	r := refs[i]
	if int64(r) >= int64(len(d.symbols)) {
		return "", invalidf("labels_refs[%d] = %d is out of range (%d symbols)", i, r, len(d.symbols))
	}
	return d.symbols[r], nil
}

// ref resolves the reference in a Metadata field.
func (d *decoder) ref(f field, name string) (string, uint32, error) {
	r, err := f.uint32(name)
	if err != nil {
		return "", 0, err
	}
	if int64(r) >= int64(len(d.symbols)) {
		return "", 0, invalidf("%s = %d is out of range (%d symbols)", name, r, len(d.symbols))
	}
	return d.symbols[r], r, nil
}

func (d *decoder) exemplarV2(b []byte) (Exemplar, error) {
	var e Exemplar
	d.exRefs = d.exRefs[:0]
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return e, err
		}
		b = b[n:]
		switch f.num {
		case exemplarLabels:
			d.exRefs, err = readUint32s(d.exRefs, f, "labels_refs", refsLimit(d.lim.MaxLabels))
		case exemplarValue:
			e.Value, err = f.double("value")
		case exemplarTimestamp:
			e.Timestamp, err = f.int64("timestamp")
		}
		if err != nil {
			return e, err
		}
	}
	e.Labels = labels.EmptyLabels()
	if len(d.exRefs) > 0 {
		ls, err := d.labelsFromRefs(d.builder(&d.exSB), d.exRefs)
		if err != nil {
			return e, err
		}
		e.Labels = ls
	}
	return e, nil
}

// sameMetadata decodes a series' first metadata field b by memo when it
// has the bytes of the last first field that decoded without error: the
// series of a family follow each other and share their metadata.
func (d *decoder) sameMetadata(s *Series, b []byte) bool {
	if !shortcuts || d.lastMeta == nil || string(b) != string(d.lastMeta) {
		return false
	}
	s.Metadata, d.helpRef, d.unitRef = d.lastMetaVal, d.lastHelpRef, d.lastUnitRef
	return true
}

func (d *decoder) metadataV2(m *Metadata, b []byte) error {
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case v2MetaType:
			var t uint8
			t, err = f.enum("type", maxMetricType)
			m.Type = MetricType(t)
		case v2MetaHelpRef:
			m.Help, d.helpRef, err = d.ref(f, "help_ref")
		case v2MetaUnitRef:
			m.Unit, d.unitRef, err = d.ref(f, "unit_ref")
		}
		if err != nil {
			return err
		}
	}
	return nil
}
