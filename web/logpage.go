package web

import (
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/ferrymetrics/ferry/wal"
)

// logView is the log page: the log's state, its limits, and the counters
// that say whether it is healthy.
type logView struct {
	wal.Stats
	// MaxBytes and MaxAge are the configured limits; 0 is unlimited.
	MaxBytes int64
	MaxAge   time.Duration
	// UsedPercent is Bytes against MaxBytes; negative when unlimited.
	UsedPercent float64
	// OldestAge is how old the oldest record is.
	OldestAge time.Duration
	// AppendRate is samples appended per second over the meter's window.
	AppendRate string
	// Fsyncs counts syncs since start; FsyncMean and FsyncP99 describe
	// those over the window.
	Fsyncs, FsyncFailures float64
	FsyncMean, FsyncP99   string
	// CorruptRecords and TornTailBytes are what recovery skipped or cut.
	CorruptRecords, TornTailBytes float64
	// Undecodable is samples per destination in records that could not
	// be decoded.
	Undecodable []reasonCount
	// AppendFailures is samples that could not be written, by reason.
	AppendFailures []reasonCount
	// LimitDrops is records deleted by a limit before a destination sent
	// them, per destination and reason.
	LimitDrops      []limitDrop
	SegmentsDeleted float64
	// Cursors are the destinations' positions, with how far behind each is.
	Cursors []cursorView
}

type cursorView struct {
	wal.CursorStats
	Behind string
}

type limitDrop struct {
	Destination, Reason string
	Records, Samples    float64
}

func (h *handler) logView() *logView {
	if h.opts.Sources.Log == nil {
		return nil
	}
	v := &logView{Stats: h.opts.Sources.Log(), UsedPercent: -1}
	for _, c := range v.Stats.Cursors {
		v.Cursors = append(v.Cursors, cursorView{CursorStats: c, Behind: behind(c, v.Stats)})
	}
	if h.opts.Sources.LogLimits != nil {
		v.MaxBytes, v.MaxAge = h.opts.Sources.LogLimits()
	}
	if v.MaxBytes > 0 {
		v.UsedPercent = 100 * float64(v.Bytes) / float64(v.MaxBytes)
	}
	if v.OldestTime > 0 {
		v.OldestAge = time.Since(time.UnixMilli(v.OldestTime)).Round(time.Second)
	}
	r := h.meter.view()
	s := r.now
	v.AppendRate = perSecond(r.rate("ferry_log_appended_samples_total"))
	v.Fsyncs = s.sum("ferry_log_fsync_duration_seconds_count")
	v.FsyncFailures = s.sum("ferry_log_fsync_failures_total")
	v.FsyncMean = seconds(r.mean("ferry_log_fsync_duration_seconds"))
	v.FsyncP99 = "-"
	if le, ok := r.quantileBound("ferry_log_fsync_duration_seconds", 0.99); ok {
		v.FsyncP99 = "≤ " + seconds(le, true)
		if math.IsInf(le, 1) {
			v.FsyncP99 = "> largest bucket"
		}
	}
	v.CorruptRecords = s.sum("ferry_log_corrupt_records_total")
	v.TornTailBytes = s.sum("ferry_log_torn_tail_bytes_total")
	v.SegmentsDeleted = s.sum("ferry_log_segments_deleted_total")
	undecodable := s.by("ferry_remote_undecodable_samples_total", "remote_name")
	for _, dest := range sortedKeysF(undecodable) {
		v.Undecodable = append(v.Undecodable, reasonCount{Reason: dest, Count: undecodable[dest]})
	}
	failed := s.by("ferry_log_append_failed_samples_total", "reason")
	v.AppendFailures = []reasonCount{
		{"disk_full", failed["disk_full"], "The disk was full: scraped or received data could not be kept."},
		{"io_error", failed["io_error"], "Writing a segment failed."},
		{"too_large", failed["too_large"], "A record was larger than a segment may hold."},
	}
	records := map[[2]string]float64{}
	for _, x := range s.series {
		if x.name == "ferry_log_dropped_records_total" {
			records[[2]string{x.labels["remote_name"], x.labels["reason"]}] += x.value
		}
	}
	for _, x := range s.series {
		if x.name == "ferry_log_dropped_samples_total" {
			k := [2]string{x.labels["remote_name"], x.labels["reason"]}
			v.LimitDrops = append(v.LimitDrops, limitDrop{Destination: k[0], Reason: k[1], Records: records[k], Samples: x.value})
		}
	}
	sort.Slice(v.LimitDrops, func(i, j int) bool {
		a, b := v.LimitDrops[i], v.LimitDrops[j]
		return a.Destination < b.Destination || a.Destination == b.Destination && a.Reason < b.Reason
	})
	return v
}

func (h *handler) log(w http.ResponseWriter, r *http.Request) {
	h.render(w, "log", h.logView())
}

func sortedKeysF(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
