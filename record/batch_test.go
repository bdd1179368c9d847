package record

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// A received series must hash the same whether its sender decodes batches
// into dictionary ids (no write relabeling) or into label sets (with it),
// and the same as a scraped series with those labels: a reload that adds
// or removes relabeling must not move a series with data in flight to
// another routing slot, where it could overtake itself.
func TestBatchHashesDoNotDependOnTheDecodingPath(t *testing.T) {
	req := &remote.Request{}
	for i, ls := range []labels.Labels{
		labels.FromStrings("__name__", "up", "instance", "a:9100", "job", "node"),
		labels.FromStrings("__name__", "up", "instance", "b:9100", "job", "node"),
		// Same strings, traded between name and value or between labels.
		labels.FromStrings("a", "b", "b", "a"),
		labels.FromStrings("a", "a", "b", "b"),
		labels.FromStrings("__name__", "x", "long", string(make([]byte, 300))),
	} {
		req.Series = append(req.Series, remote.Series{Labels: ls, Samples: []remote.Sample{{Value: float64(i), Timestamp: 1000}}})
	}
	data := AppendBatchTenant(AppendBatch(nil, req, nil), "")
	rec := wal.Record{Kind: KindBatch, Data: data, Pos: wal.Pos{Segment: 1}}

	var byIDs, byLabels Batch
	require.NoError(t, NewDecoder(nil).Decode(rec, &byIDs))
	identity := func(ls labels.Labels) (labels.Labels, bool) { return ls, true }
	require.NoError(t, NewDecoder(identity).Decode(rec, &byLabels))

	// The same label sets scraped: a stream record of them.
	enc := NewStreamEncoder(1)
	enc.Begin(1000, 1)
	for _, s := range req.Series {
		enc.Add(enc.Define(s.Labels, "", remote.Metadata{}), 1)
	}
	stream, _ := enc.Finish()
	var scraped Batch
	require.NoError(t, NewDecoder(nil).Decode(wal.Record{Kind: KindStream, Data: append([]byte(nil), stream...), Pos: wal.Pos{Segment: 1}}, &scraped))
	enc.Done(true)

	require.Len(t, byIDs.Hashes, len(req.Series))
	require.Equal(t, byIDs.Hashes, byLabels.Hashes)
	require.Len(t, scraped.Series, len(req.Series))
	for i := range scraped.Series {
		require.Equal(t, byIDs.Hashes[i], remote.SeriesHash(&scraped.Series[i]), "scraped series %d", i)
		require.Equal(t, byIDs.Hashes[i], remote.SeriesHash(&byIDs.Series[i]), "received series %d", i)
	}
	seen := map[uint64]bool{}
	for i, s := range req.Series {
		require.Equal(t, remote.LabelsHash(s.Labels), byIDs.Hashes[i], "series %d", i)
		require.False(t, seen[byIDs.Hashes[i]], "series %d collides", i)
		seen[byIDs.Hashes[i]] = true
	}
}

// A scrape's series carry no hash; the one folded from their ids equals the
// hash of their labels after the decoder's Transform (external labels,
// write relabeling), which is what they are routed and merged by.
func TestScrapedSeriesHashFollowsTheTransform(t *testing.T) {
	transform := func(ls labels.Labels) (labels.Labels, bool) {
		if ls.Get("__name__") == "dropped" {
			return labels.EmptyLabels(), false
		}
		b := labels.NewBuilder(ls)
		b.Set("cluster", "eu-1") // an external label
		b.Del("pod")             // write relabeling
		return b.Labels(), true
	}
	enc := NewStreamEncoder(1)
	enc.Begin(1000, 1)
	for _, ls := range []labels.Labels{
		labels.FromStrings("__name__", "up", "instance", "a:9100", "pod", "p1"),
		labels.FromStrings("__name__", "dropped", "instance", "a:9100"),
		labels.FromStrings("__name__", "x", "zone", "z"),
	} {
		enc.Add(enc.Define(ls, "", remote.Metadata{}), 1)
	}
	data, _ := enc.Finish()
	var b Batch
	require.NoError(t, NewDecoder(transform).Decode(wal.Record{Kind: KindStream, Data: append([]byte(nil), data...), Pos: wal.Pos{Segment: 1}}, &b))
	enc.Done(true)
	require.Len(t, b.Series, 2)
	require.Empty(t, b.Hashes)
	for i := range b.Series {
		s := &b.Series[i]
		require.Equal(t, "eu-1", s.LabelSet().Get("cluster"))
		require.Empty(t, s.LabelSet().Get("pod"))
		require.Equal(t, remote.LabelsHash(s.LabelSet()), remote.SeriesHash(s), "series %d", i)
	}
}
