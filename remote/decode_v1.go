package remote

import (
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"
)

// maxMetricType is the largest known MetricType (STATESET).
const maxMetricType = uint64(MetricTypeStateset)

// DecodeV1 decodes an RW1 prometheus.WriteRequest.
//
// It is strict: every label set must be non-empty, sorted by name, without
// duplicate or empty names or empty values, and every string must be valid
// UTF-8 (any UTF-8 is allowed in names). Histograms must not mix integer and
// float fields and their spans must match their buckets. Unknown fields are
// skipped. An error says what was wrong and where, and wraps ErrInvalid, or
// ErrTooLarge when lim is exceeded.
//
// The Request does not alias buf. Start timestamps, which RW1 cannot carry,
// are 0.
func DecodeV1(buf []byte, lim Limits) (*Request, error) {
	lim = lim.resolve()
	inv := count(buf, layoutV1)
	if err := inv.check(lim); err != nil {
		return nil, err
	}
	d := newDecoder(lim, inv)
	req := &Request{}
	if inv.series > 0 {
		req.Series = make([]Series, 0, inv.series)
	}
	if inv.metadata > 0 {
		req.FamilyMetadata = make([]FamilyMetadata, 0, inv.metadata)
	}
	for b := buf; len(b) > 0; {
		f, n, err := nextField(b)
		if err != nil {
			return nil, errAtIndex("byte", len(buf)-len(b), err)
		}
		b = b[n:]
		switch f.num {
		case v1Timeseries:
			i := len(req.Series)
			if err := f.want(protowire.BytesType, "timeseries"); err != nil {
				return nil, errAtIndex("series", i, err)
			}
			req.Series = append(req.Series, Series{})
			if err := d.seriesV1(&req.Series[i], f.b); err != nil {
				return nil, errAtIndex("series", i, err)
			}
		case v1Metadata:
			i := len(req.FamilyMetadata)
			if err := f.want(protowire.BytesType, "metadata"); err != nil {
				return nil, errAtIndex("metadata", i, err)
			}
			m, err := decodeMetadataV1(f.b)
			if err != nil {
				return nil, errAtIndex("metadata", i, err)
			}
			req.FamilyMetadata = append(req.FamilyMetadata, m)
		}
	}
	return req, nil
}

func (d *decoder) seriesV1(s *Series, b []byte) error {
	mark := d.mark()
	d.sb.Reset()
	if err := d.readSeriesV1(b, mark, d); err != nil {
		return err
	}
	s.Labels = d.sb.Labels()
	d.fill(s, mark)
	return nil
}

// labelSinkV1 takes the labels of an RW1 series as readSeriesV1 reads
// them: DecodeV1 builds a label set, the Transcoder interns references.
type labelSinkV1 interface {
	// addLabel reads the Label message f, the series' i-th label, and
	// returns its name and value, or why it is not valid UTF-8.
	addLabel(f field, i int) (name, value string, err error)
}

// addLabel adds the label to the decoder's label set builder.
func (d *decoder) addLabel(f field, _ int) (name, value string, err error) {
	if name, value, err = decodeLabelV1(f); err == nil {
		d.sb.Add(name, value)
	}
	return name, value, err
}

// readSeriesV1 reads the fields of an RW1 TimeSeries: labels go to sink,
// which has them checked for order, duplicates, emptiness and the label
// limit; samples, histograms and exemplars go to the arenas from mark.
func (d *decoder) readSeriesV1(b []byte, mark arenaMark, sink labelSinkV1) error {
	nLabels := 0
	prev := ""
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if f.num != v1Labels {
			if err := d.dataFieldV1(f, mark); err != nil {
				return err
			}
			continue
		}
		if nLabels == d.lim.MaxLabels {
			return tooLargef("more than %d labels", d.lim.MaxLabels)
		}
		name, value, err := sink.addLabel(f, nLabels)
		if err == nil {
			err = checkLabel(prev, name, value)
		}
		if err != nil {
			return errAtIndex("label", nLabels, err)
		}
		prev = name
		nLabels++
	}
	if nLabels == 0 {
		return invalidf("no labels")
	}
	return nil
}

// dataFieldV1 reads a field of an RW1 TimeSeries other than its labels:
// a sample, exemplar or histogram goes to the arenas, where the series'
// data starts at mark; unknown fields are skipped.
func (d *decoder) dataFieldV1(f field, mark arenaMark) error {
	switch f.num {
	case v1Samples:
		if err := d.wantData(f, "samples"); err != nil {
			return err
		}
		smp, err := decodeSample(f.b, false)
		if err != nil {
			return errAtIndex("sample", len(d.samples)-mark.samples, err)
		}
		d.samples = append(d.samples, smp)
	case v1Exemplars:
		i := len(d.exemplars) - mark.exemplars
		if err := d.wantData(f, "exemplars"); err != nil {
			return err
		}
		e, err := d.exemplarV1(f.b)
		if err != nil {
			return errAtIndex("exemplar", i, err)
		}
		d.exemplars = append(d.exemplars, e)
	case v1Histograms:
		i := len(d.histograms) - mark.histograms
		if err := d.wantData(f, "histograms"); err != nil {
			return err
		}
		h, err := decodeHistogram(f.b, false)
		if err != nil {
			return errAtIndex("histogram", i, err)
		}
		d.histograms = append(d.histograms, h)
	}
	return nil
}

// wantData checks the type of a sample, exemplar or histogram field,
// then that the arenas have room for one more (maxData). In that order: a
// field of the wrong type is not one a counting pass counts.
func (d *decoder) wantData(f field, name string) error {
	if err := f.want(protowire.BytesType, name); err != nil {
		return err
	}
	if len(d.samples)+len(d.histograms)+len(d.exemplars) >= d.maxData {
		return errOverLimit
	}
	return nil
}

// decodeLabelV1 decodes a Label message. The strings are for a
// labels.ScratchBuilder only (see builderString).
func decodeLabelV1(f field) (name, value string, err error) {
	nb, vb, err := labelBytesV1(f)
	if err != nil {
		return "", "", err
	}
	if !utf8.Valid(nb) {
		return "", "", invalidf("label name %s is not valid UTF-8", quote(nb))
	}
	if !utf8.Valid(vb) {
		return "", "", invalidf("label %s: value %s is not valid UTF-8", quote(nb), quote(vb))
	}
	return builderString(nb), builderString(vb), nil
}

// labelBytesV1 returns the name and value of the Label message f, as
// bytes of the request, unchecked.
func labelBytesV1(f field) (name, value []byte, err error) {
	if err := f.want(protowire.BytesType, "labels"); err != nil {
		return nil, nil, err
	}
	nb, vb, ok := splitLabel(f.b)
	for b := f.b; !ok && len(b) > 0; {
		g, n, err := nextField(b)
		if err != nil {
			return nil, nil, err
		}
		b = b[n:]
		switch g.num {
		case labelName:
			err = g.want(protowire.BytesType, "name")
			nb = g.b
		case labelValue:
			err = g.want(protowire.BytesType, "value")
			vb = g.b
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return nb, vb, nil
}

// splitLabel reads a Label message in the form every encoder writes: name
// then value, each with a one-byte length and nothing else. It reports
// false for any other form, which the general loop then reads.
func splitLabel(b []byte) (name, value []byte, ok bool) {
	if len(b) < 4 || b[0] != labelName<<3|byte(protowire.BytesType) || b[1] >= 0x80 {
		return nil, nil, false
	}
	i := 2 + int(b[1])
	if i+2 > len(b) || b[i] != labelValue<<3|byte(protowire.BytesType) || b[i+1] >= 0x80 || i+2+int(b[i+1]) != len(b) {
		return nil, nil, false
	}
	return b[2:i], b[i+2:], true
}

func (d *decoder) exemplarV1(b []byte) (Exemplar, error) {
	var e Exemplar
	d.exSB.Reset()
	nLabels := 0
	prev := ""
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return e, err
		}
		b = b[n:]
		switch f.num {
		case exemplarLabels:
			if nLabels == d.lim.MaxLabels {
				return e, tooLargef("more than %d labels", d.lim.MaxLabels)
			}
			name, value, err := decodeLabelV1(f)
			if err == nil {
				err = checkLabel(prev, name, value)
			}
			if err != nil {
				return e, errAtIndex("label", nLabels, err)
			}
			d.exSB.Add(name, value)
			prev = name
			nLabels++
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
	if nLabels > 0 {
		e.Labels = d.exSB.Labels()
	}
	return e, nil
}

func decodeMetadataV1(b []byte) (FamilyMetadata, error) {
	var m FamilyMetadata
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return m, err
		}
		b = b[n:]
		switch f.num {
		case v1MetaType:
			var t uint8
			t, err = f.enum("type", maxMetricType)
			m.Type = MetricType(t)
		case v1MetaFamily:
			m.MetricFamilyName, err = stringField(f, "metric_family_name")
		case v1MetaHelp:
			m.Help, err = stringField(f, "help")
		case v1MetaUnit:
			m.Unit, err = stringField(f, "unit")
		}
		if err != nil {
			return m, err
		}
	}
	return m, nil
}

// stringField returns a copy of the value of a string field, which must be
// valid UTF-8.
func stringField(f field, name string) (string, error) {
	if err := f.want(protowire.BytesType, name); err != nil {
		return "", err
	}
	if !utf8.Valid(f.b) {
		return "", invalidf("%s %s is not valid UTF-8", name, quote(f.b))
	}
	return string(f.b), nil
}
