package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// scrapeTarget simulates a target's series and its encoder-side cache.
type scrapeTarget struct {
	enc  *StreamEncoder
	lset []labels.Labels
	refs []Ref
	meta remote.Metadata
}

func newTarget(id uint64, n int) *scrapeTarget {
	t := &scrapeTarget{enc: NewStreamEncoder(id), meta: remote.Metadata{Type: remote.MetricTypeCounter, Help: "Seconds the CPUs spent in each mode.", Unit: "seconds"}}
	for i := 0; i < n; i++ {
		t.lset = append(t.lset, labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", fmt.Sprint(i/8), "instance", fmt.Sprintf("host-%d:9100", id), "job", "node", "mode", fmt.Sprint("mode", i%8)))
	}
	t.refs = make([]Ref, n)
	return t
}

type sample struct {
	lset labels.Labels
	t    int64
	bits uint64
}

// scrape appends one record with the given values (indexed like t.lset;
// NaN-free values of idx absent from present are skipped) and returns what
// a reader should decode.
func (t *scrapeTarget) scrape(tb testing.TB, l *wal.Log, ts int64, vals map[int]float64, order []int) []sample {
	for attempt := 0; ; attempt++ {
		require.Less(tb, attempt, 3)
		t.enc.Begin(ts, l.ActiveSegment())
		var want []sample
		for _, i := range order {
			v, ok := vals[i]
			if !ok {
				continue
			}
			if !t.enc.Valid(t.refs[i]) {
				t.refs[i] = t.enc.Define(t.lset[i], "node_cpu_seconds", t.meta)
			}
			t.enc.Add(t.refs[i], v)
			want = append(want, sample{t.lset[i], ts, math.Float64bits(v)})
		}
		data, n := t.enc.Finish()
		_, err := l.Append(wal.Entry{Kind: KindStream, Count: n, Data: data, Segment: t.enc.Segment()})
		t.enc.Done(err == nil)
		if errors.Is(err, wal.ErrSegmentChanged) {
			continue
		}
		require.NoError(tb, err)
		return want
	}
}

func openTestLog(t *testing.T, segSize int64) *wal.Log {
	l, err := wal.Open(t.TempDir(), wal.Options{
		SegmentSize: segSize, FsyncInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

func readSamples(t *testing.T, r *wal.Reader, d *Decoder) (got []sample, errs []error) {
	var b Batch
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		rec, err := r.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return got, errs
		}
		require.NoError(t, err)
		b.Reset()
		if err := d.Decode(rec, &b); err != nil {
			errs = append(errs, err)
			continue
		}
		require.Empty(t, b.Hashes, "a scrape record's series are hashed from their ids when needed")
		for _, s := range b.Series {
			require.Len(t, s.Samples, 1)
			require.Equal(t, remote.LabelsHash(s.LabelSet()), remote.SeriesHash(&s))
			got = append(got, sample{s.LabelSet(), s.Samples[0].Timestamp, math.Float64bits(s.Samples[0].Value)})
		}
	}
}

func allIdx(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = i
	}
	return o
}

func TestStreamRoundTripIsBitExactAcrossSegmentsAndKeyframes(t *testing.T) {
	l := openTestLog(t, 16<<10)
	r, err := l.OpenCursor("a")
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	targets := []*scrapeTarget{newTarget(1, 50), newTarget(2, 30)}
	var want []sample
	values := make([][]float64, len(targets))
	for i, tg := range targets {
		values[i] = make([]float64, len(tg.lset))
	}
	for step := 0; step < 300; step++ {
		ts := int64(1_700_000_000_000 + step*15_000)
		for ti, tg := range targets {
			vals := map[int]float64{}
			for i := range tg.lset {
				switch rng.IntN(10) {
				case 0: // vanished this scrape
					continue
				case 1:
					values[ti][i] = math.Float64frombits(value.StaleNaN)
				case 2:
					values[ti][i] = rng.NormFloat64() * 1e6
				case 3, 4, 5:
					values[ti][i] += float64(rng.IntN(100))
				}
				vals[i] = values[ti][i]
			}
			order := allIdx(len(tg.lset))
			if step%17 == 0 {
				rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			}
			want = append(want, tg.scrape(t, l, ts, vals, order)...)
		}
	}
	require.Greater(t, l.Stats().Segments, 3)
	got, errs := readSamples(t, r, NewDecoder(nil))
	require.Empty(t, errs)
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.True(t, labels.Equal(want[i].lset, got[i].lset), "sample %d: %s != %s", i, want[i].lset, got[i].lset)
		require.Equal(t, want[i].t, got[i].t)
		require.Equal(t, want[i].bits, got[i].bits, "sample %d value bits", i)
	}
}

func TestExplicitTimestampsRoundTrip(t *testing.T) {
	l := openTestLog(t, 1<<20)
	r, err := l.OpenCursor("a")
	require.NoError(t, err)
	tg := newTarget(7, 3)
	tg.enc.Begin(1000, l.ActiveSegment())
	for i := range tg.lset {
		tg.refs[i] = tg.enc.Define(tg.lset[i], "node_cpu_seconds", tg.meta)
	}
	tg.enc.Add(tg.refs[0], 1)
	tg.enc.AddAt(tg.refs[1], 900, 2)
	tg.enc.AddAt(tg.refs[2], 1_500_000, 3)
	data, n := tg.enc.Finish()
	_, err = l.Append(wal.Entry{Kind: KindStream, Count: n, Data: data, Segment: tg.enc.Segment()})
	require.NoError(t, err)
	tg.enc.Done(true)
	// The next record has no explicit timestamps again.
	want := tg.scrape(t, l, 2000, map[int]float64{0: 4}, []int{0})
	got, errs := readSamples(t, r, NewDecoder(nil))
	require.Empty(t, errs)
	require.Len(t, got, 4)
	require.Equal(t, []int64{1000, 900, 1_500_000, 2000}, []int64{got[0].t, got[1].t, got[2].t, got[3].t})
	require.Equal(t, want[0].bits, got[3].bits)
}

func TestTransformRunsOncePerSeriesAndCanDrop(t *testing.T) {
	l := openTestLog(t, 1<<20)
	r, err := l.OpenCursor("a")
	require.NoError(t, err)
	tg := newTarget(1, 10)
	for step := 0; step < 20; step++ {
		vals := map[int]float64{}
		for i := range tg.lset {
			vals[i] = float64(step)
		}
		tg.scrape(t, l, int64(step*1000), vals, allIdx(10))
	}
	calls := 0
	d := NewDecoder(func(ls labels.Labels) (labels.Labels, bool) {
		calls++
		if ls.Get("mode") == "mode0" {
			return ls, false
		}
		b := labels.NewBuilder(ls)
		b.Set("cluster", "eu-1")
		return b.Labels(), true
	})
	var b Batch
	dropped := 0
	total := 0
	for i := 0; i < 20; i++ {
		rec, err := r.Next(context.Background())
		require.NoError(t, err)
		b.Reset()
		require.NoError(t, d.Decode(rec, &b))
		dropped += b.Dropped
		total += len(b.Series)
		for _, s := range b.Series {
			require.Equal(t, "eu-1", s.LabelSet().Get("cluster"))
		}
	}
	require.Equal(t, 10, calls, "transform runs per definition, not per sample")
	require.Equal(t, 20*2, dropped) // cpu0/mode0 and cpu1/mode0
	require.Equal(t, 20*8, total)
}

func TestLostRecordBreaksOnlyItsStreamUntilTheNextKeyframe(t *testing.T) {
	l := openTestLog(t, 1<<20)
	r, err := l.OpenCursor("a")
	require.NoError(t, err)
	a, b := newTarget(1, 5), newTarget(2, 5)
	vals := map[int]float64{0: 1, 1: 2, 2: 3, 3: 4, 4: 5}
	for step := 0; step < 5; step++ {
		a.scrape(t, l, int64(step), vals, allIdx(5))
		b.scrape(t, l, int64(step), vals, allIdx(5))
	}
	d := NewDecoder(nil)
	var batch Batch
	var brokenA, okB int
	for i := 0; i < 10; i++ {
		rec, err := r.Next(context.Background())
		require.NoError(t, err)
		if i == 2 { // a's second record is "lost"
			continue
		}
		batch.Reset()
		err = d.Decode(rec, &batch)
		switch {
		case errors.Is(err, ErrBrokenChain):
			require.Equal(t, uint64(0), batch.Stream)
			brokenA++
		case err == nil && batch.Stream == 2:
			okB++
		case err == nil:
			require.Equal(t, uint64(1), batch.Stream)
		default:
			t.Fatal(err)
		}
	}
	require.Equal(t, 3, brokenA)
	require.Equal(t, 5, okB)
	// After a forced keyframe a decodes again.
	a.enc.Done(false)
	a.scrape(t, l, 10, vals, allIdx(5))
	rec, err := r.Next(context.Background())
	require.NoError(t, err)
	batch.Reset()
	require.NoError(t, d.Decode(rec, &batch))
	require.Len(t, batch.Series, 5)
}

func TestMalformedStreamRecordsAreErrorsNotPanics(t *testing.T) {
	tg := newTarget(1, 20)
	tg.enc.Begin(5, 1)
	for i := range tg.lset {
		tg.refs[i] = tg.enc.Define(tg.lset[i], "node_cpu_seconds", tg.meta)
		tg.enc.Add(tg.refs[i], float64(i)*1.5)
	}
	good, _ := tg.enc.Finish()
	good = append([]byte(nil), good...)
	for cut := 0; cut < len(good); cut++ {
		d := NewDecoder(nil)
		var b Batch
		err := d.Decode(wal.Record{Kind: KindStream, Data: good[:cut], Pos: wal.Pos{Segment: 1}}, &b)
		require.Error(t, err, "cut at %d", cut)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		bad := append([]byte(nil), good...)
		for k := 0; k < 1+rng.IntN(4); k++ {
			bad[rng.IntN(len(bad))] = byte(rng.Uint32())
		}
		d := NewDecoder(nil)
		var b Batch
		_ = d.Decode(wal.Record{Kind: KindStream, Data: bad, Pos: wal.Pos{Segment: 1}}, &b)
	}
}

func FuzzDecodeStream(f *testing.F) {
	tg := newTarget(1, 4)
	tg.enc.Begin(5, 1)
	for i := range tg.lset {
		tg.refs[i] = tg.enc.Define(tg.lset[i], "node_cpu_seconds", tg.meta)
		tg.enc.AddAt(tg.refs[i], int64(i), float64(i))
	}
	good, _ := tg.enc.Finish()
	f.Add(append([]byte(nil), good...))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(nil)
		var b Batch
		if err := d.Decode(wal.Record{Kind: KindStream, Data: data, Pos: wal.Pos{Segment: 1}}, &b); err == nil {
			for _, s := range b.Series {
				require.Len(t, s.Samples, 1)
			}
		}
	})
}
