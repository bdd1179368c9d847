package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// Appender is where scrapes go: the log.
type Appender interface {
	Append(wal.Entry) (wal.Pos, error)
	ActiveSegment() uint64
}

// timestampTolerance: a scrape that starts this close to its scheduled time
// is stamped with the scheduled time, so timestamps stay exactly one interval
// apart and downstream compression stays good.
const timestampTolerance = 2 * time.Millisecond

var staleNaN = math.Float64frombits(value.StaleNaN)

// scraped is one sample of the current scrape: a float value, or a native
// histogram when h or fh is set.
type scraped struct {
	e        int32 // the series' entry in the cache (the owner, for aliases)
	t        int64
	v        float64
	st       int64 // start timestamp, 0 if unknown
	explicit bool  // t was exposed, not the scrape time
	h        *histogram.Histogram
	fh       *histogram.FloatHistogram
	// exemplars of the sample: l.exemplars[exFrom:exTo]
	exFrom, exTo int32
	// final holds the series' labels when this scrape created its entry:
	// its definition in the log then needs no rebuilding from the text.
	final labels.Labels
}

// loop scrapes one target on its interval and appends every scrape to the
// log as one record of the target's stream.
type loop struct {
	target  *Target
	cfg     *promconfig.ScrapeConfig
	fetcher fetcher
	app     Appender
	logger  *slog.Logger
	m       *metrics
	seed    uint64
	limits  func() error // non-nil error fails every scrape (target_limit)
	now     func() time.Time

	cache *seriesCache
	enc   *record.StreamEncoder
	st    *labels.SymbolTable
	// buf and samples are borrowed from pools for the length of a scrape:
	// only scrapes in progress hold a body and a sample list, not every
	// target between its scrapes.
	buf       *bytes.Buffer
	samples   []scraped
	exemplars []exemplar.Exemplar
	created   []int32
	lb        *labels.Builder // relabeling's, reused for every new series
	stale     []int32
	report    reportSeries
	lastTS    int64
	// noKnownText turns parseKnownText off: the differential tests
	// compare the loop with and without it.
	noKnownText bool

	cancel context.CancelFunc
	done   chan struct{}
}

func newLoop(t *Target, cfg *promconfig.ScrapeConfig, f fetcher, app Appender, streamID, seed uint64, logger *slog.Logger, m *metrics, limits func() error) *loop {
	return &loop{
		target: t, cfg: cfg, fetcher: f, app: app, seed: seed,
		logger: logger.With("target", t.url), m: m, limits: limits,
		cache:  newSeriesCache(),
		enc:    record.NewStreamEncoder(streamID),
		st:     labels.NewSymbolTable(),
		lb:     labels.NewBuilder(labels.EmptyLabels()),
		report: newReportSeries(t.Labels(), cfg.ExtraScrapeMetricsEnabled()),
		done:   make(chan struct{}),
		now:    time.Now,
	}
}

// run scrapes until ctx ends.
func (l *loop) run(ctx context.Context) {
	defer close(l.done)
	interval := l.target.interval
	select {
	case <-time.After(l.target.offset(interval, l.seed, time.Now())):
	case <-ctx.Done():
		return
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	scheduled := time.Now()
	var last time.Time
	// Scrapes run on the shared workers (see workers.go); this goroutine
	// only keeps time.
	scrape := func() { l.scrapeAndAppend(ctx, scheduled) }
	done := make(chan struct{}, 1)
	for {
		if !last.IsZero() {
			l.m.intervalLength.WithLabelValues(interval.String()).Observe(time.Since(last).Seconds())
		}
		last = time.Now()
		scrapeWorkers.do(scrape, done)
		select {
		case <-ctx.Done():
			return
		case tick := <-ticker.C:
			scheduled = tick
		}
	}
}

// scrapeAndAppend performs one scrape and appends it to the log.
func (l *loop) scrapeAndAppend(ctx context.Context, scheduled time.Time) {
	wallStart := time.Now()
	start := l.now()
	ts := start
	if d := start.Sub(scheduled); d > -timestampTolerance && d < timestampTolerance {
		ts = scheduled
	}
	tsMs := ts.UnixMilli()

	l.cache.begin()
	l.borrow()
	defer l.giveBack()
	var res parseResult
	err := l.limits()
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, l.target.timeout)
		l.buf.Reset()
		var contentType string
		contentType, err = l.fetcher.fetch(sctx, l.buf)
		cancel()
		if err == nil {
			res, err = l.parse(l.buf.Bytes(), contentType, tsMs)
		}
	}
	if ctx.Err() != nil && err != nil {
		return // shutting down: this scrape did not happen
	}
	if err != nil {
		l.discard()
		res.added = 0
	}
	dur := time.Since(wallStart)
	if err == nil {
		l.cache.endScrape()
	}
	l.stale = l.cache.stale(l.stale[:0])
	up := 1.0
	if err != nil {
		up = 0
		l.logger.Debug("Scrape failed", "err", err)
	}
	bodySize := float64(l.buf.Len())
	switch {
	case errors.Is(err, errBodySizeLimit):
		bodySize = -1
	case err != nil:
		bodySize = 0
	}
	l.report.set(up, dur.Seconds(), float64(res.scraped), float64(len(l.samples)), float64(res.added),
		l.target.timeout.Seconds(), float64(l.cfg.SampleLimit), bodySize)
	if _, aerr := l.commit(tsMs); aerr != nil {
		l.logger.Error("Could not append scrape to the log", "err", aerr)
	}
	l.cache.forget(l.stale)
	l.cache.close()
	l.lastTS = tsMs
	l.target.report(start, dur, len(l.samples), err)
}

// discard forgets the current scrape's samples after a failure: the scrape
// counts as empty, so every series of the previous one goes stale.
func (l *loop) discard() {
	for _, e := range l.created {
		l.cache.remove(e)
	}
	l.samples, l.created = l.samples[:0], l.created[:0]
	l.cache.begin()
}

var (
	bodyPool    = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	samplesPool = sync.Pool{New: func() any { return new([]scraped) }}
)

// borrow takes a body buffer and a sample list from the pools.
func (l *loop) borrow() {
	l.buf = bodyPool.Get().(*bytes.Buffer)
	l.buf.Reset()
	sp := samplesPool.Get().(*[]scraped)
	l.samples = (*sp)[:0]
	l.created, l.exemplars = l.created[:0], l.exemplars[:0]
}

// giveBack returns the scrape's buffers to the pools.
func (l *loop) giveBack() {
	bodyPool.Put(l.buf)
	l.buf = nil
	clear(l.samples) // drop histogram pointers
	sp := l.samples[:0]
	samplesPool.Put(&sp)
	l.samples = nil
	if cap(l.exemplars) > 256 {
		l.exemplars = nil
	}
	// A steady-state scrape creates no series: the list the target's
	// first scrape grew (4 bytes a series) is not kept for it.
	if cap(l.created) > 256 {
		l.created = nil
	}
}

type parseResult struct {
	scraped int // samples in the exposition
	added   int // series not seen before
}

// parse reads an exposition into l.samples, relabeling only series that are
// not in the cache.
func (l *loop) parse(body []byte, contentType string, ts int64) (parseResult, error) {
	var res parseResult
	opts := textparse.ParserOptions{
		IgnoreNativeHistograms:                  !l.cfg.ScrapeNativeHistogramsEnabled(),
		ConvertClassicHistogramsToNHCB:          l.cfg.ConvertClassicHistogramsToNHCBEnabled(),
		KeepClassicOnClassicAndNativeHistograms: l.cfg.AlwaysScrapeClassicHistogramsEnabled(),
	}
	if l.cfg.ScrapeFallbackProtocol != "" {
		opts.FallbackContentType = l.cfg.ScrapeFallbackProtocol.HeaderMediaType()
	}
	p, err := textparse.New(body, contentType, l.st, opts)
	if p == nil {
		return res, fmt.Errorf("cannot parse response: %w", err)
	}
	if err != nil {
		l.logger.Debug("Using fallback scrape protocol", "err", err)
	}
	format := formatOf(contentType, l.cfg)
	var (
		cur = int32(-1) // family announced last
		c   = l.cache
	)
	// A text exposition is read line by line by parseKnownText as long as
	// its lines are series the previous scrape exposed at the same
	// position; the parser takes over from the first line that is not.
	if _, ok := p.(*textparse.PromParser); ok && !l.noKnownText {
		if p, err = l.parseKnownText(body, ts, &cur, &res); err != nil {
			return res, err
		}
		if p == nil {
			return res, l.checkSampleLimit()
		}
	}
	var (
		lset labels.Labels
		// ex escapes to the heap (the parser is an interface): one per
		// parse, not one per sample.
		ex exemplar.Exemplar
	)
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, fmt.Errorf("parse exposition: %w", err)
		}
		switch et {
		case textparse.EntryType:
			name, t := p.Type()
			cur = c.family(name)
			c.fams.setType(cur, metricType(t))
		case textparse.EntryHelp:
			name, help := p.Help()
			cur = c.setHelp(name, help)
		case textparse.EntryUnit:
			name, unit := p.Unit()
			cur = c.family(name)
			c.fams.setUnit(cur, unit)
		case textparse.EntrySeries, textparse.EntryHistogram:
			var (
				series []byte
				tp     *int64
				v      float64
				h      *histogram.Histogram
				fh     *histogram.FloatHistogram
			)
			if et == textparse.EntrySeries {
				series, tp, v = p.Series()
			} else {
				series, tp, h, fh = p.Histogram()
			}
			res.scraped++
			i, ok := c.lookup(series)
			var created labels.Labels
			if !ok {
				p.Labels(&lset)
				if err := l.checkLabelLimits(lset); err != nil {
					return res, err
				}
				final := mutateSampleLabels(l.lb, lset, l.target, l.cfg.HonorLabels, l.cfg.MetricRelabelConfigs)
				if !final.IsEmpty() {
					if err := l.checkLabelLimits(final); err != nil {
						return res, err
					}
				}
				i = c.add(series, format, final, familyOf(c, cur, lset.Get(model.MetricNameLabel)), l.finalLabels)
				l.created = append(l.created, i)
				// The entry keeps no labels: make sure its text rebuilds them.
				if rebuilt, err := exposedLabels(format, series, l.st); err != nil || !labels.Equal(rebuilt, lset) {
					c.pinned[i] = lset.Copy()
				}
				if !final.IsEmpty() && !c.isAlias(i) {
					res.added++
				}
				created = final
			}
			i, ok = l.admit(i)
			if !ok {
				continue
			}
			s := scraped{e: i, t: ts, v: v, st: p.StartTimestamp(), final: created}
			// The parser may reuse its histograms; the sample outlives
			// the parse.
			if h != nil {
				s.h = h.Copy()
			}
			if fh != nil {
				s.fh = fh.Copy()
			}
			s.exFrom = int32(len(l.exemplars))
			for {
				ex = exemplar.Exemplar{}
				if !p.Exemplar(&ex) {
					break
				}
				if ex.Labels.Len() > 0 && utf8RuneCount(ex.Labels) <= exemplar.ExemplarMaxLabelSetLength {
					l.exemplars = append(l.exemplars, ex)
				} else {
					l.m.badExemplars.Inc()
				}
			}
			s.exTo = int32(len(l.exemplars))
			l.take(s, tp)
		}
	}
	return res, l.checkSampleLimit()
}

// admit records that the current scrape exposed entry i and returns the
// entry that owns its series, or false if the sample is not kept: the
// series is dropped by relabeling, or the scrape already had it.
func (l *loop) admit(i int32) (int32, bool) {
	c := l.cache
	c.seen(i)
	if c.entries[i].dropped() {
		c.entries[i].lastIter = c.iter
		return 0, false
	}
	if c.isAlias(i) {
		c.entries[i].lastIter = c.iter // keeps the alias from being evicted
		i = c.resolve(i)
	}
	e := &c.entries[i]
	if e.lastIter == c.iter {
		l.m.duplicates.Inc()
		return 0, false
	}
	e.lastIter = c.iter
	return i, true
}

// take adds an admitted sample to the scrape; tp is the timestamp the
// exposition gave it, if any.
func (l *loop) take(s scraped, tp *int64) {
	e := &l.cache.entries[s.e]
	if tp != nil && l.cfg.HonorTimestamps {
		s.t, s.explicit = *tp, true
	}
	if s.explicit && !l.cfg.TrackTimestampsStaleness {
		e.flags |= entryExplicit
	} else {
		e.flags &^= entryExplicit
	}
	l.samples = append(l.samples, s)
	l.cache.cur.add(s.e)
}

func (l *loop) checkSampleLimit() error {
	if lim := int(l.cfg.SampleLimit); lim > 0 && len(l.samples) > lim {
		l.m.exceededSampleLimit.Inc()
		return fmt.Errorf("sample_limit exceeded: %d samples, limit %d", len(l.samples), lim)
	}
	return nil
}

// utf8RuneCount counts the runes of an exemplar's label names and values,
// which OpenMetrics limits to 128 together.
func utf8RuneCount(ls labels.Labels) int {
	n := 0
	ls.Range(func(l labels.Label) { n += utf8.RuneCountInString(l.Name) + utf8.RuneCountInString(l.Value) })
	return n
}

// familyOf finds the family a new series belongs to: the family whose
// metadata was announced last, if the series' name extends its name (as
// `_total`, `_bucket`, `_sum` do), else a family of exactly that name.
func familyOf(c *seriesCache, cur int32, name string) int32 {
	if cur >= 0 && strings.HasPrefix(name, c.fams.at(cur).name) {
		return cur
	}
	if i, ok := c.fams.lookup(name); ok {
		return i
	}
	return -1
}

func (l *loop) checkLabelLimits(lset labels.Labels) error {
	cfg := l.cfg
	if cfg.LabelLimit > 0 && lset.Len() > int(cfg.LabelLimit) {
		return fmt.Errorf("label_limit exceeded: %d labels, limit %d", lset.Len(), cfg.LabelLimit)
	}
	if cfg.LabelNameLengthLimit == 0 && cfg.LabelValueLengthLimit == 0 {
		return nil
	}
	return lset.Validate(func(lb labels.Label) error {
		if n := cfg.LabelNameLengthLimit; n > 0 && len(lb.Name) > int(n) {
			return fmt.Errorf("label_name_length_limit exceeded: label %q is %d bytes, limit %d", lb.Name, len(lb.Name), n)
		}
		if n := cfg.LabelValueLengthLimit; n > 0 && len(lb.Value) > int(n) {
			return fmt.Errorf("label_value_length_limit exceeded: value of %q is %d bytes, limit %d", lb.Name, len(lb.Value), n)
		}
		return nil
	})
}

// mutateSampleLabels attaches the target's labels to a scraped series and
// applies metric relabeling. With honor labels the scraped values win;
// otherwise the target's win and the scraped ones are kept as exported_<name>.
func mutateSampleLabels(lb *labels.Builder, lset labels.Labels, t *Target, honor bool, rc []*relabel.Config) labels.Labels {
	lb.Reset(lset)
	var conflicts []labels.Label
	t.labels.Range(func(l labels.Label) {
		if strings.HasPrefix(l.Name, model.ReservedLabelPrefix) {
			return
		}
		exposed := lset.Get(l.Name)
		if honor {
			if exposed == "" {
				lb.Set(l.Name, l.Value)
			}
			return
		}
		if exposed != "" {
			conflicts = append(conflicts, labels.Label{Name: l.Name, Value: exposed})
		}
		lb.Set(l.Name, l.Value)
	})
	// Shorter names first, so exported_exported_x cannot shadow exported_x.
	for i := 1; i < len(conflicts); i++ {
		for j := i; j > 0 && len(conflicts[j].Name) < len(conflicts[j-1].Name); j-- {
			conflicts[j], conflicts[j-1] = conflicts[j-1], conflicts[j]
		}
	}
	for _, c := range conflicts {
		name := c.Name
		for {
			name = model.ExportedLabelPrefix + name
			if lb.Get(name) == "" {
				lb.Set(name, c.Value)
				break
			}
		}
	}
	if !relabel.ProcessBuilder(lb, rc...) {
		return labels.EmptyLabels()
	}
	return lb.Labels()
}

// commit encodes the current scrape, its staleness markers and its report
// series as one record and appends it.
func (l *loop) commit(ts int64) (uint32, error) {
	seg := l.app.ActiveSegment()
	for attempt := 0; ; attempt++ {
		l.enc.Begin(ts, seg)
		for i := range l.samples {
			s := &l.samples[i]
			ref := l.ref(s.e, s.final)
			switch {
			case s.h != nil || s.fh != nil:
				l.enc.AddHistogram(ref, s.t, s.h, s.fh, s.st)
			case s.explicit:
				l.enc.AddAt(ref, s.t, s.v)
			default:
				l.enc.Add(ref, s.v)
			}
			if s.st != 0 && s.h == nil && s.fh == nil {
				l.enc.SetStart(s.st)
			}
			for _, ex := range l.exemplars[s.exFrom:s.exTo] {
				l.enc.AddExemplar(ref, ex)
			}
		}
		for _, e := range l.stale {
			l.enc.Add(l.ref(e, labels.EmptyLabels()), staleNaN)
		}
		l.report.encode(l.enc)
		data, n := l.enc.Finish()
		_, err := l.app.Append(wal.Entry{Kind: record.KindStream, Count: n, Data: data, Segment: l.enc.Segment()})
		l.enc.Done(err == nil)
		if errors.Is(err, wal.ErrSegmentChanged) && attempt < 3 {
			seg = l.app.ActiveSegment()
			continue
		}
		return n, err
	}
}

// ref returns the series' reference in the stream, defining it if needed
// with its final labels: those given (a series this scrape created), else
// rebuilt from its exposed text (a keyframe).
func (l *loop) ref(i int32, final labels.Labels) record.Ref {
	e := &l.cache.entries[i]
	if !l.enc.Valid(e.ref) {
		var meta remote.Metadata
		var family string
		if e.fam >= 0 {
			f := l.cache.fams.at(e.fam)
			meta, family = f.meta, f.name
		}
		if final.IsEmpty() {
			final = l.finalLabels(i)
		}
		ref := l.enc.Define(final, family, meta)
		l.cache.entries[i].ref = ref
		return ref
	}
	return e.ref
}

// stop ends the loop. With staleness, once the target's series would next
// have been scraped twice more, it marks all of them stale; this is what a
// target that disappeared from service discovery gets.
func (l *loop) stop(ctx context.Context, staleness bool) {
	l.cancel()
	<-l.done
	if !staleness || l.lastTS == 0 {
		return
	}
	wait := time.Until(time.UnixMilli(l.lastTS).Add(2*l.target.interval + l.target.interval/10))
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return
	}
	l.cache.begin()
	defer l.cache.close()
	l.samples = nil
	l.stale = l.cache.stale(l.stale[:0])
	if len(l.stale) == 0 {
		return
	}
	// Report series go stale too: the target is gone.
	l.report.markStale()
	if _, err := l.commit(time.Now().UnixMilli()); err != nil {
		l.logger.Error("Could not append staleness markers of a removed target", "err", err)
	}
}
