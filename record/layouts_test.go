package record

import (
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// A stream's series of one shape keep only the label values they do not
// share; every decoded series still has all of its own values, whether
// defined by a keyframe or later, fitting a layout or not, and the series
// a Batch handed over keep their values while later records, the next
// keyframe among them, are decoded.
func TestSharedLabelValuesAreStoredOncePerStreamAndShape(t *testing.T) {
	counter := remote.Metadata{Type: remote.MetricTypeCounter, Help: "CPU seconds."}
	gauge := remote.Metadata{Type: remote.MetricTypeGauge, Help: "Load."}
	type def struct {
		ls     labels.Labels
		family string
		meta   remote.Metadata
	}
	cpu := func(c, mode, job string) def {
		return def{labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", c, "instance", "h:9100", "job", job, "mode", mode), "node_cpu_seconds", counter}
	}
	var defs []def
	for c := range 4 {
		for _, mode := range []string{"idle", "user", "system"} {
			defs = append(defs, cpu(fmt.Sprint(c), mode, "node"))
		}
	}
	defs = append(defs,
		def{labels.FromStrings("__name__", "node_load1", "instance", "h:9100", "job", "node"), "node_load1", gauge}, // alone in its shape
		def{labels.FromStrings("__name__", "dropped", "instance", "h:9100", "job", "node"), "dropped", gauge},
	)
	for _, suffix := range []string{"_bucket", "_sum", "_count"} { // the name varies within the family's shape
		defs = append(defs, def{labels.FromStrings("__name__", "rpc"+suffix, "instance", "h:9100", "job", "node"), "rpc", gauge})
	}
	later := []def{
		cpu("9", "idle", "node"),  // fits the layout: only cpu and mode differ
		cpu("9", "user", "other"), // another job: full form
	}
	drop := func(ls labels.Labels) (labels.Labels, bool) { return ls, ls.Get("__name__") != "dropped" }

	d := NewDecoder(drop)
	enc := NewStreamEncoder(1)
	refs := make([]Ref, len(defs)+len(later))
	var kept []Batch
	var want [][]labels.Labels
	var b Batch
	// Record KeyframeInterval is the stream's next keyframe, which
	// defines the later series too.
	for rec := range KeyframeInterval + 2 {
		all := defs
		if rec >= 1 {
			all = append(defs[:len(defs):len(defs)], later...)
		}
		enc.Begin(int64(rec)*1000, 1)
		var lsets []labels.Labels
		for i, df := range all {
			if !enc.Valid(refs[i]) {
				refs[i] = enc.Define(df.ls, df.family, df.meta)
			}
			enc.Add(refs[i], float64(rec*100+i))
			if df.ls.Get("__name__") != "dropped" {
				lsets = append(lsets, df.ls)
			}
		}
		data, _ := enc.Finish()
		require.NoError(t, d.Decode(wal.Record{Kind: KindStream, Data: append([]byte(nil), data...), Pos: wal.Pos{Segment: 1}}, &b))
		enc.Done(true)
		// Hand the series over, as a sender's read loop does, and decode
		// the next record into the batch's new memory.
		var taken Batch
		var mem Arena
		taken.Series, taken.Hashes = b.Take(nil, nil, &mem)
		kept = append(kept, taken)
		want = append(want, lsets)
		if rec == 1 {
			st := d.streams[1]
			require.Len(t, st.layouts, 1, "one shape's series share enough values: the CPU series")
			require.Equal(t, []uint16{1, 4}, st.vary, "cpu and mode vary")
			n := len(defs)
			require.NotZero(t, st.series[n].form&compactForm, "a later series that fits the layout")
			require.Zero(t, st.series[n+1].form&compactForm, "a later series of another job")
		}
	}
	for rec, b := range kept {
		require.Len(t, b.Series, len(want[rec]), "record %d", rec)
		for i, s := range b.Series {
			require.Equal(t, want[rec][i], s.LabelSet(), "record %d series %d", rec, i)
			require.Equal(t, remote.LabelsHash(want[rec][i]), remote.SeriesHash(&s))
		}
	}

	// After the second keyframe the job varies too.
	st := d.streams[1]
	require.Len(t, st.layouts, 1, "one shape's series share enough values: the CPU series")
	require.Equal(t, []uint16{1, 3, 4}, st.vary, "cpu, job and mode vary")
	compact, full := 0, 0
	for _, s := range st.series {
		if !s.kept() {
			continue
		}
		if s.form&compactForm != 0 {
			compact++
		} else {
			full++
		}
	}
	require.Equal(t, 14, compact, "the CPU series")
	require.Equal(t, 4, full, "node_load1 and the three rpc series")
}

// A decoded batch's series array is sized for the series its record
// keeps, not grown by appending: the sender's lanes keep one per piece
// waiting to be sent.
func TestBatchSeriesAreSizedForTheirRecord(t *testing.T) {
	const n = 1005
	t.Run("all kept", func(t *testing.T) { batchSizedForItsRecord(t, n, nil, n) })
	odd := func(ls labels.Labels) (labels.Labels, bool) { return ls, len(ls.Get("i"))%2 == 1 }
	t.Run("some dropped", func(t *testing.T) { batchSizedForItsRecord(t, n, odd, 10+900) })
}

func batchSizedForItsRecord(t *testing.T, n int, transform func(labels.Labels) (labels.Labels, bool), kept int) {
	d := NewDecoder(transform)
	enc := NewStreamEncoder(1)
	refs := make([]Ref, n)
	var b Batch
	for rec := range 2 {
		enc.Begin(int64(rec)*1000, 1)
		for i := range refs {
			if !enc.Valid(refs[i]) {
				refs[i] = enc.Define(labels.FromStrings("__name__", "m", "i", fmt.Sprint(i)), "m", remote.Metadata{})
			}
			enc.Add(refs[i], float64(i))
		}
		data, _ := enc.Finish()
		b.Reset()
		require.NoError(t, d.Decode(wal.Record{Kind: KindStream, Data: append([]byte(nil), data...), Pos: wal.Pos{Segment: 1}}, &b))
		enc.Done(true)
		require.Len(t, b.Series, kept)
		require.Less(t, cap(b.Series), kept*21/20+8, "record %d: at most 5%% spare", rec)
		var taken Batch
		var mem Arena
		taken.Series, taken.Hashes = b.Take(nil, nil, &mem)
	}
}
