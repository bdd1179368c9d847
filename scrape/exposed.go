package scrape

import (
	"bytes"
	"errors"
	"io"
	"mime"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// formatOf tells which parser reads a body of the given content type, as
// textparse.New decides (falling back to the configured protocol).
func formatOf(contentType string, cfg *promconfig.ScrapeConfig) uint8 {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || (mt != "application/openmetrics-text" && mt != "application/vnd.google.protobuf" && mt != "text/plain") {
		if cfg.ScrapeFallbackProtocol != "" {
			mt = cfg.ScrapeFallbackProtocol.HeaderMediaType()
		}
	}
	switch mt {
	case "application/openmetrics-text":
		return formatOpenMetrics
	case "application/vnd.google.protobuf":
		return formatProto
	}
	return formatText
}

var errNoSeries = errors.New("no series in exposed text")

// exposedLabels rebuilds the labels a parser reported for an exposed series
// text: the text formats' series syntax, or the protobuf parser's
// name-then-pairs form separated by 0xff (a byte UTF-8 never contains).
func exposedLabels(format uint8, text []byte, st *labels.SymbolTable) (labels.Labels, error) {
	if format == formatProto {
		parts := bytes.Split(text, []byte{model.SeparatorByte})
		if len(parts)%2 == 0 {
			return labels.EmptyLabels(), errNoSeries
		}
		b := labels.NewScratchBuilder(len(parts)/2 + 1)
		b.Add(model.MetricNameLabel, string(parts[0]))
		for i := 1; i+1 < len(parts); i += 2 {
			b.Add(string(parts[i]), string(parts[i+1]))
		}
		b.Sort()
		return b.Labels(), nil
	}
	body := make([]byte, 0, len(text)+12)
	body = append(append(body, text...), " 0\n"...)
	var p textparse.Parser
	if format == formatOpenMetrics {
		p = textparse.NewOpenMetricsParser(append(body, "# EOF\n"...), st)
	} else {
		p = textparse.NewPromParser(body, st, false)
	}
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			return labels.EmptyLabels(), errNoSeries
		}
		if err != nil {
			return labels.EmptyLabels(), err
		}
		if et == textparse.EntrySeries || et == textparse.EntryHistogram {
			var l labels.Labels
			p.Labels(&l)
			return l, nil
		}
	}
}

// finalLabels returns entry i's labels as appended: exposed labels rebuilt
// from its text (or pinned when the text cannot be rebuilt), with the
// target's labels and metric relabeling applied again. Relabeling is
// deterministic, so the result is what the entry got when it was created.
func (l *loop) finalLabels(i int32) labels.Labels {
	exposed, ok := l.cache.pinned[i]
	if !ok {
		e := &l.cache.entries[i]
		var err error
		if exposed, err = exposedLabels(e.format, l.cache.key(i), l.st); err != nil {
			// add verified the text rebuilds; this cannot happen.
			l.logger.Error("Cannot rebuild the labels of a cached series", "series", string(l.cache.key(i)), "err", err)
		}
	}
	return mutateSampleLabels(l.lb, exposed, l.target, l.cfg.HonorLabels, l.cfg.MetricRelabelConfigs)
}
