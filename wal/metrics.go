package wal

import (
	"github.com/prometheus/client_golang/prometheus"
)

const (
	reasonDiskFull  = "disk_full"
	reasonIOError   = "io_error"
	reasonTooLarge  = "too_large"
	labelRemoteName = "remote_name"
)

// metrics are the log's counters. Gauges that describe the log's current
// state (size, segments, cursor lag) are computed from Stats at scrape time
// by statsCollector.
type metrics struct {
	appendedRecords prometheus.Counter
	appendedSamples prometheus.Counter
	appendedBytes   prometheus.Counter
	lostSamples     *prometheus.CounterVec
	appendFailures  *prometheus.CounterVec
	fsyncDuration   prometheus.Histogram
	fsyncFailures   prometheus.Counter
	corrupt         prometheus.Counter
	truncated       prometheus.Counter
	segmentsDeleted prometheus.Counter
	droppedRecords  *prometheus.CounterVec
	droppedSamples  *prometheus.CounterVec
	readFromMemory  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		appendedRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_log_appended_records_total", Help: "Records appended to the log.",
		}),
		appendedSamples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_log_appended_samples_total", Help: "Samples appended to the log.",
		}),
		appendedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_log_appended_bytes_total", Help: "Bytes written to log segments by appends, frame headers included.",
		}),
		lostSamples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_log_append_failed_samples_total", Help: "Samples that could not be written to the log, by reason.",
		}, []string{"reason"}),
		appendFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_log_append_failures_total", Help: "Appends that failed, by reason.",
		}, []string{"reason"}),
		fsyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ferry_log_fsync_duration_seconds", Help: "Duration of log fsyncs.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9),
		}),
		fsyncFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_log_fsync_failures_total", Help: "Failed fsyncs of log segments.",
		}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_log_corrupt_records_total", Help: "Corrupt records or unreadable segments skipped.",
		}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_log_torn_tail_bytes_total", Help: "Bytes of torn records cut from the log's tail on open.",
		}),
		segmentsDeleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_log_segments_deleted_total", Help: "Log segments deleted.",
		}),
		droppedRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_log_dropped_records_total", Help: "Records deleted by a size or age limit before the destination sent them.",
		}, []string{labelRemoteName, "reason"}),
		droppedSamples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_log_dropped_samples_total", Help: "Samples deleted by a size or age limit before the destination sent them.",
		}, []string{labelRemoteName, "reason"}),
		readFromMemory: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_log_records_read_from_memory_total", Help: "Records readers took from the log's memory of recently appended records instead of its files.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.appendedRecords, m.appendedSamples, m.appendedBytes, m.lostSamples, m.appendFailures,
			m.fsyncDuration, m.fsyncFailures, m.corrupt, m.truncated, m.segmentsDeleted,
			m.droppedRecords, m.droppedSamples, m.readFromMemory)
	}
	return m
}

func (m *metrics) lost(reason string, samples uint32) {
	m.appendFailures.WithLabelValues(reason).Inc()
	m.lostSamples.WithLabelValues(reason).Add(float64(samples))
}

func (m *metrics) dropped(cursor, reason string, records, samples uint64) {
	m.droppedRecords.WithLabelValues(cursor, reason).Add(float64(records))
	m.droppedSamples.WithLabelValues(cursor, reason).Add(float64(samples))
}

func (m *metrics) forgetCursor(cursor string) {
	m.droppedRecords.DeletePartialMatch(prometheus.Labels{labelRemoteName: cursor})
	m.droppedSamples.DeletePartialMatch(prometheus.Labels{labelRemoteName: cursor})
}
