package scrape

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
)

// The report series every scrape adds, with the target's labels.
var reportDefs = [...]struct {
	name string
	meta remote.Metadata
}{
	{"up", remote.Metadata{Type: remote.MetricTypeGauge, Help: "1 if the last scrape of the target succeeded, 0 if it failed."}},
	{"scrape_duration_seconds", remote.Metadata{Type: remote.MetricTypeGauge, Help: "How long the scrape of the target took.", Unit: "seconds"}},
	{"scrape_samples_scraped", remote.Metadata{Type: remote.MetricTypeGauge, Help: "Samples the target exposed."}},
	{"scrape_samples_post_metric_relabeling", remote.Metadata{Type: remote.MetricTypeGauge, Help: "Samples left after metric relabeling."}},
	{"scrape_series_added", remote.Metadata{Type: remote.MetricTypeGauge, Help: "Series the scrape exposed that the previous ones did not."}},
	// With extra_scrape_metrics:
	{"scrape_timeout_seconds", remote.Metadata{Type: remote.MetricTypeGauge, Help: "The configured scrape timeout.", Unit: "seconds"}},
	{"scrape_sample_limit", remote.Metadata{Type: remote.MetricTypeGauge, Help: "The configured sample limit; 0 means none."}},
	{"scrape_body_size_bytes", remote.Metadata{Type: remote.MetricTypeGauge, Help: "Uncompressed size of the last response if the scrape succeeded; -1 if it exceeded body_size_limit, 0 for other failures.", Unit: "bytes"}},
}

// baseReportSeries is how many report series every scrape has; the rest
// come with extra_scrape_metrics.
const baseReportSeries = 5

// reportSeries are a loop's report series and their values for the current
// scrape.
type reportSeries struct {
	n      int // series in use: baseReportSeries, or all with extra_scrape_metrics
	lsets  [len(reportDefs)]labels.Labels
	refs   [len(reportDefs)]record.Ref
	values [len(reportDefs)]float64
}

func newReportSeries(target labels.Labels, extra bool) reportSeries {
	r := reportSeries{n: baseReportSeries}
	if extra {
		r.n = len(reportDefs)
	}
	b := labels.NewBuilder(target)
	for i, d := range reportDefs[:r.n] {
		b.Set(model.MetricNameLabel, d.name)
		r.lsets[i] = b.Labels()
	}
	return r
}

// set sets the values in reportDefs order; values beyond the series in use
// are ignored.
func (r *reportSeries) set(vals ...float64) { copy(r.values[:r.n], vals) }

func (r *reportSeries) markStale() {
	for i := range r.values {
		r.values[i] = staleNaN
	}
}

func (r *reportSeries) encode(enc *record.StreamEncoder) {
	for i := range r.lsets[:r.n] {
		if !enc.Valid(r.refs[i]) {
			r.refs[i] = enc.Define(r.lsets[i], reportDefs[i].name, reportDefs[i].meta)
		}
		enc.Add(r.refs[i], r.values[i])
	}
}
