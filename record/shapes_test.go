package record

import (
	"runtime"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// Series with the same label names, metadata and family share one Names
// array, across streams; anything that differs makes a shape of its own,
// and every series still resolves to its own labels and metadata.
func TestSeriesShareTheirShapes(t *testing.T) {
	cpu := remote.Metadata{Type: remote.MetricTypeCounter, Help: "CPU seconds.", Unit: "seconds"}
	type def struct {
		ls     labels.Labels
		family string
		meta   remote.Metadata
	}
	defs := []def{
		{labels.FromStrings("__name__", "cpu", "cpu", "0", "mode", "idle"), "cpu", cpu},
		{labels.FromStrings("__name__", "cpu", "cpu", "0", "mode", "user"), "cpu", cpu},
		{labels.FromStrings("__name__", "cpu", "cpu", "1", "mode", "idle"), "cpu", cpu},
		// Another help text, another type, another label name.
		{labels.FromStrings("__name__", "cpu", "cpu", "2", "mode", "idle"), "cpu", remote.Metadata{Type: remote.MetricTypeCounter, Help: "Other."}},
		{labels.FromStrings("__name__", "cpu", "cpu", "3", "mode", "idle"), "cpu", remote.Metadata{Type: remote.MetricTypeGauge, Help: "CPU seconds.", Unit: "seconds"}},
		{labels.FromStrings("__name__", "cpu", "core", "4", "mode", "idle"), "cpu", cpu},
	}
	d := NewDecoder(nil)
	var batches [2]Batch
	for stream := range batches {
		enc := NewStreamEncoder(uint64(stream + 1))
		enc.Begin(1000, 1)
		for i, df := range defs {
			enc.Add(enc.Define(df.ls, df.family, df.meta), float64(i))
		}
		data, _ := enc.Finish()
		require.NoError(t, d.Decode(wal.Record{Kind: KindStream, Data: append([]byte(nil), data...), Pos: wal.Pos{Segment: 1}}, &batches[stream]))
		enc.Done(true)
	}
	same := func(a, b *remote.Series) bool { return &a.Names[0] == &b.Names[0] }
	for stream, b := range batches {
		require.Len(t, b.Series, len(defs))
		for i, df := range defs {
			s := &b.Series[i]
			require.Equal(t, df.ls, s.LabelSet(), "stream %d series %d", stream, i)
			require.Equal(t, df.meta, s.Metadata, "stream %d series %d", stream, i)
			require.Equal(t, df.family, b.Families[i])
			require.Len(t, s.Values, df.ls.Len())
		}
		require.True(t, same(&b.Series[0], &b.Series[1]) && same(&b.Series[0], &b.Series[2]))
		for _, i := range []int{3, 4, 5} {
			require.False(t, same(&b.Series[0], &b.Series[i]), "series %d", i)
		}
		require.True(t, same(&b.Series[0], &batches[0].Series[0]), "streams share shapes")
	}
	require.Len(t, d.shapes.list, 4)
}

// BenchmarkDecoderMemory reports what a sender's decoder keeps per series
// once it has read a keyframe and a delta record of 20 node-like targets.
func BenchmarkDecoderMemory(b *testing.B) {
	const targets, series = 20, 1000
	var records [][]byte
	for id := range targets {
		tg := newNodeLikeTarget(id, series)
		e := NewStreamEncoder(uint64(id + 1))
		for ts := int64(0); ts < 20_000; ts += 10_000 {
			data, _ := tg.encode(e, ts, 1)
			records = append(records, append([]byte(nil), data...))
			e.Done(true)
			tg.step()
		}
	}
	for b.Loop() {
		b.StopTimer()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		d := NewDecoder(nil)
		var batch Batch
		for _, rec := range records {
			batch.Reset()
			if err := d.Decode(wal.Record{Kind: KindStream, Data: rec, Pos: wal.Pos{Segment: 1}}, &batch); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		batch = Batch{}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(targets*series), "heap-B/series")
		runtime.KeepAlive(d)
		b.StartTimer()
	}
}
