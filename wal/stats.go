package wal

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Stats describes the log at one moment.
type Stats struct {
	Segments int
	Bytes    int64
	Records  uint64
	Samples  uint64
	// OldestTime and NewestTime are append times in Unix milliseconds of
	// the oldest and newest record held; 0 when the log is empty.
	OldestTime, NewestTime int64
	Cursors                []CursorStats
}

// CursorStats describes one cursor's progress.
type CursorStats struct {
	Name      string
	Committed Pos
	// CommittedTime is the append time of the last delivered record.
	CommittedTime int64
	// LagBytes is the size of the log after the committed position.
	LagBytes int64
	// LagRecords and LagSamples count what follows the committed position;
	// within the cursor's own segment they are estimated from the bytes
	// left in it.
	LagRecords uint64
	LagSamples uint64
	// LagSeconds is how much older the last delivered record is than the
	// newest record: how far behind the destination is. 0 when caught up.
	LagSeconds float64
	Open       bool
}

// Stats returns the log's current state.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	var st Stats
	st.Segments = len(l.segs)
	for _, s := range l.segs {
		st.Bytes += s.size.Load()
		st.Records += s.records
		st.Samples += s.count
		widenSpan(&st.OldestTime, &st.NewestTime, s.records, s.firstTime, s.lastTime)
	}
	for _, c := range l.cursors {
		cs := CursorStats{Name: c.name, Committed: c.committed.pos, CommittedTime: c.committed.time, Open: c.open}
		// The append time of the oldest undelivered data, at segment
		// granularity: what "behind" means for a cursor that has never
		// delivered anything.
		var oldestBehind int64
		for _, s := range l.segs {
			size := s.size.Load()
			switch {
			case s.seq > c.committed.pos.Segment:
				cs.LagBytes += size - segmentHeaderSize
				cs.LagRecords += s.records
				cs.LagSamples += s.count
				if s.records > 0 && oldestBehind == 0 {
					oldestBehind = s.firstTime
				}
			case s.seq == c.committed.pos.Segment && size > segmentHeaderSize:
				left := size - c.committed.pos.Offset
				if left < 0 {
					left = 0
				}
				cs.LagBytes += left
				frac := float64(left) / float64(size-segmentHeaderSize)
				cs.LagRecords += uint64(frac * float64(s.records))
				cs.LagSamples += uint64(frac * float64(s.count))
				if left > 0 && s.records > 0 {
					oldestBehind = s.firstTime
				}
			}
		}
		base := c.committed.time
		if base == 0 {
			base = oldestBehind
		}
		if cs.LagBytes > 0 && base > 0 && st.NewestTime > base {
			cs.LagSeconds = float64(st.NewestTime-base) / 1000
		}
		st.Cursors = append(st.Cursors, cs)
	}
	return st
}

// widenSpan widens the append-time span [*oldest, *newest] (zero when
// empty) to cover a segment's records.
func widenSpan(oldest, newest *int64, records uint64, first, last int64) {
	if records == 0 {
		return
	}
	if *oldest == 0 || first < *oldest {
		*oldest = first
	}
	*newest = max(*newest, last)
}

// statsCollector exports Stats as gauges.
type statsCollector struct{ l *Log }

var (
	descSegments   = prometheus.NewDesc("ferry_log_segments", "Segment files in the log.", nil, nil)
	descBytes      = prometheus.NewDesc("ferry_log_size_bytes", "Total size of the log's segments.", nil, nil)
	descOldest     = prometheus.NewDesc("ferry_log_oldest_record_timestamp_seconds", "Append time of the oldest record in the log.", nil, nil)
	descNewest     = prometheus.NewDesc("ferry_log_newest_record_timestamp_seconds", "Append time of the newest record in the log.", nil, nil)
	descLagBytes   = prometheus.NewDesc("ferry_log_cursor_lag_bytes", "Bytes of the log a destination has not delivered yet.", []string{labelRemoteName}, nil)
	descLagRecords = prometheus.NewDesc("ferry_log_cursor_lag_records", "Records a destination has not delivered yet (estimated within the current segment).", []string{labelRemoteName}, nil)
	descLagSamples = prometheus.NewDesc("ferry_log_cursor_lag_samples", "Samples a destination has not delivered yet (estimated within the current segment).", []string{labelRemoteName}, nil)
	descMaxSize    = prometheus.NewDesc("ferry_log_max_size_bytes", "The log's size limit (ferry.storage.max_size); 0 means none.", nil, nil)
	descMaxAge     = prometheus.NewDesc("ferry_log_max_age_seconds", "The log's age limit (ferry.storage.max_age); 0 means none.", nil, nil)
	descLagSeconds = prometheus.NewDesc("ferry_log_cursor_lag_seconds", "How much older the destination's last delivered record is than the newest record.", []string{labelRemoteName}, nil)
)

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMaxSize, descMaxAge, descSegments, descBytes, descOldest, descNewest, descLagBytes, descLagRecords, descLagSamples, descLagSeconds} {
		ch <- d
	}
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.l.Stats()
	ch <- prometheus.MustNewConstMetric(descSegments, prometheus.GaugeValue, float64(st.Segments))
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(descMaxSize, prometheus.GaugeValue, float64(c.l.opts.MaxSize))
	ch <- prometheus.MustNewConstMetric(descMaxAge, prometheus.GaugeValue, c.l.opts.MaxAge.Seconds())
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, float64(st.OldestTime)/1000)
	ch <- prometheus.MustNewConstMetric(descNewest, prometheus.GaugeValue, float64(st.NewestTime)/1000)
	for _, cs := range st.Cursors {
		ch <- prometheus.MustNewConstMetric(descLagBytes, prometheus.GaugeValue, float64(cs.LagBytes), cs.Name)
		ch <- prometheus.MustNewConstMetric(descLagRecords, prometheus.GaugeValue, float64(cs.LagRecords), cs.Name)
		ch <- prometheus.MustNewConstMetric(descLagSamples, prometheus.GaugeValue, float64(cs.LagSamples), cs.Name)
		ch <- prometheus.MustNewConstMetric(descLagSeconds, prometheus.GaugeValue, cs.LagSeconds, cs.Name)
	}
}
