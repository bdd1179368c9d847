package receiver

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/remote"
)

// Table keeps the latest sample of every series received in inspect mode,
// for display. It holds at most a fixed number of series; beyond that, new
// series are counted but not kept.
type Table struct {
	max int

	mu       sync.RWMutex
	series   map[string]*Row
	overflow int
	updated  time.Time
	requests int
}

// Row is one series' latest sample.
type Row struct {
	Labels    labels.Labels
	Value     float64
	Timestamp int64
	Samples   int // samples received for the series
	Metadata  remote.Metadata
	Received  time.Time
}

// NewTable returns a Table holding at most max series.
func NewTable(max int) *Table { return &Table{max: max, series: map[string]*Row{}} }

// Update records a request.
func (t *Table) Update(req *remote.Request) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests++
	t.updated = now
	for i := range req.Series {
		s := &req.Series[i]
		if len(s.Samples) == 0 {
			continue
		}
		k := s.Labels.String()
		r, ok := t.series[k]
		if !ok {
			if len(t.series) >= t.max {
				t.overflow++
				continue
			}
			r = &Row{Labels: s.Labels}
			t.series[k] = r
		}
		last := s.Samples[len(s.Samples)-1]
		if last.Timestamp >= r.Timestamp {
			r.Value, r.Timestamp = last.Value, last.Timestamp
		}
		r.Samples += len(s.Samples)
		r.Received = now
		if !s.Metadata.IsZero() {
			r.Metadata = s.Metadata
		}
	}
}

// Snapshot is a copy of the table for display.
type Snapshot struct {
	Rows     []Row
	Total    int // series in the table
	Overflow int // series not kept because the table was full
	Requests int
	Updated  time.Time
}

// Snapshot returns up to limit rows whose labels contain filter, sorted by
// labels.
func (t *Table) Snapshot(filter string, limit int) Snapshot {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := Snapshot{Total: len(t.series), Overflow: t.overflow, Requests: t.requests, Updated: t.updated}
	keys := make([]string, 0, len(t.series))
	for k := range t.series {
		if filter == "" || strings.Contains(k, filter) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if limit > 0 && len(s.Rows) >= limit {
			break
		}
		s.Rows = append(s.Rows, *t.series[k])
	}
	return s
}
