package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/ferrymetrics/ferry/remote"
)

// perSecond formats a rate; "-" until one can be measured.
func perSecond(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	switch {
	case v == 0:
		return "0/s"
	case v < 10:
		return fmt.Sprintf("%.2f/s", v)
	default:
		return fmt.Sprintf("%.0f/s", v)
	}
}

// seconds formats a latency given in seconds; "-" when there is none.
func seconds(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	d := time.Duration(v * float64(time.Second))
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

// metricTypeNames are the names of remote.MetricType values, as the
// exposition formats spell them.
var metricTypeNames = map[remote.MetricType]string{
	remote.MetricTypeUnknown: "", remote.MetricTypeCounter: "counter", remote.MetricTypeGauge: "gauge",
	remote.MetricTypeHistogram: "histogram", remote.MetricTypeGaugeHistogram: "gaugehistogram",
	remote.MetricTypeSummary: "summary", remote.MetricTypeInfo: "info", remote.MetricTypeStateset: "stateset",
}

func metricType(t remote.MetricType) string {
	if n, ok := metricTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}

// shownFlag reports whether a flag belongs on the status page: kingpin's
// help, completion and version flags say nothing about how ferry runs.
func shownFlag(name string) bool {
	return !strings.HasPrefix(name, "help") && !strings.HasPrefix(name, "completion-") && name != "version"
}

// formatSeconds formats a lag in whole seconds, as "1h2m3s".
func formatSeconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

// promDuration formats a configured duration the way the configuration
// file writes it ("7d", "1h30m").
func promDuration(d time.Duration) string { return model.Duration(d).String() }
