package sender

import (
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/ferrymetrics/ferry/record"
)

// newTransform returns the per-series rewrite a destination applies: first
// the external labels (a label the series already has wins), then write
// relabeling. It runs once per series definition in the log.
func newTransform(external labels.Labels, rules []*relabel.Config) record.Transform {
	if external.IsEmpty() && len(rules) == 0 {
		return nil
	}
	return func(lset labels.Labels) (labels.Labels, bool) {
		b := labels.NewBuilder(lset)
		external.Range(func(l labels.Label) {
			if b.Get(l.Name) == "" {
				b.Set(l.Name, l.Value)
			}
		})
		if !relabel.ProcessBuilder(b, rules...) {
			return labels.EmptyLabels(), false
		}
		return b.Labels(), true
	}
}
