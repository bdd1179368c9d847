package wal

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// gauges gathers reg and returns each sample's value by metric name and
// remote_name label ("" when the metric has none).
func gauges(t *testing.T, reg *prometheus.Registry) map[string]map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]map[string]float64{}
	for _, mf := range mfs {
		byCursor := map[string]float64{}
		for _, m := range mf.GetMetric() {
			cursor := ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labelRemoteName {
					cursor = lp.GetValue()
				}
			}
			// Gauges and counters give their value, a histogram its
			// observation count.
			byCursor[cursor] = m.GetGauge().GetValue() + m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
		out[mf.GetName()] = byCursor
	}
	return out
}

func TestMetricsReportSizeAgeSyncsAndLagPerDestination(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	l := openLog(t, dir, opts)
	defer l.Close()
	live, err := l.OpenCursor("live")
	require.NoError(t, err)
	_, err = l.OpenCursor("dead")
	require.NoError(t, err)
	appendN(t, l, 0, 150)
	readAll(t, live, true)
	pos, err := l.Append(Entry{Kind: 1, Count: 1, Data: payload(150)})
	require.NoError(t, err)
	require.NoError(t, l.Sync(pos))

	g := gauges(t, reg)
	st := l.Stats()
	require.Equal(t, float64(st.Segments), g["ferry_log_segments"][""])
	require.Equal(t, float64(st.Bytes), g["ferry_log_size_bytes"][""])
	require.Equal(t, float64(st.OldestTime)/1000, g["ferry_log_oldest_record_timestamp_seconds"][""])
	require.Equal(t, float64(st.NewestTime)/1000, g["ferry_log_newest_record_timestamp_seconds"][""])
	require.Positive(t, g["ferry_log_fsync_duration_seconds"][""], "fsyncs are timed")
	require.Contains(t, g, "ferry_log_corrupt_records_total")
	require.Contains(t, g, "ferry_log_torn_tail_bytes_total")

	for _, name := range []string{"ferry_log_cursor_lag_bytes", "ferry_log_cursor_lag_records", "ferry_log_cursor_lag_samples"} {
		require.Positive(t, g[name]["dead"], "%s of the destination that reads nothing", name)
		require.Less(t, g[name]["live"], g[name]["dead"], name)
	}
	require.InDelta(t, 151, g["ferry_log_cursor_lag_records"]["dead"], 1)
	require.LessOrEqual(t, g["ferry_log_cursor_lag_records"]["live"], 1.0, "live delivered all but the last record")
}
