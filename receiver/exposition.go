package receiver

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/ferrymetrics/ferry/remote"
)

// ExpositionOptions say how ParseExposition turns an exposition into series.
type ExpositionOptions struct {
	// Timestamp stamps the samples that carry none, in milliseconds. When
	// it is 0 such samples are an error: a backfill needs them all.
	Timestamp int64
	// Labels are added to every series: a push's job, instance and other
	// grouping labels. A series that has one of them with another value
	// is refused, as the Pushgateway does.
	Labels labels.Labels
	// Limits bound the series, labels and samples, as for remote write.
	Limits remote.Limits
}

// metricTypes maps the exposition formats' type names to remote's.
var metricTypes = map[model.MetricType]remote.MetricType{
	model.MetricTypeCounter:        remote.MetricTypeCounter,
	model.MetricTypeGauge:          remote.MetricTypeGauge,
	model.MetricTypeHistogram:      remote.MetricTypeHistogram,
	model.MetricTypeGaugeHistogram: remote.MetricTypeGaugeHistogram,
	model.MetricTypeSummary:        remote.MetricTypeSummary,
	model.MetricTypeInfo:           remote.MetricTypeInfo,
	model.MetricTypeStateset:       remote.MetricTypeStateset,
}

// ParseExposition parses a Prometheus text (0.0.4 or 1.0.0), OpenMetrics
// or protobuf exposition, as contentType names it, into a request: one
// series per label set, its samples in timestamp order, with the metadata
// of its family, its exemplars and, where OpenMetrics `_created` lines or
// protobuf give them, start timestamps. FamilyMetadata lists the families
// as RW1 sends them. Errors wrap remote.ErrUnsupported
// for a content type no parser reads, remote.ErrTooLarge beyond the limits,
// and remote.ErrInvalid otherwise.
func ParseExposition(body []byte, contentType string, opts ExpositionOptions) (*remote.Request, error) {
	if err := checkTokenLengths(body, contentType); err != nil {
		return nil, err
	}
	p, err := textparse.New(body, contentType, labels.NewSymbolTable(), textparse.ParserOptions{OpenMetricsSkipSTSeries: true})
	if p == nil {
		return nil, fmt.Errorf("%w: %v", remote.ErrUnsupported, err)
	}
	b := newExpositionBuilder(opts)
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: parse exposition: %v", remote.ErrInvalid, err)
		}
		if err := b.entry(p, et); err != nil {
			return nil, err
		}
	}
	return b.finish()
}

// maxTokenLen is the longest label name or value Prometheus' labels can
// hold; longer ones make it panic.
const maxTokenLen = 1<<24 - 1

// checkTokenLengths refuses an exposition in which a label name or value
// could be longer than maxTokenLen, before a parser builds one: in the
// text formats no line may be that long, in protobuf no message.
func checkTokenLengths(body []byte, contentType string) error {
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/vnd.google.protobuf" {
		for b := body; len(b) > 0; {
			n, k := binary.Uvarint(b)
			if k <= 0 || n > uint64(len(b)-k) {
				return nil // truncated: the parser says so
			}
			if n > maxTokenLen {
				return fmt.Errorf("%w: a metric family of %d bytes, limit %d", remote.ErrTooLarge, n, maxTokenLen)
			}
			b = b[k+int(n):]
		}
		return nil
	}
	for b := body; len(b) > 0; {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b)
		}
		if i > maxTokenLen {
			return fmt.Errorf("%w: a line of %d bytes, limit %d", remote.ErrTooLarge, i, maxTokenLen)
		}
		b = b[min(i+1, len(b)):]
	}
	return nil
}

// expositionBuilder collects the entries of an exposition into a request.
type expositionBuilder struct {
	opts   ExpositionOptions
	maxLbl int
	maxSmp int
	maxSer int

	families map[string]*remote.Metadata
	cur      string // the family the last TYPE, HELP or UNIT line named
	req      remote.Request
	index    map[uint64][]int // label hash -> indexes in req.Series
	points   int
	lset     labels.Labels
	lb       *labels.Builder
	ex       exemplar.Exemplar
}

// limit resolves a remote.Limits field as remote does: 0 is the default,
// negative is unlimited.
func limit(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return int(^uint(0) >> 1)
	}
	return v
}

func newExpositionBuilder(opts ExpositionOptions) *expositionBuilder {
	return &expositionBuilder{
		opts:     opts,
		maxLbl:   limit(opts.Limits.MaxLabels, remote.DefaultMaxLabels),
		maxSmp:   limit(opts.Limits.MaxSamples, remote.DefaultMaxSamples),
		maxSer:   limit(opts.Limits.MaxSeries, remote.DefaultMaxSeries),
		families: map[string]*remote.Metadata{}, index: map[uint64][]int{},
		lb: labels.NewBuilder(labels.EmptyLabels()),
	}
}

func (b *expositionBuilder) family(name []byte) *remote.Metadata {
	b.cur = string(name)
	m := b.families[b.cur]
	if m == nil {
		m = &remote.Metadata{}
		b.families[b.cur] = m
	}
	return m
}

func (b *expositionBuilder) entry(p textparse.Parser, et textparse.Entry) error {
	switch et {
	case textparse.EntryType:
		name, t := p.Type()
		b.family(name).Type = metricTypes[t]
	case textparse.EntryHelp:
		name, help := p.Help()
		b.family(name).Help = string(help)
	case textparse.EntryUnit:
		name, unit := p.Unit()
		b.family(name).Unit = string(unit)
	case textparse.EntrySeries:
		_, tp, v := p.Series()
		s, ts, err := b.point(p, tp)
		if err != nil {
			return err
		}
		s.Samples = append(s.Samples, remote.Sample{Value: v, Timestamp: ts, StartTimestamp: p.StartTimestamp()})
		return b.exemplars(p, s, ts)
	case textparse.EntryHistogram:
		_, tp, h, fh := p.Histogram()
		s, ts, err := b.point(p, tp)
		if err != nil {
			return err
		}
		hp := remote.Histogram{Timestamp: ts, StartTimestamp: p.StartTimestamp()}
		if h != nil {
			hp.H = h.Copy()
		} else if fh != nil {
			hp.FH = fh.Copy()
		}
		s.Histograms = append(s.Histograms, hp)
		return b.exemplars(p, s, ts)
	}
	return nil
}

// point finds or creates the series of the current entry and returns it
// with the entry's timestamp.
func (b *expositionBuilder) point(p textparse.Parser, tp *int64) (*remote.Series, int64, error) {
	p.Labels(&b.lset)
	if b.points++; b.points > b.maxSmp {
		return nil, 0, fmt.Errorf("%w: more than %d samples", remote.ErrTooLarge, b.maxSmp)
	}
	ts := b.opts.Timestamp
	if tp != nil {
		ts = *tp
	}
	if ts == 0 {
		return nil, 0, fmt.Errorf("%w: %s has no timestamp", remote.ErrInvalid, b.lset)
	}
	lset, err := b.withLabels(b.lset)
	if err != nil {
		return nil, 0, err
	}
	h := lset.Hash()
	for _, i := range b.index[h] {
		if labels.Equal(b.req.Series[i].Labels, lset) {
			return &b.req.Series[i], ts, nil
		}
	}
	if len(b.req.Series) == b.maxSer {
		return nil, 0, fmt.Errorf("%w: more than %d series", remote.ErrTooLarge, b.maxSer)
	}
	b.index[h] = append(b.index[h], len(b.req.Series))
	b.req.Series = append(b.req.Series, remote.Series{Labels: lset, Metadata: b.metadataOf(lset.Get(model.MetricNameLabel))})
	return &b.req.Series[len(b.req.Series)-1], ts, nil
}

// withLabels adds the grouping labels to a parsed label set, drops empty
// values (an empty value is an absent label in Prometheus) and checks the
// result.
func (b *expositionBuilder) withLabels(parsed labels.Labels) (labels.Labels, error) {
	b.lb.Reset(parsed)
	var err error
	b.opts.Labels.Range(func(l labels.Label) {
		if v := parsed.Get(l.Name); v != "" && v != l.Value && err == nil {
			err = fmt.Errorf("%w: %s has %s=%q, but the push is for %s=%q", remote.ErrInvalid, parsed, l.Name, v, l.Name, l.Value)
		}
		b.lb.Set(l.Name, l.Value)
	})
	if err != nil {
		return labels.EmptyLabels(), err
	}
	return b.checkLabels(b.lb.Labels(), "")
}

// checkLabels refuses what remote write cannot carry in a label set:
// duplicate names, invalid UTF-8, more labels than the limit. what names
// the set in errors when it is not a series' (an exemplar's).
func (b *expositionBuilder) checkLabels(lset labels.Labels, what string) (labels.Labels, error) {
	if what == "" {
		what = lset.Get(model.MetricNameLabel)
	}
	if n := lset.Len(); n > b.maxLbl {
		return labels.EmptyLabels(), fmt.Errorf("%w: %s has %d labels, limit %d", remote.ErrTooLarge, what, n, b.maxLbl)
	}
	if name, dup := lset.HasDuplicateLabelNames(); dup {
		return labels.EmptyLabels(), fmt.Errorf("%w: %s has label %q twice", remote.ErrInvalid, what, name)
	}
	err := lset.Validate(func(l labels.Label) error {
		if l.Name == "" {
			return fmt.Errorf("%w: %s has a label without a name", remote.ErrInvalid, what)
		}
		if !utf8.ValidString(l.Name) || !utf8.ValidString(l.Value) {
			return fmt.Errorf("%w: label %q of %s is not valid UTF-8", remote.ErrInvalid, l.Name, what)
		}
		return nil
	})
	return lset, err
}

// familySuffixOf reports whether a series name belongs to the family named
// fam: it is the name itself or the name with a text-format suffix.
func familySuffixOf(name, fam string) bool {
	if name == fam {
		return true
	}
	rest, ok := strings.CutPrefix(name, fam)
	return ok && slices.Contains(familySuffixes, rest)
}

// metadataOf returns the metadata of the family a new series belongs to:
// the family announced last if the name extends it, else a family of
// exactly that name.
func (b *expositionBuilder) metadataOf(name string) remote.Metadata {
	if m := b.families[b.cur]; m != nil && familySuffixOf(name, b.cur) {
		return *m
	}
	if m := b.families[name]; m != nil {
		return *m
	}
	return remote.Metadata{}
}

func (b *expositionBuilder) exemplars(p textparse.Parser, s *remote.Series, ts int64) error {
	for p.Exemplar(&b.ex) {
		// As for series, an empty value is an absent label.
		b.lb.Reset(b.ex.Labels)
		lset, err := b.checkLabels(b.lb.Labels(), "an exemplar of "+s.Labels.Get(model.MetricNameLabel))
		if err != nil {
			return err
		}
		e := remote.Exemplar{Labels: lset, Value: b.ex.Value, Timestamp: ts}
		if b.ex.HasTs {
			e.Timestamp = b.ex.Ts
		}
		if b.points++; b.points > b.maxSmp {
			return fmt.Errorf("%w: more than %d samples", remote.ErrTooLarge, b.maxSmp)
		}
		s.Exemplars = append(s.Exemplars, e)
		b.ex = exemplar.Exemplar{}
	}
	return nil
}

// finish puts every series' points in timestamp order and refuses what
// remote write cannot carry: two values of one series at one time, or
// floats and histograms in one series.
func (b *expositionBuilder) finish() (*remote.Request, error) {
	for i := range b.req.Series {
		s := &b.req.Series[i]
		if len(s.Samples) > 0 && len(s.Histograms) > 0 {
			return nil, fmt.Errorf("%w: %s has both float samples and native histograms", remote.ErrInvalid, s.Labels)
		}
		slices.SortStableFunc(s.Samples, func(x, y remote.Sample) int { return cmp.Compare(x.Timestamp, y.Timestamp) })
		slices.SortStableFunc(s.Histograms, func(x, y remote.Histogram) int { return cmp.Compare(x.Timestamp, y.Timestamp) })
		for j := 1; j < len(s.Samples); j++ {
			if s.Samples[j].Timestamp == s.Samples[j-1].Timestamp {
				return nil, fmt.Errorf("%w: %s has two samples at timestamp %d", remote.ErrInvalid, s.Labels, s.Samples[j].Timestamp)
			}
		}
		for j, h := range s.Histograms {
			if j > 0 && h.Timestamp == s.Histograms[j-1].Timestamp {
				return nil, fmt.Errorf("%w: %s has two histograms at timestamp %d", remote.ErrInvalid, s.Labels, h.Timestamp)
			}
			if err := validHistogram(h); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", remote.ErrInvalid, s.Labels, err)
			}
		}
	}
	for name, m := range b.families {
		if !m.IsZero() {
			b.req.FamilyMetadata = append(b.req.FamilyMetadata, remote.FamilyMetadata{MetricFamilyName: name, Metadata: *m})
		}
	}
	slices.SortFunc(b.req.FamilyMetadata, func(x, y remote.FamilyMetadata) int { return strings.Compare(x.MetricFamilyName, y.MetricFamilyName) })
	return &b.req, nil
}

func validHistogram(h remote.Histogram) error {
	if h.H != nil {
		return h.H.Validate()
	}
	if h.FH != nil {
		return h.FH.Validate()
	}
	return errors.New("histogram without value")
}
