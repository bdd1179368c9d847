package remote

import (
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
	lim = lim.resolve()
	inv := count(buf, layoutV2)
	if err := inv.check(lim); err != nil {
		return nil, err
	}
	d := newDecoder(lim, inv)
	var err error
	if d.symbols, err = readSymbols(buf, inv); err != nil {
		return nil, err
	}
	req := &Request{}
	if inv.series > 0 {
		req.Series = make([]Series, 0, inv.series)
	}
	for b := buf; len(b) > 0; {
		f, n, err := nextField(b)
		if err != nil {
			return nil, errAtIndex("byte", len(buf)-len(b), err)
		}
		b = b[n:]
		if f.num != v2Timeseries {
			continue
		}
		i := len(req.Series)
		if err := f.want(protowire.BytesType, "timeseries"); err != nil {
			return nil, errAtIndex("series", i, err)
		}
		req.Series = append(req.Series, Series{})
		if err := d.seriesV2(&req.Series[i], f.b); err != nil {
			return nil, errAtIndex("series", i, err)
		}
	}
	return req, nil
}

// readSymbols collects the symbols of the request into one string and
// returns them as sub-strings of it.
func readSymbols(buf []byte, inv inventory) ([]string, error) {
	var (
		arena   strings.Builder
		symbols []string
	)
	if inv.symbols > 0 {
		arena.Grow(inv.symbolBytes)
		symbols = make([]string, 0, inv.symbols)
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
		if !utf8.Valid(f.b) {
			return nil, invalidf("symbols[%d] %s is not valid UTF-8", i, quote(f.b))
		}
		if len(f.b) > maxLabelBytes {
			return nil, tooLargef("symbols[%d] has %d bytes, limit %d", i, len(f.b), maxLabelBytes)
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
			// A message field that occurs twice is merged, field by field.
			if err := d.metadataV2(&s.Metadata, f.b); err != nil {
				return errAt("metadata", err)
			}
		}
	}
	if len(d.refs) == 0 {
		return invalidf("no labels")
	}
	ls, err := d.labelsFromRefs(&d.sb, d.refs)
	if err != nil {
		return err
	}
	s.Labels = ls
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
// set they make.
func (d *decoder) labelsFromRefs(sb *labels.ScratchBuilder, refs []uint32) (labels.Labels, error) {
	if len(refs)%2 != 0 {
		return labels.EmptyLabels(), invalidf("labels_refs has odd length %d", len(refs))
	}
	if len(refs)/2 > d.lim.MaxLabels {
		return labels.EmptyLabels(), tooLargef("%d labels, limit %d", len(refs)/2, d.lim.MaxLabels)
	}
	sb.Reset()
	prev := ""
	for i := 0; i < len(refs); i += 2 {
		name, err := d.symbol(refs, i)
		if err != nil {
			return labels.EmptyLabels(), err
		}
		value, err := d.symbol(refs, i+1)
		if err != nil {
			return labels.EmptyLabels(), err
		}
		if err := checkLabel(prev, name, value); err != nil {
			return labels.EmptyLabels(), err
		}
		sb.Add(name, value)
		prev = name
	}
	return sb.Labels(), nil
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
func (d *decoder) ref(f field, name string) (string, error) {
	r, err := f.uint32(name)
	if err != nil {
		return "", err
	}
	if int64(r) >= int64(len(d.symbols)) {
		return "", invalidf("%s = %d is out of range (%d symbols)", name, r, len(d.symbols))
	}
	return d.symbols[r], nil
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
		ls, err := d.labelsFromRefs(&d.exSB, d.exRefs)
		if err != nil {
			return e, err
		}
		e.Labels = ls
	}
	return e, nil
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
			m.Help, err = d.ref(f, "help_ref")
		case v2MetaUnitRef:
			m.Unit, err = d.ref(f, "unit_ref")
		}
		if err != nil {
			return err
		}
	}
	return nil
}
